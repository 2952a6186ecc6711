"""Receipt handles: opaque tokens that end when the message is deleted or its visibility ends."""

from __future__ import annotations

from broker_adapters import Delivery, Message, Outcome
from orchestrator.sqs.receipts import Receipt, Receipts, decode, encode


class FakeDelivery(Delivery):
    def _settle_ack(self) -> None:
        pass

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        return Outcome.REQUEUED


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def delivery(message_id: str = "m-1") -> FakeDelivery:
    return FakeDelivery(Message(body=b"x", id=message_id, timestamp=1.0))


def test_a_handle_encodes_its_queue_message_and_receive():
    receipt = Receipt("orders", "2f6c-0", "ab12")
    handle = encode(receipt)
    assert "orders" not in handle, "the token is opaque"
    assert decode(handle) == receipt


def test_a_mangled_handle_is_not_a_receipt():
    assert decode("not-a-handle") is None
    assert decode("") is None
    assert decode(encode(Receipt("orders", "m", "n"))[:-3]) is None


def test_each_receive_gets_a_new_handle():
    receipts = Receipts(Clock())
    first = receipts.hold("orders", "redis", delivery(), 30)
    second = receipts.hold("orders", "redis", delivery(), 30)
    assert first != second


def test_a_handle_ends_when_its_visibility_timeout_passes():
    clock = Clock()
    receipts = Receipts(clock)
    handle = receipts.hold("orders", "kafka", delivery(), 30)
    clock.now += 29
    assert receipts.get(handle) is not None
    assert receipts.expired() == []
    clock.now += 1
    assert receipts.get(handle) is None
    assert [held.handle for held in receipts.expired()] == [handle]
    assert receipts.extend(handle, 30) is False


def test_extending_moves_the_deadline_from_now():
    clock = Clock()
    receipts = Receipts(clock)
    handle = receipts.hold("orders", "rabbitmq", delivery(), 10)
    clock.now += 5
    assert receipts.extend(handle, 60) is True
    clock.now += 30
    assert receipts.get(handle) is not None
    assert receipts.expired() == []


def test_a_released_handle_is_gone():
    receipts = Receipts(Clock())
    handle = receipts.hold("orders", "redis", delivery(), 30)
    assert receipts.release(handle) is not None
    assert receipts.release(handle) is None
    assert receipts.get(handle) is None


def test_held_deliveries_are_counted_per_queue_and_backend():
    receipts = Receipts(Clock())
    receipts.hold("orders", "kafka", delivery("a"), 30)
    receipts.hold("orders", "kafka", delivery("b"), 30)
    receipts.hold("orders", "redis", delivery("c"), 30)
    assert len(receipts.of_queue("orders", "kafka")) == 2
    assert len(receipts.drop_queue("orders", "kafka")) == 2
    assert receipts.of_queue("orders", "kafka") == []
