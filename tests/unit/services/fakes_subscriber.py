"""In-memory stand-ins for a topic subscription, enough to drive the subscriber's loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from broker_adapters import Delivery, Message, Outcome, Subscription
from services.orders import EventKind, OrderEvent

AT = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def event(
    kind: EventKind, order_id: str, customer_id: str = "c001", cups: int = 1, **extra
) -> OrderEvent:
    fields = {"at": AT, "accepted_at": AT} | extra
    return OrderEvent(kind=kind, order_id=order_id, customer_id=customer_id, cups=cups, **fields)


class FakeDelivery(Delivery):
    def __init__(self, body: bytes, message_id: str = "m-1") -> None:
        super().__init__(Message(body=body, id=message_id, timestamp=0.0))

    def _settle_ack(self) -> None:
        pass

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        return Outcome.REQUEUED if requeue else Outcome.DROPPED


def delivery_of(order_event: OrderEvent, message_id: str = "m-1") -> FakeDelivery:
    return FakeDelivery(order_event.model_dump_json().encode(), message_id)


class FakeSubscription(Subscription):
    """Hands out prepared batches, then empty ones; ``on_receive`` runs before each call."""

    def __init__(self, batches: list[list[FakeDelivery]], name: str = "kitchen-display") -> None:
        super().__init__("order-events", name, durable=True)
        self.batches = list(batches)
        self.receives = 0
        self.closed = threading.Event()
        self.on_receive: Callable[[int], None] = lambda _n: None

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        self.receives += 1
        self.on_receive(self.receives)
        if self.batches:
            return list(self.batches.pop(0))
        self.closed.wait(min(wait, 0.01))
        return []

    def close(self) -> None:
        self.closed.set()


class FakeBroker:
    """Only what ``Subscriber`` uses: subscribe and close."""

    def __init__(self, subscription: FakeSubscription) -> None:
        self.subscription = subscription
        self.subscribed_with: tuple[str, str, bool] | None = None
        self.closed = False

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        self.subscribed_with = (topic, subscription, durable)
        return self.subscription

    def close(self) -> None:
        self.closed = True
