"""SNS-like subscriptions: a queue bound to the topic's fanout exchange.

A durable subscription is a quorum queue named ``{topic}.{subscription}``: it keeps collecting
while nobody reads it, survives broker restarts, and is removed only by
``delete_subscription``. A fire-and-forget subscription is a server-named exclusive queue
that lives as long as this broker's connection: it sees only what is published while it is
connected, and after a reconnect it starts over with a new, empty queue.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from broker_adapters.core import BrokerError, Delivery, Subscription, check_receive_arguments
from broker_adapters.rabbitmq.delivery import Target

if TYPE_CHECKING:
    from broker_adapters.rabbitmq.broker import RabbitMQBroker
    from broker_adapters.rabbitmq.session import Session

_keys = itertools.count(1)


def durable_queue_name(topic: str, subscription: str) -> str:
    return f"{topic}.{subscription}"


class FireAndForgetTarget(Target):
    """A server-named exclusive queue, declared and bound again on each new connection."""

    def __init__(self, broker: RabbitMQBroker, topic: str, key: str) -> None:
        super().__init__(queue="", key=key)
        self._broker = broker
        self._topic = topic
        self._generation = -1

    def queue_on(self, session: Session) -> str:
        if self._generation != session.generation:
            self.queue = self._broker.declare_fire_and_forget_queue(session, self._topic)
            self._generation = session.generation
        return self.queue


class RabbitMQSubscription(Subscription):
    """Receives from the subscription's own queue (``target``) on a channel of its own.

    ``close`` closes that channel, so messages received but not settled go back to the queue
    (RabbitMQ 4 counts that as a delivery attempt); a fire-and-forget subscription's queue is
    deleted with whatever it held.
    """

    def __init__(
        self, broker: RabbitMQBroker, topic: str, name: str, durable: bool, target: Target
    ) -> None:
        super().__init__(topic, name, durable)
        self._broker = broker
        self.target = target
        self._closed = False

    @classmethod
    def create(
        cls, broker: RabbitMQBroker, topic: str, name: str, durable: bool
    ) -> RabbitMQSubscription:
        key = f"subscription:{next(_keys)}"
        target: Target
        if durable:
            target = Target(durable_queue_name(topic, name), key)
        else:
            target = FireAndForgetTarget(broker, topic, key)
        return cls(broker, topic, name, durable, target)

    @property
    def queue(self) -> str:
        """The queue behind this subscription (server-named for fire-and-forget)."""
        return self.target.queue

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        if self._closed:
            raise BrokerError(f"subscription {self.name!r} to {self.topic!r} is closed")
        return self._broker.poll(self.target, max_messages, wait)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._broker.leave(self.target, delete_queue=not self.durable)
