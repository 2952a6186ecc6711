"""Each real broker, started from the project's image and config, carries a message end to end
and refuses clients without the configured credentials."""

from __future__ import annotations

import time

import pika
import pika.exceptions
import pytest
import redis
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.support.brokers import Endpoint, http_get, kafka_config, pika_parameters, redis_client
from tests.support.containers import Credentials

pytestmark = pytest.mark.docker

DEADLINE_SECONDS = 30


def test_kafka_delivers_a_confirmed_message_to_a_new_consumer_group(
    kafka: Endpoint, unique_name: str
):
    producer = Producer(
        kafka_config(kafka.port, kafka.credentials, acks="all", **{"enable.idempotence": True})
    )
    reports = []
    producer.produce(
        unique_name,
        key=b"order-1",
        value=b"one flat white",
        on_delivery=lambda err, msg: reports.append((err, msg)),
    )
    assert producer.flush(DEADLINE_SECONDS) == 0
    [(error, delivered)] = reports
    assert error is None
    assert delivered.offset() == 0

    consumer = Consumer(
        kafka_config(
            kafka.port,
            kafka.credentials,
            **{
                "group.id": f"group-{unique_name}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([unique_name])
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        received = None
        while received is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received = message
        assert received is not None, "no message within the deadline"
        assert (received.key(), received.value()) == (b"order-1", b"one flat white")
    finally:
        consumer.close()


def test_kafka_refuses_a_client_with_the_wrong_password(kafka: Endpoint):
    wrong = Credentials(kafka.credentials.user, "not-the-password")
    admin = AdminClient(kafka_config(kafka.port, wrong))
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)


def test_rabbitmq_confirms_and_delivers_a_message(rabbitmq: Endpoint, unique_name: str):
    connection = pika.BlockingConnection(pika_parameters(rabbitmq.port, rabbitmq.credentials))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(unique_name, durable=True)
        channel.basic_publish("", unique_name, b"one cortado", mandatory=True)
        method, _properties, body = channel.basic_get(unique_name, auto_ack=False)
        assert method is not None, "queue was empty"
        assert body == b"one cortado"
        channel.basic_ack(method.delivery_tag)
        channel.queue_delete(unique_name)
    finally:
        connection.close()


def test_rabbitmq_has_no_guest_user(rabbitmq: Endpoint):
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika_parameters(rabbitmq.port, Credentials("guest", "guest")))


def test_rabbitmq_management_plugin_answers_with_credentials_only(rabbitmq: Endpoint):
    url = f"http://127.0.0.1:{rabbitmq.ports['management']}/api/overview"
    assert http_get(url)[0] == 401
    status, body = http_get(url, rabbitmq.credentials)
    assert status == 200
    assert b'"management_version":"4.' in body


def test_redis_stream_group_delivers_and_acknowledges(redis_server: Endpoint, unique_name: str):
    client = redis_client(redis_server.port, redis_server.credentials)
    message_id = client.xadd(unique_name, {"body": "one americano"})
    client.xgroup_create(unique_name, "baristas", id="0")
    [[stream, [(read_id, fields)]]] = client.xreadgroup(
        "baristas", "barista-1", {unique_name: ">"}, count=1
    )
    assert (stream.decode(), read_id, fields) == (
        unique_name,
        message_id,
        {b"body": b"one americano"},
    )
    assert client.xpending(unique_name, "baristas")["pending"] == 1
    assert client.xack(unique_name, "baristas", read_id) == 1
    assert client.xpending(unique_name, "baristas")["pending"] == 0
    client.delete(unique_name)


def test_redis_refuses_the_passwordless_default_user(redis_server: Endpoint):
    anonymous = redis_client(redis_server.port, None)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
