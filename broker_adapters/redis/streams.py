"""Receiving from a stream through a consumer group, shared by queues and durable subscriptions.

One receive is one run of the ``take`` script (see ``scripts.py``). When it finds nothing and
the caller may wait, the receiver blocks in ``XREAD BLOCK`` on the stream and on the group's
wakeup stream, from the last ids the script saw, so a write made between the script and the
block still wakes it. The block is bounded by the next scheduled event the script reported
(a delayed message falling due, a visibility timeout running out) and by
``RedisConfig.long_poll_slice``; then the receiver takes again. Nothing spins: the last
stretch (under Redis's 100 ms timer resolution) before a due time is a plain sleep.

A ``RedisDelivery``'s receipt is its entry id plus its delivery count: a settlement made after
the visibility timeout ran out and another consumer received the message changes nothing
(except ``ack``, which deletes the message: the work it stood for is done).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from broker_adapters import wire
from broker_adapters.core import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SOURCE,
    MAX_RECEIVES_EXCEEDED,
    BrokerError,
    Delivery,
    Message,
    Outcome,
    RedrivePolicy,
)
from broker_adapters.redis import codec
from broker_adapters.redis.config import RedisConfig
from broker_adapters.redis.connection import ErrorTranslation
from broker_adapters.redis.keys import StreamKeys
from broker_adapters.redis.scripts import Scripts

# Redis times blocked reads out on its server cron (hz 10: every 100 ms), so XREAD BLOCK 1
# returns after up to 100 ms. A wait for a due time stops blocking this much before it.
SERVER_TIMER_MS = 100


@dataclass(frozen=True)
class DeadLetterTarget:
    """Where a stream's dead letters go, and after how many receives."""

    stream: str
    source: str
    policy: RedrivePolicy


@dataclass(frozen=True)
class StreamSpec:
    """What a receiver reads and how it settles: a queue's or a durable subscription's."""

    keys: StreamKeys
    # Queues delete acked entries; a topic's entry stays for the other subscriptions.
    delete_on_ack: bool
    dead_letter: DeadLetterTarget | None
    # What the stream is, for errors ("queue 'orders'").
    description: str
    # What to raise once the group is gone (deleted by another client).
    missing: type[BrokerError]


class StreamReceiver:
    """Takes entries of one stream for one consumer of one group."""

    def __init__(
        self,
        client: redis.Redis,
        scripts: Scripts,
        config: RedisConfig,
        consumer: str,
        spec: StreamSpec,
    ) -> None:
        self.client = client
        self.scripts = scripts
        self.consumer = consumer
        self.spec = spec
        self.keys = spec.keys
        self.long_poll_slice = config.long_poll_slice
        self.reconnect_budget = config.reconnect_budget
        # Told of each message the take script dead-lettered (Broker.watch_dead_letters).
        self.on_dead_letter: Callable[[Message], None] | None = None
        # Entries this receiver handed out and nobody settled yet, so close can hand them back.
        self._held: set[str] = set()
        self._held_lock = threading.Lock()

    def guarded(self, what: str) -> _Guarded:
        """Errors as this package's; a vanished group as ``missing``."""
        return _Guarded(self, what)

    def receive(self, max_messages: int, wait: float, visibility_timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + wait
        with self.guarded("receive"):
            while True:
                entries, hint_ms, last_id, wakeup_id, dead = self._take(
                    max_messages, visibility_timeout
                )
                self._report(dead)
                if entries:
                    return [self._delivery(*entry) for entry in entries]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if 0 <= hint_ms <= SERVER_TIMER_MS:
                    # Due sooner than a blocked read would time out: wait here instead.
                    time.sleep(min(remaining, hint_ms / 1000))
                    continue
                block = min(remaining, self.long_poll_slice)
                if hint_ms >= 0:
                    block = min(block, (hint_ms - SERVER_TIMER_MS) / 1000)
                # BLOCK 0 would mean forever: at least one millisecond.
                self.client.xread(
                    {self.keys.stream: last_id, self.keys.wakeup: wakeup_id},
                    count=1,
                    block=max(1, math.ceil(block * 1000)),
                )

    def _report(self, dead: list[Message]) -> None:
        """Tell ``on_dead_letter`` what the take script dead-lettered."""
        if self.on_dead_letter is not None:
            for message in dead:
                self.on_dead_letter(message)

    def _take(
        self, max_messages: int, visibility_timeout: float
    ) -> tuple[list[tuple[str, dict[bytes, bytes], int]], int, str, str, list[Message]]:
        keys: list[str] = self.keys.take_keys()
        policy_args: list[str | int] = [0, "", ""]
        if self.spec.dead_letter is not None:
            keys.append(self.spec.dead_letter.stream)
            policy_args = [
                self.spec.dead_letter.policy.max_receive_count,
                self.spec.dead_letter.source,
                MAX_RECEIVES_EXCEEDED,
            ]
        reply: list[Any] = self.scripts.take(
            keys=keys,
            args=[
                self.keys.group,
                self.consumer,
                max_messages,
                round(visibility_timeout * 1000),
                *policy_args,
            ],
        )
        raw_entries, hint_ms, last_id, wakeup_id, raw_dead = reply
        entries = [
            (_text(entry_id), codec.pairs(fields), int(receives))
            for entry_id, fields, receives in raw_entries
        ]
        dead = [
            codec.dead_lettered(_text(entry_id), codec.pairs(fields), int(receives))
            for entry_id, fields, receives in raw_dead
        ]
        return entries, int(hint_ms), _text(last_id), _text(wakeup_id), dead

    def _delivery(self, entry_id: str, fields: dict[bytes, bytes], receives: int) -> Delivery:
        message = codec.decode_entry(entry_id, fields, receives)
        with self._held_lock:
            self._held.add(entry_id)
        return RedisDelivery(message, self, entry_id, receives)

    def settled(self, entry_id: str) -> None:
        with self._held_lock:
            self._held.discard(entry_id)

    def release(self) -> None:
        """Make the entries this receiver handed out and nobody settled receivable at once."""
        with self._held_lock:
            entry_ids = sorted(self._held)
            self._held.clear()
        if entry_ids:
            with self.guarded("release"):
                self.scripts.release(
                    keys=[self.keys.stream, self.keys.inflight, self.keys.wakeup],
                    args=[self.keys.group, self.consumer, *entry_ids],
                )


class _Guarded(ErrorTranslation):
    """``StreamReceiver.guarded``: ``ErrorTranslation``, and a vanished group (NOGROUP) as the
    stream's ``missing`` error. A class for the reason ``ErrorTranslation`` is one."""

    __slots__ = ("_receiver",)

    def __init__(self, receiver: StreamReceiver, what: str) -> None:
        self._what = what
        self._budget = receiver.reconnect_budget
        self._receiver = receiver

    def described(self) -> str:
        return f"{self._what} on {self._receiver.spec.description}"

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        if error is None:
            return
        translated = self.translated(error)
        if isinstance(error, BrokerError):
            translated = error  # raised inside by a nested guard, already this package's
        if translated is None:
            return
        if "NOGROUP" in str(translated):
            spec = self._receiver.spec
            gone = f"{spec.description} no longer exists in Redis"
            raise spec.missing(f"{gone} (deleted by another client?)") from translated
        if translated is error:
            return
        raise translated from error


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisDelivery(Delivery):
    """A message taken from a stream; settling it runs one script.

    A settlement that comes too late (the visibility timeout ran out and another receive got
    the message since) leaves the message to its new holder and reports ``REQUEUED``, except
    ``ack``, which deletes the message all the same: the work it stood for is done.
    """

    def __init__(
        self, message: Message, receiver: StreamReceiver, entry_id: str, receives: int
    ) -> None:
        super().__init__(message)
        self._receiver = receiver
        self.entry_id = entry_id
        self._receives = receives

    def _settle_ack(self) -> None:
        receiver = self._receiver
        with receiver.guarded("ack"):
            receiver.scripts.ack(
                keys=[receiver.keys.stream, receiver.keys.inflight],
                args=[receiver.keys.group, self.entry_id, int(receiver.spec.delete_on_ack)],
            )
        receiver.settled(self.entry_id)

    @classmethod
    def _settle_acks(cls, deliveries: Sequence[Delivery]) -> None:
        """One script call per stream for the whole batch."""
        by_receiver: dict[int, tuple[StreamReceiver, list[str]]] = {}
        for delivery in deliveries:
            if not isinstance(delivery, RedisDelivery):
                raise TypeError(f"not a Redis queue delivery: {delivery!r}")
            receiver = delivery._receiver
            by_receiver.setdefault(id(receiver), (receiver, []))[1].append(delivery.entry_id)
        for receiver, entry_ids in by_receiver.values():
            with receiver.guarded("ack"):
                receiver.scripts.ack_many(
                    keys=[receiver.keys.stream, receiver.keys.inflight],
                    args=[receiver.keys.group, int(receiver.spec.delete_on_ack), *entry_ids],
                )
            for entry_id in entry_ids:
                receiver.settled(entry_id)

    def _change_visibility(self, timeout: float) -> bool:
        """The requeue script without settling: the entry's deadline moves to now + timeout,
        unless the entry has been received again since (its delivery count is the receipt)."""
        receiver = self._receiver
        with receiver.guarded("change visibility"):
            moved = receiver.scripts.requeue(
                keys=[receiver.keys.stream, receiver.keys.inflight, receiver.keys.wakeup],
                args=[receiver.keys.group, self.entry_id, self._receives, round(timeout * 1000)],
            )
        return bool(moved)

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        receiver = self._receiver
        target = receiver.spec.dead_letter
        if requeue and (target is None or self.message.attempt < target.policy.max_receive_count):
            with receiver.guarded("nack"):
                receiver.scripts.requeue(
                    keys=[receiver.keys.stream, receiver.keys.inflight, receiver.keys.wakeup],
                    args=[receiver.keys.group, self.entry_id, self._receives, round(delay * 1000)],
                )
            outcome = Outcome.REQUEUED
        elif target is not None:
            headers = wire.carry_headers(
                self.message,
                {DEAD_LETTER_REASON: reason, DEAD_LETTER_SOURCE: target.source},
            )
            fields = codec.entry_fields(self.message.body, headers)
            with receiver.guarded("dead-letter"):
                moved = receiver.scripts.dead_letter(
                    keys=[receiver.keys.stream, receiver.keys.inflight, target.stream],
                    args=[
                        receiver.keys.group,
                        self.entry_id,
                        self._receives,
                        *codec.flatten(fields),
                    ],
                )
            outcome = Outcome.DEAD_LETTERED if moved else Outcome.REQUEUED
        else:
            self._settle_ack()
            return Outcome.DROPPED
        receiver.settled(self.entry_id)
        return outcome
