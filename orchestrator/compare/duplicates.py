"""Experiment 6: duplicates, from a repeated send and from a slow consumer.

(a) The same message is sent twice with one deduplication id: SQS FIFO delivers it once
(5-minute window); a backend without deduplication refuses the id (UnsupportedSemantic).
(b) One consumer takes a message and holds it past the visibility timeout while a second
consumer keeps polling: SQS (standard and FIFO) hands the message out again, a duplicate the
application must tolerate. Copies are counted for ``WINDOW`` seconds after the first delivery.
"""

from __future__ import annotations

import threading
import time

from broker_adapters import Broker, Delivery, QueueConfig, UnsupportedSemantic
from orchestrator.compare.consumers import (
    QUIET_WINDOW,
    CompetingConsumers,
    drain,
    wait_until,
)
from orchestrator.compare.names import fresh
from orchestrator.compare.observations import Duplicates, Unsupported

VISIBILITY_TIMEOUT = 1.0
# Listening for copies after the first delivery: the visibility timeout and two seconds more.
WINDOW = VISIBILITY_TIMEOUT + 2.0


def run(url: str, broker: Broker) -> Duplicates:
    """Count copies delivered in both situations."""
    return Duplicates(
        dedup_copies_delivered=_same_dedup_id_twice(broker),
        slow_consumer_deliveries=_slow_consumer(url, broker),
        visibility_timeout=VISIBILITY_TIMEOUT,
        window=WINDOW,
    )


def _same_dedup_id_twice(broker: Broker) -> int | Unsupported:
    queue = fresh("dedup")
    broker.declare_queue(queue)
    try:
        try:
            for _ in range(2):
                broker.send(queue, b"order 77", dedup_id="order-77")
        except UnsupportedSemantic as error:
            return Unsupported(str(error))
        got = drain(lambda: broker.receive(queue, 10, wait=0.5), bool, quiet=QUIET_WINDOW)
        return len(got)
    finally:
        broker.delete_queue(queue)


def _slow_consumer(url: str, broker: Broker) -> int:
    queue = fresh("slow")
    config = QueueConfig(visibility_timeout=VISIBILITY_TIMEOUT)
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def handle(_index: int, delivery: Delivery) -> None:
        # The first copy is held (a long brew); any later copy is a duplicate, acked at once.
        with lock:
            deliveries.append(delivery)
            first = len(deliveries) == 1
        if not first:
            delivery.ack()

    def count() -> int:
        with lock:
            return len(deliveries)

    broker.declare_queue(queue, config)
    try:
        with CompetingConsumers(url, queue, handle) as consumers:
            consumers.start(lambda b: b.declare_queue(queue, config))
            broker.send(queue, b"a slow brew")
            if wait_until(lambda: count() >= 1):
                # The listening window itself: copies arriving in it are what is measured.
                time.sleep(WINDOW)
            consumers.raise_errors()
            with lock:
                held = deliveries[0] if deliveries else None
            if held is not None:
                held.ack()
        return count()
    finally:
        broker.delete_queue(queue)
