"""SQS-like queues on Redis: standard queues on streams (one stream, one consumer group,
adapter-kept deadlines) and FIFO queues (``fifo.py``), chosen at declaration.

What each operation does on the server is described in ``scripts.py`` and
``fifo_scripts.py``; this module chooses the keys and arguments and keeps what this process
declared (the redrive policy it applies). A queue's kind is stored in its config hash
(``fifo``: ``true``); declaring a queue as the other kind is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis
import redis.exceptions
from redis.typing import EncodableT, FieldT

from broker_adapters import wire
from broker_adapters.core import (
    MAX_RECEIVES_EXCEEDED,
    Backlog,
    Delivery,
    Message,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    Sent,
    check_receive_arguments,
    check_send_arguments,
    check_visibility_timeout,
    new_message_id,
    now,
)
from broker_adapters.redis import codec
from broker_adapters.redis.config import RedisConfig
from broker_adapters.redis.fifo import FifoDeadLetter, FifoQueue, measure
from broker_adapters.redis.fifo_scripts import FifoScripts
from broker_adapters.redis.keys import QueueKeys, fifo_keys, queue_keys
from broker_adapters.redis.scripts import Scripts
from broker_adapters.redis.streams import (
    DeadLetterTarget,
    StreamReceiver,
    StreamSpec,
)

BUSYGROUP = "BUSYGROUP"
FIFO = "fifo"


@dataclass(frozen=True)
class DeclaredQueue:
    config: QueueConfig
    keys: QueueKeys
    receiver: StreamReceiver | FifoQueue


DeadLetterReport = Callable[[str, str, Message, str], None]


class Queues:
    """The queues one broker declared, and the operations on them."""

    def __init__(
        self,
        client: redis.Redis,
        scripts: Scripts,
        config: RedisConfig,
        consumer: str,
        report: DeadLetterReport | None = None,
    ) -> None:
        """``report(queue, dead_letter_queue, message, reason)`` hears of each message a
        receive dead-letters (``Broker.watch_dead_letters``)."""
        self._report = report
        self._client = client
        self._scripts = scripts
        self._config = config
        self._consumer = consumer
        self._fifo_scripts = FifoScripts.register(client)
        self._declared: dict[str, DeclaredQueue] = {}
        self._lock = threading.Lock()

    def declared(self, queue: str) -> DeclaredQueue:
        with self._lock:
            found = self._declared.get(queue)
        if found is None:
            raise QueueNotDeclared(
                f"queue {queue!r} was not declared by this broker; call declare_queue first",
            )
        return found

    def kind(self, queue: str) -> str | None:
        """``fifo``, ``standard``, or None when the queue does not exist on the server."""
        keys = queue_keys(queue)
        with self._client.pipeline(transaction=False) as pipe:
            pipe.hget(keys.config, FIFO)
            pipe.exists(keys.stream)
            fifo, stream = pipe.execute()
        if fifo is not None and _decode(fifo) == "true":
            return FIFO
        return "standard" if stream else None

    def _check_kind(self, queue: str, fifo: bool) -> None:
        found = self.kind(queue)
        wanted = FIFO if fifo else "standard"
        if found is not None and found != wanted:
            raise ValueError(
                f"queue {queue!r} exists as a {found} queue; it cannot be declared {wanted} "
                "(SQS fixes a queue's type at creation, and a dead-letter queue's type is its "
                "source's)",
            )

    def declare(self, queue: str, config: QueueConfig) -> None:
        if config.redrive_policy is not None and config.redrive_policy.dead_letter_queue == queue:
            raise ValueError(f"queue {queue!r} cannot be its own dead-letter queue")
        self._check_kind(queue, config.fifo)
        if config.redrive_policy is not None:
            self._check_kind(config.redrive_policy.dead_letter_queue, config.fifo)
        if config.fifo:
            self._declare_fifo(queue, config)
            return
        keys = queue_keys(queue)
        policy = config.redrive_policy
        dead_letter: DeadLetterTarget | None = None
        if policy is not None:
            dlq_keys = queue_keys(policy.dead_letter_queue)
            self._create(dlq_keys)
            # The dead-letter queue's attributes belong to whoever declares it: defaults only
            # where none are stored, and receivable here until this process declares it.
            with self._client.pipeline(transaction=False) as pipe:
                for name, value in _attributes(QueueConfig()).items():
                    pipe.hsetnx(dlq_keys.config, name, value)
                pipe.execute()
            with self._lock:
                known = policy.dead_letter_queue in self._declared
            if not known:
                self._remember(policy.dead_letter_queue, QueueConfig(), dlq_keys, None)
            dead_letter = DeadLetterTarget(dlq_keys.stream, queue, policy)
        self._create(keys)
        # The last declaration wins: what is stored is for people and tools to read; each
        # process applies the configuration it declared itself.
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.config)
            pipe.hset(keys.config, mapping=_attributes(config))
            pipe.execute()
        self._scripts.prune_consumers(
            keys=[keys.stream],
            args=[keys.group, round(self._config.prune_idle_consumers_after * 1000)],
        )
        self._remember(queue, config, keys, dead_letter)

    def _declare_fifo(self, queue: str, config: QueueConfig) -> None:
        """Nothing to create but the config hash: a FIFO queue's keys appear with its first
        message. Its dead-letter queue is a FIFO queue, declared with defaults if missing."""
        policy = config.redrive_policy
        dead_letter: FifoDeadLetter | None = None
        if policy is not None:
            dlq = policy.dead_letter_queue
            with self._client.pipeline(transaction=True) as pipe:
                for name, value in _attributes(QueueConfig(fifo=True)).items():
                    pipe.hsetnx(queue_keys(dlq).config, name, value)
                pipe.execute()
            with self._lock:
                known = dlq in self._declared
            if not known:
                self._remember_fifo(dlq, QueueConfig(fifo=True), None)
            dead_letter = FifoDeadLetter(fifo_keys(dlq), queue, policy)
        keys = queue_keys(queue)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.config)
            pipe.hset(keys.config, mapping=_attributes(config))
            pipe.execute()
        self._remember_fifo(queue, config, dead_letter)

    def _remember_fifo(
        self, queue: str, config: QueueConfig, dead_letter: FifoDeadLetter | None
    ) -> None:
        fifo = FifoQueue(
            self._client,
            self._fifo_scripts,
            self._config,
            queue,
            keys=fifo_keys(queue),
            queue_config=config,
            dead_letter=dead_letter,
        )
        if dead_letter is not None:
            fifo.on_dead_letter = self._reporter(queue, dead_letter.policy.dead_letter_queue)
        with self._lock:
            previous = self._declared.get(queue)
            self._declared[queue] = DeclaredQueue(config, queue_keys(queue), fifo)
        if previous is not None:
            previous.receiver.release()

    def _reporter(self, queue: str, dead_letter_queue: str) -> Callable[[Message], None] | None:
        report = self._report
        if report is None:
            return None
        return lambda message: report(queue, dead_letter_queue, message, MAX_RECEIVES_EXCEEDED)

    def _create(self, keys: QueueKeys) -> None:
        try:
            # From id 0, so entries a plain client added before the group existed are kept.
            self._client.xgroup_create(keys.stream, keys.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as error:
            if BUSYGROUP not in str(error):
                raise

    def _remember(
        self,
        queue: str,
        config: QueueConfig,
        keys: QueueKeys,
        dead_letter: DeadLetterTarget | None,
    ) -> None:
        spec = StreamSpec(
            keys,
            delete_on_ack=True,
            dead_letter=dead_letter,
            description=f"queue {queue!r}",
            missing=QueueNotDeclared,
        )
        receiver = StreamReceiver(self._client, self._scripts, self._config, self._consumer, spec)
        if dead_letter is not None:
            receiver.on_dead_letter = self._reporter(queue, dead_letter.policy.dead_letter_queue)
        with self._lock:
            previous = self._declared.get(queue)
            self._declared[queue] = DeclaredQueue(config, keys, receiver)
        if previous is not None:
            previous.receiver.release()

    def delete(self, queue: str) -> None:
        keys = queue_keys(queue)
        with self._lock:
            declared = self._declared.pop(queue, None)
        if declared is not None:
            declared.receiver.release()
        fifo = fifo_keys(queue)
        scanned = [
            key
            for prefix in (keys.dedup_prefix, fifo.group_prefix)
            for key in self._client.scan_iter(match=prefix + "*", count=1000)
        ]
        self._client.delete(*keys.all_fixed(), *fifo.state(), *scanned)

    def send_batch_sequenced(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[Sent]:
        declared = self.declared(queue)
        if isinstance(declared.receiver, FifoQueue):
            return declared.receiver.send_batch(messages)
        return [Sent(message_id) for message_id in self.send_batch(queue, messages)]

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        declared = self.declared(queue)
        if isinstance(declared.receiver, FifoQueue):
            return [sent.message_id for sent in declared.receiver.send_batch(messages)]
        for message in messages:
            check_send_arguments(message.body, message.delay)
        if not messages:
            return []
        # A restart between loading the scripts and running them answers NOSCRIPT, which
        # means nothing ran: loading again and resending is safe.
        for attempt in (1, 2):
            try:
                with self._client.pipeline(transaction=False) as pipe:
                    known = [self._send(declared, message, pipe) for message in messages]
                    replies: list[bytes] = pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
        # A scripted send answers with the id that is in the queue (an earlier duplicate's,
        # for a repeated dedup id); a plain XADD's id is the one we made.
        return [
            message_id if message_id is not None else reply.decode()
            for message_id, reply in zip(known, replies, strict=True)
        ]

    def send(self, queue: str, message: OutgoingMessage) -> str:
        return self.send_batch(queue, [message])[0]

    def _send(
        self, declared: DeclaredQueue, message: OutgoingMessage, client: redis.client.Pipeline
    ) -> str | None:
        # Only standard queues come here (send_batch sends FIFO queues' messages itself).
        """Queue the commands for one send on ``client``; the message id, when known already.

        Only a delayed or deduplicated send needs the atomic script; a plain one is a single
        XADD, which is atomic on its own and several times cheaper.
        """
        keys = declared.keys
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
        if message.dedup_id is None and not message.delay:
            client.xadd(keys.stream, fields)
            return message_id
        script_keys = [keys.stream, keys.delayed, keys.delayed_messages, keys.wakeup]
        if message.dedup_id is not None:
            script_keys.append(keys.dedup(message.dedup_id))
        self._scripts.send(
            keys=script_keys,
            args=[
                message_id,
                round(message.delay * 1000),
                round(declared.config.deduplication_window * 1000),
                *codec.flatten(fields),
            ],
            client=client,
        )
        return None

    def receive(
        self,
        queue: str,
        max_messages: int,
        wait: float,
        visibility_timeout: float | None,
    ) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        declared = self.declared(queue)
        timeout = (
            declared.config.visibility_timeout if visibility_timeout is None else visibility_timeout
        )
        check_visibility_timeout(timeout)
        return declared.receiver.receive(max_messages, wait, timeout)

    def backlog(self, queue: str) -> Backlog:
        with self._lock:
            declared = self._declared.get(queue)
        if declared is None:
            # Declared by another process (a monitor measures its workers' queues).
            kind = self.kind(queue)
            if kind is None:
                raise QueueNotDeclared(f"queue {queue!r} does not exist")
            if kind == FIFO:
                return measure(self._client, self._fifo_scripts, fifo_keys(queue))
            return self._measure(queue_keys(queue))
        with declared.receiver.guarded("backlog"):
            if isinstance(declared.receiver, FifoQueue):
                return measure(self._client, self._fifo_scripts, declared.receiver.keys)
            return self._measure(declared.keys)

    def _measure(self, keys: QueueKeys) -> Backlog:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.xlen(keys.stream)
            pipe.xpending(keys.stream, keys.group)
            pipe.zcard(keys.delayed)
            length, pending, delayed = pipe.execute()
        in_flight = int(pending["pending"])
        # An entry a plain client deleted while it was pending is still counted by XPENDING.
        return Backlog(
            visible=max(0, int(length) - in_flight), in_flight=in_flight, delayed=delayed
        )

    def describe(self, queue: str) -> QueueConfig | None:
        keys = queue_keys(queue)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.exists(keys.stream)
            pipe.hgetall(keys.config)
            exists, stored = pipe.execute()
        fields = {_decode(k): _decode(v) for k, v in stored.items()}
        fifo = fields.get(FIFO) == "true"
        if not exists and not fifo:
            return None
        policy = None
        if fields.get("dead_letter_queue") and fields.get("max_receive_count"):
            policy = RedrivePolicy(fields["dead_letter_queue"], int(fields["max_receive_count"]))
        defaults = QueueConfig()
        return QueueConfig(
            visibility_timeout=float(fields.get("visibility_timeout", defaults.visibility_timeout)),
            redrive_policy=policy,
            fifo=fifo,
            deduplication_window=float(
                fields.get("deduplication_window", defaults.deduplication_window)
            ),
        )

    def release(self, queue: str) -> None:
        with self._lock:
            declared = self._declared.get(queue)
        if declared is not None:
            declared.receiver.release()

    def release_all(self) -> None:
        with self._lock:
            declared = list(self._declared.values())
        for queue in declared:
            queue.receiver.release()


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _attributes(config: QueueConfig) -> dict[FieldT, EncodableT]:
    """The config hash's fields, named and valued as SQS queue attributes (seconds)."""
    attributes: dict[FieldT, EncodableT] = {
        "visibility_timeout": f"{config.visibility_timeout:g}",
        "deduplication_window": f"{config.deduplication_window:g}",
    }
    if config.redrive_policy is not None:
        attributes["dead_letter_queue"] = config.redrive_policy.dead_letter_queue
        attributes["max_receive_count"] = str(config.redrive_policy.max_receive_count)
    if config.fifo:
        attributes[FIFO] = "true"
    return attributes
