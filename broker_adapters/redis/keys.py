"""Key names: everything this backend stores lives under ``barista:``.

Names are restricted to letters, digits, ``-``, ``_`` and ``.`` (as SQS and SNS restrict
them), so that ``:`` always separates a name from the suffix of a key and ``orders:config``
can never be a queue's name. See the package docstring for the full layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "barista"
# The one consumer group of a queue's stream: every consumer of a queue competes in it.
QUEUE_GROUP = "workers"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")


def check_name(kind: str, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{kind} name {name!r} must be 1..256 letters, digits, '-', '_' or '.'",
        )
    return name


@dataclass(frozen=True)
class StreamKeys:
    """The keys of one consumer group's view of a stream: a queue or a durable subscription.

    A subscription has no delayed messages and no dead-letter queue; its ``delayed`` keys are
    never written, which lets queues and subscriptions share the receive script.
    """

    stream: str
    group: str
    inflight: str
    delayed: str
    delayed_messages: str
    wakeup: str

    def take_keys(self) -> list[str]:
        return [self.stream, self.inflight, self.delayed, self.delayed_messages, self.wakeup]


@dataclass(frozen=True)
class QueueKeys(StreamKeys):
    config: str
    dedup_prefix: str

    def dedup(self, dedup_id: str) -> str:
        return self.dedup_prefix + dedup_id

    def all_fixed(self) -> list[str]:
        """Every key of the queue except the dedup keys (which expire on their own)."""
        return [
            self.stream,
            self.inflight,
            self.delayed,
            self.delayed_messages,
            self.wakeup,
            self.config,
        ]


def queue_keys(queue: str) -> QueueKeys:
    base = f"{PREFIX}:queue:{check_name('queue', queue)}"
    return QueueKeys(
        stream=base,
        group=QUEUE_GROUP,
        inflight=f"{base}:inflight",
        delayed=f"{base}:delayed",
        delayed_messages=f"{base}:delayed:messages",
        wakeup=f"{base}:wakeup",
        config=f"{base}:config",
        dedup_prefix=f"{base}:dedup:",
    )


@dataclass(frozen=True)
class FifoKeys:
    """A FIFO queue's keys (see ``fifo_scripts.py``). Entries are keyed by their sequence
    number; each message group's list is ``group_prefix`` + the group id, a key the scripts
    build themselves (a standalone server allows that; a group is known only to the data)."""

    messages: str
    groups: str
    due: str
    receives: str
    inflight: str
    ready: str
    busy: str
    sequence: str
    wakeup: str
    config: str
    group_prefix: str
    dedup_prefix: str

    def dedup(self, dedup_id: str) -> str:
        return self.dedup_prefix + dedup_id

    def state(self) -> list[str]:
        """The keys every FIFO script takes first, in this order."""
        return [
            self.messages,
            self.groups,
            self.due,
            self.receives,
            self.inflight,
            self.ready,
            self.busy,
            self.sequence,
            self.wakeup,
        ]


def fifo_keys(queue: str) -> FifoKeys:
    base = f"{PREFIX}:queue:{check_name('queue', queue)}"
    return FifoKeys(
        messages=f"{base}:fifo:messages",
        groups=f"{base}:fifo:groups",
        due=f"{base}:fifo:due",
        receives=f"{base}:fifo:receives",
        inflight=f"{base}:fifo:inflight",
        ready=f"{base}:fifo:ready",
        busy=f"{base}:fifo:busy",
        sequence=f"{base}:fifo:sequence",
        wakeup=f"{base}:wakeup",
        config=f"{base}:config",
        group_prefix=f"{base}:fifo:group:",
        dedup_prefix=f"{base}:dedup:",
    )


def topic_key(topic: str) -> str:
    """The topic's stream (durable subscriptions) and its Pub/Sub channel (fire-and-forget)."""
    return f"{PREFIX}:topic:{check_name('topic', topic)}"


def subscription_keys(topic: str, subscription: str) -> StreamKeys:
    stream = topic_key(topic)
    base = f"{stream}:subscription:{check_name('subscription', subscription)}"
    return StreamKeys(
        stream=stream,
        group=subscription,
        inflight=f"{base}:inflight",
        delayed=f"{base}:delayed",
        delayed_messages=f"{base}:delayed:messages",
        wakeup=f"{base}:wakeup",
    )
