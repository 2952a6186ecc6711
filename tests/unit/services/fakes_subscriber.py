"""Order events on a ``memory://`` topic for the subscriber's unit tests, plus the one thing
the memory backend cannot do for them: run a test's code before chosen receives.

The subscriber reads real deliveries of the memory backend (which passes the contract suite),
so acks, hand-backs on close and durable subscriptions behave as on a broker. A script is
what stands in for the world around it: the step before receive ``n`` may publish, stop the
subscriber, or raise ``BrokerUnavailable`` as a lost broker would.

    topic = EventTopic()
    topic.publish(event(READY, "o1"))
    stopping = threading.Event()
    broker = ScriptedBroker.connect(topic.url, {2: stopping.set})
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from broker_adapters import BrokerUnavailable, Delivery, Subscription
from broker_adapters.memory import MemoryBroker, MemoryConfig
from services.orders import EventKind, OrderEvent

AT = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
TOPIC = "order-events"

# What runs before the receive of the same number (1 is the first receive).
Script = Mapping[int, Callable[[], object]]


def event(
    kind: EventKind, order_id: str, customer_id: str = "c001", cups: int = 1, **extra: Any
) -> OrderEvent:
    fields = {"at": AT, "accepted_at": AT} | extra
    return OrderEvent(kind=kind, order_id=order_id, customer_id=customer_id, cups=cups, **fields)


def broker_lost() -> None:
    """A script step: the receive fails as one whose broker went away."""
    raise BrokerUnavailable("gone")


class ScriptedSubscription(Subscription):
    """A memory subscription that runs the script's step before each numbered receive and keeps
    every batch it handed out (``received``), so a test can look at the deliveries' outcomes
    after the subscriber settled them; ``closed`` says whether the subscriber closed it."""

    def __init__(self, inner: Subscription, script: Script) -> None:
        super().__init__(inner.topic, inner.name, inner.durable)
        self._inner = inner
        self._script = script
        self.received: list[list[Delivery]] = []
        self.closed = False

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        step = self._script.get(len(self.received) + 1)
        if step is not None:
            step()
        batch = self._inner.receive(max_messages, wait)
        self.received.append(batch)
        return batch

    def close(self) -> None:
        self.closed = True
        self._inner.close()


class ScriptedBroker(MemoryBroker):
    """A memory broker whose subscriptions follow ``script``; ``subscriptions`` lists them in
    the order the code under test made them."""

    def __init__(self, name: str, config: MemoryConfig) -> None:
        super().__init__(name, config)
        self.script: Script = {}
        self.subscriptions: list[ScriptedSubscription] = []

    @classmethod
    def connect(cls, url: str, script: Script) -> ScriptedBroker:
        broker = cls.from_url(url)
        broker.script = script
        return broker

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        joined = ScriptedSubscription(
            super().subscribe(topic, subscription, durable=durable), self.script
        )
        self.subscriptions.append(joined)
        return joined


class EventTopic:
    """The order-events topic on a ``memory://`` broker of the test's own: the publisher's
    side, and a look at what a durable subscription still holds."""

    def __init__(self) -> None:
        self.url = f"memory://subscriber-{uuid.uuid4().hex}"
        self.broker = MemoryBroker.from_url(self.url)

    def publish(self, *events: OrderEvent) -> list[str]:
        return [self.publish_body(e.model_dump_json().encode()) for e in events]

    def publish_body(self, body: bytes) -> str:
        """Publish ``body`` as it is, valid event or not; returns the message id."""
        return self.broker.publish(TOPIC, body)

    def subscribe(
        self, name: str = "kitchen-display", script: Script | None = None
    ) -> ScriptedSubscription:
        """A durable subscription, opened before anything the test publishes next."""
        return ScriptedSubscription(self.broker.subscribe(TOPIC, name), script or {})

    def delivery_of(self, body: OrderEvent | bytes) -> Delivery:
        """``body`` published and received once, unsettled, from a subscription of its own."""
        subscription = self.subscribe(f"single-{uuid.uuid4().hex}")
        if isinstance(body, OrderEvent):
            self.publish(body)
        else:
            self.publish_body(body)
        (delivery,) = subscription.receive(max_messages=10)
        return delivery

    def held(self, subscription: str) -> list[str]:
        """Order ids that the durable ``subscription`` still holds for its next subscriber
        (read through another connection, which hands them back when it closes)."""
        with MemoryBroker.from_url(self.url) as reader:
            deliveries = reader.subscribe(TOPIC, subscription).receive(max_messages=10)
            return [OrderEvent.model_validate_json(d.message.body).order_id for d in deliveries]

    def close(self) -> None:
        self.broker.close()
