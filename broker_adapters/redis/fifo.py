"""SQS FIFO queues on Redis (``QueueConfig(fifo=True)``): order per message group across
competing consumers, and a group held back while one of its messages is in flight.

Each operation is one script of ``fifo_scripts.py`` (where the key layout is described), so
two consumers can never hold messages of one group at once, and a crash between two steps
cannot leave a group blocked. What a FIFO queue shares with the stream queues: visibility
timeouts per receive and ``change_visibility``, receive counts kept in Redis (a consumer's
crash counts), dead-lettering inside the receive after ``max_receive_count`` (a FIFO queue's
dead-letter queue is a FIFO queue, the message keeps its group there), deduplication by
``dedup_id`` within the window, release on close, long polls woken by the queue's wakeup
stream.

A delivery's receipt is its entry (the sequence number) and its receive count: a settlement
after the visibility ran out and someone else received the message changes nothing, and that
includes ``ack``: deleting the message under its new holder would free its group while the
holder still works on it.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions
from redis.typing import EncodableT

from broker_adapters import wire
from broker_adapters.core import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SOURCE,
    MAX_RECEIVES_EXCEEDED,
    Backlog,
    Delivery,
    Message,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    RedrivePolicy,
    Sent,
    check_send_arguments,
    new_message_id,
    now,
)
from broker_adapters.redis import codec
from broker_adapters.redis.config import RedisConfig
from broker_adapters.redis.connection import translate_errors
from broker_adapters.redis.fifo_scripts import FifoScripts
from broker_adapters.redis.keys import FifoKeys
from broker_adapters.redis.streams import SERVER_TIMER_MS

# SQS's SequenceNumber is a string of digits; the queue's counter, zero-padded so that the
# strings sort as the numbers do.
SEQUENCE_DIGITS = 20


def sequence_number(entry: str | bytes) -> str:
    return f"{int(entry):0{SEQUENCE_DIGITS}d}"


@dataclass(frozen=True)
class FifoDeadLetter:
    """Where a FIFO queue's dead letters go (a FIFO queue too), and after how many receives."""

    keys: FifoKeys
    source: str
    policy: RedrivePolicy


class FifoQueue:
    """One FIFO queue as this broker (one consumer) uses it."""

    def __init__(
        self,
        client: redis.Redis,
        scripts: FifoScripts,
        config: RedisConfig,
        name: str,
        *,
        keys: FifoKeys,
        queue_config: QueueConfig,
        dead_letter: FifoDeadLetter | None,
    ) -> None:
        self.client = client
        self.scripts = scripts
        self.name = name
        self.keys = keys
        self.config = queue_config
        self.dead_letter = dead_letter
        # Told of each message the take script dead-lettered (Broker.watch_dead_letters).
        self.on_dead_letter: Callable[[Message], None] | None = None
        self.long_poll_slice = config.long_poll_slice
        self.reconnect_budget = config.reconnect_budget
        # Entries handed out and not settled (entry -> receive count), for release on close.
        self._held: dict[str, int] = {}
        self._held_lock = threading.Lock()

    @contextmanager
    def guarded(self, what: str) -> Iterator[None]:
        with translate_errors(f"{what} on FIFO queue {self.name!r}", self.reconnect_budget):
            yield

    def run(self, script: Any, keys: list[str], args: list[EncodableT]) -> Any:
        """One script with the queue's state keys first and its group prefix first."""
        return script(keys=[*self.keys.state(), *keys], args=[self.keys.group_prefix, *args])

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Sent]:
        for message in messages:
            check_send_arguments(message.body, message.delay)
            if not message.group_id:
                raise ValueError(
                    f"FIFO queue {self.name!r} needs a group_id on every message "
                    "(SQS's MessageGroupId)",
                )
        if not messages:
            return []
        window = round(self.config.deduplication_window * 1000)
        # A restart between loading the scripts and running them answers NOSCRIPT: nothing
        # ran, so sending again is safe. One pipeline keeps the batch in order.
        for attempt in (1, 2):
            try:
                with self.client.pipeline(transaction=False) as pipe:
                    for message in messages:
                        self._send(message, window, pipe)
                    replies: list[list[bytes]] = pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
        return [
            Sent(_text(message_id), sequence_number(entry) if entry else None)
            for message_id, entry in replies
        ]

    def _send(self, message: OutgoingMessage, window: int, pipe: redis.client.Pipeline) -> None:
        message_id = new_message_id()
        headers = wire.encode_headers(
            message_id,
            now(),
            group_id=message.group_id,
            trace_id=message.trace_id,
            dedup_id=message.dedup_id,
            headers=message.headers,
        )
        fields = codec.entry_fields(message.body, headers)
        dedup = [] if message.dedup_id is None else [self.keys.dedup(message.dedup_id)]
        self.scripts.send(
            keys=[*self.keys.state(), *dedup],
            args=[
                self.keys.group_prefix,
                message_id,
                message.group_id or "",
                round(message.delay * 1000),
                window,
                *codec.flatten(fields),
            ],
            client=pipe,
        )

    def receive(self, max_messages: int, wait: float, visibility_timeout: float) -> list[Delivery]:
        """Like the streams' receive: take, else block on the wakeup stream until a send or a
        settlement frees something, bounded by the next deadline the script reported."""
        deadline = time.monotonic() + wait
        with self.guarded("receive"):
            while True:
                entries, hint_ms, wakeup_id, dead = self._take(max_messages, visibility_timeout)
                if self.on_dead_letter is not None:
                    for message in dead:
                        self.on_dead_letter(message)
                if entries:
                    return [self._delivery(*entry) for entry in entries]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if 0 <= hint_ms <= SERVER_TIMER_MS:
                    time.sleep(min(remaining, hint_ms / 1000))
                    continue
                block = min(remaining, self.long_poll_slice)
                if hint_ms >= 0:
                    block = min(block, (hint_ms - SERVER_TIMER_MS) / 1000)
                self.client.xread(
                    {self.keys.wakeup: wakeup_id}, count=1, block=max(1, math.ceil(block * 1000))
                )

    def _take(
        self, max_messages: int, visibility_timeout: float
    ) -> tuple[list[tuple[str, list[bytes], int]], int, str, list[Message]]:
        dead_keys: list[str] = []
        policy_args: list[EncodableT] = [0, "", "", ""]
        if self.dead_letter is not None:
            dead_keys = self.dead_letter.keys.state()
            policy_args = [
                self.dead_letter.policy.max_receive_count,
                self.dead_letter.source,
                MAX_RECEIVES_EXCEEDED,
                self.dead_letter.keys.group_prefix,
            ]
        reply = self.run(
            self.scripts.take,
            dead_keys,
            [max_messages, round(visibility_timeout * 1000), *policy_args],
        )
        raw_entries, hint_ms, wakeup_id, raw_dead = reply
        entries = [(_text(entry), fields, int(receives)) for entry, fields, receives in raw_entries]
        dead = [
            dataclasses.replace(
                codec.decode_fields(
                    codec.pairs(fields),
                    default_id=_text(entry),
                    default_timestamp=now(),
                    receives=int(receives),
                ),
                attempt=int(receives),
            )
            for entry, fields, receives in raw_dead
        ]
        return entries, int(hint_ms), _text(wakeup_id), dead

    def _delivery(self, entry: str, fields: list[bytes], receives: int) -> Delivery:
        decoded = codec.decode_fields(
            codec.pairs(fields), default_id=entry, default_timestamp=now(), receives=receives
        )
        message = dataclasses.replace(decoded, sequence_number=sequence_number(entry))
        with self._held_lock:
            self._held[entry] = receives
        return FifoDelivery(message, self, entry, receives)

    def settled(self, entry: str) -> None:
        with self._held_lock:
            self._held.pop(entry, None)

    def release(self) -> None:
        """Entries this consumer holds and nobody settled become visible at once."""
        with self._held_lock:
            held = sorted(self._held.items())
            self._held.clear()
        if held:
            with self.guarded("release"):
                self.run(self.scripts.release, [], [x for pair in held for x in pair])


def measure(client: redis.Redis, scripts: FifoScripts, keys: FifoKeys) -> Backlog:
    """Visible, in flight and delayed, at one instant of the server's clock. A message behind
    an in-flight one of its group counts as visible, as SQS counts it."""
    total, in_flight, delayed = scripts.measure(keys=keys.state(), args=[keys.group_prefix])
    return Backlog(
        visible=max(0, int(total) - int(in_flight) - int(delayed)),
        in_flight=int(in_flight),
        delayed=int(delayed),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class FifoDelivery(Delivery):
    """A message taken from a FIFO queue; settling it runs one script (see the module)."""

    def __init__(self, message: Message, queue: FifoQueue, entry: str, receives: int) -> None:
        super().__init__(message)
        self._queue = queue
        self.entry = entry
        self._receives = receives

    def _settle_ack(self) -> None:
        queue = self._queue
        with queue.guarded("ack"):
            queue.run(queue.scripts.ack, [], [self.entry, self._receives])
        queue.settled(self.entry)

    @classmethod
    def _settle_acks(cls, deliveries: Sequence[Delivery]) -> None:
        """One script call per queue for the whole batch."""
        by_queue: dict[int, tuple[FifoQueue, list[FifoDelivery]]] = {}
        for delivery in deliveries:
            if not isinstance(delivery, FifoDelivery):
                raise TypeError(f"not a Redis FIFO delivery: {delivery!r}")
            by_queue.setdefault(id(delivery._queue), (delivery._queue, []))[1].append(delivery)
        for queue, batch in by_queue.values():
            with queue.guarded("ack"):
                queue.run(queue.scripts.ack, [], [x for d in batch for x in (d.entry, d._receives)])
            for delivery in batch:
                queue.settled(delivery.entry)

    def _change_visibility(self, timeout: float) -> bool:
        queue = self._queue
        with queue.guarded("change visibility"):
            moved = queue.run(
                queue.scripts.requeue, [], [self.entry, self._receives, round(timeout * 1000)]
            )
        return bool(moved)

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        """Requeue: in flight ``delay`` more seconds (its group held), then visible. Dead
        letter: to the end of its group in the dead-letter queue, freeing its group here."""
        queue = self._queue
        target = queue.dead_letter
        if requeue and (target is None or self.message.attempt < target.policy.max_receive_count):
            with queue.guarded("nack"):
                queue.run(
                    queue.scripts.requeue, [], [self.entry, self._receives, round(delay * 1000)]
                )
            outcome = Outcome.REQUEUED
        elif target is not None:
            headers = wire.carry_headers(
                self.message, {DEAD_LETTER_REASON: reason, DEAD_LETTER_SOURCE: target.source}
            )
            fields = codec.entry_fields(self.message.body, headers)
            with queue.guarded("dead-letter"):
                moved = queue.run(
                    queue.scripts.dead_letter,
                    target.keys.state(),
                    [
                        target.keys.group_prefix,
                        self.entry,
                        self._receives,
                        *codec.flatten(fields),
                    ],
                )
            outcome = Outcome.DEAD_LETTERED if moved else Outcome.REQUEUED
        else:
            self._settle_ack()
            return Outcome.DROPPED
        queue.settled(self.entry)
        return outcome
