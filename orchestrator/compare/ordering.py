"""Experiment 3: order within message groups, for one consumer and for competing consumers.

Messages of several groups are sent interleaved as orders arrive at a counter: in a seeded
random mix that keeps each group's own sequence (t1:0, t1:1, t3:0, t2:0, t1:2, …), so a
group's messages are sometimes next to each other. One consumer receives them all; then, on
a second queue, two consumers process them with a little simulated work of varying length,
and the order in which each group's messages *finish* is checked. SQS FIFO keeps a group's
next message back while one is in flight, so both are in order there.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict

from broker_adapters import Broker, Delivery, OutgoingMessage
from orchestrator.compare.consumers import CompetingConsumers, drain, wait_until
from orchestrator.compare.names import fresh
from orchestrator.compare.observations import Ordering

GROUPS = 4
PER_GROUP = 8
WORK_SECONDS = 0.005
# The same mix every run, so runs and backends are compared on the same sequence.
SEED = 8


def sequence(groups: int = GROUPS, per_group: int = PER_GROUP) -> list[tuple[str, int]]:
    """(group, n) pairs: a seeded random interleaving that keeps each group's own order."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible mix, not a secret
    sent = dict.fromkeys((f"table-{g}" for g in range(groups)), 0)
    mixed = []
    while any(count < per_group for count in sent.values()):
        group = rng.choice([g for g, count in sent.items() if count < per_group])
        mixed.append((group, sent[group]))
        sent[group] += 1
    return mixed


def _messages() -> list[OutgoingMessage]:
    return [OutgoingMessage(f"{g}:{n}".encode(), group_id=g) for g, n in sequence()]


def _parse(delivery: Delivery) -> tuple[str, int]:
    group, n = delivery.message.body.decode().split(":")
    return group, int(n)


def groups_in_order(log: list[tuple[str, int]]) -> int:
    """How many groups' sequence numbers appear in ``log`` as 0, 1, 2, … complete."""
    per_group: dict[str, list[int]] = defaultdict(list)
    for group, n in log:
        per_group[group].append(n)
    return sum(1 for numbers in per_group.values() if numbers == list(range(PER_GROUP)))


def run(url: str, broker: Broker) -> Ordering:
    """Measure order per group with one consumer, then with two competing ones."""
    single = _single_consumer(broker)
    in_order, overlaps = _competing(url, broker)
    return Ordering(
        groups=GROUPS,
        messages_per_group=PER_GROUP,
        single_consumer_groups_in_order=single,
        competing_groups_in_order=in_order,
        competing_group_overlaps=overlaps,
    )


def _single_consumer(broker: Broker) -> int:
    queue = fresh("order-one")
    broker.declare_queue(queue)
    try:
        broker.send_batch(queue, _messages())
        got = drain(
            lambda: broker.receive(queue, 10, wait=0.5), lambda got: len(got) >= GROUPS * PER_GROUP
        )
        return groups_in_order([_parse(delivery) for delivery in got])
    finally:
        broker.delete_queue(queue)


def _competing(url: str, broker: Broker) -> tuple[int, int]:
    queue = fresh("order-two")
    finished: list[tuple[str, int]] = []
    in_flight: dict[str, int] = defaultdict(int)
    overlaps = 0
    lock = threading.Lock()

    def handle(_index: int, delivery: Delivery) -> None:
        nonlocal overlaps
        group, n = _parse(delivery)
        with lock:
            if in_flight[group]:
                overlaps += 1
            in_flight[group] += 1
        time.sleep(WORK_SECONDS * (1 + n % 3))  # simulated work of varying length
        with lock:
            finished.append((group, n))
            in_flight[group] -= 1
        delivery.ack()

    def done() -> bool:
        with lock:
            return len(finished) >= GROUPS * PER_GROUP

    broker.declare_queue(queue)
    try:
        with CompetingConsumers(url, queue, handle) as consumers:
            consumers.start(lambda b: b.declare_queue(queue))
            broker.send_batch(queue, _messages())
            wait_until(done)
            consumers.raise_errors()
        with lock:
            return groups_in_order(finished), overlaps
    finally:
        broker.delete_queue(queue)
