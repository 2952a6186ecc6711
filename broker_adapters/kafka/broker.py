"""The Kafka backend: topics and queues on Apache Kafka topics and consumer groups.

URL: ``kafka://user:password@host:port[,host:port…]`` (SASL/PLAIN over plaintext when a user
is given, plaintext otherwise). Settings that are Kafka's own live in ``KafkaConfig``.

How the contract is realised:

* a queue is a topic with ``KafkaConfig.partitions`` partitions and one consumer group; the key
  is the message group id (or the message id), so a group's messages stay in one partition and
  in order, even across competing consumers, and ungrouped messages spread evenly;
* a durable subscription is a consumer group created at the end of the topic; a fire-and-forget
  one is a fresh group that starts at the end and never commits;
* a delivery neither acked nor nacked stays in flight until its consumer leaves the group (no
  visibility timeout): it holds its partition's committed offset, so ``backlog`` keeps counting
  it and every later message of that partition, and the next owner receives them all again;
* the producer is idempotent with ``acks=all``; a send returns after the delivery report;
* dead-lettering is done by the adapter (Kafka has none): the message is produced to the
  dead-letter topic with the reason in its headers, then acked;
* no per-message delay, visibility timeout or deduplication id: ``Features`` says so and the
  calls raise ``UnsupportedSemantic``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import unquote, urlsplit

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

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


@dataclass(frozen=True)
class KafkaConfig:
    """Kafka's own knobs; the core API never sees them."""

    partitions: int = 3
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
        self._producer_lock = threading.Lock()
        self._topics: set[str] = set()
        self._queues: dict[str, QueueConfig] = {}
        self._members: dict[str, GroupMember] = {}
        self._subscriptions: list[KafkaSubscription] = []
        self._probe: Consumer | None = None
        self._offset_clients: dict[str, Consumer] = {}
        self._probe_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        return cls(_connection_settings(url), KafkaConfig(**options))

    # Producing

    def _producer_instance(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    **self._settings,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": self.config.linger_ms,
                    "message.timeout.ms": int(self.config.confirm_timeout * 1000),
                }
            )
        return self._producer

    def _produce(self, topic: str, messages: Sequence[tuple[bytes, bytes, dict[str, str]]]) -> None:
        """Produce and wait for every delivery report; raise if any was not confirmed."""
        failures: list[str] = []

        def report(error: KafkaError | None, _message: object) -> None:
            if error is not None:
                failures.append(error.str())

        with self._producer_lock:
            producer = self._producer_instance()
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
        config = config or QueueConfig()
        check_queue_config(self.features, config)
        self._ensure_topic(queue, self.config.partitions)
        if config.redrive_policy is not None:
            self._ensure_topic(config.redrive_policy.dead_letter_queue, self.config.partitions)
        self._queues[queue] = config

    def delete_queue(self, queue: str) -> None:
        member = self._members.pop(queue, None)
        if member is not None:
            member.close()
        self._admin.delete_topics([queue])[queue].result()
        self._topics.discard(queue)
        self._queues.pop(queue, None)

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
        member = self._queue_member(queue)
        return [member.delivery(*taken) for taken in member.receive(max_messages, wait)]

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

    def _queue_member(self, queue: str) -> GroupMember:
        config = self._declared(queue)
        member = self._members.get(queue)
        if member is None:
            policy = config.redrive_policy
            member = self._member(
                queue,
                f"barista.queue.{queue}",
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
        """Consumer-group lag: messages not yet committed, in flight ones included.

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
        committed = self._committed(f"barista.queue.{queue}", queue, partitions)
        lag = 0
        for partition in partitions:
            low, high = self._watermarks(queue, partition)
            start = committed.get(partition, -1)
            lag += high - (start if start >= 0 else low)
        return Backlog(visible=lag, in_flight=0)

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
        self._subscriptions.clear()
        self._members.clear()
        if self._producer is not None:
            self._producer.flush(self.config.confirm_timeout)
        with self._probe_lock:
            for client in [*self._offset_clients.values(), *filter(None, [self._probe])]:
                client.close()
            self._offset_clients.clear()
            self._probe = None
