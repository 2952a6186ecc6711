"""A Kafka group member that hands out single messages and commits only what was processed.

Kafka tracks one offset per partition, not one state per message, so SQS-like ack and nack are
built here:

* ack marks an offset done; the committed offset of a partition only moves past a message once
  every earlier message of that partition is done (offsets are stored, then committed by
  librdkafka's auto-commit, so a crash redelivers at most the unfinished tail);
* nack(requeue) rewinds the partition to the message (Kafka's own way to read again), which
  keeps order within a partition, and later messages already acked are skipped when they
  come round again;
* the receive count of a message is kept here, in memory: a redelivery after this process
  dies starts again at 1 (``Features.counts_crash_redeliveries`` is false).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage

from broker_adapters import wire
from broker_adapters.core import BrokerUnavailable, Delivery, Message, Outcome

# Settles a nack the consumer cannot settle alone (dead-lettering produces to another topic).
DeadLetter = Callable[[Message, str], None]


@dataclass
class _PartitionState:
    """Offsets handed out and not yet done, done ones above the commit point, pending rewinds."""

    outstanding: set[int] = field(default_factory=set)
    done: set[int] = field(default_factory=set)
    highest_seen: int = -1
    rewind_to: int | None = None
    receives: dict[int, int] = field(default_factory=dict)

    def commit_point(self) -> int | None:
        """The offset to store: the lowest unfinished one, or one past the highest seen."""
        if self.outstanding:
            return min(self.outstanding)
        if self.highest_seen >= 0:
            return self.highest_seen + 1
        return None


class KafkaDelivery(Delivery):
    def __init__(
        self,
        message: Message,
        member: GroupMember,
        partition: int,
        offset: int,
        generation: int,
    ) -> None:
        super().__init__(message)
        self._member = member
        self._partition = partition
        self._offset = offset
        self._generation = generation

    def _settle_ack(self) -> None:
        self._member.settle(self._partition, self._offset, self._generation, done=True)

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        return self._member.nack(
            self, self._partition, self._offset, self._generation, requeue, reason
        )


class GroupMember:
    """One consumer-group member over one topic, safe to call from one thread at a time
    (acks may come from other threads)."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        topic: str,
        group_id: str,
        *,
        start_at_end: bool = False,
        commit: bool = True,
        max_receive_count: int | None = None,
        dead_letter: DeadLetter | None = None,
        join_timeout: float = 30.0,
    ) -> None:
        self.topic = topic
        self.group_id = group_id
        self._commit = commit
        self._start_at_end = start_at_end
        self._max_receive_count = max_receive_count
        self._dead_letter = dead_letter
        self._lock = threading.RLock()
        self._partitions: dict[int, _PartitionState] = {}
        self._generation = 0
        self._assigned = threading.Event()
        self._buffer: list[KafkaMessage] = []
        self._closed = False
        self._consumer = Consumer(
            {
                **settings,
                "group.id": group_id,
                "enable.auto.commit": commit,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "latest" if start_at_end else "earliest",
                "partition.assignment.strategy": "roundrobin",
            }
        )
        self._consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self._join(join_timeout)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with self._lock:
            self._generation += 1
            self._partitions = {tp.partition: _PartitionState() for tp in partitions}
        if self._start_at_end:
            # Fire-and-forget: begin at the end now, not at the first fetch, so nothing
            # published after subscribe() returned can be missed.
            for tp in partitions:
                tp.offset = OFFSET_END
        consumer.assign(partitions)
        self._assigned.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with self._lock:
            self._store_commit_points()
            self._generation += 1
            self._partitions = {}
            self._buffer = []
        consumer.unassign()

    def _join(self, timeout: float) -> None:
        """Poll until the group gives this member its partitions (possibly none)."""
        deadline = time.monotonic() + timeout
        while not self._assigned.is_set():
            if time.monotonic() >= deadline:
                raise BrokerUnavailable(
                    f"kafka: joining group {self.group_id!r} took over {timeout:.0f} s",
                )
            message = self._consumer.poll(0.1)
            if message is not None:
                self._buffer.append(message)

    def receive(self, max_messages: int, wait: float) -> list[tuple[Message, int, int, int]]:
        """Up to ``max_messages`` new or rewound messages, waiting up to ``wait`` for one."""
        with self._lock:
            self._apply_rewinds()
            batch, self._buffer = self._buffer, []
        deadline = time.monotonic() + wait
        accepted: list[tuple[Message, int, int, int]] = []
        while True:
            for raw in batch:
                taken = self._accept(raw)
                if taken is not None:
                    accepted.append(taken)
            remaining = max_messages - len(accepted)
            if remaining <= 0:
                break
            batch = self._consumer.consume(remaining, timeout=0)
            if batch:
                continue
            left = deadline - time.monotonic()
            if accepted or left <= 0:
                break
            first = self._consumer.poll(min(left, 0.5))
            batch = [first] if first is not None else []
        if len(accepted) > max_messages:
            raise AssertionError("consume returned more than asked for")
        return accepted

    def _accept(self, raw: KafkaMessage) -> tuple[Message, int, int, int] | None:
        error = raw.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return None
            if error.retriable() or error.code() == KafkaError._TRANSPORT:
                return None
            raise BrokerUnavailable(f"kafka: {error.str()}")
        partition, offset = raw.partition(), raw.offset()
        if partition is None or offset is None:
            return None
        with self._lock:
            state = self._partitions.get(partition)
            if state is None:
                return None  # revoked while buffered: the new owner reads it
            if offset in state.done:
                return None  # acked already, seen again after a rewind
            state.outstanding.add(offset)
            state.highest_seen = max(state.highest_seen, offset)
            receives = state.receives.get(offset, 0) + 1
            state.receives[offset] = receives
            generation = self._generation
        pairs = cast("list[tuple[str, bytes | None]]", raw.headers() or [])
        # A plain client (kcat -H) may write any bytes; the offset is already outstanding,
        # so nothing here may raise or the partition would stall on it.
        headers = {key: (value or b"").decode("utf-8", errors="replace") for key, value in pairs}
        _, timestamp_ms = raw.timestamp()
        message = wire.decode(
            raw.value() or b"",
            headers,
            default_id=f"{raw.topic()}-{partition}-{offset}",
            default_timestamp=timestamp_ms / 1000 if timestamp_ms > 0 else time.time(),
            receives=receives,
        )
        return message, partition, offset, generation

    def delivery(
        self, message: Message, partition: int, offset: int, generation: int
    ) -> KafkaDelivery:
        return KafkaDelivery(message, self, partition, offset, generation)

    def settle(self, partition: int, offset: int, generation: int, *, done: bool) -> None:
        with self._lock:
            state = self._partitions.get(partition)
            if state is None or generation != self._generation:
                return  # the partition moved to another member, which will deliver it again
            state.outstanding.discard(offset)
            if done:
                state.done.add(offset)
                state.receives.pop(offset, None)
            self._store_commit_points(only=partition)

    def nack(
        self,
        delivery: KafkaDelivery,
        partition: int,
        offset: int,
        generation: int,
        requeue: bool,
        reason: str,
    ) -> Outcome:
        limit_reached = (
            self._max_receive_count is not None
            and delivery.message.attempt >= self._max_receive_count
        )
        if not requeue or limit_reached:
            if self._dead_letter is None:
                self.settle(partition, offset, generation, done=True)
                return Outcome.DROPPED
            self._dead_letter(delivery.message, reason)
            self.settle(partition, offset, generation, done=True)
            return Outcome.DEAD_LETTERED
        with self._lock:
            state = self._partitions.get(partition)
            if state is not None and generation == self._generation:
                state.outstanding.add(offset)  # still unfinished: commits stay below it
                state.rewind_to = (
                    offset if state.rewind_to is None else min(state.rewind_to, offset)
                )
        return Outcome.REQUEUED

    def _apply_rewinds(self) -> None:
        for partition, state in self._partitions.items():
            if state.rewind_to is None:
                continue
            target = state.rewind_to
            state.rewind_to = None
            # Offsets from the rewind point on will be read again; unfinished ones among them
            # are no longer held by anyone.
            state.outstanding = {o for o in state.outstanding if o < target} | {target}
            self._buffer = [m for m in self._buffer if m.partition() != partition]
            self._consumer.seek(TopicPartition(self.topic, partition, target))

    def _store_commit_points(self, only: int | None = None) -> None:
        if not self._commit:
            return
        offsets = []
        for partition, state in self._partitions.items():
            if only is not None and partition != only:
                continue
            point = state.commit_point()
            if point is not None:
                offsets.append(TopicPartition(self.topic, partition, point))
                state.done = {o for o in state.done if o >= point}
        if offsets:
            try:
                self._consumer.store_offsets(offsets=offsets)
            except KafkaException:  # a partition lost in a rebalance is read again by its new owner
                return

    def close(self) -> None:
        """Leave the group; stored offsets are committed on the way out. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._store_commit_points()
        self._consumer.close()
