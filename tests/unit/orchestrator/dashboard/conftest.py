"""The dashboard in process: its routes beside the API, over a tmp store and a FakeRuntime,
with fake load generator and ledger, and its real BrokerLink over a ``memory://`` broker of
the test's own, whose orders queue a test fills and drains as the services would."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from broker_adapters import Delivery, Message
from broker_adapters.memory import MemoryBroker
from orchestrator.api import ApiContext, api_routes
from orchestrator.dashboard import dashboard_routes
from orchestrator.dashboard.snapshot import Dashboard, Sources
from orchestrator.dashboard.sources import BrokerLink, OrdersQueue, SourceError
from orchestrator.runtime.fake import FakeRuntime
from services.ledger import LedgerSummary
from services.messaging import declare_orders
from tests.support.aws_auth import CREDENTIALS, SIGV4
from tests.unit.orchestrator.api.conftest import START

Call = Callable[..., Any]


@dataclass
class Settings:
    time_scale: float = 60.0
    broker_url: str | None = None
    loadgen_url: str | None = None
    ledger_url: str | None = None
    ledger_namespace: str = "barista:ledger"
    orders_queue: str = "orders"
    dead_letter_queue: str = "orders-dlq"
    max_receive_count: int = 5
    visibility_timeout: float = 30.0
    broker_service: str | None = None
    compose_project: str | None = None
    instance_metrics_port: int = 8080
    subscribers: str | None = None


@dataclass
class FakeLoadgen:
    pattern: dict[str, Any] = field(
        default_factory=lambda: {"pattern": "steady", "rate": 5.0, "peak_rate": 20.0}
    )

    def status(self) -> dict[str, Any]:
        return {**self.pattern, "target_rate": self.pattern["rate"]}

    def change(self, update: Mapping[str, Any]) -> dict[str, Any]:
        if update.get("pattern") == "sideways":
            raise SourceError("http://loadgen/pattern answered 422", 422, {"error": "invalid"})
        self.pattern.update(update)
        return self.status()


@dataclass
class FakeLedger:
    counts: LedgerSummary = field(default_factory=lambda: LedgerSummary(0, 0, 0, 0, 0))

    def summary(self) -> LedgerSummary:
        return self.counts


ORDERS = OrdersQueue("orders", "orders-dlq", max_receive_count=5, visibility_timeout=30)


class Services:
    """The services' side of the dashboard's broker: a connection of its own to the same
    ``memory://`` store, declared as the services declare, so what the dashboard reads is
    what orders placed, brewed and dead-lettered through the broker leave on its queues."""

    def __init__(self, url: str) -> None:
        self.broker = MemoryBroker.from_url(url)
        declare_orders(
            self.broker,
            ORDERS.name,
            ORDERS.dead_letter_queue,
            ORDERS.max_receive_count,
            ORDERS.visibility_timeout,
        )
        self.held: list[Delivery] = []

    def place(self, count: int) -> None:
        """Put ``count`` orders on the orders queue, as the order API does."""
        for n in range(count):
            self.broker.send(ORDERS.name, f'{{"order_id": "o{n}"}}'.encode())

    def brew(self, count: int) -> None:
        """Take ``count`` orders off the queue and ack them, as baristas that brewed them."""
        for delivery in self._receive(count):
            assert delivery.ack()

    def hold(self, count: int) -> None:
        """Take ``count`` orders off the queue and keep them in flight, as baristas brewing."""
        self.held.extend(self._receive(count))

    def reject(self, count: int) -> None:
        """Take ``count`` orders off the queue and reject them: the redrive policy moves them
        to the dead-letter queue."""
        for delivery in self._receive(count):
            assert delivery.nack(requeue=False)

    def take(self) -> list[Message]:
        """Every message on the orders queue, received (and left in flight)."""
        taken = []
        while batch := self.broker.receive(ORDERS.name, max_messages=10):
            taken.extend(delivery.message for delivery in batch)
        return taken

    def _receive(self, count: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        while len(deliveries) < count:
            batch = self.broker.receive(ORDERS.name, max_messages=min(count - len(deliveries), 10))
            assert batch, f"the orders queue ran out after {len(deliveries)} of {count}"
            deliveries.extend(batch)
        return deliveries

    def close(self) -> None:
        self.broker.close()


class Wall:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(start=START)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "barista.db"


@pytest.fixture
def wall() -> Wall:
    return Wall()


def no_load_balancer() -> dict[str, Any]:
    return {"target_groups": [], "draining": []}


def make_dashboard(
    store_path: Path,
    runtime: FakeRuntime,
    sources: Sources,
    wall: Callable[[], float],
    settings: Settings | None = None,
) -> Dashboard:
    return Dashboard(
        ApiContext(store_path=store_path, runtime=runtime, credentials=CREDENTIALS),
        settings or Settings(broker_url="amqp://rabbitmq:5672/"),
        sources=sources,
        wall=wall,
        elb=no_load_balancer,
    )


@pytest.fixture
def fakes() -> tuple[FakeLoadgen, FakeLedger]:
    return FakeLoadgen(), FakeLedger()


@pytest.fixture
def broker_url() -> str:
    """A memory:// store of the test's own (stores of one name are shared in the process)."""
    return f"memory://dashboard-{uuid.uuid4().hex}"


@pytest.fixture
def services(broker_url: str) -> Iterator[Services]:
    opened = Services(broker_url)
    yield opened
    opened.close()


@pytest.fixture
def dashboard(
    store_path: Path,
    runtime: FakeRuntime,
    wall: Wall,
    fakes: tuple[Any, Any],
    broker_url: str,
) -> Iterator[Dashboard]:
    """The settings still name the compose broker (the page shows its scheme, restart-broker
    looks for its host); the link itself reaches the test's memory store."""
    loadgen, ledger = fakes
    link = BrokerLink(broker_url, ORDERS)
    built = make_dashboard(store_path, runtime, Sources(loadgen, ledger, link), wall)
    yield built
    built.close()


@pytest.fixture
def client(dashboard: Dashboard) -> Iterator[TestClient]:
    app = Starlette(routes=[*api_routes(dashboard.context), *dashboard_routes(dashboard)])
    with TestClient(app) as opened:
        opened.auth = SIGV4
        yield opened


def caller(client: TestClient, service: str) -> Call:
    def call(action: str, **params: Any) -> Any:
        response = client.post(f"/api/{service}/{action}", json=params)
        assert response.status_code == 200, response.text
        return response.json()

    return call


def log_in(client: TestClient) -> None:
    """Log ``client`` in as the page does: a same-origin JSON POST of the key pair; the
    client keeps the session cookie and sends the page's Origin from then on."""
    client.headers["Origin"] = str(client.base_url).rstrip("/")
    ((key_id, secret),) = CREDENTIALS.keys.items()
    answer = client.post(
        "/dashboard/session", json={"access_key_id": key_id, "secret_access_key": secret}
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def group(client: TestClient) -> str:
    """Template and group ``baristas`` (min 0, max 4, desired 2), in zones az-a and az-b."""
    caller(client, "ec2")(
        "CreateLaunchTemplate",
        LaunchTemplateName="baristas",
        LaunchTemplateData={"ImageId": "barista/service:latest"},
    )
    caller(client, "autoscaling")(
        "CreateAutoScalingGroup",
        AutoScalingGroupName="baristas",
        LaunchTemplate={"LaunchTemplateName": "baristas"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=2,
        AvailabilityZones=["az-a", "az-b"],
    )
    return "baristas"
