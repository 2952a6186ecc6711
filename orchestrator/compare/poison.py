"""Experiment 5: a poison message's path to the dead-letter queue.

The consumer nacks the message on every receive, giving a reason; the queue's redrive policy
(max_receive_count) should move it to the dead-letter queue. Counted: receives from the source
queue before it got there, and whether the reason and source travelled with it. SQS moves it
after maxReceiveCount receives and keeps no reason (only DeadLetterQueueSourceArn).
"""

from __future__ import annotations

import time

from broker_adapters import Broker, Delivery, QueueConfig, RedrivePolicy
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE
from orchestrator.compare.consumers import ARRIVAL_TIMEOUT
from orchestrator.compare.names import fresh
from orchestrator.compare.observations import PoisonMessage

MAX_RECEIVE_COUNT = 3
REASON = "invalid order: not JSON"


def run(url: str, broker: Broker) -> PoisonMessage:
    """Nack one message on every receive until it shows up in the dead-letter queue."""
    del url
    queue = fresh("poison")
    dead_letters = f"{queue}-dlq"
    broker.declare_queue(dead_letters)
    broker.declare_queue(
        queue, QueueConfig(redrive_policy=RedrivePolicy(dead_letters, MAX_RECEIVE_COUNT))
    )
    try:
        poison = broker.send(queue, b"{not json")
        attempts: list[int] = []
        letter: Delivery | None = None
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while letter is None and time.monotonic() < deadline:
            received = broker.receive(queue, 1, wait=0.5)
            for delivery in received:
                if delivery.message.id == poison:
                    attempts.append(delivery.message.attempt)
                delivery.nack(requeue=True, reason=REASON)
            found = broker.receive(dead_letters, 1, wait=0 if received else 0.5)
            letter = found[0] if found else None
        if letter is not None:
            letter.ack()
        headers = letter.message.headers if letter is not None else {}
        return PoisonMessage(
            max_receive_count=MAX_RECEIVE_COUNT,
            receive_attempts=tuple(attempts),
            dead_lettered=letter is not None and letter.message.id == poison,
            reason_kept=headers.get(DEAD_LETTER_REASON) == REASON,
            source_kept=headers.get(DEAD_LETTER_SOURCE) == queue,
        )
    finally:
        broker.delete_queue(queue)
        broker.delete_queue(dead_letters)
