"""No message crashes the barista: each poison ends dead-lettered with a reason."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from broker_adapters import BrokerUnavailable, Features, Message, Outcome, wire
from broker_adapters.core import Delivery
from broker_adapters.memory import MemoryBroker
from services.barista import Barista, BaristaSettings
from services.ledger import OrderState
from services.messaging import declare_orders
from services.orders import Customer, Order, OrderItem
from tests.support.receiving import wait_for
from tests.unit.services.fakes import FakeLedger, RecordingBroker


class RecordingDelivery(Delivery):
    """Settles nothing anywhere; remembers the decision and every visibility change."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.nacks: list[tuple[bool, str]] = []
        self.extensions: list[float] = []

    def _settle_ack(self) -> None:
        pass

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        self.nacks.append((requeue, reason))
        return Outcome.REQUEUED if requeue else Outcome.DEAD_LETTERED

    def _change_visibility(self, timeout: float) -> bool:
        self.extensions.append(timeout)
        return True


class NoDeadlineBroker(RecordingBroker):
    """Declares what Kafka's consumer groups and RabbitMQ declare: no visibility deadline."""

    features: ClassVar[Features] = replace(
        MemoryBroker.features,
        name="no-deadline",
        visibility_timeout=False,
        visibility_changes=False,
    )


def an_order(order_id: str = "o-1", cups: int = 1) -> Order:
    return Order(
        customer=Customer(id="c-1", name="Ada"),
        items=[OrderItem(item="espresso", quantity=cups)],
        order_id=order_id,
        accepted_at=datetime.now(UTC),
    )


def delivery(body: bytes, headers: dict[str, str] | None = None) -> RecordingDelivery:
    message = wire.decode(body, headers or {}, default_id="m-1", default_timestamp=1.0)
    return RecordingDelivery(message)


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


def barista_for(broker: RecordingBroker, ledger: FakeLedger, **overrides: object) -> Barista:
    settings = BaristaSettings.model_validate(
        {
            "broker_url": "redis://broker:6379/0",
            "ledger_url": "redis://ledger:6379/1",
            "brew_seconds_per_unit": 0.0,
            "name": "barista-test",
        }
        | overrides
    )
    return Barista(settings, broker, ledger, threading.Event())  # type: ignore[arg-type]


@pytest.fixture
def barista(broker: RecordingBroker, ledger: FakeLedger) -> Barista:
    return barista_for(broker, ledger)


GOOD = an_order().model_dump_json().encode()
NAIVE = GOOD.replace(b"+00:00", b"").replace(b"Z", b"")
DEEP = b'{"order_id": "o-deep", "items": ' + b"[" * 1000 + b"]" * 1000 + b"}"


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (GOOD, {wire.TIMESTAMP: "abc"}, "malformed headers: barista-timestamp: 'abc'"),
        (GOOD, {wire.PRIOR_ATTEMPTS: "-1000000"}, "malformed headers: barista-prior-attempts"),
        (DEEP, {}, "invalid order: "),
        (b"[" * 100_000, {}, "invalid order: "),
        (NAIVE, {}, "invalid order: accepted_at: "),
        (b"\xff\xfe not even text", {}, "invalid order: "),
    ],
    ids=["timestamp-abc", "negative-attempts", "nested-1000", "nested-100000", "naive", "bytes"],
)
def test_a_poison_message_is_dead_lettered_at_once_with_its_reason(
    barista: Barista, broker: RecordingBroker, body: bytes, headers: dict[str, str], reason: str
):
    poison = delivery(body, headers)
    barista.handle(poison)
    assert poison.outcome is Outcome.DEAD_LETTERED
    [(requeue, said)] = poison.nacks
    assert not requeue
    assert said.startswith(reason), said
    assert broker.published == []


def test_a_dead_lettered_order_is_recorded_in_the_ledger(barista: Barista, ledger: FakeLedger):
    ledger.accepted("o-1")
    barista.handle(delivery(GOOD, {wire.TIMESTAMP: "abc"}))
    assert ledger.states == {"o-1": OrderState.DEAD_LETTERED}


def test_the_naive_order_is_never_acked(barista: Barista, ledger: FakeLedger):
    poison = delivery(NAIVE)
    barista.handle(poison)
    assert poison.outcome is Outcome.DEAD_LETTERED
    assert ledger.brew_counts == {}


def test_any_other_error_while_brewing_dead_letters_the_order_with_its_text(
    barista: Barista, broker: RecordingBroker
):
    broker.fail("publish", RuntimeError("kettle on fire"))
    order = delivery(GOOD)
    barista.handle(order)
    assert order.nacks == [(False, "barista failed on it: RuntimeError: kettle on fire")]


def test_a_broker_error_hands_the_order_back_for_the_redrive_policy_to_count(
    barista: Barista, broker: RecordingBroker
):
    broker.fail("publish", BrokerUnavailable("down"))
    order = delivery(GOOD)
    barista.handle(order)
    assert order.nacks == [(True, "broker error: BrokerUnavailable: down")]


def test_a_ledger_that_does_not_answer_still_gets_the_order_brewed_and_acked(
    barista: Barista, broker: RecordingBroker, ledger: FakeLedger
):
    ledger.fail("state")
    ledger.fail("brewed")
    order = delivery(GOOD)
    barista.handle(order)
    assert order.outcome is Outcome.ACKED
    assert len(broker.published) == 1


def test_a_very_long_reason_is_cut_short(barista: Barista, broker: RecordingBroker):
    broker.fail("publish", RuntimeError("x" * 10_000))
    order = delivery(GOOD)
    barista.handle(order)
    [(_, reason)] = order.nacks
    assert len(reason) <= 500


def test_good_orders_keep_flowing_after_every_poison(broker: RecordingBroker, ledger: FakeLedger):
    barista = barista_for(broker, ledger)
    declare_orders(broker, "orders", "orders-dlq", 3, 30.0)
    poisons = [DEEP, NAIVE, b"not json", b"[]"]
    for body in poisons:
        broker.send("orders", body)
    broker.send("orders", an_order("o-good").model_dump_json().encode())
    worker = threading.Thread(target=barista.run, daemon=True)
    worker.start()
    try:
        assert wait_for(lambda: ledger.states.get("o-good") is OrderState.BREWED, timeout=10)
    finally:
        barista.stopping.set()
        worker.join(10)
    assert not worker.is_alive()
    assert broker.backlog("orders-dlq").visible == len(poisons)
    assert broker.backlog("orders").total == 0


def test_an_order_its_crashed_baristas_left_is_recorded_dead_lettered_by_the_next_receive(
    broker: RecordingBroker, ledger: FakeLedger
):
    """Two baristas took the order and died holding it (max_receive_count 2): no nack ever
    dead-letters it, the receive does, and the barista whose receive it was tells the ledger."""
    barista = barista_for(broker, ledger, max_receive_count=2)
    declare_orders(broker, "orders", "orders-dlq", 2, 30.0)
    ledger.accepted("o-1")
    broker.send("orders", GOOD)
    for attempt in (1, 2):
        crashed = broker.peer()
        declare_orders(crashed, "orders", "orders-dlq", 2, 30.0)
        [held] = crashed.receive("orders", 1, wait=1)
        assert held.message.attempt == attempt
        crashed.close()  # without settling, as a crash leaves it
    assert ledger.states == {"o-1": OrderState.ACCEPTED}
    worker = threading.Thread(target=barista.run, daemon=True)
    worker.start()
    try:
        assert wait_for(lambda: ledger.states.get("o-1") is OrderState.DEAD_LETTERED, timeout=10)
    finally:
        barista.stopping.set()
        worker.join(10)
    assert not worker.is_alive()
    assert ledger.brew_counts == {}
    assert broker.backlog("orders-dlq").visible == 1


def test_visibility_is_extended_while_a_long_order_brews(ledger: FakeLedger):
    broker = RecordingBroker()  # memory:// keeps a visibility deadline per message
    barista = barista_for(broker, ledger, visibility_timeout=0.3, brew_seconds_per_unit=1.0)
    order = delivery(an_order(cups=2).model_dump_json().encode())  # 2 espressos: 1 s
    barista.handle(order)
    assert order.outcome is Outcome.ACKED
    assert len(order.extensions) >= 5
    assert set(order.extensions) == {0.3}


def test_no_heartbeat_where_the_broker_keeps_no_visibility_deadline(ledger: FakeLedger):
    barista = barista_for(
        NoDeadlineBroker(), ledger, visibility_timeout=0.05, brew_seconds_per_unit=0.2
    )
    order = delivery(GOOD)
    barista.handle(order)
    assert order.outcome is Outcome.ACKED
    assert order.extensions == []


def test_the_order_id_of_a_body_nested_too_deep_is_still_recorded(
    barista: Barista, ledger: FakeLedger
):
    ledger.accepted("o-deep")
    barista.handle(delivery(DEEP))
    assert ledger.states == {"o-deep": OrderState.DEAD_LETTERED}


def test_a_body_naming_two_order_ids_records_neither(barista: Barista, ledger: FakeLedger):
    body = b'{"order_id": "o-1", "x": {"order_id": "o-2", "y": ' + b"[" * 500 + b"]" * 500 + b"}}"
    barista.handle(delivery(body))
    assert ledger.states == {}
