"""What a receive reads from (a *target*), and a received message's ack/nack on RabbitMQ."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker_adapters.core import Delivery, Message, Outcome, RedrivePolicy

if TYPE_CHECKING:
    from broker_adapters.rabbitmq.broker import RabbitMQBroker
    from broker_adapters.rabbitmq.session import Session


class Target:
    """A queue that ``receive`` reads: an SQS-like queue or a subscription's queue.

    ``key`` names the consumer channel its deliveries live on; ``redrive`` is the policy the
    consumer applies on nack (None: no dead-letter queue).
    """

    def __init__(self, queue: str, key: str, redrive: RedrivePolicy | None = None) -> None:
        self.queue = queue
        self.key = key
        self.redrive = redrive

    def queue_on(self, session: Session) -> str:
        """The queue's name on this connection (fixed, except for server-named queues)."""
        del session
        return self.queue


class RabbitMQDelivery(Delivery):
    """A message from the queue's push consumer, settled on the channel that received it.

    Delivery tags are numbers local to one channel. If that channel (or its connection) has
    been closed since the receive (a reconnect, a broker restart), the broker has already put
    the message back, and acking the tag on another channel would settle an unrelated message;
    so settling such a delivery does nothing at the broker and the message comes again
    (at least once). Its outcome then reads REQUEUED for a nack and ACKED for an ack, the
    decision the caller made, not what the broker did.
    """

    def __init__(
        self,
        broker: RabbitMQBroker,
        target: Target,
        queue: str,
        channel: Any,
        delivery_tag: int,
        message: Message,
    ) -> None:
        super().__init__(message)
        self._broker = broker
        self._target = target
        self.queue = queue
        self.channel = channel
        self.delivery_tag = delivery_tag

    def _settle_ack(self) -> None:
        self._broker.settle(self, lambda channel: channel.basic_ack(self.delivery_tag))

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        """Requeue, requeue later, dead-letter or drop; see ``RabbitMQBroker`` for the mapping."""
        policy = self._target.redrive
        if policy is not None and (not requeue or self.message.attempt >= policy.max_receive_count):
            return self._broker.dead_letter(self, policy, reason)
        if not requeue:
            self._broker.settle(
                self, lambda channel: channel.basic_reject(self.delivery_tag, requeue=False)
            )
            return Outcome.DROPPED
        if delay > 0:
            return self._broker.requeue_later(self, delay)
        self._broker.settle(
            self, lambda channel: channel.basic_nack(self.delivery_tag, requeue=True)
        )
        return Outcome.REQUEUED
