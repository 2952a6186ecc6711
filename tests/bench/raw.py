"""The raw-client side of the adapter benchmark: the same work with the client library alone.

Each class produces as the client's authors recommend for throughput and confirms every
message before it returns: confluent-kafka produces with linger and polls for delivery
reports as it goes, flushing once at the end (no flush per batch); pika keeps a window of
publisher confirms in flight on its asynchronous connection (``SelectConnection``); redis-py
sends pipelines of ``PIPELINE`` commands. It consumes as the adapter does (``per_receive``
messages per receive, one ack per message), without the adapter's bookkeeping, so the ratio
shows what the adapter costs.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

import pika
from confluent_kafka import AcknowledgeType, Consumer, Producer, ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from tests.support.brokers import Endpoint, kafka_config, pika_parameters, redis_client


def wire_headers() -> dict[str, str]:
    """The id and timestamp every adapter message carries, so both paths move the same bytes."""
    return {"barista-id": uuid.uuid4().hex, "barista-timestamp": f"{time.time():.6f}"}


# Publisher confirms pika may have outstanding (the adapter's RabbitMQConfig.confirm_window).
CONFIRM_WINDOW = 1000
# Commands per Redis pipeline: redis-py's authors recommend pipelines to save round trips; a
# bound keeps one pipeline's buffers small.
PIPELINE = 1000


class RawClient(Protocol):
    def warm_up(self, messages: int, payload: bytes) -> None: ...
    def produce(self, messages: int, payload: bytes) -> int: ...
    def consume(self, messages: int, per_receive: int) -> int: ...
    def close(self) -> None: ...


class KafkaRaw:
    """Idempotent producer with acks=all and linger 5 ms, flushed once at the end (delivery
    reports served by poll as it produces); a group consumer storing offsets."""

    # As the adapter's topics: KafkaConfig.partitions (and share_partitions for KafkaShareRaw).
    PARTITIONS = 3

    def __init__(self, endpoint: Endpoint, topic: str) -> None:
        self.topic = topic
        self.settings = kafka_config(endpoint.port, endpoint.credentials)
        admin = AdminClient(self.settings)
        admin.create_topics(
            [NewTopic(topic, num_partitions=self.PARTITIONS, replication_factor=1)]
        )[topic].result()
        wait_for_leaders(self.settings, topic, self.PARTITIONS)
        self.producer = Producer(
            {**self.settings, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
        )
        self.consumer: Consumer | None = None

    def warm_up(self, messages: int, payload: bytes) -> None:
        """A producer's first send connects, logs in and gets its producer id (idempotence):
        half a second here, measured; sent before the timed run, as every path does."""
        self.produce(messages, payload)

    def produce(self, messages: int, payload: bytes) -> int:
        failures: list[object] = []

        def report(error: object, _message: object) -> None:
            if error is not None:
                failures.append(error)

        for _ in range(messages):
            headers = wire_headers()
            while True:
                try:
                    self.producer.produce(
                        self.topic,
                        payload,
                        headers["barista-id"].encode(),
                        headers=headers,
                        on_delivery=report,
                    )
                    break
                except BufferError:
                    self.producer.poll(0.05)  # the local queue is full: let it drain
            self.producer.poll(0)
        if self.producer.flush(30) != 0 or failures:
            raise RuntimeError(f"kafka: not every message confirmed: {failures[:1]}")
        return messages

    def consume(self, messages: int, per_receive: int) -> int:
        self.consumer = Consumer(
            {
                **self.settings,
                "group.id": f"raw-{self.topic}",
                "auto.offset.reset": "earliest",
                "enable.auto.offset.store": False,
                "auto.commit.interval.ms": 500,
            }
        )
        self.consumer.subscribe([self.topic])
        done = 0
        while done < messages:
            for message in self.consumer.consume(per_receive, timeout=0.1):
                if message.error() is None:
                    self.consumer.store_offsets(message=message)
                    done += 1
        return done

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
        AdminClient(self.settings).delete_topics([self.topic])


class KafkaShareRaw(KafkaRaw):
    """KafkaRaw's producer; a ShareConsumer (explicit mode) accepting each record it polls."""

    PARTITIONS = 1

    def consume(self, messages: int, per_receive: int) -> int:
        group = f"raw-share-{self.topic}"
        start_share_group_at_earliest(self.settings, group)
        consumer = ShareConsumer(
            {
                **self.settings,
                "group.id": group,
                "share.acknowledgement.mode": "explicit",
                "max.poll.records": per_receive,
            }
        )
        consumer.subscribe([self.topic])
        done = 0
        try:
            while done < messages:
                for message in consumer.poll(0.1):
                    if message.error() is None:
                        consumer.acknowledge(message, AcknowledgeType.ACCEPT)
                        done += 1
            consumer.commit_sync(30)
        finally:
            consumer.close()
        return done


def wait_for_leaders(settings: dict[str, Any], topic: str, partitions: int) -> None:
    """Return once the broker's metadata names a leader for each of the topic's partitions.

    A client's first send to a topic created a moment ago waits for the leaders to be
    elected and retries its metadata request meanwhile (hundreds of ms, measured: it was most
    of a 3,000-message run); every path waits here first, so no rate includes it."""
    admin = AdminClient(settings)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = admin.list_topics(topic, timeout=5).topics.get(topic)
        if (
            found is not None
            and found.error is None
            and len(found.partitions) == partitions
            and all(p.leader >= 0 for p in found.partitions.values())
        ):
            return
        time.sleep(0.05)  # polling the metadata, with a deadline
    raise TimeoutError(f"kafka: no leader for every partition of {topic!r} within 30 s")


def start_share_group_at_earliest(settings: dict[str, Any], group: str) -> None:
    """A share group starts at the latest record unless told otherwise."""
    earliest = ConfigEntry(
        "share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET
    )
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[earliest])
    admin = AdminClient(settings)  # held until the answer: a collected one aborts it
    admin.incremental_alter_configs([resource])[resource].result()


class RedisRaw:
    """XADD in pipelines of PIPELINE commands; XREADGROUP then XACK + XDEL per message."""

    def __init__(self, endpoint: Endpoint, queue: str) -> None:
        self.client = redis_client(endpoint.port, endpoint.credentials)
        self.stream = f"raw:{queue}"
        self.client.xgroup_create(self.stream, "workers", id="0", mkstream=True)

    def warm_up(self, messages: int, payload: bytes) -> None:
        """Nothing to warm: the client connected in __init__ (its one round trip, XGROUP)."""

    def produce(self, messages: int, payload: bytes) -> int:
        for start in range(0, messages, PIPELINE):
            pipe = self.client.pipeline(transaction=False)
            for _ in range(min(PIPELINE, messages - start)):
                pipe.xadd(self.stream, {"body": payload, **wire_headers()})
            pipe.execute()
        return messages

    def consume(self, messages: int, per_receive: int) -> int:
        done = 0
        while done < messages:
            for _, entries in self.client.xreadgroup(
                "workers", "raw-1", {self.stream: ">"}, count=per_receive, block=1000
            ):
                for entry_id, _fields in entries:
                    pipe = self.client.pipeline(transaction=True)
                    pipe.xack(self.stream, "workers", entry_id)
                    pipe.xdel(self.stream, entry_id)
                    pipe.execute()
                    done += 1
        return done

    def close(self) -> None:
        self.client.delete(self.stream)
        self.client.close()


class RabbitRaw:
    """A quorum queue; publisher confirms with CONFIRM_WINDOW in flight (ConfirmWindow); a push
    consumer (basic.consume, prefetch = messages per receive) with one ack per message, as
    pika's documentation consumes."""

    def __init__(self, endpoint: Endpoint, queue: str) -> None:
        self.queue = queue
        self.parameters = pika_parameters(endpoint.port, endpoint.credentials)
        self.connection = pika.BlockingConnection(self.parameters)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})

    def warm_up(self, messages: int, payload: bytes) -> None:
        """Nothing to warm: each produce opens its own connection (a few ms, timed)."""

    def produce(self, messages: int, payload: bytes) -> int:
        return ConfirmWindow(self.parameters, self.queue, payload, CONFIRM_WINDOW).publish(messages)

    def consume(self, messages: int, per_receive: int) -> int:
        """One ack per message, as the adapter's receive hands them out (see its docstring)."""
        self.channel.basic_qos(prefetch_count=per_receive)
        done = 0
        for method, _properties, _body in self.channel.consume(self.queue, inactivity_timeout=30):
            if method is None:
                raise RuntimeError("no message within 30 s")
            self.channel.basic_ack(method.delivery_tag)
            done += 1
            if done >= messages:
                break
        self.channel.cancel()
        return done

    def close(self) -> None:
        self.channel.queue_delete(self.queue)
        self.connection.close()


class ConfirmWindow:
    """Publishes ``messages`` with at most ``window`` publisher confirms outstanding, on pika's
    asynchronous connection, as pika's asynchronous publisher example does: publish while the
    window has room, publish more from the confirm callback, stop once every message is
    confirmed. A nack, a return or a closed channel fails the run."""

    def __init__(
        self, parameters: pika.ConnectionParameters, queue: str, payload: bytes, window: int
    ) -> None:
        self.parameters = parameters
        self.queue = queue
        self.payload = payload
        self.window = window
        self.messages = 0
        self.published = 0
        self.unconfirmed: set[int] = set()
        self.confirmed_below = 0  # every tag up to this one is confirmed (multiple acks)
        self.failure: str | None = None
        self.closing = False
        self.channel: Any = None
        self.connection: pika.SelectConnection | None = None

    def publish(self, messages: int) -> int:
        self.messages = messages
        self.connection = pika.SelectConnection(
            self.parameters,
            on_open_callback=lambda connection: connection.channel(
                on_open_callback=self._channel_open
            ),
            on_open_error_callback=lambda _connection, error: self._fail(f"open: {error}"),
            on_close_callback=lambda connection, _reason: connection.ioloop.stop(),
        )
        self.connection.ioloop.start()
        if self.failure is not None:
            raise RuntimeError(f"rabbitmq: {self.failure}")
        if self.unconfirmed or self.published != messages:
            raise RuntimeError("rabbitmq: the connection closed before every confirm")
        return messages

    def _channel_open(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_return_callback(lambda *_: self._fail("a message was returned"))
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: self._publish_more())

    def _publish_more(self) -> None:
        while self.published < self.messages and len(self.unconfirmed) < self.window:
            properties = pika.BasicProperties(delivery_mode=2, headers=wire_headers())
            self.channel.basic_publish("", self.queue, self.payload, properties, mandatory=True)
            self.published += 1
            self.unconfirmed.add(self.published)
        if self.published == self.messages and not self.unconfirmed:
            self._close()

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if not isinstance(method, pika.spec.Basic.Ack):
            self._fail(f"nacked up to tag {method.delivery_tag}")
            return
        if method.multiple:
            for tag in range(self.confirmed_below + 1, method.delivery_tag + 1):
                self.unconfirmed.discard(tag)
            self.confirmed_below = max(self.confirmed_below, method.delivery_tag)
        else:
            self.unconfirmed.discard(method.delivery_tag)
        self._publish_more()

    def _on_channel_closed(self, _channel: Any, reason: Exception) -> None:
        if not self.closing:  # the broker closed it (else: our own close, once done)
            self._fail(f"channel closed: {reason}")

    def _fail(self, reason: str) -> None:
        self.failure = self.failure or reason
        self._close()

    def _close(self) -> None:
        connection = self.connection
        if connection is None:
            return
        self.closing = True
        if connection.is_open:
            connection.close()
        elif connection.is_closed:
            connection.ioloop.stop()
