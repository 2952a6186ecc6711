"""The project's service image against each real broker, on one Docker network: what a
barista container does when it is stopped (SIGTERM) or killed (SIGKILL) mid-brew, and how
many baristas brew at once. Kafka runs twice: its queues on a consumer group (``kafka``) and on
a share group (``kafka-share``)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from broker_adapters import connect
from services.ledger import Ledger, OrderState
from services.messaging import declare_orders
from services.orders import Order
from tests.support.brokers import QUEUE_BACKENDS, http_get
from tests.support.containers import LOOPBACK, ClientProbe, ProjectContainer
from tests.support.receiving import wait_for
from tests.support.shop import (
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT,
    Counter,
    Shop,
    open_shop,
    place_orders,
    service_environment,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module", params=QUEUE_BACKENDS)
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    with open_shop(request.param) as opened:
        yield opened


@pytest.fixture
def counter() -> Counter:
    return Counter.fresh()


def barista(shop: Shop, counter: Counter, brew_seconds_per_unit: float) -> ProjectContainer:
    container = (
        ProjectContainer("service")
        .with_command(["serve", "barista"])
        .with_network(shop.network)
        .with_env("BARISTA_BREW_SECONDS_PER_UNIT", str(brew_seconds_per_unit))
        .with_env("BARISTA_STOP_GRACE", "1")
    )
    for key, value in service_environment(shop, counter).items():
        container.with_env(key, value)
    container.waiting_for(
        ClientProbe(lambda: _log_has(container, '"message": "barista on shift"'), 120)
    )
    return container.start()


def _log_has(container: ProjectContainer, text: str) -> None:
    stdout, stderr = container.get_logs()
    if text not in (stdout + stderr).decode(errors="replace"):
        raise RuntimeError(f"no {text!r} in the log yet")


def place_order(shop: Shop, counter: Counter) -> Order:
    (order,) = place_orders(shop, counter)
    return order


def wait_until_brewing(container: ProjectContainer, order: Order) -> None:
    assert wait_for(
        lambda: order.order_id in _logs(container) and "brewing" in _logs(container), 60
    ), _logs(container)[-3000:]


def _logs(container: ProjectContainer) -> str:
    stdout, stderr = container.get_logs()
    return (stdout + stderr).decode(errors="replace")


def _log_entries(container: ProjectContainer) -> list[dict[str, Any]]:
    """The barista's JSON log lines, in order (anything else it printed is left out)."""
    entries = []
    for line in _logs(container).splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
    return entries


def brewing_attempts(container: ProjectContainer, order: Order) -> list[int]:
    """``Message.attempt`` of each delivery of ``order`` this barista started brewing."""
    return [
        int(entry["attempt"])
        for entry in _log_entries(container)
        if entry.get("message") == "brewing" and entry.get("order_id") == order.order_id
    ]


def is_brewing(container: ProjectContainer) -> bool:
    """Whether the barista's last word on an order is that it started brewing it."""
    brewing = False
    for entry in _log_entries(container):
        if entry.get("message") == "brewing":
            brewing = True
        elif entry.get("message") in ("order ready", "handed back", "order rejected"):
            brewing = False
    return brewing


# Where Kafka's two queue modes behave alike, make test keeps the consumer group's case.
@pytest.mark.matrix(ci=("kafka", "rabbitmq", "redis"), param="shop")
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
    assert brewing_attempts(doomed, order) == [1]
    doomed.stop()
    # On a share group the order comes back when the broker sees the dead barista's share
    # session end, at the latest when its lock (the visibility timeout) expires.
    fast = barista(shop, counter, brew_seconds_per_unit=0.1)
    try:
        ledger = Ledger.from_url(shop.ledger.url, counter.namespace)
        assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, 90)
        assert ledger.brews(order.order_id) == 1
        assert ledger.summary().duplicates == 0
        with connect(shop.broker.url) as broker:
            counted = broker.features.counts_crash_redeliveries
        # Where the broker counts deliveries, the killed barista's receive counts too.
        assert brewing_attempts(fast, order) == [2 if counted else 1]
    finally:
        fast.stop()


BARISTAS = 5


# Slow (five baristas brewing 30 s cups): make test runs it on Redis, make test-matrix on all.
@pytest.mark.matrix(ci="redis", param="shop")
def test_five_baristas_brew_at_once_where_consumers_are_not_bound_to_partitions(shop: Shop):
    """Five baristas, each brewing an order at the same moment: on a share group too, though
    a consumer-group queue has 3 partitions (a consumer group gives at most one consumer per
    partition, which its Features declare as order per message group).

    Orders come one at a time, each once the previous one is being brewed, as customers do:
    a share fetch acquires up to a producer batch (about 10 records), so a burst could land in
    one barista's hands and prove nothing about how many can brew."""
    with connect(shop.broker.url) as broker:
        features = broker.features
    if features.ordering == "group":
        pytest.skip(
            f"{features.name} declares ordering='group': a message group's messages go to one "
            "consumer at a time, so a consumer group has one consumer per partition"
        )
    # A share group hands a partition's records to any of its consumers, so all five brew at
    # once. A share-group queue is one partition (KafkaConfig.share_partitions): once a share
    # group has as many members as partitions, the broker gives each member one partition,
    # and on 3 partitions an idle barista's consumers could all miss the waiting order's.
    at_once = BARISTAS
    # Cups of 30 s, locked for 60 s (a share group's lock is never extended), so every barista
    # is still brewing its first when the last one starts, and no order is handed out twice.
    counter = Counter.fresh(visibility_timeout="60")
    baristas = [barista(shop, counter, brew_seconds_per_unit=30) for _ in range(BARISTAS)]
    try:
        orders: list[Order] = []
        for n in range(at_once):
            orders += place_orders(shop, counter, first=n)
            assert wait_for(
                lambda n=n: sum(is_brewing(b) for b in baristas) == n + 1, 60, interval=0.5
            ), f"{n + 1} orders sent, brewing: {[is_brewing(b) for b in baristas]}"
        ledger = counter.ledger(shop)
        assert wait_for(
            lambda: all(ledger.state(o.order_id) is OrderState.BREWED for o in orders), 120
        ), ledger.summary()
        summary = ledger.summary()
        assert (summary.brewed, summary.duplicates) == (at_once, 0)
    finally:
        for container in baristas:
            container.stop()


def service(shop: Shop, counter: Counter, command: str, **env: str) -> ProjectContainer:
    """A service container of the shop, answering /readyz on a published port."""
    container = (
        ProjectContainer("service")
        .with_command(["serve", command])
        .with_network(shop.network)
        .publish(8080)
    )
    for key, value in service_environment(shop, counter).items():
        container.with_env(key, value)
    for key, value in env.items():
        container.with_env(f"BARISTA_{key.upper()}", value)

    def ready() -> None:
        status, body = http_get(f"http://{LOOPBACK}:{container.host_port(8080)}/readyz")
        if status != 200:
            raise RuntimeError(f"readyz answered {status}: {body[:200]!r}")

    container.waiting_for(ClientProbe(ready, 120))
    return container.start()


def post_order(api: ProjectContainer, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://{LOOPBACK}:{api.host_port(8080)}/orders",
        body,
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def events_counted(container: ProjectContainer, kind: str) -> float:
    _, body = http_get(f"http://{LOOPBACK}:{container.host_port(8080)}/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("barista_events_received_total{") and f'kind="{kind}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


VALID_ORDER = {
    "customer": {"id": "c-42", "name": "Katherine"},
    "items": [{"item": "cortado", "size": "small", "quantity": 2}],
}


# Where Kafka's two queue modes behave alike, make test keeps the consumer group's case.
@pytest.mark.matrix(ci=("kafka", "rabbitmq", "redis"), param="shop")
def test_orders_posted_to_the_api_are_brewed_and_every_subscriber_hears_them(
    shop: Shop, counter: Counter
):
    roles = ("kitchen-display", "loyalty", "notifier")
    subscribers = {role: service(shop, counter, "subscriber", subscription=role) for role in roles}
    api = service(shop, counter, "order-api")
    worker = barista(shop, counter, brew_seconds_per_unit=0.05)
    try:
        accepted = []
        for _ in range(3):
            status, answer = post_order(api, json.dumps(VALID_ORDER).encode())
            assert status == 202, answer
            accepted.append(answer["order_id"])
        ledger = Ledger.from_url(shop.ledger.url, counter.namespace)
        assert wait_for(lambda: all(ledger.state(o) is OrderState.BREWED for o in accepted), 90), (
            ledger.summary()
        )
        for role, subscriber in subscribers.items():
            assert wait_for(lambda s=subscriber: events_counted(s, "order-ready") >= 3, 60), role
            assert events_counted(subscriber, "order-placed") >= 3, role
        summary = ledger.summary()
        assert (summary.brewed, summary.duplicates, summary.in_flight) == (3, 0, 0)
    finally:
        for container in (*subscribers.values(), api, worker):
            container.stop()


# Where Kafka's two queue modes behave alike, make test keeps the consumer group's case.
@pytest.mark.matrix(ci=("kafka", "rabbitmq", "redis"), param="shop")
def test_invalid_orders_get_reasons_per_field_and_nothing_is_published(
    shop: Shop, counter: Counter
):
    api = service(shop, counter, "order-api")
    try:
        status, answer = post_order(api, b"{not json")
        assert status == 400, answer
        bad = {**VALID_ORDER, "items": [{"item": "unicorn-latte", "quantity": 99}]}
        status, answer = post_order(api, json.dumps(bad).encode())
        assert status == 422, answer
        fields = {problem["field"] for problem in answer["fields"]}
        assert {"items.0.item", "items.0.quantity"} <= fields, answer
        with connect(shop.broker.url) as broker:
            declare_orders(
                broker,
                counter.queue,
                counter.dead_letter_queue,
                MAX_RECEIVE_COUNT,
                float(VISIBILITY_TIMEOUT),
            )
            assert broker.receive(counter.queue, 10, wait=2) == []
        assert Ledger.from_url(shop.ledger.url, counter.namespace).summary().accepted == 0
    finally:
        api.stop()


# Where Kafka's two queue modes behave alike, make test keeps the consumer group's case.
@pytest.mark.matrix(ci=("kafka", "rabbitmq", "redis"), param="shop")
def test_with_the_broker_stopped_the_api_answers_503_and_recovers(shop: Shop, counter: Counter):
    api = service(shop, counter, "order-api", broker_timeout="3")
    broker = shop.broker.container.get_wrapped_container()
    try:
        broker.stop(timeout=10)
        status, answer = post_order(api, json.dumps(VALID_ORDER).encode())
        assert status == 503, answer
    finally:
        broker.start()
    try:
        assert wait_for(
            lambda: post_order(api, json.dumps(VALID_ORDER).encode())[0] == 202, 120, interval=1
        )
    finally:
        api.stop()
