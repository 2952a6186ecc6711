"""SQS-like queues: competing consumers, visibility, nack, redrive, ordering, dedup, backlog."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest

from broker_adapters import (
    Broker,
    DeadLettered,
    Delivery,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    UnsupportedSemantic,
)
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE
from tests.contract.conftest import require
from tests.support.receiving import receive_count, receive_until, wait_for


def test_a_queue_must_be_declared_before_use(broker: Broker, unique_name: str):
    with pytest.raises(QueueNotDeclared):
        broker.send(unique_name, b"x")


def test_an_acked_message_is_gone(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    sent = broker.send(unique_name, b"one espresso", group_id="table-4")
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert (delivery.message.id, delivery.message.body) == (sent, b"one espresso")
    assert delivery.message.group_id == "table-4"
    assert delivery.message.attempt == 1
    assert delivery.ack() is True
    assert delivery.ack() is False, "a second ack must do nothing and say so"
    assert delivery.nack() is False
    assert delivery.outcome is Outcome.ACKED
    assert broker.receive(unique_name, 10, wait=1) == []


def test_send_batch_confirms_every_message(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    ids = broker.send_batch(unique_name, [OutgoingMessage(f"{n}".encode()) for n in range(50)])
    assert len(set(ids)) == 50
    got = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 50)
    assert sorted(d.message.id for d in got) == sorted(ids)


def test_competing_consumers_share_the_work_and_none_is_handled_twice(
    connect_broker: Callable[[], Broker], unique_name: str
):
    consumers = [connect_broker() for _ in range(2)]
    for consumer in consumers:
        consumer.declare_queue(unique_name)
    handled: dict[int, list[str]] = defaultdict(list)
    ready = [threading.Event() for _ in consumers]
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            while not stop.is_set():
                for delivery in consumers[index].receive(unique_name, 1, wait=0.5):
                    handled[index].append(delivery.message.id)
                    time.sleep(0.02)  # a little work, so both consumers get a turn
                    delivery.ack()
                ready[index].set()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            ready[index].set()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    assert all(event.wait(60) for event in ready), "consumers did not start"
    assert not errors, errors
    producer = connect_broker()
    producer.declare_queue(unique_name)
    # Rounds of 20 until both have worked: a consumer's first receive returning does not mean
    # the broker counts it yet (a Kafka share consumer gets its partition in a heartbeat's
    # answer, a second or so after it joins), and one burst can be over by then.
    sent: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and min(len(handled[0]), len(handled[1])) == 0:
        batch = [OutgoingMessage(f"{len(sent) + n}".encode()) for n in range(20)]
        sent += producer.send_batch(unique_name, batch)
        total = len(sent)
        wait_for(lambda t=total: sum(len(ids) for ids in handled.values()) >= t, timeout=60)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    everything = handled[0] + handled[1]
    assert sorted(everything) == sorted(sent), "every message handled exactly once"
    shares = [len(handled[0]), len(handled[1])]
    assert min(shares) > 0, f"work was not shared: {shares}"


def test_nack_makes_the_message_receivable_again(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    sent = broker.send(unique_name, b"retry me")
    [first] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert first.nack(requeue=True) is True
    assert first.outcome is Outcome.REQUEUED
    assert first.ack() is False
    [second] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert (second.message.id, second.message.attempt) == (sent, 2)
    second.ack()


def test_unacked_message_returns_after_the_visibility_timeout(broker: Broker, unique_name: str):
    require(broker, "visibility_timeout")
    broker.declare_queue(unique_name, QueueConfig(visibility_timeout=1))
    sent = broker.send(unique_name, b"forgotten")
    [held] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert broker.receive(unique_name, 1, wait=0.3) == [], "in flight, so invisible"
    [again] = receive_count(lambda: broker.receive(unique_name, 1, wait=1), 1, timeout=10)
    assert (again.message.id, again.message.attempt) == (sent, 2)
    assert held.message.id == sent


def test_nack_with_a_delay_holds_the_message_back(broker: Broker, unique_name: str):
    require(broker, "delivery_delay")
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"later")
    [first] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    nacked_at = time.monotonic()
    first.nack(requeue=True, delay=1.5)
    [again] = receive_count(lambda: broker.receive(unique_name, 1, wait=1), 1, timeout=10)
    assert time.monotonic() - nacked_at >= 1.4
    assert again.message.attempt == 2


def test_send_with_a_delay_holds_the_message_back(broker: Broker, unique_name: str):
    require(broker, "delivery_delay")
    broker.declare_queue(unique_name)
    sent_at = time.monotonic()
    sent = broker.send(unique_name, b"later", delay=1.5)
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=1), 1, timeout=10)
    assert delivery.message.id == sent
    assert time.monotonic() - sent_at >= 1.4


def test_poison_message_is_dead_lettered_while_healthy_messages_flow(
    broker: Broker, unique_name: str
):
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(dlq)
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy(dlq, 3)))
    poison = broker.send(unique_name, b"not json")
    healthy = [broker.send(unique_name, f'{{"n": {n}}}'.encode()) for n in range(5)]
    poison_receives: list[int] = []
    brewed: list[str] = []

    def handle(received: list) -> None:
        for delivery in received:
            if delivery.message.id == poison:
                poison_receives.append(delivery.message.attempt)
                delivery.nack(requeue=True, reason="invalid order: not JSON")
            else:
                brewed.append(delivery.message.id)
                delivery.ack()

    dead = receive_until(
        lambda: (handle(broker.receive(unique_name, 10, wait=0.5)), broker.receive(dlq, 1))[1],
        lambda got: len(got) >= 1,
        timeout=60,
        ack=False,
    )
    assert sorted(brewed) == sorted(healthy)
    assert poison_receives == [1, 2, 3]
    [letter] = dead
    assert letter.message.id == poison
    assert letter.message.body == b"not json"
    assert letter.message.headers[DEAD_LETTER_REASON] == "invalid order: not JSON"
    assert letter.message.headers[DEAD_LETTER_SOURCE] == unique_name
    letter.ack()


def test_nack_without_requeue_dead_letters_at_once_with_the_reason(
    broker: Broker, unique_name: str
):
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(dlq)
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy(dlq, 5)))
    sent = broker.send(unique_name, b"unknown item")
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    delivery.nack(requeue=False, reason="unknown menu item")
    assert delivery.outcome is Outcome.DEAD_LETTERED
    [letter] = receive_count(lambda: broker.receive(dlq, 1, wait=1), 1, timeout=15)
    assert letter.message.id == sent
    assert letter.message.headers[DEAD_LETTER_REASON] == "unknown menu item"
    assert broker.receive(unique_name, 1, wait=0.5) == []


# A Kafka share group's members join slowly: kafka-share under make test-matrix only.
@pytest.mark.matrix(ci=("memory", "rabbitmq", "redis", "kafka"))
def test_a_message_its_consumers_left_unsettled_is_dead_lettered_by_a_receive_that_says_so(
    broker: Broker, connect_broker: Callable[[], Broker], unique_name: str
):
    """Consumers that leave without settling (as crashed ones do) twice, max_receive_count 2:
    the next receive moves the message to the dead-letter queue, as SQS does, hands it to
    nobody, and tells the process's dead-letter watchers (a barista's ledger needs to know)."""
    require(broker, "counts_crash_redeliveries")
    dlq = f"{unique_name}-dlq"
    config = QueueConfig(visibility_timeout=5, redrive_policy=RedrivePolicy(dlq, 2))
    broker.declare_queue(dlq)
    broker.declare_queue(unique_name, config)
    sent = broker.send(unique_name, b"makes its barista crash")
    for attempt in (1, 2):
        leaving = connect_broker()
        leaving.declare_queue(unique_name, config)
        [delivery] = receive_count(
            lambda b=leaving: b.receive(unique_name, 1, wait=1), 1, timeout=60, ack=False
        )
        assert delivery.message.attempt == attempt
        leaving.close()
    heard: list[DeadLettered] = []
    broker.watch_dead_letters(heard.append)
    handed_out = receive_until(
        lambda: broker.receive(unique_name, 1, wait=1), lambda _got: bool(heard), timeout=60
    )
    assert handed_out == []
    [letter] = heard
    assert (letter.queue, letter.dead_letter_queue) == (unique_name, dlq)
    assert letter.message.id == sent
    assert letter.message.attempt == 2, "the receives that reached a consumer"
    assert letter.reason
    [moved] = receive_count(lambda: broker.receive(dlq, 1, wait=1), 1, timeout=15)
    assert moved.message.id == sent
    assert moved.message.headers[DEAD_LETTER_REASON] == letter.reason
    assert moved.message.headers[DEAD_LETTER_SOURCE] == unique_name


def test_order_holds_within_each_message_group_for_one_consumer(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    sends = [(group, n) for n in range(10) for group in ("table-1", "table-2", "table-3")]
    for group, n in sends:
        broker.send(unique_name, f"{group}:{n}".encode(), group_id=group)
    got = receive_count(lambda: broker.receive(unique_name, 10, wait=1), len(sends))
    per_group: dict[str, list[int]] = defaultdict(list)
    for delivery in got:
        group, n = delivery.message.body.decode().split(":")
        assert delivery.message.group_id == group
        per_group[group].append(int(n))
    assert per_group == {group: list(range(10)) for group in ("table-1", "table-2", "table-3")}


def test_order_holds_within_each_group_across_competing_consumers(
    connect_broker: Callable[[], Broker], unique_name: str
):
    consumers = [connect_broker() for _ in range(2)]
    require(consumers[0], "ordering", "group")
    for consumer in consumers:
        consumer.declare_queue(unique_name)
    log: list[tuple[str, int]] = []
    lock = threading.Lock()
    ready = [threading.Event() for _ in consumers]
    stop = threading.Event()

    def work(index: int) -> None:
        while not stop.is_set():
            for delivery in consumers[index].receive(unique_name, 1, wait=0.5):
                group, n = delivery.message.body.decode().split(":")
                time.sleep(0.005)
                with lock:
                    log.append((group, int(n)))
                delivery.ack()
            ready[index].set()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    assert all(event.wait(60) for event in ready)
    producer = connect_broker()
    producer.declare_queue(unique_name)
    groups = [f"table-{g}" for g in range(6)]
    producer.send_batch(
        unique_name,
        [OutgoingMessage(f"{g}:{n}".encode(), group_id=g) for n in range(10) for g in groups],
    )
    wait_for(lambda: len(log) >= 60, timeout=60)
    stop.set()
    for thread in threads:
        thread.join(10)
    for group in groups:
        assert [n for g, n in log if g == group] == list(range(10)), group


def test_a_repeated_deduplication_id_is_dropped_within_the_window(broker: Broker, unique_name: str):
    require(broker, "deduplication")
    broker.declare_queue(unique_name)
    first = broker.send(unique_name, b"order 77", dedup_id="order-77")
    second = broker.send(unique_name, b"order 77", dedup_id="order-77")
    other = broker.send(unique_name, b"order 78", dedup_id="order-78")
    assert second == first
    got = receive_until(lambda: broker.receive(unique_name, 10, wait=1), lambda g: len(g) >= 2)
    assert broker.receive(unique_name, 10, wait=1) == []
    assert sorted(d.message.id for d in got) == sorted([first, other])


def test_deduplication_is_refused_where_the_backend_declares_it_cannot(
    broker: Broker, unique_name: str
):
    require(broker, "deduplication", False)
    broker.declare_queue(unique_name)
    with pytest.raises(UnsupportedSemantic):
        broker.send(unique_name, b"x", dedup_id="order-1")


def test_backlog_rises_and_falls_with_the_queue(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    assert wait_for(lambda: broker.backlog(unique_name).total == 0)
    broker.send_batch(unique_name, [OutgoingMessage(b"x") for _ in range(6)])
    assert wait_for(lambda: broker.backlog(unique_name).total == 6), broker.backlog(unique_name)
    # Ask only for what is still missing: a third delivery taken here and never settled would
    # stay in flight until this consumer leaves (Kafka has no visibility timeout), so the
    # backlog would rightly never reach 0.
    held: list[Delivery] = []

    def receive_missing() -> list[Delivery]:
        got = broker.receive(unique_name, 2 - len(held), wait=1)
        held.extend(got)
        return got

    receive_count(receive_missing, 2, ack=False)
    assert len(held) == 2
    assert wait_for(lambda: broker.backlog(unique_name).total == 6), broker.backlog(unique_name)
    if broker.features.backlog_splits_in_flight:
        assert wait_for(lambda: broker.backlog(unique_name).in_flight == len(held))
    for delivery in held:
        delivery.ack()
    assert wait_for(lambda: broker.backlog(unique_name).total == 4), broker.backlog(unique_name)
    assert len(receive_count(lambda: broker.receive(unique_name, 10, wait=1), 4)) == 4
    assert wait_for(lambda: broker.backlog(unique_name).total == 0), broker.backlog(unique_name)


def test_attempts_are_counted_per_message(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"a")
    broker.send(unique_name, b"b")
    seen: Counter[bytes] = Counter()
    for _ in range(3):
        got = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 2, ack=False)
        for delivery in got:
            seen[delivery.message.body] += 1
            assert delivery.message.attempt == seen[delivery.message.body]
            delivery.nack(requeue=True)


def test_a_monitor_measures_a_backlog_it_never_declared(
    broker: Broker, connect_broker: Callable[[], Broker], unique_name: str
):
    broker.declare_queue(unique_name)
    broker.send_batch(unique_name, [OutgoingMessage(b"latte")] * 3)
    monitor = connect_broker()
    assert wait_for(lambda: monitor.backlog(unique_name).total == 3), monitor.backlog(unique_name)
    with pytest.raises(QueueNotDeclared):
        monitor.backlog(f"{unique_name}-missing")
    with pytest.raises(QueueNotDeclared):
        monitor.send(unique_name, b"x")  # measuring is not declaring
