"""The Kafka backend: topics and queues on Apache Kafka topics and consumer groups.

URL: ``kafka://user:password@host:port[,host:port…]`` (SASL/PLAIN over plaintext when a user
is given, plaintext otherwise). Settings that are Kafka's own live in ``KafkaConfig``.

How the contract is realised:

* a queue is a topic with ``KafkaConfig.partitions`` partitions, consumed in one of two modes
  chosen at declaration (``QueueConfig.mode``, else ``KafkaConfig.queue_mode``):
  ``share-group`` (``share.py``: KIP-932, per-record locks, acks and delivery counts, any
  number of consumers; ``KafkaShareBroker`` declares its Features) or ``consumer-group``
  (``consumer.py``, below; ``KafkaBroker`` declares its Features);
* on a consumer group the key is the message group id (or the message id), so a group's
  messages stay in one partition and in order, even across competing consumers, and
  ungrouped messages spread evenly;
* a durable subscription is a consumer group created at the end of the topic; a fire-and-forget
  one is a fresh group that starts at the end and never commits;
* a delivery neither acked nor nacked stays in flight until its consumer leaves the group (no
  visibility timeout): it holds its partition's committed offset, so ``backlog`` keeps counting
  it and every later message of that partition, and the next owner receives them all again;
* the producer is idempotent with ``acks=all``; a send returns after the delivery report;
* dead-lettering is done by the adapter (Kafka has none): the message is produced to the
  dead-letter topic with the reason in its headers, then acked;
* no per-message delay or deduplication id, and on a consumer group no visibility timeout:
  ``Features`` says so and the calls raise ``UnsupportedSemantic``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Self, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from broker_adapters import wire
from broker_adapters.core import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SOURCE,
    Backlog,
    Broker,
    BrokerUnavailable,
    Delivery,
    Features,
    Message,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    Subscription,
    UnsupportedSemantic,
    check_queue_config,
    check_receive_arguments,
    check_send_arguments,
    new_message_id,
    now,
)
from broker_adapters.kafka.consumer import GroupMember
from broker_adapters.kafka.share import MAX_POLL_RECORDS, ShareQueue, ShareRedrive
from broker_adapters.kafka.share_offsets import share_group_offsets

T = TypeVar("T")
_COORDINATOR_ERRORS = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
}
LIBRDKAFKA_LOGGER = logging.getLogger("broker_adapters.kafka.librdkafka")

FEATURES = Features(
    name="kafka",
    durable_subscriptions=True,
    fire_and_forget_subscriptions=True,
    ordering="group",
    visibility_timeout=False,
    visibility_changes=False,
    delivery_delay=False,
    deduplication=False,
    counts_crash_redeliveries=False,
    native_dead_letter=False,
    backlog_splits_in_flight=False,
    redelivery_after_crash=(
        "after the dead consumer's session times out (KafkaConfig.session_timeout, 10 s) "
        "and the group rebalances: uncommitted offsets are read again by the new owner"
    ),
)
SHARE_FEATURES = Features(
    name="kafka-share",
    durable_subscriptions=True,
    fire_and_forget_subscriptions=True,
    ordering="single-consumer",
    visibility_timeout=True,
    visibility_changes=False,
    delivery_delay=False,
    deduplication=False,
    counts_crash_redeliveries=True,
    native_dead_letter=False,
    backlog_splits_in_flight=False,
    redelivery_after_crash=(
        "when the broker sees its connection close (the share session ends), at the latest "
        "after the acquisition lock expires (the queue's visibility timeout, the share "
        "group's share.record.lock.duration.ms); while consumers are fewer than "
        "partitions, once the dead consumer's share session times out (10 s) and its "
        "partitions go to the others; the broker counts the delivery"
    ),
)
CONSUMER_GROUP = "consumer-group"
SHARE_GROUP = "share-group"
QUEUE_MODES = (SHARE_GROUP, CONSUMER_GROUP)
# Each queue mode's Features, for a queue declared with a mode other than the broker's default.
QUEUE_FEATURES = {CONSUMER_GROUP: FEATURES, SHARE_GROUP: SHARE_FEATURES}
# What a share group's lock and delivery count may be, as images/kafka/server.properties
# sets them (group.share.{min,max}.record.lock.duration.ms, group.share.delivery.count.limit).
MIN_LOCK_SECONDS = 1.0
MAX_LOCK_SECONDS = 3600.0
MAX_DELIVERY_COUNT_LIMIT = 10


@dataclass(frozen=True)
class KafkaConfig:
    """Kafka's own knobs; the core API never sees them."""

    # How queues declared without QueueConfig.mode are consumed: "consumer-group" (order per
    # message group across consumers; SQS FIFO-like) or "share-group" (KIP-932; SQS
    # standard-like). The URL may set it: kafka://…?queue_mode=share-group.
    queue_mode: str = CONSUMER_GROUP
    # At most this many share consumers per share-group queue in one process: one per
    # partition from the first receive, one more while all the others hold unsettled messages.
    share_consumers: int = 8
    # Partitions of a consumer-group queue's topic: at most this many consumers at once.
    partitions: int = 3
    # Partitions of a share-group queue's topic. Any number of consumers share a partition,
    # and one is what lets them: once a share group has as many members as the topic has
    # partitions, the broker's assignor (SimpleAssignor) gives each member one partition, by a
    # hash of its member id, so an idle consumer may read none of the partitions that hold
    # the waiting messages (measured: five baristas on 3 partitions, the fifth order waited
    # for a lock to run out).
    share_partitions: int = 1
    # A share fetch acquires whole producer batches (``max.poll.records`` bounds it only at
    # batch boundaries), so share-group queues get a producer of their own whose batches hold
    # at most this many records (``batch.num.messages``): one consumer's fetch then takes at
    # most about this many, and competing consumers share a burst instead of one taking all.
    share_batch_records: int = MAX_POLL_RECORDS
    topic_partitions: int = 1
    replication_factor: int = 1
    # How long a dead consumer keeps its partitions (the broker's minimum is 6 s).
    session_timeout: float = 10.0
    confirm_timeout: float = 30.0
    join_timeout: float = 30.0
    linger_ms: int = 5
    auto_commit_interval_ms: int = 500
    librdkafka: Mapping[str, Any] = field(default_factory=dict)


def _connection_settings(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    settings: dict[str, Any] = {
        "bootstrap.servers": parts.netloc.rsplit("@", 1)[-1],
        # librdkafka's log lines (disconnects during a broker restart, …) go to Python logging.
        "logger": LIBRDKAFKA_LOGGER,
    }
    if parts.username:
        settings |= {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": unquote(parts.username),
            "sasl.password": unquote(parts.password or ""),
        }
    return settings


class KafkaSubscription(Subscription):
    def __init__(self, topic: str, name: str, durable: bool, member: GroupMember) -> None:
        super().__init__(topic, name, durable)
        self._member = member

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        return [self._member.delivery(*taken) for taken in self._member.receive(max_messages, wait)]

    def close(self) -> None:
        self._member.close()


class KafkaBroker(Broker):
    features: ClassVar[Features] = FEATURES

    def __init__(self, settings: Mapping[str, Any], config: KafkaConfig | None = None) -> None:
        self.config = config or KafkaConfig()
        self._settings = {**settings, **self.config.librdkafka}
        self._admin = AdminClient(dict(self._settings))
        self._producer: Producer | None = None
        self._share_producer: Producer | None = None
        self._producer_lock = threading.Lock()
        self._topics: set[str] = set()
        self._queues: dict[str, QueueConfig] = {}
        self._members: dict[str, GroupMember] = {}
        self._modes: dict[str, str] = {}
        self._share_queues: dict[str, ShareQueue] = {}
        self._share_lock = threading.Lock()
        self._subscriptions: list[KafkaSubscription] = []
        self._probe: Consumer | None = None
        self._offset_clients: dict[str, Consumer] = {}
        self._probe_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """``?queue_mode=share-group`` in the URL sets ``KafkaConfig.queue_mode``; with it the
        broker is a ``KafkaShareBroker``, whose ``features`` describe share-group queues."""
        query = dict(parse_qsl(urlsplit(url).query))
        unknown = set(query) - {"queue_mode"}
        if unknown:
            raise ValueError(f"kafka URL options: only queue_mode is known, got {sorted(unknown)}")
        config = KafkaConfig(**{**query, **options})
        target = KafkaShareBroker if config.queue_mode == SHARE_GROUP else cls
        return cast(Self, target(_connection_settings(url), config))

    @classmethod
    def features_of(cls, url: str) -> Features:
        """``?queue_mode=share-group`` makes the broker a ``KafkaShareBroker``: its Features."""
        query = dict(parse_qsl(urlsplit(url).query))
        return SHARE_FEATURES if query.get("queue_mode") == SHARE_GROUP else FEATURES

    # Producing

    def _producer_instance(self, topic: str) -> Producer:
        """The producer for ``topic``: a share-group queue's has small batches (see
        ``KafkaConfig.share_batch_records``), every other topic's batches freely."""
        if self._modes.get(topic) == SHARE_GROUP:
            if self._share_producer is None:
                self._share_producer = self._new_producer(
                    {"batch.num.messages": self.config.share_batch_records}
                )
            return self._share_producer
        if self._producer is None:
            self._producer = self._new_producer({})
        return self._producer

    def _new_producer(self, extra: Mapping[str, Any]) -> Producer:
        return Producer(
            {
                **self._settings,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": self.config.linger_ms,
                "message.timeout.ms": int(self.config.confirm_timeout * 1000),
                **extra,
            }
        )

    def _produce(self, topic: str, messages: Sequence[tuple[bytes, bytes, dict[str, str]]]) -> None:
        """Produce and wait for every delivery report; raise if any was not confirmed."""
        failures: list[str] = []

        def report(error: KafkaError | None, _message: object) -> None:
            if error is not None:
                failures.append(error.str())

        with self._producer_lock:
            producer = self._producer_instance(topic)
            for key, value, headers in messages:
                while True:
                    try:
                        producer.produce(
                            topic, value, key, headers=list(headers.items()), on_delivery=report
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)  # the local queue is full: let it drain
            remaining = producer.flush(self.config.confirm_timeout + 5)
        if remaining or failures:
            raise BrokerUnavailable(
                f"kafka: {len(failures) + remaining} of {len(messages)} messages to {topic!r} "
                f"not confirmed: {failures[:1] or 'timed out'}",
            )

    def _outgoing(
        self, message: OutgoingMessage
    ) -> tuple[str, tuple[bytes, bytes, dict[str, str]]]:
        check_send_arguments(message.body, message.delay)
        if message.delay:
            raise UnsupportedSemantic("kafka cannot delay a message: Features.delivery_delay=False")
        if message.dedup_id is not None:
            raise UnsupportedSemantic(
                "kafka keeps no deduplication ids (the idempotent producer only drops its own "
                "retries): Features.deduplication=False",
            )
        message_id = new_message_id()
        headers = wire.encode_headers(
            message_id,
            now(),
            group_id=message.group_id,
            trace_id=message.trace_id,
            headers=message.headers,
        )
        key = (message.group_id or message_id).encode()
        return message_id, (key, message.body, headers)

    def _send_many(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        prepared = [self._outgoing(message) for message in messages]
        self._produce(topic, [record for _, record in prepared])
        return [message_id for message_id, _ in prepared]

    # Topics

    def _ensure_topic(self, topic: str, partitions: int) -> None:
        if topic in self._topics:
            return
        futures = self._admin.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=partitions,
                    replication_factor=self.config.replication_factor,
                )
            ],
            request_timeout=self.config.confirm_timeout,
        )
        for future in futures.values():
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BrokerUnavailable(f"kafka: creating {topic!r}: {error}") from error
        self._wait_for_topic(topic)
        self._topics.add(topic)

    def _wait_for_topic(self, topic: str) -> None:
        """Creation is asynchronous; wait until the metadata shows the topic with leaders."""
        deadline = time.monotonic() + self.config.confirm_timeout
        while time.monotonic() < deadline:
            metadata = self._admin.list_topics(topic, timeout=5)
            found = metadata.topics.get(topic)
            ready = found is not None and found.error is None and bool(found.partitions)
            if ready and all(p.leader >= 0 for p in found.partitions.values()):  # type: ignore[union-attr]
                return
            time.sleep(0.05)
        raise BrokerUnavailable(f"kafka: topic {topic!r} has no leader yet")

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        self._ensure_topic(topic, self.config.topic_partitions)
        return self._send_many(topic, messages)

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        self._ensure_topic(topic, self.config.topic_partitions)
        if durable:
            group = f"barista.topic.{topic}.{subscription}"
            self._create_group_at_end(group, topic)
            member = self._member(topic, group)
        else:
            group = f"barista.live.{topic}.{subscription}.{uuid.uuid4().hex[:8]}"
            member = self._member(topic, group, start_at_end=True, commit=False)
        handle = KafkaSubscription(topic, subscription, durable, member)
        self._subscriptions.append(handle)
        return handle

    def _create_group_at_end(self, group: str, topic: str) -> None:
        """A new subscription starts now (SNS): commit the topic's end before the group joins.

        A group that already has offsets is left alone, so a returning subscriber resumes
        where it left off and gets what was published while it was away.
        """
        partitions = self._partition_ids(topic)
        if any(offset >= 0 for offset in self._committed(group, topic, partitions).values()):
            return
        ends = [TopicPartition(topic, p, self._high_watermark(topic, p)) for p in partitions]
        client = self._offsets_client(group)
        self._retrying(lambda: client.commit(offsets=ends, asynchronous=False))

    def _offsets_client(self, group: str) -> Consumer:
        """A consumer of ``group`` that never subscribes: it reads and writes its offsets.

        (AdminClient.list_consumer_group_offsets crashed librdkafka 2.16 against Kafka 4.1
        here, in rd_kafka_handle_OffsetFetch; the consumer's own OffsetFetch path does not.)
        """
        with self._probe_lock:
            client = self._offset_clients.get(group)
            if client is None:
                client = Consumer(
                    {**self._settings, "group.id": group, "enable.auto.commit": False}
                )
                self._offset_clients[group] = client
            return client

    def _committed(self, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
        wanted = [TopicPartition(topic, p) for p in partitions]
        client = self._offsets_client(group)
        committed = self._retrying(lambda: client.committed(wanted, timeout=5))
        return {tp.partition: tp.offset for tp in committed}

    def _retrying(self, call: Callable[[], T]) -> T:
        """Retry a group-coordinator call through retriable errors (coordinator moving or
        loading, as right after a broker start) until ``confirm_timeout``."""
        deadline = time.monotonic() + self.config.confirm_timeout
        while True:
            try:
                return call()
            except KafkaException as error:
                retriable = error.args[0].retriable() or error.args[0].code() in _COORDINATOR_ERRORS
                if not retriable or time.monotonic() >= deadline:
                    raise BrokerUnavailable(f"kafka: {error.args[0].str()}") from error
                time.sleep(0.1)

    def delete_subscription(self, topic: str, subscription: str) -> None:
        group = f"barista.topic.{topic}.{subscription}"
        for future in self._admin.delete_consumer_groups([group]).values():
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                    raise

    # Queues

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        """The queue's topic (and its dead-letter queue's); for a share-group queue also the
        group's configs: start at the earliest record, the visibility timeout as the lock.

        The broker archives (drops) a record delivered ``group.share.delivery.count.limit``
        times (10 in images/kafka/server.properties, the most Kafka allows; Kafka 4.4 refuses
        it as a group config), so max_receive_count must stay below it: the adapter, not the
        broker, then ends a crash-looping message, in the dead-letter queue."""
        config = config or QueueConfig()
        check_queue_config(self.features, config)
        mode = config.mode or self.config.queue_mode
        if mode not in QUEUE_MODES:
            raise UnsupportedSemantic(f"kafka queue modes are {QUEUE_MODES}, got {mode!r}")
        if mode == SHARE_GROUP:
            self._check_share_config(config)
        partitions = self.config.share_partitions if mode == SHARE_GROUP else self.config.partitions
        self._ensure_topic(queue, partitions)
        if config.redrive_policy is not None:
            self._ensure_topic(config.redrive_policy.dead_letter_queue, partitions)
        if mode == SHARE_GROUP:
            self._configure_share_group(queue, config)
        self._queues[queue] = config
        self._modes[queue] = mode

    def queue_features(self, queue: str) -> Features:
        """The Features of a declared queue's mode (``features`` is the default mode's)."""
        self._declared(queue)
        return QUEUE_FEATURES[self._modes[queue]]

    @staticmethod
    def _check_share_config(config: QueueConfig) -> None:
        if config.visibility_timeout > MAX_LOCK_SECONDS:
            raise UnsupportedSemantic(
                f"a kafka share group locks a record for at most {MAX_LOCK_SECONDS:.0f} s "
                f"(group.share.max.record.lock.duration.ms); got {config.visibility_timeout}",
            )
        policy = config.redrive_policy
        if policy is not None and policy.max_receive_count >= MAX_DELIVERY_COUNT_LIMIT:
            raise UnsupportedSemantic(
                f"a kafka share group delivers a record at most {MAX_DELIVERY_COUNT_LIMIT} "
                f"times; max_receive_count must be below it, got {policy.max_receive_count}",
            )

    def _configure_share_group(self, queue: str, config: QueueConfig) -> None:
        values = {
            "share.auto.offset.reset": "earliest",
            "share.record.lock.duration.ms": str(_lock_ms(config.visibility_timeout)),
        }
        resource = ConfigResource(
            ResourceType.GROUP,
            _group(queue),
            incremental_configs=[
                ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                for name, value in values.items()
            ],
        )
        for future in self._admin.incremental_alter_configs([resource]).values():
            try:
                future.result()
            except KafkaException as error:
                raise BrokerUnavailable(
                    f"kafka: configuring share group {_group(queue)!r}: {error.args[0].str()}"
                ) from error

    def delete_queue(self, queue: str) -> None:
        self.release_queue(queue)
        self._admin.delete_topics([queue])[queue].result()
        self._topics.discard(queue)
        self._queues.pop(queue, None)
        self._modes.pop(queue, None)

    def _declared(self, queue: str) -> QueueConfig:
        try:
            return self._queues[queue]
        except KeyError:
            raise QueueNotDeclared(f"declare_queue({queue!r}) first in this process") from None

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        self._declared(queue)
        return self._send_many(queue, messages)

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        config = self._declared(queue)
        if self._modes[queue] == SHARE_GROUP:
            if visibility_timeout is not None and _lock_ms(visibility_timeout) != _lock_ms(
                config.visibility_timeout
            ):
                raise UnsupportedSemantic(
                    "a kafka share group locks every record for the queue's visibility timeout "
                    f"({config.visibility_timeout} s), not per receive: "
                    "Features.visibility_changes=False",
                )
            return self._share_queue(queue).receive(max_messages, wait)
        member = self._queue_member(queue)
        return [member.delivery(*taken) for taken in member.receive(max_messages, wait)]

    def _share_queue(self, queue: str) -> ShareQueue:
        config = self._declared(queue)
        with self._share_lock:
            share = self._share_queues.get(queue)
            if share is None:
                policy = config.redrive_policy
                redrive: ShareRedrive | None = None
                if policy is not None:
                    target = policy.dead_letter_queue

                    def move(message: Message, reason: str) -> None:
                        self._dead_letter(queue, message, reason)

                    def heard(message: Message, reason: str) -> None:
                        self._report_dead_letter(queue, target, message, reason)

                    redrive = ShareRedrive(policy.max_receive_count, move, heard)
                share = ShareQueue(
                    self._settings,
                    queue,
                    _group(queue),
                    lock_duration=_lock_ms(config.visibility_timeout) / 1000,
                    redrive=redrive,
                    max_members=self.config.share_consumers,
                    initial_members=self.config.share_partitions,
                )
                self._share_queues[queue] = share
            return share

    def describe_queue(self, queue: str) -> QueueConfig | None:
        """Kafka keeps no redrive policy (the adapter applies it per process): the defaults,
        for a topic that exists; None for one that does not."""
        if queue in self._queues:
            return self._queues[queue]
        listed = self._admin.list_topics(timeout=self.config.confirm_timeout)
        return QueueConfig() if queue in listed.topics else None

    def release_queue(self, queue: str) -> None:
        """Leave the queue's group: acked offsets are committed on the way out, unsettled
        messages are read again by whichever member owns their partition next."""
        member = self._members.pop(queue, None)
        if member is not None:
            member.close()
        with self._share_lock:
            share = self._share_queues.pop(queue, None)
        if share is not None:
            share.release()

    def _queue_member(self, queue: str) -> GroupMember:
        config = self._declared(queue)
        member = self._members.get(queue)
        if member is None:
            policy = config.redrive_policy
            member = self._member(
                queue,
                _group(queue),
                max_receive_count=policy.max_receive_count if policy else None,
                dead_letter=(lambda m, r, q=queue: self._dead_letter(q, m, r)) if policy else None,
            )
            self._members[queue] = member
        return member

    def _member(self, topic: str, group: str, **options: Any) -> GroupMember:
        settings = {
            **self._settings,
            "session.timeout.ms": int(self.config.session_timeout * 1000),
            "heartbeat.interval.ms": int(self.config.session_timeout * 1000 / 4),
            "auto.commit.interval.ms": self.config.auto_commit_interval_ms,
        }
        return GroupMember(settings, topic, group, join_timeout=self.config.join_timeout, **options)

    def _dead_letter(self, queue: str, message: Message, reason: str) -> None:
        policy = self._queues[queue].redrive_policy
        if policy is None:
            raise AssertionError("dead-lettering without a redrive policy")
        headers = wire.carry_headers(
            message, {DEAD_LETTER_REASON: reason, DEAD_LETTER_SOURCE: queue}
        )
        key = (message.group_id or message.id).encode()
        self._produce(policy.dead_letter_queue, [(key, message.body, headers)])

    def backlog(self, queue: str) -> Backlog:
        """Visible + in flight, from the broker's view of the queue's group.

        A share-group queue: the share group's lag per partition (DescribeShareGroupOffsets;
        acquired records count as lag until acknowledged). A consumer-group queue: the lag of
        its committed offsets, in-flight ones included. A queue this process did not declare
        is measured as a share group when the broker knows one by its group's name.

        A queue this broker did not declare is looked up in the cluster's topic list first:
        asking for one topic's metadata would make a broker with auto.create.topics.enable
        create it, with the broker's default partition count instead of the queue's.
        """
        if queue not in self._queues:
            listed = self._admin.list_topics(timeout=self.config.confirm_timeout)
            if queue not in listed.topics:
                raise QueueNotDeclared(f"queue {queue!r} does not exist")
        partitions = self._partition_ids(queue)
        if not partitions:
            raise QueueNotDeclared(f"queue {queue!r} does not exist")
        mode = self._modes.get(queue)
        if mode != CONSUMER_GROUP:
            shared = self._share_backlog(queue, partitions)
            if shared is not None:
                return Backlog(visible=shared, in_flight=0)
        # A consumer group's committed offsets; with none (a share group that has started no
        # partition yet, too) every partition counts from its low watermark.
        committed = self._committed(_group(queue), queue, partitions)
        lag = 0
        for partition in partitions:
            low, high = self._watermarks(queue, partition)
            start = committed.get(partition, -1)
            lag += high - (start if start >= 0 else low)
        return Backlog(visible=lag, in_flight=0)

    def _share_backlog(self, queue: str, partitions: list[int]) -> int | None:
        """The share group's lag; a partition it has not started is counted from its low
        watermark (the group starts at the earliest record). None: no share group has started
        any partition of the queue. Kafka 4.4 answers a consumer group's id with every
        partition unstarted (start -1, lag -1), not with GROUP_ID_NOT_FOUND, so that case must
        fall back to the consumer group's committed offsets rather than count the whole topic.
        """
        offsets = share_group_offsets(
            self._settings, _group(queue), queue, partitions, self.config.confirm_timeout
        )
        if offsets is None or all(entry.start_offset < 0 for entry in offsets):
            return None
        known = {entry.partition: entry for entry in offsets}
        total = 0
        for partition in partitions:
            entry = known.get(partition)
            if entry is not None and entry.lag >= 0:
                total += entry.lag
                continue
            low, high = self._watermarks(queue, partition)
            start = entry.start_offset if entry is not None and entry.start_offset >= 0 else low
            total += max(high - start, 0)
        return total

    # Metadata

    def _partition_ids(self, topic: str) -> list[int]:
        metadata = self._admin.list_topics(topic, timeout=self.config.confirm_timeout)
        return sorted(metadata.topics[topic].partitions)

    def _watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        with self._probe_lock:
            if self._probe is None:
                # Never subscribes: it only asks partition leaders for their offsets.
                self._probe = Consumer({**self._settings, "group.id": "barista.metadata"})
            low, high = self._probe.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=self.config.confirm_timeout
            )
        return int(low), int(high)

    def _high_watermark(self, topic: str, partition: int) -> int:
        return self._watermarks(topic, partition)[1]

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()
        for member in self._members.values():
            member.close()
        for share in self._share_queues.values():
            share.release()
        self._share_queues.clear()
        self._subscriptions.clear()
        self._members.clear()
        for producer in filter(None, [self._producer, self._share_producer]):
            producer.flush(self.config.confirm_timeout)
        with self._probe_lock:
            for client in [*self._offset_clients.values(), *filter(None, [self._probe])]:
                client.close()
            self._offset_clients.clear()
            self._probe = None


class KafkaShareBroker(KafkaBroker):
    """A Kafka broker whose queues default to share groups: its ``features`` say so."""

    features: ClassVar[Features] = SHARE_FEATURES

    def __init__(self, settings: Mapping[str, Any], config: KafkaConfig | None = None) -> None:
        super().__init__(settings, replace(config or KafkaConfig(), queue_mode=SHARE_GROUP))


def _group(queue: str) -> str:
    return f"barista.queue.{queue}"


def _lock_ms(visibility_timeout: float) -> int:
    """A visibility timeout as a share group's lock: at least the 1 s the broker allows."""
    return max(round(visibility_timeout * 1000), int(MIN_LOCK_SECONDS * 1000))
