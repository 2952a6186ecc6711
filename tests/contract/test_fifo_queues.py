"""FIFO queues (SQS FIFO): order per message group across competing consumers, a group held
while one of its messages is in flight, deduplication, dead-lettering, crash redelivery.

Every test runs on every backend; where ``Features.fifo_queues`` is false the test is skipped
with the declaration, and the backend must refuse ``QueueConfig(fifo=True)``.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from broker_adapters import (
    Broker,
    Delivery,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    UnsupportedSemantic,
    ack_batch,
)
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE
from tests.contract.conftest import require
from tests.support.receiving import receive_count, receive_until, wait_for

FIFO = QueueConfig(fifo=True)


def _bodies(deliveries: list[Delivery]) -> list[bytes]:
    return [delivery.message.body for delivery in deliveries]


def _send_groups(broker: Broker, queue: str, sends: list[tuple[str, str]]) -> list[str]:
    return broker.send_batch(
        queue, [OutgoingMessage(body.encode(), group_id=g) for g, body in sends]
    )


def test_a_backend_without_fifo_queues_refuses_to_declare_one(broker: Broker, unique_name: str):
    require(broker, "fifo_queues", False)
    with pytest.raises(UnsupportedSemantic, match=r"Features\.fifo_queues=False"):
        broker.declare_queue(unique_name, FIFO)


def test_every_message_on_a_fifo_queue_needs_a_group(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    with pytest.raises(ValueError, match="group_id"):
        broker.send(unique_name, b"no group")
    assert broker.backlog(unique_name).total == 0


def test_a_queue_keeps_the_type_it_was_declared_with(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    with pytest.raises(ValueError, match="exists as a fifo queue"):
        broker.declare_queue(unique_name)
    standard = f"{unique_name}-standard"
    broker.declare_queue(standard)
    with pytest.raises(ValueError, match="exists as a standard queue"):
        broker.declare_queue(standard, FIFO)
    described = broker.describe_queue(unique_name)
    assert described is not None
    assert described.fifo
    described_standard = broker.describe_queue(standard)
    assert described_standard is not None
    assert not described_standard.fifo


def test_sequence_numbers_increase_in_send_order_and_travel_with_the_message(
    broker: Broker, unique_name: str
):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    sent = broker.send_batch_sequenced(
        unique_name,
        [OutgoingMessage(f"{n}".encode(), group_id=f"table-{n % 2}") for n in range(4)],
    )
    numbers = [s.sequence_number for s in sent]
    assert all(number is not None and number.isdigit() for number in numbers)
    assert sorted(numbers, key=lambda n: int(n or 0)) == numbers
    assert len(set(numbers)) == 4
    got = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 4)
    assert {d.message.id: d.message.sequence_number for d in got} == {
        s.message_id: s.sequence_number for s in sent
    }


def test_order_holds_per_group_and_a_group_is_never_in_two_hands(
    connect_broker: Callable[[], Broker], unique_name: str
):
    require(connect_broker(), "fifo_queues")
    consumers = [connect_broker() for _ in range(2)]
    for consumer in consumers:
        consumer.declare_queue(unique_name, FIFO)
    groups = [f"table-{n}" for n in range(3)]
    sends = [(group, f"{group}:{n}") for n in range(8) for group in groups]
    _send_groups(consumers[0], unique_name, sends)
    handled: dict[str, list[str]] = defaultdict(list)
    by_consumer: dict[int, int] = defaultdict(int)
    holders: dict[str, set[int]] = defaultdict(set)
    overlaps: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(index: int) -> None:
        # The first consumer takes one message at a time, the second up to three (one receive
        # may hand out several messages of one group, and of several groups).
        try:
            while not stop.is_set():
                batch = consumers[index].receive(unique_name, 1 + 2 * index, wait=0.5)
                last_of_group = {d.message.group_id: d for d in batch}
                with lock:
                    for delivery in batch:
                        group = delivery.message.group_id or ""
                        if holders[group] - {index}:
                            overlaps.append(delivery.message.body.decode())
                        holders[group].add(index)
                        by_consumer[index] += 1
                for delivery in batch:
                    time.sleep(0.02)  # a little work, so the other consumer gets a turn
                    with lock:
                        handled[delivery.message.group_id or ""].append(
                            delivery.message.body.decode()
                        )
                    if last_of_group[delivery.message.group_id] is delivery:
                        with lock:
                            holders[delivery.message.group_id or ""].discard(index)
                    delivery.ack()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    wait_for(lambda: sum(len(bodies) for bodies in handled.values()) >= len(sends), timeout=60)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert not overlaps, f"two consumers held one group at once: {overlaps}"
    for group in groups:
        assert handled[group] == [body for g, body in sends if g == group], group
    assert min(by_consumer[0], by_consumer[1]) > 0, (
        f"groups did not flow in parallel: {by_consumer}"
    )


def test_a_group_is_held_while_its_message_is_in_flight_and_freed_by_ack(
    connect_broker: Callable[[], Broker], unique_name: str
):
    first, second = connect_broker(), connect_broker()
    require(first, "fifo_queues")
    for consumer in (first, second):
        consumer.declare_queue(unique_name, FIFO)
    _send_groups(first, unique_name, [("a", "a1"), ("a", "a2"), ("b", "b1")])
    [a1] = receive_count(lambda: first.receive(unique_name, 1, wait=2), 1, ack=False)
    assert a1.message.body == b"a1"
    others = receive_until(
        lambda: second.receive(unique_name, 10, wait=0.5), lambda got: len(got) >= 1, timeout=5
    )
    assert _bodies(others) == [b"b1"], "group a is held while a1 is in flight"
    assert second.receive(unique_name, 10, wait=0.5) == []
    a1.ack()
    [a2] = receive_count(lambda: second.receive(unique_name, 10, wait=2), 1, timeout=10)
    assert a2.message.body == b"a2"


def test_a_held_group_is_freed_when_the_visibility_times_out(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, QueueConfig(fifo=True, visibility_timeout=1))
    _send_groups(broker, unique_name, [("a", "a1"), ("a", "a2")])
    [held] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert held.message.body == b"a1"
    assert broker.receive(unique_name, 10, wait=0.3) == [], "a2 waits behind a1"
    [again] = receive_count(
        lambda: broker.receive(unique_name, 1, wait=1), 1, timeout=10, ack=False
    )
    assert (again.message.body, again.message.attempt) == (b"a1", 2)
    assert held.ack() is True
    assert broker.receive(unique_name, 10, wait=0.3) == [], "a stale ack leaves a1 in flight"
    again.ack()
    [a2] = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 1, timeout=10)
    assert (a2.message.body, a2.message.attempt) == (b"a2", 1)


def test_change_visibility_keeps_a_group_held_or_frees_it(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, QueueConfig(fifo=True, visibility_timeout=1))
    _send_groups(broker, unique_name, [("a", "a1"), ("a", "a2")])
    [a1] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert a1.change_visibility(30) is True
    assert broker.receive(unique_name, 10, wait=1.5) == [], "extended past the queue's 1 s"
    assert a1.change_visibility(0) is True
    [again] = receive_count(lambda: broker.receive(unique_name, 1, wait=1), 1, timeout=10)
    assert (again.message.body, again.message.attempt) == (b"a1", 2)
    assert a1.change_visibility(30) is False, "the first receipt ended with the second receive"


def test_a_repeated_deduplication_id_is_dropped_within_the_window(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    first = broker.send_batch_sequenced(
        unique_name, [OutgoingMessage(b"order 77", group_id="a", dedup_id="order-77")]
    )
    second = broker.send_batch_sequenced(
        unique_name, [OutgoingMessage(b"order 77 again", group_id="a", dedup_id="order-77")]
    )
    assert second == first, "the duplicate answers the first message's id and number"
    broker.send(unique_name, b"order 78", group_id="a", dedup_id="order-78")
    got = receive_until(lambda: broker.receive(unique_name, 10, wait=1), lambda g: len(g) >= 2)
    assert _bodies(got) == [b"order 77", b"order 78"]
    assert got[0].message.dedup_id == "order-77"
    assert broker.receive(unique_name, 10, wait=0.5) == []


def test_a_batch_ack_frees_the_group_in_one_call(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    _send_groups(broker, unique_name, [("a", "a1"), ("a", "a2"), ("a", "a3")])
    first = receive_count(lambda: broker.receive(unique_name, 2, wait=2), 2, ack=False)
    assert _bodies(first) == [b"a1", b"a2"]
    assert broker.receive(unique_name, 10, wait=0.3) == []
    assert ack_batch([*first, first[0]]) == [True, True, False]
    [a3] = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 1, timeout=10)
    assert a3.message.body == b"a3"
    assert broker.backlog(unique_name).total == 0


def test_a_delayed_message_holds_back_the_rest_of_its_group(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    sent_at = time.monotonic()
    broker.send(unique_name, b"a1", group_id="a", delay=1.5)
    _send_groups(broker, unique_name, [("a", "a2"), ("b", "b1")])
    [b1] = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 1, ack=False)
    assert b1.message.body == b"b1", "a2 waits behind the delayed a1"
    got = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 2, timeout=10)
    assert _bodies(got) == [b"a1", b"a2"]
    assert time.monotonic() - sent_at >= 1.4


def test_nack_without_requeue_dead_letters_at_once_and_frees_the_group(
    broker: Broker, unique_name: str
):
    require(broker, "fifo_queues")
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(unique_name, QueueConfig(fifo=True, redrive_policy=RedrivePolicy(dlq, 5)))
    _send_groups(broker, unique_name, [("a", "unknown item"), ("a", "a2")])
    [first] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert first.nack(requeue=False, reason="unknown menu item") is True
    assert first.outcome is Outcome.DEAD_LETTERED
    [a2] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, timeout=10)
    assert a2.message.body == b"a2"
    described = broker.describe_queue(dlq)
    assert described is not None
    assert described.fifo, "a FIFO queue's dead-letter queue is made a FIFO queue"
    [letter] = receive_count(lambda: broker.receive(dlq, 1, wait=1), 1, timeout=10)
    assert (letter.message.body, letter.message.group_id) == (b"unknown item", "a")
    assert letter.message.headers[DEAD_LETTER_REASON] == "unknown menu item"


def test_a_message_past_its_receives_is_dead_lettered_and_its_group_moves_on(
    broker: Broker, unique_name: str
):
    require(broker, "fifo_queues")
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(dlq, FIFO)
    broker.declare_queue(unique_name, QueueConfig(fifo=True, redrive_policy=RedrivePolicy(dlq, 2)))
    _send_groups(broker, unique_name, [("a", "poison"), ("a", "a2"), ("a", "crash")])
    receives: list[int] = []
    for _ in range(2):
        [poison] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
        assert poison.message.body == b"poison"
        receives.append(poison.message.attempt)
        poison.nack(requeue=True, reason="invalid order: not JSON")
    assert receives == [1, 2]
    [a2] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, timeout=10)
    assert a2.message.body == b"a2"
    # A consumer that never settles (visibility 0: gone at once) is dead-lettered by the
    # receive after its second, inside the broker.
    for attempt in (1, 2):
        [crash] = receive_count(
            lambda: broker.receive(unique_name, 1, wait=2, visibility_timeout=0), 1, ack=False
        )
        assert (crash.message.body, crash.message.attempt) == (b"crash", attempt)
    assert broker.receive(unique_name, 1, wait=0.5) == []
    letters = receive_count(lambda: broker.receive(dlq, 10, wait=1), 2, timeout=15, ack=False)
    assert _bodies(letters) == [b"poison", b"crash"]
    assert [d.message.headers[DEAD_LETTER_REASON] for d in letters] == [
        "invalid order: not JSON",
        "max receive count exceeded",
    ]
    assert {d.message.headers[DEAD_LETTER_SOURCE] for d in letters} == {unique_name}
    assert {d.message.group_id for d in letters} == {"a"}


def test_a_consumer_that_closes_without_acking_gives_its_group_back_in_order(
    connect_broker: Callable[[], Broker], unique_name: str
):
    leaving, staying = connect_broker(), connect_broker()
    require(leaving, "fifo_queues")
    for consumer in (leaving, staying):
        consumer.declare_queue(unique_name, FIFO)
    _send_groups(leaving, unique_name, [("a", f"a{n}") for n in range(1, 4)])
    held = receive_count(lambda: leaving.receive(unique_name, 10, wait=2), 3, ack=False)
    assert _bodies(held) == [b"a1", b"a2", b"a3"]
    leaving.close()
    again = receive_count(lambda: staying.receive(unique_name, 10, wait=1), 3, timeout=10)
    assert _bodies(again) == [b"a1", b"a2", b"a3"]
    assert [d.message.attempt for d in again] == [2, 2, 2]


def test_a_crashed_consumers_group_comes_back_in_order_after_the_visibility_timeout(
    connect_broker: Callable[[], Broker], unique_name: str
):
    crashed, survivor = connect_broker(), connect_broker()
    require(crashed, "fifo_queues")
    config = QueueConfig(fifo=True, visibility_timeout=1)
    for consumer in (crashed, survivor):
        consumer.declare_queue(unique_name, config)
    _send_groups(crashed, unique_name, [("a", "a1"), ("a", "a2"), ("b", "b1")])
    # The crashed consumer takes a1 and a2 and is never heard from again (no ack, no close).
    held = receive_until(
        lambda: crashed.receive(unique_name, 2, wait=2), lambda got: len(got) >= 2, ack=False
    )
    assert _bodies(held) == [b"a1", b"a2"]
    got = receive_count(lambda: survivor.receive(unique_name, 10, wait=1), 3, timeout=15)
    assert _bodies(got) == [b"b1", b"a1", b"a2"]
    assert [d.message.attempt for d in got] == [1, 2, 2]


def test_backlog_counts_visible_in_flight_and_delayed_messages(broker: Broker, unique_name: str):
    require(broker, "fifo_queues")
    broker.declare_queue(unique_name, FIFO)
    _send_groups(broker, unique_name, [("a", "a1"), ("a", "a2"), ("b", "b1")])
    broker.send(unique_name, b"later", group_id="c", delay=60)
    backlog = broker.backlog(unique_name)
    assert (backlog.visible, backlog.in_flight, backlog.delayed) == (3, 0, 1)
    [a1] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    backlog = broker.backlog(unique_name)
    assert (backlog.visible, backlog.in_flight, backlog.delayed) == (2, 1, 1)
    a1.ack()
    backlog = broker.backlog(unique_name)
    assert (backlog.visible, backlog.in_flight, backlog.delayed) == (2, 0, 1)
    broker.delete_queue(unique_name)
    with pytest.raises(QueueNotDeclared):
        broker.backlog(unique_name)
    assert broker.describe_queue(unique_name) is None
