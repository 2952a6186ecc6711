"""In-memory stand-ins for a Broker and the Ledger, for unit tests of the services.

They keep the contract's observable behaviour (a send is recorded only when it "confirms",
queues hand out each message once until acked, every subscription sees every publish,
dead-lettering after ``max_receive_count`` receives) and add what a test needs from a fake:
a record of everything confirmed, and switches that make an operation fail or hang.

    broker = FakeBroker()
    broker.fail("send")                     # the next sends raise BrokerUnavailable
    gate = broker.block("publish")          # publishes hang until gate.set()
    broker.recover()                        # back to normal

Operation names are the method names: "send", "publish", "receive", "backlog",
"declare_queue", "subscribe", ... (and for the ledger "accepted", "ping", ...).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Self

import redis

from broker_adapters import (
    Backlog,
    Broker,
    BrokerUnavailable,
    Delivery,
    Features,
    Message,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    Subscription,
)
from broker_adapters.core import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SOURCE,
    check_receive_arguments,
    check_send_arguments,
    new_message_id,
    now,
)
from services.ledger import LedgerSummary, OrderState

# A hung operation gives up after this long, so a test that forgets its gate cannot hang.
BLOCK_LIMIT = 30.0


@dataclass(frozen=True)
class Sent:
    """One confirmed send or publish: where it went and what it carried."""

    destination: str
    message: Message


@dataclass
class _Fault:
    error: BaseException | None = None
    remaining: int | None = None  # None: every call until recover()
    gate: threading.Event | None = None


class Faults:
    """Per-operation failures and hangs, shared by the fakes."""

    def __init__(self) -> None:
        self._faults: dict[str, _Fault] = {}
        self._lock = threading.Lock()

    def fail(self, operation: str, error: BaseException, times: int | None) -> None:
        with self._lock:
            self._faults[operation] = _Fault(error=error, remaining=times)

    def block(self, operation: str) -> threading.Event:
        gate = threading.Event()
        with self._lock:
            self._faults[operation] = _Fault(gate=gate)
        return gate

    def recover(self, operation: str | None = None) -> None:
        with self._lock:
            released = list(self._faults.values()) if operation is None else []
            if operation is None:
                self._faults.clear()
            elif operation in self._faults:
                released.append(self._faults.pop(operation))
        for fault in released:
            if fault.gate is not None:
                fault.gate.set()

    def check(self, operation: str) -> None:
        """Called first by every faked operation: hang or raise as configured."""
        with self._lock:
            fault = self._faults.get(operation)
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[operation]
        if fault is None:
            return
        if fault.gate is not None:
            fault.gate.wait(BLOCK_LIMIT)
        if fault.error is not None:
            raise fault.error


FAKE_FEATURES = Features(
    name="fake",
    durable_subscriptions=True,
    fire_and_forget_subscriptions=True,
    ordering="single-consumer",
    visibility_timeout=False,
    visibility_changes=False,
    delivery_delay=False,
    deduplication=False,
    counts_crash_redeliveries=False,
    native_dead_letter=False,
    backlog_splits_in_flight=True,
    redelivery_after_crash="never: messages live in this process's memory",
)


class FakeDelivery(Delivery):
    def __init__(self, message: Message, settle: Any) -> None:
        super().__init__(message)
        self._settle = settle

    def _settle_ack(self) -> None:
        self._settle(self.message, None)

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        outcome: Outcome = self._settle(self.message, (requeue, reason))
        return outcome


class FakeSubscription(Subscription):
    def __init__(self, broker: FakeBroker, topic: str, name: str, durable: bool) -> None:
        super().__init__(topic, name, durable)
        self._broker = broker
        self.pending: deque[Message] = deque()

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        self._broker.faults.check("subscription.receive")
        with self._broker.lock:
            taken = [self.pending.popleft() for _ in range(min(max_messages, len(self.pending)))]
        return [FakeDelivery(message, lambda _m, _n: Outcome.ACKED) for message in taken]

    def close(self) -> None:
        if not self.durable:
            self._broker.delete_subscription(self.topic, self.name)


class FakeBroker(Broker):
    """A Broker in memory. ``sent`` and ``published`` list every confirmed message in order.

    Failures are opt-in: ``fail(op)`` raises BrokerUnavailable (or ``error``) from the next
    ``times`` calls (all, by default); ``block(op)`` makes calls hang until the returned event
    is set, as a broker that never confirms; ``recover()`` clears both. A failed or hung call
    records nothing, as a real broker's unconfirmed send.
    """

    features: ClassVar[Features] = FAKE_FEATURES

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.sent: list[Sent] = []
        self.published: list[Sent] = []
        self.queues: dict[str, QueueConfig] = {}
        self.closed = False
        self._visible: dict[str, deque[Message]] = {}
        self._in_flight: dict[str, dict[str, Message]] = {}
        self._subscriptions: dict[str, dict[str, FakeSubscription]] = {}
        self._sequence = itertools.count(1)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        return cls()

    # Fault injection

    def fail(
        self, operation: str, error: BaseException | None = None, *, times: int | None = None
    ) -> None:
        self.faults.fail(operation, error or BrokerUnavailable(f"fake: {operation} failed"), times)

    def block(self, operation: str) -> threading.Event:
        return self.faults.block(operation)

    def recover(self, operation: str | None = None) -> None:
        self.faults.recover(operation)

    # Topics

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        self.faults.check("publish")
        built = [self._message(outgoing) for outgoing in messages]
        with self.lock:
            for message in built:
                self.published.append(Sent(topic, message))
                for subscription in self._subscriptions.get(topic, {}).values():
                    subscription.pending.append(message)
        return [message.id for message in built]

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        self.faults.check("subscribe")
        with self.lock:
            existing = self._subscriptions.setdefault(topic, {})
            if subscription not in existing:
                existing[subscription] = FakeSubscription(self, topic, subscription, durable)
            return existing[subscription]

    def delete_subscription(self, topic: str, subscription: str) -> None:
        with self.lock:
            self._subscriptions.get(topic, {}).pop(subscription, None)

    # Queues

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        self.faults.check("declare_queue")
        with self.lock:
            self.queues[queue] = config or QueueConfig()
            self._visible.setdefault(queue, deque())
            self._in_flight.setdefault(queue, {})

    def delete_queue(self, queue: str) -> None:
        with self.lock:
            self.queues.pop(queue, None)
            self._visible.pop(queue, None)
            self._in_flight.pop(queue, None)

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        self.faults.check("send")
        self._declared(queue)
        built = [self._message(outgoing) for outgoing in messages]
        with self.lock:
            for message in built:
                self.sent.append(Sent(queue, message))
                self._visible[queue].append(message)
        return [message.id for message in built]

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        self.faults.check("receive")
        self._declared(queue)
        deliveries: list[Delivery] = []
        with self.lock:
            visible = self._visible[queue]
            while visible and len(deliveries) < max_messages:
                message = visible.popleft()
                self._in_flight[queue][message.id] = message
                deliveries.append(
                    FakeDelivery(message, lambda m, nack, q=queue: self._settle(q, m, nack))
                )
        return deliveries

    def backlog(self, queue: str) -> Backlog:
        self.faults.check("backlog")
        self._declared(queue)
        with self.lock:
            return Backlog(visible=len(self._visible[queue]), in_flight=len(self._in_flight[queue]))

    def close(self) -> None:
        with self.lock:
            for queue, held in self._in_flight.items():
                self._visible[queue].extendleft(reversed(list(held.values())))
                held.clear()
            self.closed = True

    # Helpers for tests

    def bodies(self, queue: str) -> list[bytes]:
        """Bodies of every confirmed send to ``queue``, received or not."""
        return [sent.message.body for sent in self.sent if sent.destination == queue]

    def _declared(self, queue: str) -> QueueConfig:
        with self.lock:
            if queue not in self.queues:
                raise QueueNotDeclared(f"declare_queue({queue!r}) first in this process")
            return self.queues[queue]

    def _message(self, outgoing: OutgoingMessage) -> Message:
        check_send_arguments(outgoing.body, outgoing.delay)
        return Message(
            body=outgoing.body,
            id=f"{new_message_id()[:24]}-{next(self._sequence)}",
            timestamp=now(),
            group_id=outgoing.group_id,
            trace_id=outgoing.trace_id,
            dedup_id=outgoing.dedup_id,
            headers=dict(outgoing.headers),
        )

    def _settle(self, queue: str, message: Message, nack: tuple[bool, str] | None) -> Outcome:
        with self.lock:
            self._in_flight.get(queue, {}).pop(message.id, None)
            if nack is None:
                return Outcome.ACKED
            requeue, reason = nack
            policy = self.queues[queue].redrive_policy
            if requeue and (policy is None or message.attempt < policy.max_receive_count):
                again = replace(message, attempt=message.attempt + 1)
                self._visible[queue].append(again)
                return Outcome.REQUEUED
            if policy is None:
                return Outcome.DROPPED
            headers = {
                **message.headers,
                DEAD_LETTER_REASON: reason,
                DEAD_LETTER_SOURCE: queue,
            }
            dead = replace(message, attempt=1, headers=headers)
            self._visible.setdefault(policy.dead_letter_queue, deque()).append(dead)
            return Outcome.DEAD_LETTERED


@dataclass
class FakeLedger:
    """services.ledger.Ledger's API over dicts; ``fail(op)`` raises a Redis connection error."""

    states: dict[str, OrderState] = field(default_factory=dict)
    brew_counts: dict[str, int] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)

    def fail(
        self, operation: str, error: BaseException | None = None, *, times: int | None = None
    ) -> None:
        self.faults.fail(operation, error or redis.ConnectionError("fake ledger is down"), times)

    def block(self, operation: str) -> threading.Event:
        return self.faults.block(operation)

    def recover(self, operation: str | None = None) -> None:
        self.faults.recover(operation)

    def accepted(self, order_id: str) -> None:
        self.faults.check("accepted")
        self.states.setdefault(order_id, OrderState.ACCEPTED)

    def withdrawn(self, order_id: str) -> bool:
        self.faults.check("withdrawn")
        if self.states.get(order_id) is not OrderState.ACCEPTED:
            return False
        del self.states[order_id]
        return True

    def brewed(self, order_id: str) -> int:
        self.faults.check("brewed")
        self.brew_counts[order_id] = self.brew_counts.get(order_id, 0) + 1
        self.states[order_id] = OrderState.BREWED
        return self.brew_counts[order_id]

    def dead_lettered(self, order_id: str) -> None:
        self.faults.check("dead_lettered")
        self.states[order_id] = OrderState.DEAD_LETTERED

    def state(self, order_id: str) -> OrderState | None:
        self.faults.check("state")
        return self.states.get(order_id)

    def brews(self, order_id: str) -> int:
        self.faults.check("brews")
        return self.brew_counts.get(order_id, 0)

    def summary(self) -> LedgerSummary:
        self.faults.check("summary")
        states = list(self.states.values())
        return LedgerSummary(
            accepted=len(states),
            brewed=states.count(OrderState.BREWED),
            dead_lettered=states.count(OrderState.DEAD_LETTERED),
            in_flight=states.count(OrderState.ACCEPTED),
            duplicates=sum(count - 1 for count in self.brew_counts.values() if count > 1),
        )

    def ping(self) -> bool:
        self.faults.check("ping")
        return True
