"""The messaging contract every backend implements: SNS-like topics and SQS-like queues.

A *topic* fans out: every subscription receives every message published after it was
created. A durable subscription keeps its messages while its subscriber is away; a
fire-and-forget one only sees what is published while it is connected.

A *queue* shares: competing consumers each receive a different message. A received message is
in flight until it is acked (gone) or nacked (visible again, or dead-lettered). A consumer that
dies without acking gives its messages back; when that happens depends on the broker
(``Features.redelivery_after_crash``). Delivery is at least once: a consumer must tolerate
a duplicate, and ``Message.attempt`` says how many times a message has been received.

What a backend cannot do is declared in its ``Features`` and refused with
``UnsupportedSemantic``, never silently approximated.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

# AWS's defaults and ranges (docs/aws-defaults.md), in seconds.
DEFAULT_VISIBILITY_TIMEOUT = 30.0
MAX_VISIBILITY_TIMEOUT = 12 * 3600.0
MAX_DELAY = 15 * 60.0
MAX_WAIT = 20.0
MAX_RECEIVE_BATCH = 10
DEDUPLICATION_WINDOW = 5 * 60.0
MAX_MESSAGE_BYTES = 256 * 1024


class BrokerError(Exception):
    """Base class of the errors this package raises."""


class UnsupportedSemantic(BrokerError):
    """The backend cannot give this semantic; its ``Features`` say so."""


class QueueNotDeclared(BrokerError):
    """A queue was used before ``declare_queue`` in this process (its policy is unknown)."""


class BrokerUnavailable(BrokerError):
    """The broker did not confirm in time (down, restarting, or unreachable)."""


@dataclass(frozen=True)
class Features:
    """What a backend does, as data: the contract tests read it to decide what applies."""

    name: str
    durable_subscriptions: bool
    fire_and_forget_subscriptions: bool
    # Where message order holds: "group" = per message group, even with competing consumers;
    # "single-consumer" = in send order for one consumer, not across competing consumers.
    ordering: Literal["group", "single-consumer"]
    # A received message that is not settled becomes receivable again after the queue's
    # visibility timeout (QueueConfig.visibility_timeout), like SQS.
    visibility_timeout: bool
    # receive(visibility_timeout=…) and Delivery.change_visibility move one message's deadline,
    # like SQS's ReceiveMessage VisibilityTimeout and ChangeMessageVisibility.
    visibility_changes: bool
    # send(delay=…) and nack(delay=…) hold a message back, like SQS delay and
    # ChangeMessageVisibility.
    delivery_delay: bool
    # send(dedup_id=…) drops a second send with the same id within the window.
    deduplication: bool
    # Message.attempt also counts redeliveries after a consumer crash (not only nacks).
    counts_crash_redeliveries: bool
    # Dead-lettering after max_receive_count happens in the broker, even for crash loops.
    native_dead_letter: bool
    # backlog() tells in-flight messages apart from visible ones.
    backlog_splits_in_flight: bool
    # In words: when a message held by a consumer that died becomes receivable again.
    redelivery_after_crash: str
    # declare_queue takes QueueConfig(fifo=True): a queue that orders per message group across
    # competing consumers and holds a group back while one of its messages is in flight (SQS
    # FIFO), whatever ``ordering`` says of the backend's other queues.
    fifo_queues: bool = False
    # The broker is a server of its own: other processes reach the same queues and topics, and
    # it outlives the processes that use it (a consumer process may die, the broker may restart
    # apart from its clients). False where the queues live in the process that uses them.
    shared_between_processes: bool = True


@dataclass(frozen=True)
class Message:
    """Bytes plus the headers every backend carries (see broker_adapters/README.md)."""

    body: bytes
    id: str
    timestamp: float
    attempt: int = 1
    group_id: str | None = None
    trace_id: str | None = None
    dedup_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # On a FIFO queue: the message's place in the queue's order (SQS's SequenceNumber).
    sequence_number: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """One message of a batch send (``send_batch`` / ``publish_batch``)."""

    body: bytes
    group_id: str | None = None
    dedup_id: str | None = None
    delay: float = 0.0
    trace_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    """A confirmed send (``send_batch_sequenced``): the message id and, on a FIFO queue, the
    message's sequence number."""

    message_id: str
    sequence_number: str | None = None


def new_message_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


@dataclass(frozen=True)
class RedrivePolicy:
    """SQS's RedrivePolicy: after ``max_receive_count`` receives, the message goes to the DLQ."""

    dead_letter_queue: str
    max_receive_count: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.max_receive_count <= 1000:
            raise ValueError(f"max_receive_count must be 1..1000, got {self.max_receive_count}")
        if not self.dead_letter_queue:
            raise ValueError("dead_letter_queue must name a queue")


@dataclass(frozen=True)
class QueueConfig:
    """A queue's attributes, named and defaulted as SQS's (seconds)."""

    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    redrive_policy: RedrivePolicy | None = None
    # SQS FIFO: every message needs a group_id; a group's messages come in send order, and
    # none while one of them is in flight. Only where Features.fifo_queues.
    fifo: bool = False
    deduplication_window: float = DEDUPLICATION_WINDOW
    # How the backend realises the queue, where it offers more than one way (Kafka:
    # "share-group" or "consumer-group", see broker_adapters/README.md); None is the backend's
    # default. A backend with one way refuses any other value (UnsupportedSemantic).
    mode: str | None = None

    def __post_init__(self) -> None:
        check_visibility_timeout(self.visibility_timeout)
        if self.deduplication_window <= 0:
            raise ValueError("deduplication_window must be positive")


@dataclass(frozen=True)
class Backlog:
    """SQS's ApproximateNumberOfMessages (visible), …NotVisible (in flight) and …Delayed."""

    visible: int
    in_flight: int
    delayed: int = 0

    @property
    def total(self) -> int:
        """Visible + in flight: the number target tracking on backlog per instance uses."""
        return self.visible + self.in_flight


class Outcome(enum.Enum):
    PENDING = "pending"
    ACKED = "acked"
    REQUEUED = "requeued"
    DEAD_LETTERED = "dead-lettered"
    DROPPED = "dropped"


# Header names that carry the dead-letter reason on a dead-lettered message.
# The reason a receive gives the messages it dead-letters (Broker.watch_dead_letters).
MAX_RECEIVES_EXCEEDED = "max receive count exceeded"
DEAD_LETTER_REASON = "barista-dead-letter-reason"
DEAD_LETTER_SOURCE = "barista-dead-letter-source"


class Delivery(ABC):
    """A received message and the one decision about it.

    ``ack`` and ``nack`` form a small state machine: the first call settles the delivery and
    returns True; any later call does nothing and returns False. ``nack(requeue=True)`` makes
    the message receivable again (after ``delay`` seconds where the backend supports delays),
    unless this was its ``max_receive_count``-th receive, in which case it is dead-lettered
    with ``reason``. ``nack(requeue=False)`` dead-letters at once (or drops the message when
    the queue has no redrive policy).
    """

    def __init__(self, message: Message) -> None:
        self.message = message
        self._outcome = Outcome.PENDING
        self._lock = threading.Lock()

    @property
    def outcome(self) -> Outcome:
        return self._outcome

    def ack(self) -> bool:
        with self._lock:
            if self._outcome is not Outcome.PENDING:
                return False
            self._settle_ack()
            self._outcome = Outcome.ACKED
            return True

    def nack(self, requeue: bool = True, delay: float = 0.0, reason: str | None = None) -> bool:
        if not 0 <= delay <= MAX_DELAY:
            raise ValueError(f"delay must be 0..{MAX_DELAY:.0f} s, got {delay}")
        with self._lock:
            if self._outcome is not Outcome.PENDING:
                return False
            self._outcome = self._settle_nack(requeue, delay, reason or "nacked by the consumer")
            return True

    def change_visibility(self, timeout: float) -> bool:
        """Keep the message in flight for ``timeout`` more seconds from now (SQS's
        ChangeMessageVisibility), without settling the delivery.

        True when the broker moved the deadline; False when the delivery is settled or stale
        (its visibility ran out and another receive took the message). Backends whose
        ``Features.visibility_timeout`` is false raise ``UnsupportedSemantic``.
        """
        if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
            raise ValueError(f"timeout must be 0..{MAX_VISIBILITY_TIMEOUT:.0f} s, got {timeout}")
        with self._lock:
            if self._outcome is not Outcome.PENDING:
                return False
            return self._change_visibility(timeout)

    def _change_visibility(self, timeout: float) -> bool:
        raise UnsupportedSemantic(
            "this backend cannot move one message's visibility deadline: "
            "Features.visibility_changes=False",
        )

    @abstractmethod
    def _settle_ack(self) -> None:
        """Tell the broker the message is done."""

    @classmethod
    def _settle_acks(cls, deliveries: Sequence[Delivery]) -> None:
        """Tell the broker several messages are done. One at a time here; a backend whose
        broker takes a batch in one round trip overrides this (see ``ack_batch``)."""
        for delivery in deliveries:
            delivery._settle_ack()

    @abstractmethod
    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        """Requeue or dead-letter the message; return which happened."""


def ack_batch(deliveries: Sequence[Delivery]) -> list[bool]:
    """Ack several deliveries at once, as SQS's DeleteMessageBatch does: in one round trip
    per backend where its broker allows it. Each result is what ``ack`` would have returned
    for that delivery (False: it was already settled)."""
    # Locks in one global order, so two overlapping batches cannot deadlock each other.
    ordered = sorted({id(delivery): delivery for delivery in deliveries}.values(), key=id)
    for delivery in ordered:
        delivery._lock.acquire()
    try:
        pending = [d for d in ordered if d._outcome is Outcome.PENDING]
        by_class: dict[type[Delivery], list[Delivery]] = {}
        for delivery in pending:
            by_class.setdefault(type(delivery), []).append(delivery)
        for cls, group in by_class.items():
            cls._settle_acks(group)
            for delivery in group:
                delivery._outcome = Outcome.ACKED
        acked = {id(delivery) for delivery in pending}
    finally:
        for delivery in ordered:
            delivery._lock.release()
    results = []
    for delivery in deliveries:
        results.append(id(delivery) in acked)
        acked.discard(id(delivery))  # the same delivery twice: the second ack finds it settled
    return results


@dataclass(frozen=True)
class DeadLettered:
    """A message this client moved to ``dead_letter_queue`` on its own while receiving."""

    queue: str
    dead_letter_queue: str
    message: Message
    reason: str


DeadLetterWatcher = Callable[[DeadLettered], None]

log = logging.getLogger(__name__)


class _Closing(ABC):
    """``with`` support for anything that must be closed: ``__exit__`` calls ``close``."""

    @abstractmethod
    def close(self) -> None:
        """Release what this object holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Subscription(_Closing):
    """One subscription's view of a topic; ``receive`` as for queues."""

    def __init__(self, topic: str, name: str, durable: bool) -> None:
        self.topic = topic
        self.name = name
        self.durable = durable

    @abstractmethod
    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        """Up to ``max_messages`` messages, waiting up to ``wait`` seconds for the first."""

    @abstractmethod
    def close(self) -> None:
        """Leave; a durable subscription keeps collecting messages until it is deleted."""


class Broker(_Closing):
    """A connection to one broker, offering topics and queues.

    Every send and publish returns only after the broker confirmed it (Kafka acks=all with the
    idempotent producer, RabbitMQ publisher confirms, a Redis reply); a message whose send
    raised was not confirmed. A broker restart is ridden out by reconnecting inside the call,
    up to the backend's timeout, after which ``BrokerUnavailable`` is raised.

    Queues must be declared (``declare_queue``) in each process before use, with the same
    config, as with AMQP: the declaration carries the redrive policy the consumer applies.
    """

    features: ClassVar[Features]

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """Connect from a URL; ``options`` are the backend's own settings (its Config)."""

    @classmethod
    def features_of(cls, url: str) -> Features:
        """What a broker opened from ``url`` declares, without connecting: ``features``,
        unless the URL chooses another mode of the backend (Kafka's ``queue_mode``)."""
        return cls.features

    # Topics (SNS-like)

    def publish(
        self,
        topic: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        group_id: str | None = None,
        trace_id: str | None = None,
    ) -> str:
        """Send to every subscription of ``topic``; returns the message id once confirmed."""
        message = OutgoingMessage(body, group_id=group_id, trace_id=trace_id, headers=headers or {})
        return self.publish_batch(topic, [message])[0]

    @abstractmethod
    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Publish many; returns when all are confirmed, ids in the same order."""

    @abstractmethod
    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        """Join ``subscription``; returns once it receives everything published from now on."""

    @abstractmethod
    def delete_subscription(self, topic: str, subscription: str) -> None:
        """Forget a durable subscription and the messages it holds."""

    # Queues (SQS-like)

    @abstractmethod
    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        """Create the queue (and its dead-letter queue) if needed; idempotent."""

    @abstractmethod
    def delete_queue(self, queue: str) -> None:
        """Delete the queue and its messages."""

    def send(
        self,
        queue: str,
        body: bytes,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
        delay: float = 0.0,
        headers: Mapping[str, str] | None = None,
        trace_id: str | None = None,
    ) -> str:
        """Enqueue one message; returns its id once the broker confirmed it.

        With a ``dedup_id`` seen within the queue's deduplication window, the earlier
        message's id is returned and nothing is enqueued (where Features.deduplication).
        """
        message = OutgoingMessage(
            body,
            group_id=group_id,
            dedup_id=dedup_id,
            delay=delay,
            trace_id=trace_id,
            headers=headers or {},
        )
        return self.send_batch(queue, [message])[0]

    @abstractmethod
    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Enqueue many; returns when all are confirmed, ids in the same order."""

    def send_batch_sequenced(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[Sent]:
        """``send_batch``, with each message's sequence number where the queue numbers its
        messages (a FIFO queue: increasing in the queue's order, as SQS's SequenceNumber; a
        duplicate dropped by deduplication answers the earlier message's id and number).
        Queues that keep no order of their own answer None."""
        return [Sent(message_id) for message_id in self.send_batch(queue, messages)]

    @abstractmethod
    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        """Up to ``max_messages`` (1..10) messages, long-polling up to ``wait`` (≤ 20 s).

        Each is in flight for ``visibility_timeout`` seconds (the queue's default when None)
        on backends whose ``Features.visibility_timeout`` is true.
        """

    def describe_queue(self, queue: str) -> QueueConfig | None:
        """The config the queue was declared with, as far as the broker keeps it; None when
        the queue does not exist on the broker. Needs no ``declare_queue`` in this process
        (it is how another process adopts a queue its workers declared). A broker that keeps
        no redrive policy (Kafka) answers the defaults for a queue that exists.
        """
        raise UnsupportedSemantic(f"{self.features.name} cannot describe its queues")

    def release_queue(self, queue: str) -> None:
        """Stop consuming ``queue`` in this process until the next ``receive``.

        Deliveries of the queue not yet settled go back as when the connection closes (their
        later ack or nack does nothing), and the broker stops counting this process as one of
        the queue's consumers: on Kafka it leaves the queue's consumer group, so the other
        members take its partitions (a member that holds partitions but does not poll stalls
        the group's rebalances). The queue stays declared. Idempotent. A backend that keeps
        no per-consumer state has nothing to do.
        """

    @abstractmethod
    def backlog(self, queue: str) -> Backlog:
        """Visible and in-flight counts, as scaling decisions use them.

        Like SQS's GetQueueAttributes it needs no ``declare_queue`` in this process: a monitor
        measures queues its workers declared. Raises ``QueueNotDeclared`` when the queue does
        not exist on the broker.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections; unacked deliveries go back to their queues."""

    # Dead letters made while receiving

    _dead_letter_watchers: tuple[DeadLetterWatcher, ...] = ()

    def watch_dead_letters(self, watcher: DeadLetterWatcher) -> None:
        """Call ``watcher`` for each message this client dead-letters inside ``receive``.

        A message received ``max_receive_count`` times and never settled (its consumers
        crashed, or let its visibility timeout run out) is moved to the dead-letter queue by
        the next receive, as SQS moves it, and reaches no caller: without a watcher nobody in
        the consuming process would know (the barista's ledger needs to). A nack's dead letter
        is that nack's ``Outcome.DEAD_LETTERED`` and is not reported here. The watcher runs on
        the receiving thread after the dead letter is confirmed; an exception it raises is
        logged and the receive goes on (the message is safe in the dead-letter queue).
        """
        self._dead_letter_watchers = (*self._dead_letter_watchers, watcher)

    def _report_dead_letter(
        self, queue: str, dead_letter_queue: str, message: Message, reason: str
    ) -> None:
        """Tell every watcher of a dead letter ``receive`` made (see ``watch_dead_letters``)."""
        event = DeadLettered(queue, dead_letter_queue, message, reason)
        for watcher in self._dead_letter_watchers:
            try:
                watcher(event)
            except Exception:
                log.exception("a dead-letter watcher failed", extra={"queue": queue})


def check_queue_config(features: Features, config: QueueConfig) -> None:
    """Refuse a declaration the backend cannot honour (a FIFO queue without
    ``Features.fifo_queues``), so no backend silently declares a standard queue instead."""
    if config.fifo and not features.fifo_queues:
        raise UnsupportedSemantic(
            f"{features.name} declares Features.fifo_queues=False: it has no FIFO queues "
            "(order per message group with the group held while a message is in flight)",
        )


def check_single_mode(backend: str, config: QueueConfig) -> None:
    """Refuse a queue mode on a backend that realises queues one way only."""
    if config.mode is not None:
        raise UnsupportedSemantic(f"{backend} has one queue mode; QueueConfig.mode={config.mode!r}")


def check_receive_arguments(max_messages: int, wait: float) -> None:
    if not 1 <= max_messages <= MAX_RECEIVE_BATCH:
        raise ValueError(f"max_messages must be 1..{MAX_RECEIVE_BATCH}, got {max_messages}")
    if not 0 <= wait <= MAX_WAIT:
        raise ValueError(f"wait must be 0..{MAX_WAIT:.0f} s, got {wait}")


def check_visibility_timeout(timeout: float) -> None:
    """A queue's or a receive's visibility timeout: SQS's range, 0..12 hours."""
    if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
        raise ValueError(
            f"visibility_timeout must be 0..{MAX_VISIBILITY_TIMEOUT:.0f} s, got {timeout}",
        )


def check_send_arguments(body: bytes, delay: float) -> None:
    if len(body) > MAX_MESSAGE_BYTES:
        raise ValueError(f"message is {len(body)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    if not 0 <= delay <= MAX_DELAY:
        raise ValueError(f"delay must be 0..{MAX_DELAY:.0f} s, got {delay}")
