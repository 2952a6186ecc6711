"""The raw-client side of the adapter benchmark: the same work with the client library alone.

Each class mirrors what the adapter asks of the broker (confirmed batches, one ack per
message), without the adapter's bookkeeping, so the ratio shows what the adapter costs.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

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


class RawClient(Protocol):
    def produce(self, messages: int, payload: bytes, batch: int) -> int: ...
    def consume(self, messages: int, per_receive: int) -> int: ...
    def close(self) -> None: ...


class KafkaRaw:
    """Idempotent producer with acks=all and linger 5 ms; a group consumer storing offsets."""

    def __init__(self, endpoint: Endpoint, topic: str) -> None:
        self.topic = topic
        self.settings = kafka_config(endpoint.port, endpoint.credentials)
        admin = AdminClient(self.settings)
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[
            topic
        ].result()
        self.producer = Producer(
            {**self.settings, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
        )
        self.consumer: Consumer | None = None

    def produce(self, messages: int, payload: bytes, batch: int) -> int:
        for start in range(0, messages, batch):
            for _ in range(min(batch, messages - start)):
                headers = wire_headers()
                self.producer.produce(
                    self.topic, payload, headers["barista-id"].encode(), headers=headers
                )
            assert self.producer.flush(30) == 0
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

    def consume(self, messages: int, per_receive: int) -> int:
        group = f"raw-share-{self.topic}"
        earliest = ConfigEntry(
            "share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET
        )
        resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[earliest])
        admin = AdminClient(self.settings)  # held until the answer: a collected one aborts it
        admin.incremental_alter_configs([resource])[resource].result()
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


class RedisRaw:
    """XADD in one pipeline per batch; XREADGROUP then XACK + XDEL per message."""

    def __init__(self, endpoint: Endpoint, queue: str) -> None:
        self.client = redis_client(endpoint.port, endpoint.credentials)
        self.stream = f"raw:{queue}"
        self.client.xgroup_create(self.stream, "workers", id="0", mkstream=True)

    def produce(self, messages: int, payload: bytes, batch: int) -> int:
        for start in range(0, messages, batch):
            pipe = self.client.pipeline(transaction=False)
            for _ in range(min(batch, messages - start)):
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
    """A quorum queue; publisher confirms per message (pika's blocking channel); a push consumer
    (basic.consume, prefetch = messages per receive) with one ack per message, as pika's
    documentation consumes."""

    def __init__(self, endpoint: Endpoint, queue: str) -> None:
        self.queue = queue
        self.connection = pika.BlockingConnection(
            pika_parameters(endpoint.port, endpoint.credentials)
        )
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})

    def produce(self, messages: int, payload: bytes, batch: int) -> int:
        for _ in range(messages):
            properties = pika.BasicProperties(delivery_mode=2, headers=wire_headers())
            self.channel.basic_publish("", self.queue, payload, properties, mandatory=True)
        return messages

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
