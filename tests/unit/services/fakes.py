"""A Broker and a Ledger for unit tests of the services, with what a test needs on top.

The broker is the memory backend (``memory://``, which passes the contract suite), so it
keeps the contract's behaviour; the ledger is the Ledger's API over dicts. Both add a record
of everything confirmed and switches that make an operation fail or hang.

    broker = RecordingBroker()
    broker.fail("send")                     # the next sends raise BrokerUnavailable
    gate = broker.block("publish")          # publishes hang until gate.set()
    broker.recover()                        # back to normal

Operation names are the method names: "send", "publish", "receive", "backlog",
"declare_queue", "subscribe", ... (and for the ledger "accepted", "ping", ...).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import redis

from broker_adapters import (
    Backlog,
    BrokerUnavailable,
    Delivery,
    Message,
    OutgoingMessage,
    QueueConfig,
    Subscription,
)
from broker_adapters import Sent as SentMessage
from broker_adapters.core import now
from broker_adapters.memory import MemoryBroker, MemoryConfig
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


class RecordingBroker(MemoryBroker):
    """A ``memory://`` broker with a store of its own, plus what a test needs on top: ``sent``
    and ``published`` list every confirmed message in order, and switches make operations fail
    or hang.

    Failures are opt-in: ``fail(op)`` raises BrokerUnavailable (or ``error``) from the next
    ``times`` calls (all, by default); ``block(op)`` makes calls hang until the returned event
    is set, as a broker that never confirms; ``recover()`` clears both. A failed or hung call
    records nothing, as a real broker's unconfirmed send. Operations: "send", "publish",
    "receive", "backlog", "declare_queue", "subscribe".
    """

    def __init__(self) -> None:
        super().__init__(f"unit-{uuid.uuid4().hex}", MemoryConfig())
        self.faults = Faults()
        self.sent: list[Sent] = []
        self.published: list[Sent] = []

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        return cls()

    @property
    def closed(self) -> bool:
        return self._closed

    def peer(self) -> MemoryBroker:
        """Another connection to this broker's store: how a test looks at what the code under
        test left there, after it closed its connection too."""
        return MemoryBroker(self.name, self.config)

    # Fault injection

    def fail(
        self, operation: str, error: BaseException | None = None, *, times: int | None = None
    ) -> None:
        self.faults.fail(operation, error or BrokerUnavailable(f"fake: {operation} failed"), times)

    def block(self, operation: str) -> threading.Event:
        return self.faults.block(operation)

    def recover(self, operation: str | None = None) -> None:
        self.faults.recover(operation)

    # The operations, checked for faults first and recorded once confirmed

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        self.faults.check("publish")
        ids = super().publish_batch(topic, messages)
        self.published.extend(_record(topic, messages, ids))
        return ids

    def send_batch_sequenced(
        self, queue: str, messages: Sequence[OutgoingMessage]
    ) -> list[SentMessage]:
        self.faults.check("send")
        sent = super().send_batch_sequenced(queue, messages)
        self.sent.extend(_record(queue, messages, [s.message_id for s in sent]))
        return sent

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        self.faults.check("receive")
        return super().receive(queue, max_messages, wait, visibility_timeout)

    def backlog(self, queue: str) -> Backlog:
        self.faults.check("backlog")
        return super().backlog(queue)

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        self.faults.check("declare_queue")
        super().declare_queue(queue, config)

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        self.faults.check("subscribe")
        return super().subscribe(topic, subscription, durable=durable)

    def bodies(self, queue: str) -> list[bytes]:
        """Bodies of every confirmed send to ``queue``, received or not."""
        return [sent.message.body for sent in self.sent if sent.destination == queue]


def _record(destination: str, messages: Sequence[OutgoingMessage], ids: list[str]) -> list[Sent]:
    return [
        Sent(
            destination,
            Message(
                body=outgoing.body,
                id=message_id,
                timestamp=now(),
                group_id=outgoing.group_id,
                trace_id=outgoing.trace_id,
                dedup_id=outgoing.dedup_id,
                headers=dict(outgoing.headers),
            ),
        )
        for outgoing, message_id in zip(messages, ids, strict=True)
    ]


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

    def accepted_many(self, order_ids: Sequence[str]) -> None:
        self.faults.check("accepted")
        for order_id in order_ids:
            self.states.setdefault(order_id, OrderState.ACCEPTED)

    def withdrawn_many(self, order_ids: Sequence[str]) -> list[bool]:
        self.faults.check("withdrawn")
        return [self._withdraw(order_id) for order_id in order_ids]

    def withdrawn(self, order_id: str) -> bool:
        self.faults.check("withdrawn")
        return self._withdraw(order_id)

    def _withdraw(self, order_id: str) -> bool:
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
