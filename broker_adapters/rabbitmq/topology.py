"""Exchanges and queues this backend declares, and the arguments that give them SQS/SNS meaning.

Every queue that holds messages is a durable quorum queue (replicated, survives restarts,
counts deliveries). AMQP fixes a queue's arguments at its first declaration: declaring it
again with other ones is refused, and this module says so in words.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pika.exceptions

from broker_adapters.core import BrokerError, QueueConfig
from broker_adapters.rabbitmq import codec
from broker_adapters.rabbitmq.session import Session

PRECONDITION_FAILED = 406
# RabbitMQ 4.0 quorum queues drop (or dead-letter) a message after 20 returns unless told
# otherwise; SQS without a redrive policy never does, so queues without one say -1 (off).
UNLIMITED_DELIVERIES = -1


def queue_arguments(config: QueueConfig) -> dict[str, Any]:
    """A queue's arguments; changing them later needs a new queue.

    The delivery limit is ``max_receive_count``: RabbitMQ 4.0.5 dead-letters a message when
    a return would push ``x-delivery-count`` past the limit, so the broker would deliver it
    ``max_receive_count + 1`` times in all (measured in
    tests/integration/test_adapter_rabbitmq.py). The adapter dead-letters that last delivery
    itself, before any caller sees it, so a message is received ``maxReceiveCount`` times as
    on SQS and the consuming process hears of the dead letter (``Broker.watch_dead_letters``);
    the broker's limit is the backstop for a process that dies first. Dead-lettering is
    at-least-once, which RabbitMQ offers only with ``x-overflow=reject-publish``.
    """
    policy = config.redrive_policy
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    if policy is None:
        return arguments | {"x-delivery-limit": UNLIMITED_DELIVERIES}
    return arguments | {
        "x-delivery-limit": policy.max_receive_count,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": policy.dead_letter_queue,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def declare_queue(session: Session, queue: str, config: QueueConfig) -> None:
    try:
        session.admin().queue_declare(queue, durable=True, arguments=queue_arguments(config))
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != PRECONDITION_FAILED:
            raise
        raise BrokerError(
            f"queue {queue!r} already exists with other settings ({error.reply_text}); "
            "delete it or use another name",
        ) from error


def declare_dead_letter_queue(session: Session, queue: str) -> None:
    """Create the DLQ as a plain queue, unless it exists already (with whatever settings)."""
    # A BrokerError here means it was declared elsewhere with a policy of its own: keep it.
    with contextlib.suppress(BrokerError):
        declare_queue(session, queue, QueueConfig())


def declare_delay_queue(session: Session, queue: str, delay_ms: int, idle_ms: int) -> None:
    """The holding queue for ``queue``'s messages delayed by ``delay_ms``.

    Its message TTL is the delay and it dead-letters into ``queue``, so each message waits
    exactly its delay and a long delay never holds up a short one (messages of one queue
    share one TTL, so they expire in arrival order). It deletes itself after ``idle_ms``
    beyond the delay without a declaration (x-expires); since publishing does not count as
    use, every send declares it again first.
    """
    session.admin().queue_declare(
        codec.delay_queue_name(queue, delay_ms),
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-expires": delay_ms + idle_ms,
        },
    )


def declare_topic(session: Session, topic: str) -> None:
    session.admin().exchange_declare(topic, exchange_type="fanout", durable=True)


def declare_fire_and_forget_queue(session: Session, topic: str) -> str:
    """A new server-named queue bound to ``topic``, gone when this connection closes.

    Auto-delete removes it once its consumer's channel closes (the subscription closed);
    exclusivity removes it with the connection, consumer or not.
    """
    channel = session.admin()
    declared = channel.queue_declare("", exclusive=True, auto_delete=True)
    queue: str = declared.method.queue
    channel.queue_bind(queue, topic)
    return queue
