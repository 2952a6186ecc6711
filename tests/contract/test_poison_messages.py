"""Poison messages put on each broker with its own plain client (kcat, amqp-publish, redis-cli;
on the memory backend, ``memory.send_plain``).

Whatever a plain client writes, the adapter decodes it without raising, the barista
dead-letters it with a reason instead of crashing or looping, and the next good order is
brewed. The barista runs in-process against the real broker and a real Redis ledger (so those
tests need Docker on every backend).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from broker_adapters import Broker, Delivery, QueueConfig, RedrivePolicy, connect, memory, wire
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE
from services.barista import Barista, BaristaSettings
from services.ledger import Ledger, OrderState
from services.messaging import declare_orders
from services.orders import Customer, Order, OrderItem
from tests.contract.conftest import require
from tests.support.brokers import Endpoint, MemoryEndpoint
from tests.support.receiving import receive_count, receive_until, wait_for
from tests.support.tools import require_tool, run_tool

# A plain client's send: (queue, body, headers).
PlainSend = Callable[[str, str, dict[str, str]], None]


def kcat_sender(endpoint: Endpoint) -> PlainSend:
    kcat = require_tool("kcat")
    creds = endpoint.credentials

    def send(queue: str, body: str, headers: dict[str, str]) -> None:
        options = [item for name, value in headers.items() for item in ("-H", f"{name}={value}")]
        run_tool(
            [
                kcat, "-b", f"127.0.0.1:{endpoint.port}", "-X", "security.protocol=SASL_PLAINTEXT",
                "-X", "sasl.mechanisms=PLAIN", "-X", f"sasl.username={creds.user}",
                "-X", f"sasl.password={creds.password}",
                "-P", "-t", queue, "-k", uuid.uuid4().hex, *options,
            ],
            stdin=body,
        )  # fmt: skip

    return send


def amqp_publish_sender(endpoint: Endpoint) -> PlainSend:
    amqp_publish = require_tool("amqp-publish")
    creds = endpoint.credentials
    url = f"amqp://{creds.user}:{creds.password}@127.0.0.1:{endpoint.port}"

    def send(queue: str, body: str, headers: dict[str, str]) -> None:
        options = [item for name, value in headers.items() for item in ("-H", f"{name}: {value}")]
        run_tool([amqp_publish, "--url", url, "-r", queue, "-p", *options, "-b", body])

    return send


def redis_cli_sender(endpoint: Endpoint) -> PlainSend:
    redis_cli = require_tool("redis-cli")
    creds = endpoint.credentials

    def send(queue: str, body: str, headers: dict[str, str]) -> None:
        fields = [item for pair in headers.items() for item in pair]
        run_tool(
            [
                redis_cli, "-p", str(endpoint.port), "--no-auth-warning",
                "--user", creds.user, "--pass", creds.password,
                "XADD", f"barista:queue:{queue}", "*", "body", body, *fields,
            ],
        )  # fmt: skip

    return send


def memory_sender(endpoint: MemoryEndpoint) -> PlainSend:
    def send(queue: str, body: str, headers: dict[str, str]) -> None:
        memory.send_plain(endpoint.url, queue, body.encode(), headers)

    return send


SENDERS: dict[str, Callable[..., PlainSend]] = {
    "kafka": kcat_sender,
    "kafka-share": kcat_sender,
    "rabbitmq": amqp_publish_sender,
    "redis": redis_cli_sender,
    "memory": memory_sender,
}


@pytest.fixture
def plain_send(backend: str, endpoint: Endpoint | MemoryEndpoint) -> PlainSend:
    return SENDERS[backend](endpoint)


def order_body(order_id: str, *, naive: bool = False) -> str:
    accepted_at = datetime.now(UTC)
    order = Order(
        customer=Customer(id="c-1", name="Ada"),
        items=[OrderItem(item="espresso")],
        order_id=order_id,
        accepted_at=accepted_at,
    )
    body = order.model_dump()
    body["accepted_at"] = (accepted_at.replace(tzinfo=None) if naive else accepted_at).isoformat()
    return json.dumps(body)


def order_id_of(body: bytes) -> str:
    """Without parsing (json.loads raises RecursionError on the deep one)."""
    found = re.search(rb'"order_id": "([^"]+)"', body)
    assert found is not None, body[:80]
    return found.group(1).decode()


@dataclass(frozen=True)
class Poison:
    body: str
    headers: dict[str, str]
    reason: str


def poisons(tag: str) -> dict[str, Poison]:
    """Poison messages by order id; each reason is how the dead letter's reason begins."""
    deep = json.dumps({"order_id": f"{tag}-deep", "items": "@"}).replace(
        '"@"', "[" * 1000 + "]" * 1000
    )
    return {
        f"{tag}-timestamp": Poison(
            order_body(f"{tag}-timestamp"),
            {wire.TIMESTAMP: "abc"},
            "malformed headers: barista-timestamp: 'abc'",
        ),
        f"{tag}-attempts": Poison(
            order_body(f"{tag}-attempts"),
            {wire.PRIOR_ATTEMPTS: "-1000000"},
            "malformed headers: barista-prior-attempts: '-1000000' is negative",
        ),
        f"{tag}-deep": Poison(deep, {}, "invalid order: "),
        f"{tag}-naive": Poison(order_body(f"{tag}-naive", naive=True), {}, "invalid order: "),
    }


@pytest.fixture
def settings(
    endpoint: Endpoint | MemoryEndpoint, redis_server: Endpoint, unique_name: str
) -> BaristaSettings:
    return BaristaSettings(
        broker_url=endpoint.url,
        ledger_url=redis_server.url,
        orders_queue=f"{unique_name}-orders",
        dead_letter_queue=f"{unique_name}-dlq",
        events_topic=f"{unique_name}-events",
        max_receive_count=3,
        visibility_timeout=30,
        brew_seconds_per_unit=0.01,
        ledger_namespace=f"test:{unique_name}",
        name="barista-test",
    )


def open_shop(settings: BaristaSettings) -> Broker:
    broker = connect(settings.broker_url)
    declare_orders(
        broker,
        settings.orders_queue,
        settings.dead_letter_queue,
        settings.max_receive_count,
        settings.visibility_timeout,
    )
    return broker


@pytest.fixture
def counter(settings: BaristaSettings) -> Iterator[Broker]:
    broker = open_shop(settings)
    yield broker
    broker.close()


@pytest.fixture
def ledger(settings: BaristaSettings) -> Ledger:
    return Ledger.from_url(settings.ledger_url, settings.ledger_namespace)


class Baristas:
    """Baristas on threads, each with its own broker connection; ``stop`` waits for them."""

    def __init__(self, settings: BaristaSettings) -> None:
        self.settings = settings
        self._started: list[tuple[threading.Thread, threading.Event, Broker]] = []

    def start(self, own: BaristaSettings | None = None) -> threading.Thread:
        chosen = own or self.settings
        broker, stopping = open_shop(chosen), threading.Event()
        ledger = Ledger.from_url(chosen.ledger_url, chosen.ledger_namespace)
        thread = threading.Thread(target=Barista(chosen, broker, ledger, stopping).run, daemon=True)
        thread.start()
        self._started.append((thread, stopping, broker))
        return thread

    def stop(self) -> None:
        """Ask every barista to leave (a cup within stop_grace is finished), then wait."""
        started, self._started = self._started, []
        for _, stopping, _ in started:
            stopping.set()
        for thread, _, broker in started:
            thread.join(30)
            assert not thread.is_alive(), "a barista did not leave its shift"
            broker.close()


@pytest.fixture
def baristas(settings: BaristaSettings) -> Iterator[Baristas]:
    on_shift = Baristas(settings)
    yield on_shift
    on_shift.stop()


@pytest.mark.docker  # the ledger is a Redis
def test_each_poison_from_a_plain_client_is_dead_lettered_and_good_orders_flow(
    settings: BaristaSettings,
    counter: Broker,
    ledger: Ledger,
    plain_send: PlainSend,
    baristas: Baristas,
    unique_name: str,
):
    barista = baristas.start()
    poisoned = poisons(unique_name)
    for order_id, poison in poisoned.items():
        ledger.accepted(order_id)
        plain_send(settings.orders_queue, poison.body, poison.headers)
    good = f"{unique_name}-good"
    ledger.accepted(good)
    plain_send(settings.orders_queue, order_body(good), {})

    letters = receive_count(
        lambda: counter.receive(settings.dead_letter_queue, 10, wait=1), len(poisoned), timeout=90
    )
    reasons = {order_id_of(d.message.body): d.message.headers[DEAD_LETTER_REASON] for d in letters}
    assert sorted(reasons) == sorted(poisoned)
    for order_id, reason in reasons.items():
        assert reason.startswith(poisoned[order_id].reason), (order_id, reason)
    assert {d.message.headers[DEAD_LETTER_SOURCE] for d in letters} == {settings.orders_queue}
    assert wait_for(lambda: ledger.state(good) is OrderState.BREWED, timeout=60)
    assert ledger.brews(good) == 1
    # The barista records a dead letter right after the broker took it.
    assert wait_for(
        lambda: all(ledger.state(o) is OrderState.DEAD_LETTERED for o in poisoned), timeout=30
    )
    assert barista.is_alive(), "the barista left its shift"
    assert wait_for(lambda: counter.backlog(settings.orders_queue).total == 0, timeout=30)


def test_a_negative_attempt_count_cannot_keep_a_message_from_the_dead_letter_queue(
    broker: Broker, plain_send: PlainSend, unique_name: str
):
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(dlq)
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy(dlq, 3)))
    plain_send(unique_name, "forged", {wire.PRIOR_ATTEMPTS: "-1000000"})
    attempts: list[int] = []

    def nack_all() -> list[Delivery]:
        for delivery in broker.receive(unique_name, 1, wait=0.5):
            attempts.append(delivery.message.attempt)
            delivery.nack(requeue=True, reason="still poison")
        return broker.receive(dlq, 1)

    [letter] = receive_until(nack_all, lambda got: len(got) >= 1, timeout=60)
    assert attempts == [1, 2, 3]
    assert letter.message.body == b"forged"
    assert letter.message.headers[DEAD_LETTER_REASON] == "still poison"


def test_a_negative_attempt_count_cannot_keep_a_crash_looping_message_from_the_dlq(
    broker: Broker, plain_send: PlainSend, unique_name: str
):
    """A consumer that never settles (crashes): the visibility timeout hands the message back,
    and the broker's own count dead-letters it."""
    require(broker, "visibility_timeout")
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(dlq)
    broker.declare_queue(
        unique_name,
        QueueConfig(visibility_timeout=0.2, redrive_policy=RedrivePolicy(dlq, 2)),
    )
    plain_send(unique_name, "forged", {wire.PRIOR_ATTEMPTS: "-1000000"})

    def hold_and_look() -> list[Delivery]:
        broker.receive(unique_name, 1, wait=0.5)  # held, never settled
        return broker.receive(dlq, 1)

    [letter] = receive_until(hold_and_look, lambda got: len(got) >= 1, timeout=60)
    assert letter.message.body == b"forged"


@pytest.mark.docker  # the ledger is a Redis
def test_a_long_order_is_kept_invisible_while_it_brews_and_brewed_once(
    settings: BaristaSettings,
    counter: Broker,
    ledger: Ledger,
    baristas: Baristas,
    unique_name: str,
):
    """Two baristas, a visibility timeout of 1 s and an order that takes 3 s: the brewing
    barista's heartbeat keeps the other from taking it."""
    require(counter, "visibility_changes")
    short = settings.model_copy(update={"visibility_timeout": 1.0, "brew_seconds_per_unit": 1.0})
    order = Order(
        customer=Customer(id="c-1", name="Ada"),
        items=[OrderItem(item="espresso", quantity=6)],  # 6 x 0.5 s
        order_id=f"{unique_name}-long",
        accepted_at=datetime.now(UTC),
    )
    ledger.accepted(order.order_id)
    baristas.start(short)
    baristas.start(short)
    counter.send(short.orders_queue, order.model_dump_json().encode())
    assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, timeout=60)
    assert wait_for(lambda: counter.backlog(short.orders_queue).total == 0, timeout=30)
    baristas.stop()  # a second barista brewing it too would finish its cup (stop_grace 5 s)
    assert ledger.brews(order.order_id) == 1
