"""The project's service image against each real broker, on one Docker network: what a
barista container does when it is stopped (SIGTERM) or killed (SIGKILL) mid-brew."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from testcontainers.core.network import Network

from broker_adapters import connect
from services.ledger import Ledger, OrderState
from services.messaging import declare_orders
from services.orders import Customer, Order, OrderItem
from tests.support.brokers import Endpoint, start_kafka, start_rabbitmq, start_redis
from tests.support.containers import ClientProbe, Credentials, ProjectContainer
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

STARTERS = {"kafka": start_kafka, "rabbitmq": start_rabbitmq, "redis": start_redis}
VISIBILITY_TIMEOUT = "3"
MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Shop:
    backend: str
    network: Network
    broker: Endpoint
    ledger: Endpoint


@pytest.fixture(scope="module", params=list(STARTERS))
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    backend = request.param
    with Network() as network:
        broker = STARTERS[backend](Credentials.generate(backend), network=network)
        ledger = (
            broker if backend == "redis" else start_redis(Credentials.generate("ledger"), network)
        )
        try:
            yield Shop(backend, network, broker, ledger)
        finally:
            broker.container.stop()
            if ledger is not broker:
                ledger.container.stop()


@dataclass(frozen=True)
class Counter:
    """One test's queue names and ledger namespace, so tests never see each other's orders."""

    queue: str
    namespace: str

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}-dlq"


@pytest.fixture
def counter() -> Counter:
    name = f"orders-{uuid.uuid4().hex[:8]}"
    return Counter(queue=name, namespace=f"test:{name}")


def barista(shop: Shop, counter: Counter, brew_seconds_per_unit: float) -> ProjectContainer:
    container = (
        ProjectContainer("service")
        .with_command(["serve", "barista"])
        .with_network(shop.network)
        .with_env("BARISTA_BROKER_URL", shop.broker.internal_url())
        .with_env("BARISTA_LEDGER_URL", shop.ledger.internal_url())
        .with_env("BARISTA_LEDGER_NAMESPACE", counter.namespace)
        .with_env("BARISTA_ORDERS_QUEUE", counter.queue)
        .with_env("BARISTA_DEAD_LETTER_QUEUE", counter.dead_letter_queue)
        .with_env("BARISTA_EVENTS_TOPIC", f"{counter.queue}-events")
        .with_env("BARISTA_MAX_RECEIVE_COUNT", str(MAX_RECEIVE_COUNT))
        .with_env("BARISTA_VISIBILITY_TIMEOUT", VISIBILITY_TIMEOUT)
        .with_env("BARISTA_BREW_SECONDS_PER_UNIT", str(brew_seconds_per_unit))
        .with_env("BARISTA_STOP_GRACE", "1")
    )
    container.waiting_for(
        ClientProbe(lambda: _log_has(container, '"message": "barista on shift"'), 120)
    )
    return container.start()


def _log_has(container: ProjectContainer, text: str) -> None:
    stdout, stderr = container.get_logs()
    if text not in (stdout + stderr).decode(errors="replace"):
        raise RuntimeError(f"no {text!r} in the log yet")


def place_order(shop: Shop, counter: Counter) -> Order:
    order = Order(
        customer=Customer(id="c-7", name="Grace"),
        items=[OrderItem(item="flat-white")],
        order_id=uuid.uuid4().hex,
        accepted_at=datetime.now(UTC),
    )
    with connect(shop.broker.url) as broker:
        declare_orders(
            broker,
            counter.queue,
            counter.dead_letter_queue,
            MAX_RECEIVE_COUNT,
            float(VISIBILITY_TIMEOUT),
        )
        broker.send(counter.queue, order.model_dump_json().encode(), group_id="c-7")
    Ledger.from_url(shop.ledger.url, counter.namespace).accepted(order.order_id)
    return order


def wait_until_brewing(container: ProjectContainer, order: Order) -> None:
    assert wait_for(
        lambda: order.order_id in _logs(container) and "brewing" in _logs(container), 60
    ), _logs(container)[-3000:]


def _logs(container: ProjectContainer) -> str:
    stdout, stderr = container.get_logs()
    return (stdout + stderr).decode(errors="replace")


def test_a_barista_stopped_mid_brew_exits_0_and_its_order_is_brewed_once(
    shop: Shop, counter: Counter
):
    slow = barista(shop, counter, brew_seconds_per_unit=30)
    order = place_order(shop, counter)
    wait_until_brewing(slow, order)
    wrapped = slow.get_wrapped_container()
    started = time.monotonic()
    wrapped.stop(timeout=10)  # SIGTERM, SIGKILL after 10 s (ECS stopTimeout)
    stopped_after = time.monotonic() - started
    wrapped.reload()
    assert wrapped.attrs["State"]["ExitCode"] == 0, _logs(slow)
    assert stopped_after < 8, f"took {stopped_after:.1f} s to stop"
    assert "handed back" in _logs(slow)
    slow.stop()
    fast = barista(shop, counter, brew_seconds_per_unit=0.1)
    try:
        ledger = Ledger.from_url(shop.ledger.url, counter.namespace)
        assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, 90)
        assert ledger.brews(order.order_id) == 1
    finally:
        fast.stop()


def test_a_barista_killed_mid_brew_loses_nothing_and_the_order_is_brewed_once(
    shop: Shop, counter: Counter
):
    doomed = barista(shop, counter, brew_seconds_per_unit=30)
    order = place_order(shop, counter)
    wait_until_brewing(doomed, order)
    doomed.get_wrapped_container().kill()  # SIGKILL: no goodbye, the order is still unacked
    doomed.stop()
    fast = barista(shop, counter, brew_seconds_per_unit=0.1)
    try:
        ledger = Ledger.from_url(shop.ledger.url, counter.namespace)
        assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, 90)
        assert ledger.brews(order.order_id) == 1
        assert ledger.summary().duplicates == 0
    finally:
        fast.stop()
