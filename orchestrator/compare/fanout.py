"""Experiment 1: N messages to a topic with two subscriptions vs a queue with two consumers.

SNS gives every subscription every message; SQS gives each message to one of the consumers
polling the queue. Counted per subscriber and per consumer, duplicates included.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from broker_adapters import Broker, Delivery, OutgoingMessage
from orchestrator.compare.consumers import (
    QUIET_WINDOW,
    CompetingConsumers,
    drain,
    listen_quietly,
    wait_until,
)
from orchestrator.compare.names import fresh
from orchestrator.compare.observations import FanOut

MESSAGES = 20
# A little simulated brewing per message, so both competing consumers get a turn.
WORK_SECONDS = 0.01


def run(url: str, broker: Broker) -> FanOut:
    """Publish and send ``MESSAGES`` each way; count what every receiver got."""
    per_subscription = _topic(broker)
    per_consumer, lost, duplicates = _queue(url, broker)
    return FanOut(
        published=MESSAGES,
        per_subscription=per_subscription,
        sent=MESSAGES,
        per_consumer=per_consumer,
        queue_lost=lost,
        queue_duplicates=duplicates,
    )


def _topic(broker: Broker) -> tuple[int, ...]:
    topic = fresh("fanout-topic")
    names = ("kitchen-display", "loyalty")
    subscriptions = [broker.subscribe(topic, name) for name in names]
    try:
        broker.publish_batch(
            topic, [OutgoingMessage(f"order {n}".encode()) for n in range(MESSAGES)]
        )
        counts = []
        for subscription in subscriptions:
            got = drain(
                lambda s=subscription: s.receive(10, wait=0.5),  # type: ignore[misc]
                lambda got: len(got) >= MESSAGES,
                quiet=QUIET_WINDOW,
            )
            counts.append(len(got))
        return tuple(counts)
    finally:
        for subscription in subscriptions:
            subscription.close()
            broker.delete_subscription(topic, subscription.name)


def _queue(url: str, broker: Broker) -> tuple[tuple[int, ...], int, int]:
    queue = fresh("fanout-queue")
    handled: list[list[str]] = [[], []]
    lock = threading.Lock()

    def handle(index: int, delivery: Delivery) -> None:
        time.sleep(WORK_SECONDS)  # simulated work, not synchronisation
        with lock:
            handled[index].append(delivery.message.id)
        delivery.ack()

    def total() -> int:
        with lock:
            return sum(len(ids) for ids in handled)

    broker.declare_queue(queue)
    try:
        with CompetingConsumers(url, queue, handle) as consumers:
            consumers.start(lambda b: b.declare_queue(queue))
            sent = broker.send_batch(
                queue, [OutgoingMessage(f"cup {n}".encode()) for n in range(MESSAGES)]
            )
            wait_until(lambda: total() >= len(sent))
            # Keep listening for copies nobody should get.
            listen_quietly(total)
            consumers.raise_errors()
        everything = Counter(handled[0] + handled[1])
        lost = len(set(sent) - set(everything))
        duplicates = sum(count - 1 for count in everything.values())
        return (len(handled[0]), len(handled[1])), lost, duplicates
    finally:
        broker.delete_queue(queue)
