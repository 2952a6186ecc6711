"""The memory backend: SNS-like topics and SQS-like queues inside one Python process.

URL: ``memory://[name][?subscription_visibility_timeout=seconds]``. Every Broker connected to
the same name in one process shares its queues and topics (``memory://`` is the name
``default``), so competing consumers, monitors and subscribers on threads meet as on a real
broker. Nothing crosses the process: another process that connects to the same URL gets a
broker of its own, and the queues end with the process that holds them. The features say so
(``shared_between_processes`` is False), and the contract suite's tests that kill a consumer
process or restart the broker are skipped on that declaration.

It is for unit tests of the services and the orchestrator (no network, no Docker, and it
passes the same contract suite as the real backends) and for trying the API without a broker.
No client library is needed.

Capabilities (``MemoryBroker.features``), kept in one lock-guarded store per name:

- queues: messages in send order; a receive hands out visible messages and hides each one
  for the visibility timeout (the queue's, or the receive's), which ``change_visibility``
  moves. A delivery's receipt is its receive: once the message was received again, released
  or requeued, settling the old delivery changes nothing (``ack`` included).
- ``Message.attempt`` counts every receive, so a message whose consumer never settled it (a
  thread that died) comes back with one more; it is dead-lettered by the receive after its
  ``max_receive_count``-th with the reason ``max receive count exceeded``, as on Redis.
- delays (send and nack), deduplication within the queue's window, FIFO queues (order per
  message group across competing consumers, a group held while one of its messages is in
  flight or delayed, sequence numbers) and a backlog split into visible, in flight and
  delayed.
- topics: a durable subscription is a queue of the topic's that keeps what is published
  while its subscriber is away; a fire-and-forget one exists only while it is open.
- messages are kept as the wire headers (``wire.py``), as the other brokers carry them, so
  decoding and its repairs of malformed headers are the same code (``send_plain`` puts a
  message as a plain client of another broker would).

Long polls wait on the store's condition variable, which every send, settlement and release
notifies, for at most the time until the next message becomes visible; nothing spins.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

from broker_adapters import wire
from broker_adapters.core import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SOURCE,
    DEFAULT_VISIBILITY_TIMEOUT,
    MAX_RECEIVES_EXCEEDED,
    MAX_VISIBILITY_TIMEOUT,
    Backlog,
    Broker,
    BrokerError,
    Delivery,
    Features,
    Message,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    Sent,
    Subscription,
    UnsupportedSemantic,
    check_queue_config,
    check_receive_arguments,
    check_send_arguments,
    check_single_mode,
    check_visibility_timeout,
    new_message_id,
    now,
)

DEFAULT_STORE = "default"
# SQS's SequenceNumber is a string of digits; zero-padded so that the strings sort as numbers.
SEQUENCE_DIGITS = 20


@dataclass(frozen=True)
class MemoryConfig:
    """Knobs of the memory backend (seconds)."""

    # How long a durable subscription's delivery stays in flight before another receive of the
    # same subscription gets it again (subscriptions have no per-receive visibility timeout).
    subscription_visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT

    def __post_init__(self) -> None:
        if not 0 < self.subscription_visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
            raise ValueError(
                "subscription_visibility_timeout must be positive and at most "
                f"{MAX_VISIBILITY_TIMEOUT:.0f} s, got {self.subscription_visibility_timeout}",
            )

    @classmethod
    def from_options(cls, query: Mapping[str, str], options: Mapping[str, Any]) -> MemoryConfig:
        """Settings from a URL query (strings) overridden by keyword options (typed)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted((set(query) | set(options)) - known)
        if unknown:
            raise TypeError(
                f"unknown memory option(s) {unknown}; known options are {sorted(known)}"
            )
        values: dict[str, Any] = {name: float(text) for name, text in query.items()}
        return cls(**(values | dict(options)))


@dataclass(eq=False)
class _Entry:
    """One stored message. Times are ``time.monotonic()`` seconds."""

    sequence: int
    body: bytes
    headers: Mapping[str, str]
    sent_at: float
    visible_at: float
    receives: int = 0
    # Changes with every receive, release and requeue: a delivery holds the value it saw.
    receipt: int = 0

    @property
    def group_id(self) -> str | None:
        return self.headers.get(wire.GROUP_ID)

    def in_flight(self, at: float) -> bool:
        """Received and hidden (also while a nack's delay runs, as SQS counts it)."""
        return self.receives > 0 and self.visible_at > at

    def delayed(self, at: float) -> bool:
        """Sent with a delay that has not run out yet, never received."""
        return self.receives == 0 and self.visible_at > at

    def decode(self, receives: int) -> Message:
        """The message as its ``receives``-th receive hands it out."""
        return wire.decode(
            self.body,
            self.headers,
            default_id=f"memory-{self.sequence}",
            default_timestamp=self.sent_at,
            receives=receives,
        )


class _Queue:
    """A queue's messages and the last declaration of it (what ``describe_queue`` reads)."""

    def __init__(self, name: str, config: QueueConfig) -> None:
        self.name = name
        self.config = config
        self.entries: dict[int, _Entry] = {}  # by sequence, so in send order
        self.dedup: dict[str, tuple[float, Sent]] = {}  # dedup id -> (expiry, first send)

    @property
    def kind(self) -> str:
        return "fifo" if self.config.fifo else "standard"

    def available(self, at: float) -> Iterator[_Entry]:
        """Receivable entries in send order. On a FIFO queue a group with a message in flight
        gives nothing, and a delayed message holds back the rest of its group."""
        if not self.config.fifo:
            yield from (entry for entry in self.entries.values() if entry.visible_at <= at)
            return
        held = {entry.group_id for entry in self.entries.values() if entry.in_flight(at)}
        for entry in self.entries.values():
            if entry.group_id in held:
                continue
            if entry.visible_at > at:
                held.add(entry.group_id)
                continue
            yield entry

    def next_change(self, at: float) -> float | None:
        """When the next hidden message becomes visible (None: none is hidden)."""
        return min((e.visible_at for e in self.entries.values() if e.visible_at > at), default=None)

    def backlog(self, at: float) -> Backlog:
        """A message behind an in-flight one of its group counts as visible, as in SQS."""
        in_flight = sum(1 for entry in self.entries.values() if entry.in_flight(at))
        delayed = sum(1 for entry in self.entries.values() if entry.delayed(at))
        return Backlog(len(self.entries) - in_flight - delayed, in_flight, delayed)

    def deduplicated(self, dedup_id: str | None, at: float) -> Sent | None:
        if dedup_id is None:
            return None
        found = self.dedup.get(dedup_id)
        if found is None or found[0] <= at:
            return None
        return found[1]


class _Store:
    """One named broker: its queues and topics, and the condition that guards them."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.queues: dict[str, _Queue] = {}
        # topic -> subscription -> the subscription's queue
        self.topics: dict[str, dict[str, _Queue]] = {}
        self.sequence = itertools.count(1)

    def queue(self, name: str) -> _Queue:
        found = self.queues.get(name)
        if found is None:
            raise QueueNotDeclared(f"queue {name!r} does not exist")
        return found

    def append(self, queue: _Queue, body: bytes, headers: Mapping[str, str], delay: float) -> int:
        sequence = next(self.sequence)
        at = time.monotonic()
        queue.entries[sequence] = _Entry(sequence, body, headers, now(), at + delay)
        return sequence

    def dead_letter(
        self, source: _Queue, entry: _Entry, policy: RedrivePolicy, reason: str, receives: int
    ) -> bool:
        """Move ``entry`` to the dead-letter queue with the reason headers (False: the
        dead-letter queue is gone, and the message stays)."""
        target = self.queues.get(policy.dead_letter_queue)
        if target is None:
            return False
        message = entry.decode(receives)
        headers = wire.carry_headers(
            message, {DEAD_LETTER_REASON: reason, DEAD_LETTER_SOURCE: source.name}
        )
        del source.entries[entry.sequence]
        self.append(target, entry.body, headers, 0.0)
        return True


_STORES: dict[str, _Store] = {}
_STORES_LOCK = threading.Lock()


def _store(name: str) -> _Store:
    """The store of ``memory://name``; it lives as long as the process."""
    with _STORES_LOCK:
        return _STORES.setdefault(name, _Store())


def _store_name(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "memory":
        raise ValueError(f"not a memory:// URL: {parts.scheme}://…")
    name = parts.netloc + parts.path.rstrip("/")
    return name or DEFAULT_STORE, parts.query


def send_plain(url: str, queue: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Put a message on ``queue`` of ``memory://…`` with ``headers`` as given, as a plain
    client puts one on another broker (kcat, redis-cli): not encoded by the adapter, so
    reserved headers may be missing or malformed. For interoperability tests."""
    name, _ = _store_name(url)
    store = _store(name)
    with store.changed:
        store.append(store.queue(queue), body, dict(headers), 0.0)
        store.changed.notify_all()


def _sequence_number(sequence: int) -> str:
    return f"{sequence:0{SEQUENCE_DIGITS}d}"


class MemoryDelivery(Delivery):
    """A message received from a queue or a durable subscription of the memory backend."""

    def __init__(
        self,
        message: Message,
        broker: MemoryBroker,
        queue: _Queue,
        entry: _Entry,
        policy: RedrivePolicy | None,
    ) -> None:
        super().__init__(message)
        self._broker = broker
        self._queue = queue
        self._entry = entry
        self._receipt = entry.receipt
        self._policy = policy

    def _current(self) -> bool:
        """Whether this delivery still holds the message (not received again since)."""
        return (
            self._queue.entries.get(self._entry.sequence) is self._entry
            and self._entry.receipt == self._receipt
        )

    def _settle_ack(self) -> None:
        with self._broker.store.changed:
            self._remove()

    def _remove(self) -> None:
        if self._current():
            del self._queue.entries[self._entry.sequence]
            self._broker.store.changed.notify_all()
        self._broker._settled(self._queue, self._entry)

    @classmethod
    def _settle_acks(cls, deliveries: Sequence[Delivery]) -> None:
        """Under one hold of each store's lock, as one call to a broker would be."""
        by_store: dict[int, tuple[_Store, list[MemoryDelivery]]] = {}
        for delivery in deliveries:
            if not isinstance(delivery, MemoryDelivery):
                raise TypeError(f"not a memory delivery: {delivery!r}")
            store = delivery._broker.store
            by_store.setdefault(id(store), (store, []))[1].append(delivery)
        for store, batch in by_store.values():
            with store.changed:
                for delivery in batch:
                    delivery._remove()

    def _change_visibility(self, timeout: float) -> bool:
        with self._broker.store.changed:
            if not self._current():
                return False
            self._entry.visible_at = time.monotonic() + timeout
            self._broker.store.changed.notify_all()
            return True

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        policy = self._policy
        store = self._broker.store
        with store.changed:
            current = self._current()
            self._broker._settled(self._queue, self._entry)
            if requeue and (policy is None or self.message.attempt < policy.max_receive_count):
                if current:
                    self._entry.receipt += 1
                    self._entry.visible_at = time.monotonic() + delay
                    store.changed.notify_all()
                return Outcome.REQUEUED
            if policy is None:
                if current:
                    del self._queue.entries[self._entry.sequence]
                    store.changed.notify_all()
                return Outcome.DROPPED
            receives = self._entry.receives
            if current and store.dead_letter(self._queue, self._entry, policy, reason, receives):
                store.changed.notify_all()
                return Outcome.DEAD_LETTERED
            return Outcome.REQUEUED


class MemorySubscription(Subscription):
    """A subscription's queue, read as a consumer of it; see the module docstring."""

    def __init__(
        self, broker: MemoryBroker, topic: str, name: str, durable: bool, queue: _Queue
    ) -> None:
        super().__init__(topic, name, durable)
        self._broker = broker
        self._queue = queue

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        visibility = self._broker.config.subscription_visibility_timeout
        return self._broker._take_from(lambda: self._queue, None, max_messages, wait, visibility)

    def close(self) -> None:
        """Hand back what this subscriber holds; a fire-and-forget subscription ends."""
        store = self._broker.store
        with store.changed:
            self._broker._release_held(self._queue)
            subscriptions = store.topics.get(self.topic, {})
            if not self.durable and subscriptions.get(self.name) is self._queue:
                del subscriptions[self.name]


class MemoryBroker(Broker):
    """Topics and queues in this process's memory; see ``broker_adapters.memory``.

    Thread-safe: every operation holds the store's lock for its whole step.
    """

    features: ClassVar[Features] = Features(
        name="memory",
        durable_subscriptions=True,
        fire_and_forget_subscriptions=True,
        ordering="single-consumer",
        visibility_timeout=True,
        visibility_changes=True,
        delivery_delay=True,
        deduplication=True,
        counts_crash_redeliveries=True,
        native_dead_letter=False,
        backlog_splits_in_flight=True,
        redelivery_after_crash=(
            "after the visibility timeout (taken by the next receive); the queues live in the "
            "process, so a crash of the process loses them"
        ),
        fifo_queues=True,
        shared_between_processes=False,
    )

    def __init__(self, name: str, config: MemoryConfig) -> None:
        self.name = name
        self.config = config
        self.store = _store(name)
        self._declared: dict[str, QueueConfig] = {}
        # Deliveries handed out and not settled, per queue, for release_queue and close.
        self._held: dict[_Queue, dict[_Entry, int]] = {}
        self._subscriptions: list[MemorySubscription] = []
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """``memory://[name][?subscription_visibility_timeout=seconds]``; options are
        ``MemoryConfig`` fields."""
        name, query = _store_name(url)
        return cls(name, MemoryConfig.from_options(dict(parse_qsl(query)), options))

    def __repr__(self) -> str:
        return f"MemoryBroker('memory://{self.name}')"

    @contextmanager
    def _open(self) -> Iterator[_Store]:
        """The store, locked, while this broker is open."""
        with self.store.changed:
            if self._closed:
                raise BrokerError(f"{self!r} is closed")
            yield self.store

    # Topics

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        for message in messages:
            check_send_arguments(message.body, message.delay)
            if message.delay or message.dedup_id is not None:
                raise UnsupportedSemantic(
                    "memory topics take neither a delay nor a dedup_id "
                    "(SNS standard topics do not)",
                )
        encoded = [
            (message.body, self._headers(message_id := new_message_id(), message), message_id)
            for message in messages
        ]
        with self._open() as store:
            for subscription in store.topics.get(topic, {}).values():
                for body, headers, _ in encoded:
                    store.append(subscription, body, headers, 0.0)
            store.changed.notify_all()
        return [message_id for _, _, message_id in encoded]

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        """A durable subscription that exists already resumes with what it kept."""
        with self._open() as store:
            subscriptions = store.topics.setdefault(topic, {})
            queue = subscriptions.get(subscription) if durable else None
            if queue is None:
                queue = _Queue(f"{topic}/{subscription}", QueueConfig())
                subscriptions[subscription] = queue
            joined = MemorySubscription(self, topic, subscription, durable, queue)
            self._subscriptions.append(joined)
        return joined

    def delete_subscription(self, topic: str, subscription: str) -> None:
        with self._open() as store:
            store.topics.get(topic, {}).pop(subscription, None)

    # Queues

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        """Creates the queue, and its dead-letter queue (of the same type) if missing; the
        stored declaration is the last one, this broker applies its own."""
        config = config or QueueConfig()
        check_single_mode("memory", config)
        check_queue_config(self.features, config)
        policy = config.redrive_policy
        if policy is not None and policy.dead_letter_queue == queue:
            raise ValueError(f"queue {queue!r} cannot be its own dead-letter queue")
        with self._open() as store:
            _check_kind(store, queue, config.fifo)
            if policy is not None:
                dlq = policy.dead_letter_queue
                _check_kind(store, dlq, config.fifo)
                if dlq not in store.queues:
                    store.queues[dlq] = _Queue(dlq, QueueConfig(fifo=config.fifo))
                self._declared.setdefault(dlq, store.queues[dlq].config)
            existing = store.queues.get(queue)
            if existing is None:
                store.queues[queue] = _Queue(queue, config)
            else:
                existing.config = config
            self._declared[queue] = config

    def delete_queue(self, queue: str) -> None:
        with self._open() as store:
            found = store.queues.pop(queue, None)
            self._declared.pop(queue, None)
            if found is not None:
                self._held.pop(found, None)
            store.changed.notify_all()

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        return [sent.message_id for sent in self.send_batch_sequenced(queue, messages)]

    def send_batch_sequenced(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[Sent]:
        """All or nothing: every message is checked before any is stored."""
        config = self._declaration(queue)
        for message in messages:
            check_send_arguments(message.body, message.delay)
            if config.fifo and not message.group_id:
                raise ValueError(
                    f"FIFO queue {queue!r} needs a group_id on every message "
                    "(SQS's MessageGroupId)",
                )
        sent: list[Sent] = []
        with self._open() as store:
            target = self._stored(store, queue)
            at = time.monotonic()
            for message in messages:
                earlier = target.deduplicated(message.dedup_id, at)
                if earlier is not None:
                    sent.append(earlier)
                    continue
                message_id = new_message_id()
                headers = self._headers(message_id, message)
                sequence = store.append(target, message.body, headers, message.delay)
                number = _sequence_number(sequence) if config.fifo else None
                sent.append(Sent(message_id, number))
                if message.dedup_id is not None:
                    expiry = at + config.deduplication_window
                    target.dedup[message.dedup_id] = (expiry, sent[-1])
            store.changed.notify_all()
        return sent

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        config = self._declaration(queue)
        timeout = config.visibility_timeout if visibility_timeout is None else visibility_timeout
        check_visibility_timeout(timeout)
        return self._take_from(
            lambda: self._stored(self.store, queue),
            config.redrive_policy,
            max_messages,
            wait,
            timeout,
        )

    def _take_from(
        self,
        queue: Callable[[], _Queue],
        policy: RedrivePolicy | None,
        max_messages: int,
        wait: float,
        visibility: float,
    ) -> list[Delivery]:
        """Receive from the queue ``queue()`` finds (looked up again after every wait, since
        it may be deleted meanwhile), long-polling up to ``wait`` seconds."""
        deadline = time.monotonic() + wait
        dead: list[tuple[str, Message]] = []
        try:
            return self._wait_and_take(queue, policy, max_messages, deadline, visibility, dead)
        finally:
            # After the store's lock is released: a watcher may take its time.
            for source, message in dead:
                if policy is not None:
                    self._report_dead_letter(
                        source, policy.dead_letter_queue, message, MAX_RECEIVES_EXCEEDED
                    )

    def _wait_and_take(
        self,
        queue: Callable[[], _Queue],
        policy: RedrivePolicy | None,
        max_messages: int,
        deadline: float,
        visibility: float,
        dead: list[tuple[str, Message]],
    ) -> list[Delivery]:
        with self._open() as store:
            while True:
                found = queue()
                at = time.monotonic()
                taken = self._take(store, found, policy, max_messages, at, dead)
                if taken:
                    return [
                        self._hand_out(found, entry, policy, at + visibility) for entry in taken
                    ]
                if at >= deadline:
                    return []
                due = found.next_change(at)
                store.changed.wait(min(deadline, due or deadline) - at)
                if self._closed:
                    raise BrokerError(f"{self!r} is closed")

    def _take(
        self,
        store: _Store,
        queue: _Queue,
        policy: RedrivePolicy | None,
        count: int,
        at: float,
        dead: list[tuple[str, Message]],
    ) -> list[_Entry]:
        """Up to ``count`` receivable entries; one received too often to be handed out again
        is dead-lettered instead (and added to ``dead``), and the look starts over (a FIFO
        group moves on)."""
        while True:
            taken = list(itertools.islice(queue.available(at), count))
            doomed = [entry for entry in taken if _past_receives(entry, policy)]
            if not doomed or policy is None:
                return taken
            for entry in doomed:
                if not store.dead_letter(
                    queue, entry, policy, MAX_RECEIVES_EXCEEDED, entry.receives
                ):
                    return [entry for entry in taken if entry not in doomed]
                dead.append((queue.name, entry.decode(entry.receives)))

    def _hand_out(
        self, queue: _Queue, entry: _Entry, policy: RedrivePolicy | None, hidden_until: float
    ) -> MemoryDelivery:
        entry.receives += 1
        entry.receipt += 1
        entry.visible_at = hidden_until
        message = entry.decode(entry.receives)
        if queue.config.fifo:
            message = dataclasses.replace(message, sequence_number=_sequence_number(entry.sequence))
        self._held.setdefault(queue, {})[entry] = entry.receipt
        return MemoryDelivery(message, self, queue, entry, policy)

    def _settled(self, queue: _Queue, entry: _Entry) -> None:
        """Forget a delivery this broker holds (the store's lock is held)."""
        self._held.get(queue, {}).pop(entry, None)

    def _release_held(self, queue: _Queue) -> None:
        """Messages this broker holds from ``queue`` become visible at once, and their
        deliveries stale (the store's lock is held)."""
        at = time.monotonic()
        for entry, receipt in self._held.pop(queue, {}).items():
            if queue.entries.get(entry.sequence) is entry and entry.receipt == receipt:
                entry.receipt += 1
                entry.visible_at = at
        self.store.changed.notify_all()

    def describe_queue(self, queue: str) -> QueueConfig | None:
        """The last declaration of the queue (its dead-letter queue's defaults when it was
        created as one)."""
        with self._open() as store:
            found = store.queues.get(queue)
            return None if found is None else found.config

    def release_queue(self, queue: str) -> None:
        with self._open() as store:
            found = store.queues.get(queue)
            if found is not None:
                self._release_held(found)

    def backlog(self, queue: str) -> Backlog:
        with self._open() as store:
            return store.queue(queue).backlog(time.monotonic())

    def close(self) -> None:
        """Hand back unsettled deliveries (visible again at once) and end fire-and-forget
        subscriptions; the store keeps everything else for the process's other brokers."""
        with self.store.changed:
            if self._closed:
                return
            for subscription in self._subscriptions:
                subscription.close()
            for queue in list(self._held):
                self._release_held(queue)
            self._closed = True
            self.store.changed.notify_all()

    # Helpers

    def _declaration(self, queue: str) -> QueueConfig:
        with self._open():
            config = self._declared.get(queue)
        if config is None:
            raise QueueNotDeclared(
                f"queue {queue!r} was not declared by this broker; call declare_queue first",
            )
        return config

    def _stored(self, store: _Store, queue: str) -> _Queue:
        found = store.queues.get(queue)
        if found is None:
            raise QueueNotDeclared(f"queue {queue!r} no longer exists (deleted by another broker)")
        return found

    @staticmethod
    def _headers(message_id: str, message: OutgoingMessage) -> dict[str, str]:
        return wire.encode_headers(
            message_id,
            now(),
            group_id=message.group_id,
            trace_id=message.trace_id,
            dedup_id=message.dedup_id,
            headers=message.headers,
        )


def _check_kind(store: _Store, queue: str, fifo: bool) -> None:
    found = store.queues.get(queue)
    wanted = "fifo" if fifo else "standard"
    if found is not None and found.kind != wanted:
        raise ValueError(
            f"queue {queue!r} exists as a {found.kind} queue; it cannot be declared {wanted} "
            "(SQS fixes a queue's type at creation, and a dead-letter queue's type is its "
            "source's)",
        )


def _past_receives(entry: _Entry, policy: RedrivePolicy | None) -> bool:
    """Whether handing ``entry`` out again would pass the policy's receive count (a message
    whose consumer never settled it: a nack dead-letters at the count itself)."""
    if policy is None or entry.receives == 0:
        return False
    return entry.decode(entry.receives + 1).attempt > policy.max_receive_count
