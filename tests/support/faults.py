"""Faults on real brokers: a coffee shop in containers, one fault, and the ledger as the judge.

The shop runs on two Docker networks. The *broker network* holds the broker; the *ledger
network* holds a Redis ledger of its own (also for the Redis backend, so the judge never
shares the fault). order-api and two baristas, containers of the project's service image, sit
on both, so ``docker network disconnect`` of the broker network cuts a service off from the
broker and nothing else. Services run under Docker's ``on-failure`` restart policy, standing
in for the supervisor (Compose, the ASG) that replaces a service that gave up.

Customers are a thread posting orders over HTTP at a steady rate; an order is *confirmed*
when order-api answered 202 (the broker confirmed the send). After the fault is healed the
judge reads the ledger: every confirmed order must end brewed or dead-lettered (lost = the
rest), and a brew count above one is a duplicate.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial

import docker
import docker.errors
import redis
from docker.models.containers import Container
from docker.models.networks import Network as DockerNetwork
from testcontainers.core.network import Network

from tests.support.brokers import STARTERS, Endpoint, start_redis
from tests.support.containers import (
    LOOPBACK,
    SESSION_ID,
    SESSION_LABEL,
    Credentials,
    stable_image,
)
from tests.support.receiving import wait_for
from tests.support.shop import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT, Counter
from tests.support.toxiproxy import Toxiproxy, start_toxiproxy

BARISTAS = 2
LEDGER_ALIAS = "ledger"
# Orders per second the customers post; each cup brews in 20 ms, so the baristas keep up.
ORDER_RATE = 8.0
BREW_SECONDS_PER_UNIT = 0.02
# The services' confirm/reconnect budgets (BARISTA_BROKER_TIMEOUT): a partition lasts longer.
API_BROKER_TIMEOUT = 3.0
BARISTA_BROKER_TIMEOUT = 5.0
PARTITION_SECONDS = 8.0
# The broker's bandwidth during broker-bandwidth: tc tbf, 32 kbit/s, up to 1 s queued.
TBF = ["rate", "32kbit", "burst", "4kbit", "latency", "1s"]
# The latency broker-latency adds each way (Toxiproxy), in ms: a round trip of 400 ± 100 ms,
# under order-api's confirm budget, so customers are slowed rather than refused.
LATENCY_MS = 200
JITTER_MS = 50
# The ports a proxied broker is reached on by the services (Kafka's internal listener,
# RabbitMQ's AMQP and management API, which the adapter reads queue depths from).
PROXIED_PORTS = {"kafka": (19092,), "rabbitmq": (5672, 15672), "redis": (6379,)}
# Customers keep coming this long before the fault and after the shop has recovered.
STEADY_SECONDS = 3.0
# A retrying customer (producer-retry) asks again after this, for at most RETRY_BUDGET seconds.
RETRY_PAUSE = 0.25
RETRY_BUDGET = 90.0
RECOVERY_TIMEOUT = 180.0
SETTLE_TIMEOUT = 120.0
# At most this many brews of one order beyond the first, per fault: each barista holds one
# order at a time, so a fault can leave at most one half-acknowledged order per barista.
DUPLICATE_BOUND = BARISTAS
ORDER = json.dumps(
    {"customer": {"id": "c-fault", "name": "Margaret"}, "items": [{"item": "espresso"}]}
).encode()


@dataclass(frozen=True)
class FaultResult:
    """One scenario on one backend, as the FAULTS.md table shows it."""

    scenario: str
    backend: str
    confirmed: int
    brewed: int
    dead_lettered: int
    lost: int
    duplicates: int
    recovery_seconds: float
    refused: int
    restarts: int
    # Orders a retrying customer never got confirmed within RETRY_BUDGET (producer-retry).
    gave_up: int = 0

    ROW_HEADER = (
        "| scenario | backend | confirmed | brewed | dead-lettered | lost | duplicates | "
        "recovery s | refused (503) | service restarts |"
    )
    ROW_RULE = "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

    def row(self) -> str:
        return (
            f"| {self.scenario} | {self.backend} | {self.confirmed} | {self.brewed} | "
            f"{self.dead_lettered} | {self.lost} | {self.duplicates} | "
            f"{self.recovery_seconds:.1f} | {self.refused} | {self.restarts} |"
        )


@dataclass
class FaultShop:
    backend: str
    broker_network: Network
    ledger_network: Network
    broker: Endpoint
    ledger: Endpoint
    counter: Counter
    brew_seconds_per_unit: float
    services: list[Container] = field(default_factory=list)
    # When set, the services reach the broker through it, on a network of their own.
    toxiproxy: Toxiproxy | None = None
    proxy_network: Network | None = None

    @property
    def service_network(self) -> Network:
        """The network on which the services find the broker (directly or through the proxy)."""
        return self.proxy_network or self.broker_network

    @property
    def api(self) -> Container:
        return self.services[0]

    @property
    def baristas(self) -> list[Container]:
        return self.services[1:]

    @property
    def broker_container(self) -> Container:
        return self.broker.container.get_wrapped_container()

    def api_port(self) -> int:
        """order-api's host port now (0 while Docker restarts it: a restart may move it)."""
        self.api.reload()
        bindings = self.api.ports.get("8080/tcp") or [{"HostPort": "0"}]
        return int(bindings[0]["HostPort"])

    def environment(self) -> dict[str, str]:
        return {
            "BARISTA_BROKER_URL": self.broker.internal_url(),
            "BARISTA_LEDGER_URL": self.ledger.internal_url(host=LEDGER_ALIAS),
            "BARISTA_LEDGER_NAMESPACE": self.counter.namespace,
            "BARISTA_ORDERS_QUEUE": self.counter.queue,
            "BARISTA_DEAD_LETTER_QUEUE": self.counter.dead_letter_queue,
            "BARISTA_EVENTS_TOPIC": f"{self.counter.queue}-events",
            "BARISTA_MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
            "BARISTA_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT,
            "BARISTA_BREW_SECONDS_PER_UNIT": str(self.brew_seconds_per_unit),
            "BARISTA_STOP_GRACE": "1",
        }

    def start_service(self, command: str, broker_timeout: float) -> Container:
        """A service container on both networks, restarted by Docker when it exits non-zero."""
        client = docker.from_env()
        container = client.containers.create(
            stable_image("service"),
            ["serve", command],
            environment={**self.environment(), "BARISTA_BROKER_TIMEOUT": str(broker_timeout)},
            labels={SESSION_LABEL: SESSION_ID, "barista.test-image": "service"},
            # (address, None): a random host port on 127.0.0.1 (types-docker misses None).
            ports={"8080/tcp": (LOOPBACK, None)},  # type: ignore[dict-item]
            network=self.ledger_network.name,
            restart_policy={"Name": "on-failure"},
        )
        self.services.append(container)
        self.service_network.connect(_id(container))
        container.start()
        return container

    def restarts(self) -> int:
        total = 0
        for container in self.services:
            container.reload()
            total += int(container.attrs.get("RestartCount", 0))
        return total

    def close(self) -> None:
        for container in self.services:
            with suppress(docker.errors.APIError):
                container.remove(force=True)


@contextmanager
def open_fault_shop(
    backend: str,
    services: bool = True,
    brew_seconds_per_unit: float = BREW_SECONDS_PER_UNIT,
    proxied: bool = False,
) -> Iterator[FaultShop]:
    """The broker, a separate ledger and (unless ``services`` is False) order-api and the
    baristas, running and ready; with ``proxied``, the services reach the broker only through
    Toxiproxy."""
    with Network() as broker_network, Network() as ledger_network, ExitStack() as extra:
        broker = STARTERS[backend](Credentials.generate(backend), network=broker_network)
        try:
            ledger = start_redis(Credentials.generate("ledger"), ledger_network)
            _rename_on(ledger_network, ledger, LEDGER_ALIAS)
            shop = FaultShop(
                backend,
                broker_network,
                ledger_network,
                broker,
                ledger,
                Counter.fresh(),
                brew_seconds_per_unit,
            )
            try:
                if proxied:
                    _put_proxy_in_front(shop, extra.enter_context(Network()))
                if services:
                    start_services(shop)
                yield shop
            finally:
                shop.close()
                if shop.toxiproxy is not None:
                    shop.toxiproxy.container.stop()
                ledger.container.stop()
        finally:
            broker.container.stop()


def _put_proxy_in_front(shop: FaultShop, proxy_network: Network) -> None:
    """Toxiproxy on ``proxy_network`` under the broker's name, forwarding each of the broker's
    ports to the broker's address on its own network: services on ``proxy_network`` only (and
    Kafka clients sent back to "kafka:19092" by the broker's metadata) go through it."""
    key = shop.broker.container.key
    proxy = start_toxiproxy(proxy_network, alias=key, also_on=[shop.broker_network])
    shop.toxiproxy, shop.proxy_network = proxy, proxy_network
    broker = shop.broker_container
    broker.reload()
    address = broker.attrs["NetworkSettings"]["Networks"][shop.broker_network.name]["IPAddress"]
    for port in PROXIED_PORTS[key]:
        proxy.proxy(f"{key}-{port}", port, f"{address}:{port}")


def _rename_on(network: Network, endpoint: Endpoint, alias: str) -> None:
    """Give a container ``alias`` instead of its image key on ``network``: a service on both
    networks would otherwise find two containers answering to "redis" (the ledger and, on the
    Redis backend, the broker). Docker 20.10 resolves aliases here, not container names."""
    container_id = _id(endpoint.container.get_wrapped_container())
    network._unwrap_network.disconnect(container_id)
    network.connect(container_id, [alias])


def start_services(shop: FaultShop, wait_ready: bool = True) -> None:
    shop.start_service("order-api", API_BROKER_TIMEOUT)
    for _ in range(BARISTAS):
        shop.start_service("barista", BARISTA_BROKER_TIMEOUT)
    if wait_ready:
        wait_until_ready(shop, 120)


def wait_until_ready(shop: FaultShop, timeout: float) -> None:
    def on_shift(container: Container) -> bool:
        return b'"message": "barista on shift"' in container.logs()

    def api_confirms() -> bool:
        return _post(shop.api_port(), timeout=5) == 202

    assert wait_for(api_confirms, timeout, interval=0.5), _logs(shop.api)
    for barista in shop.baristas:
        assert wait_for(partial(on_shift, barista), timeout, interval=0.5), _logs(barista)


def _logs(container: Container) -> str:
    with suppress(docker.errors.APIError):
        return str(container.logs()[-3000:].decode(errors="replace"))
    return "(no logs)"


def _post(port: int, timeout: float = 10) -> int:
    request = urllib.request.Request(
        f"http://{LOOPBACK}:{port}/orders", ORDER, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


class Customers:
    """Posts orders at ``rate`` per second until stopped; keeps every confirmed order id.

    A ``retrying`` customer sends each order with an ``Idempotency-Key`` and asks again after
    every refusal (503, or no answer) until it is confirmed, as an SDK's retry would, for at
    most ``RETRY_BUDGET`` seconds; what it never got confirmed is counted in ``gave_up``."""

    def __init__(
        self, port: Callable[[], int], rate: float = ORDER_RATE, retrying: bool = False
    ) -> None:
        self._port = port
        self._interval = 1 / rate
        self._retrying = retrying
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._confirmed: list[tuple[float, str]] = []
        self.refused = 0
        self.gave_up = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Customers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if self._retrying:
                self._order_until_confirmed(uuid.uuid4().hex)
            else:
                self._record(self._post_one())
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def _record(self, order_id: str | None) -> None:
        with self._lock:
            if order_id is not None:
                self._confirmed.append((time.monotonic(), order_id))
            else:
                self.refused += 1

    def _order_until_confirmed(self, key: str) -> None:
        """One order, asked again under the same key until confirmed (not cut short by
        ``stop``: a customer who was refused keeps asking for the coffee they ordered)."""
        deadline = time.monotonic() + RETRY_BUDGET
        while True:
            order_id = self._post_one(key)
            self._record(order_id)
            if order_id is not None:
                return
            if time.monotonic() >= deadline:
                with self._lock:
                    self.gave_up += 1
                return
            threading.Event().wait(RETRY_PAUSE)

    def _post_one(self, key: str | None = None) -> str | None:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(f"http://{LOOPBACK}:{self._port()}/orders", ORDER, headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 202:
                    return str(json.loads(response.read())["order_id"])
        except (OSError, ValueError):
            pass
        return None

    def confirmed(self, before: float | None = None) -> list[str]:
        with self._lock:
            return [oid for at, oid in self._confirmed if before is None or at <= before]

    def confirmed_after(self, since: float) -> int:
        with self._lock:
            return sum(1 for at, _ in self._confirmed if at > since)

    def wait_for_confirmed(self, count: int, timeout: float = 60) -> None:
        assert wait_for(lambda: len(self.confirmed()) >= count, timeout), (
            f"only {len(self.confirmed())} orders confirmed, {self.refused} refused"
        )


class Judge:
    """Reads the ledger's hashes (``{ns}:state``, ``{ns}:brews``, see services.ledger)."""

    def __init__(self, shop: FaultShop) -> None:
        self._client = redis.Redis.from_url(shop.ledger.url, socket_timeout=5)
        self._state = f"{shop.counter.namespace}:state"
        self._brews = f"{shop.counter.namespace}:brews"

    def unsettled(self, order_ids: list[str]) -> list[str]:
        if not order_ids:
            return []
        states = self._client.hmget(self._state, order_ids)
        done = {b"brewed", b"dead-lettered"}
        return [oid for oid, state in zip(order_ids, states, strict=True) if state not in done]

    def counts(self, order_ids: list[str]) -> tuple[int, int, int]:
        """(brewed, dead-lettered, duplicates) among ``order_ids``."""
        if not order_ids:
            return 0, 0, 0
        states = self._client.hmget(self._state, order_ids)
        brews = self._client.hmget(self._brews, order_ids)
        duplicates = sum(max(0, int(count or 0) - 1) for count in brews)
        return states.count(b"brewed"), states.count(b"dead-lettered"), duplicates


# A fault acts on the shop and returns once it is healed (the moment recovery is timed from).
Fault = Callable[[FaultShop], None]


def broker_sigkill(shop: FaultShop) -> None:
    """SIGKILL the broker mid-stream, then start it again at once (a crash and a restart)."""
    container = shop.broker_container
    container.kill()
    assert wait_for(lambda: _status(container) == "exited", 30)
    container.start()


def partition_baristas(shop: FaultShop) -> None:
    """Cut every barista off the broker for longer than its reconnect budget, then heal."""
    _partition(shop, shop.baristas)


def partition_order_api(shop: FaultShop) -> None:
    """Cut order-api off the broker for longer than its confirm budget, then heal."""
    _partition(shop, [shop.api])


def _partition(shop: FaultShop, containers: list[Container]) -> None:
    network = shop.service_network._unwrap_network
    for container in containers:
        network.disconnect(_id(container), force=True)
    _hold(PARTITION_SECONDS)
    for container in containers:
        _reconnect(network, container)


def _reconnect(network: DockerNetwork, container: Container) -> None:
    """Reconnect; a container that Docker is restarting meanwhile is connected all the same."""
    with suppress(docker.errors.APIError):
        network.connect(_id(container))


def _id(container: Container) -> str:
    return str(container.id)


def _status(container: Container) -> str:
    container.reload()
    return str(container.status)


def broker_late(shop: FaultShop) -> None:
    """The services start while the broker is down; it comes up ``PARTITION_SECONDS`` later."""
    _hold(PARTITION_SECONDS)
    shop.broker_container.start()


def broker_bandwidth(shop: FaultShop) -> None:
    """Throttle everything the broker sends to ``BANDWIDTH`` (tc tbf on its interface, which
    also queues packets: added latency) for ``PARTITION_SECONDS``, then lift the limit."""
    shop.broker_container.reload()
    pid = str(shop.broker_container.attrs["State"]["Pid"])
    in_broker = ["nsenter", "--target", pid, "--net", "tc", "qdisc"]
    subprocess.run([*in_broker, "add", "dev", "eth0", "root", "tbf", *TBF], check=True)
    try:
        _hold(PARTITION_SECONDS)
    finally:
        subprocess.run([*in_broker, "del", "dev", "eth0", "root"], check=True)


def broker_latency(shop: FaultShop) -> None:
    """Delay everything between the services and the broker by ``LATENCY_MS`` ± ``JITTER_MS``
    each way (Toxiproxy's latency toxic) for ``PARTITION_SECONDS``, then take the delay off."""
    proxy = shop.toxiproxy
    assert proxy is not None, "broker-latency needs a proxied shop"
    names = proxy.proxies()
    for name in names:
        proxy.add_latency(name, LATENCY_MS, JITTER_MS)
    try:
        # The delay is real: an order's confirm needs at least one round trip to the broker.
        started = time.monotonic()
        status = _post(shop.api_port())
        took = time.monotonic() - started
        shortest = 2 * (LATENCY_MS - JITTER_MS) / 1000
        assert status == 202, f"{status} after {took:.3f} s"
        assert took >= shortest, f"confirmed in {took:.3f} s through the delay"
        _hold(max(0.0, PARTITION_SECONDS - took))
    finally:
        for name in names:
            proxy.clear(name)


def slow_baristas(shop: FaultShop) -> None:
    """Every cup takes longer than the visibility timeout (the shop is opened that way); let
    orders arrive for ``PARTITION_SECONDS`` while the baristas brew past it."""
    _hold(PARTITION_SECONDS)


def _hold(seconds: float) -> None:
    """Let a fault last: its length is the experiment itself, not a wait for something."""
    threading.Event().wait(seconds)


@dataclass(frozen=True)
class Scenario:
    fault: Fault
    # The fault begins before the services start (they must come up without a broker).
    before_services: bool = False
    brew_seconds_per_unit: float = BREW_SECONDS_PER_UNIT
    order_rate: float = ORDER_RATE
    # The services reach the broker through Toxiproxy.
    proxied: bool = False
    # Customers retry refused orders under an Idempotency-Key.
    retrying: bool = False


SCENARIOS: dict[str, Scenario] = {
    "broker-sigkill": Scenario(broker_sigkill),
    "partition-baristas": Scenario(partition_baristas),
    "partition-order-api": Scenario(partition_order_api),
    "broker-late": Scenario(broker_late, before_services=True),
    "broker-bandwidth": Scenario(broker_bandwidth),
    "broker-latency": Scenario(broker_latency, proxied=True),
    # A failover on one node: the broker SIGKILLed and started again while customers retry
    # every refused order under its Idempotency-Key until it is confirmed.
    "producer-retry": Scenario(broker_sigkill, retrying=True),
    # An espresso is 0.5 units: 4.5 s per cup against a 3 s visibility timeout.
    "slow-consumer": Scenario(slow_baristas, brew_seconds_per_unit=9.0, order_rate=0.5),
}


def run_scenario(scenario: str, backend: str) -> FaultResult:
    """Open a shop, let customers order, apply the fault, heal it, and judge by the ledger."""
    chosen = SCENARIOS[scenario]
    with open_fault_shop(
        backend, not chosen.before_services, chosen.brew_seconds_per_unit, chosen.proxied
    ) as shop:
        if chosen.before_services:
            shop.broker_container.stop(timeout=10)
            start_services(shop, wait_ready=False)
        with Customers(shop.api_port, chosen.order_rate, chosen.retrying) as customers:
            return _observe(scenario, shop, customers, chosen)


def _observe(scenario: str, shop: FaultShop, customers: Customers, chosen: Scenario) -> FaultResult:
    """Apply the fault mid-stream, time the recovery from the heal, then judge the ledger."""
    judge = Judge(shop)
    if not chosen.before_services:
        customers.wait_for_confirmed(max(1, int(STEADY_SECONDS * chosen.order_rate / 2)))
    chosen.fault(shop)
    healed = time.monotonic()
    before_heal = customers.confirmed(before=healed)

    def recovered() -> bool:
        return customers.confirmed_after(healed) > 0 and not judge.unsettled(before_heal)

    assert wait_for(recovered, RECOVERY_TIMEOUT, interval=0.25), (
        f"not recovered {RECOVERY_TIMEOUT:.0f} s after healing: "
        f"{len(judge.unsettled(before_heal))} of {len(before_heal)} confirmed orders "
        f"unsettled, {customers.confirmed_after(healed)} confirmed since\n"
        + "\n".join(_logs(c) for c in shop.services)
    )
    recovery = time.monotonic() - healed
    _hold(STEADY_SECONDS)
    customers.stop()
    confirmed = customers.confirmed()
    wait_for(lambda: not judge.unsettled(confirmed), SETTLE_TIMEOUT, interval=0.5)
    lost = judge.unsettled(confirmed)
    brewed, dead_lettered, duplicates = judge.counts(confirmed)
    return FaultResult(
        scenario=scenario,
        backend=shop.backend,
        confirmed=len(confirmed),
        brewed=brewed,
        dead_lettered=dead_lettered,
        lost=len(lost),
        duplicates=duplicates,
        recovery_seconds=recovery,
        refused=customers.refused,
        restarts=shop.restarts(),
        gave_up=customers.gave_up,
    )
