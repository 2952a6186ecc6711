"""The subscription loop: receive order events, hand each to the role, ack, until told to stop.

A topic has no dead-letter queue here (SNS's subscription DLQ is not modelled), so an event
that does not parse is logged, counted and acked: redelivering it would never make it valid
and would wedge the subscription behind it. Acks come after handling, so a crash between the
two redelivers the event (at least once; the roles tolerate repeats).

On stop, the loop finishes the event in hand, acks it, and leaves the rest of the batch
unacked; closing the subscription hands those back to the broker (a durable subscription
keeps them for the next subscriber).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from broker_adapters import Broker, Delivery, Subscription
from services.metrics import EVENTS_RECEIVED
from services.orders import OrderEvent
from services.subscriber.roles import Role

log = logging.getLogger(__name__)

# Long enough to be a real long poll, short enough that a stop is noticed within a second.
RECEIVE_WAIT = 1.0
RECEIVE_BATCH = 10
RECONNECT_BACKOFF = (1.0, 2.0, 4.0, 8.0)
UNPARSEABLE = "unparseable"


@dataclass
class ConsumerStats:
    """What this process did with the deliveries it received (the metric, without labels)."""

    handled: int = 0
    unparseable: int = 0
    failed: int = 0
    events: dict[str, int] = field(default_factory=dict)  # received, by kind

    def count(self, kind: str) -> None:
        self.events[kind] = self.events.get(kind, 0) + 1


def handle_delivery(
    delivery: Delivery, role: Role, subscription: str, stats: ConsumerStats
) -> None:
    """Parse and apply one delivery, then ack it; nothing here raises for a bad event."""
    try:
        event = OrderEvent.model_validate_json(delivery.message.body)
    except ValidationError as error:
        stats.unparseable += 1
        stats.count(UNPARSEABLE)
        EVENTS_RECEIVED.labels(subscription=subscription, kind=UNPARSEABLE).inc()
        log.warning(
            "unparseable order event acked and dropped",
            extra={
                "subscription": subscription,
                "message_id": delivery.message.id,
                "errors": error.errors(include_url=False, include_input=False),
            },
        )
    else:
        stats.count(event.kind.value)
        EVENTS_RECEIVED.labels(subscription=subscription, kind=event.kind.value).inc()
        try:
            role.handle(event)
        except Exception:
            # A bug in a role must not stop the subscription; the event is lost to this role
            # only, and the log says which one.
            stats.failed += 1
            log.exception(
                "role failed to handle an event",
                extra={"subscription": subscription, "order_id": event.order_id},
            )
        else:
            stats.handled += 1
    delivery.ack()


def consume(
    subscription: Subscription, role: Role, stopping: threading.Event, stats: ConsumerStats
) -> None:
    """Receive → handle → ack until ``stopping`` is set; broker errors propagate."""
    while not stopping.is_set():
        for delivery in subscription.receive(RECEIVE_BATCH, wait=RECEIVE_WAIT):
            if stopping.is_set():
                break
            handle_delivery(delivery, role, subscription.name, stats)


@dataclass(frozen=True)
class Target:
    """Where to subscribe: the broker, the topic and this subscription's name."""

    broker_url: str
    topic: str
    subscription: str
    durable: bool = True
    broker_timeout: float = 30.0


class Subscriber:
    """One subscription's consumer for the life of the process, reconnecting on broker loss.

    ``subscribed`` is set once the subscription exists (a topic delivers only what is
    published after that), and cleared while reconnecting; ``ready`` reports it.
    """

    def __init__(
        self,
        target: Target,
        role: Role,
        connect: Callable[[str, float], Broker],
    ) -> None:
        self.target = target
        self.role = role
        self.stats = ConsumerStats()
        self.subscribed = threading.Event()
        self._connect = connect

    def ready(self) -> bool:
        return self.subscribed.is_set()

    def run(self, stopping: threading.Event) -> None:
        """Consume until ``stopping``; a lost broker is reconnected with a growing backoff."""
        failures = 0
        while not stopping.is_set():
            try:
                self._session(stopping)
                failures = 0
            except Exception:
                delay = RECONNECT_BACKOFF[min(failures, len(RECONNECT_BACKOFF) - 1)]
                failures += 1
                log.exception(
                    "subscription lost; reconnecting",
                    extra={"subscription": self.target.subscription, "retry_in": delay},
                )
                stopping.wait(delay)
        log.info("subscriber stopped", extra={"subscription": self.target.subscription})

    def _session(self, stopping: threading.Event) -> None:
        target = self.target
        broker = self._connect(target.broker_url, target.broker_timeout)
        try:
            subscription = broker.subscribe(
                target.topic, target.subscription, durable=target.durable
            )
            try:
                self.subscribed.set()
                log.info(
                    "subscribed",
                    extra={
                        "topic": target.topic,
                        "subscription": target.subscription,
                        "durable": target.durable,
                    },
                )
                consume(subscription, self.role, stopping, self.stats)
            finally:
                self.subscribed.clear()
                subscription.close()
        finally:
            broker.close()
