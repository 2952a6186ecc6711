"""A Kafka queue consumed through a share group (KIP-932, Kafka 4.2+): SQS's contract, kept by
the broker.

The broker hands each record of any partition to one member at a time under an acquisition
lock (the queue's visibility timeout, the group's ``share.record.lock.duration.ms``), counts
its deliveries (``Message.attempt``, so a crash counts too) and takes one acknowledgement per
record: ACCEPT (ack), RELEASE (nack with requeue) or REJECT (dead-lettered or dropped).

confluent-kafka's ``ShareConsumer`` (librdkafka 2.16) in explicit acknowledgement mode refuses
to poll again while a record of its last poll is unacknowledged, while an SQS consumer may hold
messages and receive more. So one process keeps a small pool of share consumers per queue,
each a member of the queue's share group: a receive polls a member that holds nothing, and a
member whose held records are all acknowledged (or whose locks ran out, so the broker gave them
to someone else) polls again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from confluent_kafka import AcknowledgeType, KafkaError, KafkaException, ShareConsumer
from confluent_kafka import Message as KafkaMessage

from broker_adapters import wire
from broker_adapters.core import (
    BrokerUnavailable,
    Delivery,
    Message,
    Outcome,
    UnsupportedSemantic,
)

# Settles a nack the share group cannot settle alone (dead-lettering produces to another topic).
DeadLetter = Callable[[Message, str], None]
# One delivery of a record: partition, offset and the broker's delivery count. The count is
# part of it because a record comes back to the same member once its lock ran out, and the
# earlier delivery's late ack or nack (an SQS receipt whose visibility ended, say) must not
# settle the new one: it did, and a record was handed out again 0.4 s after its second
# receive, so a poison message was dead-lettered after two receives instead of three.
DeliveryKey = tuple[int, int, int]
# How many records one ShareFetch may hand a member (SQS's receive maximum); the rest of a
# fetch waits in the member's buffer, under its lock, for the next receive.
MAX_POLL_RECORDS = 10
# While several members may poll, each polls this long in turn.
POLL_SLICE = 0.2
# How long an acknowledgement may wait for the broker's answer before the broker counts as
# unavailable (a record whose acknowledgement never arrives comes back when its lock ends).
COMMIT_TIMEOUT = 10.0
# How long a share consumer's close may take before it is left to finish on its own. librdkafka's
# share consumer (KIP-932, early access in 2.x) can wait for ever in close(): seen in CI, the
# second of a queue's two members stuck in rd_kafka_consumer_close0 waiting on its op queue with
# the broker up and nothing held. Everything the member held is released and committed before
# close, and the broker ends a member that stops heartbeating, so an abandoned close loses
# nothing: it only leaves a thread and a handle until the process ends.
CLOSE_TIMEOUT = 15.0

log = logging.getLogger(__name__)


class ShareDelivery(Delivery):
    def __init__(self, message: Message, member: ShareMember, key: DeliveryKey) -> None:
        super().__init__(message)
        self._member = member
        self._key = key

    def _settle_ack(self) -> None:
        self._member.acknowledge(self._key, AcknowledgeType.ACCEPT)

    @classmethod
    def _settle_acks(cls, deliveries: Sequence[Delivery]) -> None:
        """One acknowledgement request per member for the whole batch (DeleteMessageBatch)."""
        by_member: dict[int, tuple[ShareMember, list[DeliveryKey]]] = {}
        for delivery in cast("Sequence[ShareDelivery]", deliveries):
            by_member.setdefault(id(delivery.member), (delivery.member, []))[1].append(delivery.key)
        for member, keys in by_member.values():
            member.acknowledge_all(keys, AcknowledgeType.ACCEPT)

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        return self._member.queue.nack(self, requeue, delay, reason)

    def _change_visibility(self, timeout: float) -> bool:
        raise UnsupportedSemantic(
            "kafka share groups lock a record for the group's share.record.lock.duration.ms; "
            "librdkafka 2.16 cannot renew or shorten one lock: Features.visibility_changes=False",
        )

    @property
    def member(self) -> ShareMember:
        return self._member

    @property
    def key(self) -> DeliveryKey:
        return self._key


@dataclass
class _Held:
    """A record this member acquired: its message and when its lock runs out here."""

    raw: KafkaMessage
    deadline: float


class ShareMember:
    """One ShareConsumer (explicit acknowledgement) of the queue's share group."""

    def __init__(self, queue: ShareQueue, settings: Mapping[str, Any]) -> None:
        self.queue = queue
        self._lock = threading.Lock()
        self._buffer: list[_Held] = []
        self._held: dict[DeliveryKey, _Held] = {}
        self.broken = False
        self._consumer = ShareConsumer(
            {
                **settings,
                "group.id": queue.group,
                "share.acknowledgement.mode": "explicit",
                "max.poll.records": MAX_POLL_RECORDS,
            }
        )
        self._consumer.subscribe([queue.topic])

    def take_buffered(self, limit: int) -> list[KafkaMessage]:
        """Records fetched earlier and still locked, up to ``limit``, now handed out."""
        with self._lock:
            now = time.monotonic()
            fresh = [held for held in self._buffer if held.deadline > now]
            self._forget_expired(now)
            taken, self._buffer = fresh[:limit], fresh[limit:]
            for held in taken:
                self._held[_key(held.raw)] = held
            return [held.raw for held in taken]

    def free(self) -> bool:
        """True when librdkafka lets this member poll: nothing it fetched is unsettled."""
        with self._lock:
            self._forget_expired(time.monotonic())
            return not self.broken and not self._held and not self._buffer

    def poll(self, limit: int, wait: float) -> list[KafkaMessage]:
        """Fetch (up to ``wait`` seconds); hand out up to ``limit``, keep the rest buffered."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if self._held or self._buffer:
                    return []  # another thread took this member meanwhile
                try:
                    batch = self._consumer.poll(max(deadline - time.monotonic(), 0))
                except KafkaException as error:
                    # A fatal error (the broker lost the member, say after a restart) ends
                    # this consumer; the queue opens a new one on the next receive.
                    self.broken = error.args[0].fatal()
                    raise BrokerUnavailable(f"kafka: share fetch: {error}") from error
                except RuntimeError:
                    # librdkafka's IllegalStateException: it still counts a record of the
                    # last poll as unacknowledged. This consumer is replaced; the broker
                    # hands the record out again when its lock expires.
                    self.broken = True
                    return []
                now = time.monotonic()
                lock_until = now + self.queue.lock_duration
                records = [raw for raw in batch if _usable(raw)]
                self._buffer = [_Held(raw, lock_until) for raw in records[limit:]]
                for raw in records[:limit]:
                    self._held[_key(raw)] = _Held(raw, lock_until)
            if records or time.monotonic() >= deadline:
                return records[:limit]

    def acknowledge(self, key: DeliveryKey, ack_type: AcknowledgeType) -> bool:
        """Settle one held record; False when its lock ran out here before (stale)."""
        return self.acknowledge_all([key], ack_type) == [True]

    def acknowledge_all(self, keys: Sequence[DeliveryKey], ack_type: AcknowledgeType) -> list[bool]:
        """Settle held records in one request and wait for the broker's answer, so that a
        settled delivery is settled on the broker: an acknowledgement only queued in
        librdkafka (``commit_async``) could still be in flight when the consumer closed, and
        the broker handed the record out again. False for a key whose lock ran out here."""
        with self._lock:
            settled = []
            for key in keys:
                held = self._held.pop(key, None)
                settled.append(held is not None)
                if held is not None:
                    self._consumer.acknowledge(held.raw, ack_type)
            if any(settled):
                self._commit()
            return settled

    def _commit(self) -> None:
        """Send the acknowledgements librdkafka holds and check each partition's answer."""
        try:
            answers = self._consumer.commit_sync(COMMIT_TIMEOUT)
        except KafkaException as error:
            raise BrokerUnavailable(f"kafka: acknowledging: {error}") from error
        for partition, failure in answers.items():
            if failure is None:
                continue
            refusal: KafkaError = failure.args[0]
            if refusal.code() == KafkaError.INVALID_RECORD_STATE:
                continue  # the lock ran out on the broker first: the record is its again
            raise BrokerUnavailable(
                f"kafka: acknowledging in partition {partition.partition}: {refusal.str()}"
            )

    def _forget_expired(self, now: float) -> None:
        """Records whose lock ran out are the broker's again (it counts a new delivery when it
        hands them out); release them here only so that librdkafka lets this member poll.

        The releases are sent and answered before this member polls again: the broker
        matches an acknowledgement by offset and member, not by delivery, so a release left
        queued in librdkafka could reach the broker after this member's next fetch acquired
        the same record again, and release that new delivery."""
        expired = [k for k, held in self._held.items() if held.deadline <= now]
        stale = [held for held in self._buffer if held.deadline <= now]
        released = 0
        for raw in [self._held.pop(k).raw for k in expired] + [h.raw for h in stale]:
            try:
                self._consumer.acknowledge(raw, AcknowledgeType.RELEASE)
            except (KafkaException, RuntimeError):
                continue  # the broker refuses a release of a lock it already took back
            released += 1
        self._buffer = [held for held in self._buffer if held.deadline > now]
        if released:
            try:
                self._commit()
            except BrokerUnavailable:
                # Unanswered, a release could still land on a later delivery: this member
                # polls no more; the queue opens another.
                self.broken = True

    def release_all(self) -> None:
        """Hand every held and buffered record back (RELEASE), as a close does."""
        with self._lock:
            records = [held.raw for held in [*self._held.values(), *self._buffer]]
            self._held.clear()
            self._buffer = []
            for raw in records:
                try:
                    self._consumer.acknowledge(raw, AcknowledgeType.RELEASE)
                except (KafkaException, RuntimeError):
                    continue

    def forget(self) -> None:
        """Drop a consumer librdkafka declared dead: what it held is the broker's again."""
        with self._lock:
            self._held.clear()
            self._buffer = []
            _close_bounded(self._consumer, self.queue.topic)

    def close(self) -> None:
        """Release what is held, send the acknowledgements and leave the group."""
        self.release_all()
        with self._lock:
            # What is not released comes back when its lock ends.
            with contextlib.suppress(KafkaException, RuntimeError):
                self._consumer.commit_sync(COMMIT_TIMEOUT)
            _close_bounded(self._consumer, self.queue.topic)


@dataclass(frozen=True)
class ShareRedrive:
    """A share-group queue's redrive policy, as this process applies it."""

    max_receive_count: int
    # Copies a message to the dead-letter queue (a nack's dead letter, or a receive's).
    move: DeadLetter
    # Told of the dead letters a receive makes (Broker.watch_dead_letters).
    heard: DeadLetter


class ShareQueue:
    """A queue's share consumers in this process, and what it does on nack."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        topic: str,
        group: str,
        *,
        lock_duration: float,
        redrive: ShareRedrive | None,
        max_members: int,
        initial_members: int,
    ) -> None:
        self.topic = topic
        self.group = group
        self.lock_duration = lock_duration
        self._settings = settings
        self._redrive = redrive
        self._max_members = max_members
        self._initial_members = max(1, min(initial_members, max_members))
        self._members: list[ShareMember] = []
        self._lock = threading.Lock()

    def receive(self, max_messages: int, wait: float) -> list[Delivery]:
        """Up to ``max_messages``; waits up to ``wait`` for the first one.

        Every free member polls in turn: the group gives each member its own partitions
        while members are fewer than partitions, so polling one member would leave the
        partitions of the others unread.
        """
        deadline = time.monotonic() + wait
        taken: list[Delivery] = []
        while True:
            for member in list(self._members):
                for raw in member.take_buffered(max_messages - len(taken)):
                    taken.extend(self._deliveries(member, [raw]))
            free = self._free_members() if len(taken) < max_messages else []
            # One long poll when one member is free: every poll may start a fetch, and records a
            # fetch acquires after the poll returned wait, locked, until that member polls again.
            slice_ = POLL_SLICE if len(free) > 1 else max(deadline - time.monotonic(), POLL_SLICE)
            for member in free:
                records = member.poll(max_messages - len(taken), slice_)
                taken.extend(self._deliveries(member, records))
                if len(taken) >= max_messages:
                    break
            if taken or time.monotonic() >= deadline:
                break
            if not free:
                time.sleep(POLL_SLICE)  # every member holds records: wait for an ack or expiry
        self._keep_a_spare()
        return taken

    def _keep_a_spare(self) -> None:
        """Open the next member before it is needed: one joins the group in a second or more
        (a heartbeat brings its partitions), time a held message's lock keeps running."""
        with self._lock:
            if len(self._members) >= self._max_members:
                return
            if any(member.free() for member in self._members):
                return
            self._members.append(ShareMember(self, self._settings))

    def _free_members(self) -> list[ShareMember]:
        """The members that may poll; a new one when none may and the pool has room."""
        with self._lock:
            broken = [member for member in self._members if member.broken]
            self._members = [member for member in self._members if not member.broken]
            for member in broken:
                member.forget()
            if not self._members:
                # All at once, so that the group assigns partitions once: a member joining
                # later moves partitions, and the broker releases what was held in them.
                self._members = [
                    ShareMember(self, self._settings) for _ in range(self._initial_members)
                ]
            free = [member for member in self._members if member.free()]
            if free or len(self._members) >= self._max_members:
                return free
            member = ShareMember(self, self._settings)
            self._members.append(member)
            return [member]

    def _deliveries(self, member: ShareMember, records: list[KafkaMessage]) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for raw in records:
            message = _decode(raw)
            redrive = self._redrive
            if redrive is not None and message.attempt > redrive.max_receive_count:
                # Received max_receive_count times and never settled (its consumers crashed or
                # let the lock run out): the broker's count survives them, so it ends here.
                # This delivery reached no consumer, so the dead letter counts the others only
                # (as Redis's receive does).
                received = message.attempt - 1
                reason = (
                    f"received {received} times without being settled "
                    f"(max_receive_count {redrive.max_receive_count})"
                )
                doomed = ShareDelivery(replace(message, attempt=received), member, _key(raw))
                doomed.nack(requeue=False, reason=reason)
                if doomed.outcome is Outcome.DEAD_LETTERED:
                    redrive.heard(doomed.message, reason)
                continue
            deliveries.append(ShareDelivery(message, member, _key(raw)))
        return deliveries

    def nack(self, delivery: ShareDelivery, requeue: bool, delay: float, reason: str) -> Outcome:
        if delay:
            raise UnsupportedSemantic(
                "a kafka share group releases a record at once; it cannot hold it back: "
                "Features.delivery_delay=False",
            )
        redrive = self._redrive
        if requeue and (redrive is None or delivery.message.attempt < redrive.max_receive_count):
            delivery.member.acknowledge(delivery.key, AcknowledgeType.RELEASE)
            return Outcome.REQUEUED
        if redrive is None:
            delivery.member.acknowledge(delivery.key, AcknowledgeType.REJECT)
            return Outcome.DROPPED
        redrive.move(delivery.message, reason)
        delivery.member.acknowledge(delivery.key, AcknowledgeType.REJECT)
        return Outcome.DEAD_LETTERED

    def release(self) -> None:
        """Leave the share group: every held record goes back at once."""
        with self._lock:
            members, self._members = self._members, []
        for member in members:
            member.close()


def _close_bounded(consumer: ShareConsumer, topic: str, timeout: float = CLOSE_TIMEOUT) -> bool:
    """Close ``consumer`` on a daemon thread, waiting at most ``timeout`` for it to return;
    False when it did not (the close goes on, or hangs, without the caller: CLOSE_TIMEOUT)."""

    def close() -> None:
        with contextlib.suppress(KafkaException, RuntimeError):
            consumer.close()

    closer = threading.Thread(target=close, name=f"share-close-{topic}", daemon=True)
    closer.start()
    closer.join(timeout)
    if closer.is_alive():
        log.warning(
            "kafka: a share consumer of %r did not close within %.0f s; left to finish alone "
            "(what it held was released; the broker ends the member after its session)",
            topic,
            timeout,
        )
        return False
    return True


def _key(raw: KafkaMessage) -> DeliveryKey:
    return (
        cast("int", raw.partition()),
        cast("int", raw.offset()),
        raw.delivery_count() or 1,
    )


def _usable(raw: KafkaMessage) -> bool:
    error = raw.error()
    if error is None:
        return raw.partition() is not None and raw.offset() is not None
    if error.code() == KafkaError._PARTITION_EOF or error.retriable():
        return False
    raise BrokerUnavailable(f"kafka: {error.str()}")


def _decode(raw: KafkaMessage) -> Message:
    pairs = cast("list[tuple[str, bytes | None]]", raw.headers() or [])
    headers = {key: (value or b"").decode("utf-8", errors="replace") for key, value in pairs}
    _, timestamp_ms = raw.timestamp()
    return wire.decode(
        raw.value() or b"",
        headers,
        default_id=f"{raw.topic()}-{raw.partition()}-{raw.offset()}",
        default_timestamp=timestamp_ms / 1000 if timestamp_ms > 0 else time.time(),
        receives=raw.delivery_count() or 1,
    )
