"""What the RabbitMQ backend does that only RabbitMQ does, measured on the project's RabbitMQ 4.

The semantics every backend shares are in tests/contract; these tests pin down the
RabbitMQ-specific facts the adapter is built on (delivery limit, delivery count on a
connection's death, delay queues, reconnects) so that a RabbitMQ upgrade that changes one of
them fails here, by name.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pika
import pytest

from broker_adapters import (
    BrokerError,
    BrokerUnavailable,
    DeadLettered,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    UnsupportedSemantic,
    connect,
)
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE, MAX_RECEIVES_EXCEEDED
from broker_adapters.rabbitmq import RabbitMQBroker, RabbitMQConfig, RabbitMQSubscription
from tests.support.brokers import Endpoint, pika_parameters, start_rabbitmq
from tests.support.containers import Credentials
from tests.support.receiving import receive_count, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def broker(rabbitmq: Endpoint) -> Iterator[RabbitMQBroker]:
    opened = RabbitMQBroker.from_url(rabbitmq.url)
    try:
        yield opened
    finally:
        opened.close()


def management(endpoint: Endpoint, path: str, method: str = "GET") -> object:
    """A management API call as the broker's user; JSON answer or None."""
    url = f"http://127.0.0.1:{endpoint.ports['management']}/api{path}"
    request = urllib.request.Request(url, method=method)
    user, password = endpoint.credentials.user, endpoint.credentials.password
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


def queue_exists(endpoint: Endpoint, queue: str) -> bool:
    connection = pika.BlockingConnection(pika_parameters(endpoint.port, endpoint.credentials))
    try:
        connection.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != 404:
            raise
        return False
    finally:
        if connection.is_open:
            connection.close()


def test_url_carries_credentials_vhost_and_management_port():
    config = RabbitMQConfig.from_url(
        "amqp://barista%40shop:p%2Fss%3Aword@10.0.0.5:5673/%2Forders?management_port=15673",
        timeout=5,
    )
    assert (config.user, config.password) == ("barista@shop", "p/ss:word")
    assert (config.host, config.port, config.virtual_host) == ("10.0.0.5", 5673, "/orders")
    assert config.management_url == "http://10.0.0.5:15673"
    assert config.timeout == 5
    default = RabbitMQConfig.from_url("amqp://u:p@rabbit")
    assert (default.port, default.virtual_host) == (5672, "/")
    assert default.management_url == "http://rabbit:15672"
    with pytest.raises(TypeError, match="unknown RabbitMQ options"):
        RabbitMQConfig.from_url("amqp://u:p@rabbit", prefetch_count=5)


def test_max_receive_count_is_the_delivery_limit(
    broker: RabbitMQBroker, rabbitmq: Endpoint, unique_name: str
):
    broker.declare_queue(
        unique_name, QueueConfig(redrive_policy=RedrivePolicy("dlq-" + unique_name, 4))
    )
    info = management(rabbitmq, f"/queues/%2F/{quote(unique_name, safe='')}")
    assert isinstance(info, dict)
    assert info["type"] == "quorum"
    assert info["arguments"]["x-delivery-limit"] == 4
    assert info["arguments"]["x-dead-letter-routing-key"] == "dlq-" + unique_name
    described = broker.describe_queue(unique_name)
    assert described is not None
    assert described.redrive_policy is not None
    assert described.redrive_policy.max_receive_count == 4


def test_a_crash_looping_message_is_dead_lettered_by_the_next_receive_after_max_receive_count(
    broker: RabbitMQBroker, rabbitmq: Endpoint, unique_name: str
):
    """Each consumer leaves without settling (its connection closes), as a crash would; the
    receive after the third moves the message, as SQS does, and its process hears of it."""
    dlq = f"{unique_name}-dlq"
    policy = QueueConfig(redrive_policy=RedrivePolicy(dlq, 3))
    broker.declare_queue(unique_name, policy)
    sent = broker.send(unique_name, b"makes the barista crash")
    attempts = []
    for _ in range(3):
        with connect(rabbitmq.url) as crashing:
            crashing.declare_queue(unique_name, policy)
            [delivery] = receive_count(
                lambda c=crashing: c.receive(unique_name, 1, wait=2), 1, ack=False
            )
            attempts.append(delivery.message.attempt)
    assert attempts == [1, 2, 3], "a connection's death counts as a delivery attempt"
    heard: list[DeadLettered] = []
    broker.watch_dead_letters(heard.append)
    assert broker.receive(unique_name, 1, wait=2) == []
    assert [(d.message.id, d.message.attempt) for d in heard] == [(sent, 3)]
    [letter] = receive_count(lambda: broker.receive(dlq, 1, wait=1), 1, timeout=15)
    assert letter.message.id == sent
    assert letter.message.headers[DEAD_LETTER_REASON] == MAX_RECEIVES_EXCEEDED
    assert letter.message.headers[DEAD_LETTER_SOURCE] == unique_name


def test_the_broker_dead_letters_by_itself_when_a_plain_consumer_crashes_once_more(
    broker: RabbitMQBroker, rabbitmq: Endpoint, unique_name: str
):
    """The delivery limit is the backstop for a consumer that dies on the last delivery
    before the adapter could move it: a plain AMQP client takes it a fourth time and leaves."""
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy(dlq, 3)))
    sent = broker.send(unique_name, b"makes every consumer crash")
    for _ in range(4):
        connection = pika.BlockingConnection(pika_parameters(rabbitmq.port, rabbitmq.credentials))
        channel = connection.channel()
        assert wait_for(lambda ch=channel: ch.basic_get(unique_name)[0] is not None, 15)
        connection.close()  # unsettled: the broker puts it back and counts the return
    [letter] = receive_count(lambda: broker.receive(dlq, 1, wait=1), 1, timeout=15)
    assert letter.message.id == sent
    assert letter.message.headers[DEAD_LETTER_REASON] == "delivery_limit"
    assert letter.message.headers[DEAD_LETTER_SOURCE] == unique_name
    assert broker.receive(unique_name, 1, wait=0.5) == []


def test_without_a_redrive_policy_no_message_is_dropped_after_twenty_returns(
    broker: RabbitMQBroker, unique_name: str
):
    """RabbitMQ 4.0 quorum queues default to a delivery limit of 20; SQS has none."""
    broker.declare_queue(unique_name)
    sent = broker.send(unique_name, b"stubborn")
    for attempt in range(1, 26):
        [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
        assert (delivery.message.id, delivery.message.attempt) == (sent, attempt)
        delivery.nack(requeue=True)
    [last] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1)
    assert last.message.attempt == 26


def test_the_last_nack_is_dead_lettered_with_the_consumers_reason(
    broker: RabbitMQBroker, unique_name: str
):
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy(dlq, 2)))
    broker.send(unique_name, b"burnt milk", headers={"table": "4"})
    outcomes = []
    for _ in range(2):
        [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
        delivery.nack(requeue=True, reason="milk burnt")
        outcomes.append(delivery.outcome)
    assert outcomes == [Outcome.REQUEUED, Outcome.DEAD_LETTERED]
    [letter] = receive_count(lambda: broker.receive(dlq, 1, wait=2), 1)
    assert letter.message.headers[DEAD_LETTER_REASON] == "milk burnt"
    assert letter.message.headers["table"] == "4"
    assert letter.message.attempt == 3, "the dead-letter copy counts on from the source"


def test_each_delay_waits_in_its_own_queue_so_a_short_delay_overtakes_a_long_one(
    broker: RabbitMQBroker, rabbitmq: Endpoint, unique_name: str
):
    broker.declare_queue(unique_name)
    slow = broker.send(unique_name, b"slow", delay=30)
    fast = broker.send(unique_name, b"fast", delay=0.5)
    assert queue_exists(rabbitmq, f"{unique_name}.delay.30000ms")
    assert queue_exists(rabbitmq, f"{unique_name}.delay.500ms")
    [delivery] = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 1, timeout=10)
    assert delivery.message.id == fast
    assert delivery.message.id != slow
    assert wait_for(lambda: broker.backlog(unique_name).delayed == 1, timeout=20)
    assert broker.backlog(unique_name).visible == 0


def test_a_delayed_nack_carries_the_receive_count_to_the_new_copy(
    broker: RabbitMQBroker, unique_name: str
):
    broker.declare_queue(unique_name)
    sent = broker.send(unique_name, b"not yet")
    for attempt in (1, 2, 3):
        [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
        assert (delivery.message.id, delivery.message.attempt) == (sent, attempt)
        delivery.nack(requeue=True, delay=0.2)
    [last] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1)
    assert last.message.attempt == 4


def test_a_queue_declared_again_with_another_policy_is_refused(
    broker: RabbitMQBroker, unique_name: str
):
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy("dlq", 3)))
    broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy("dlq", 3)))
    with pytest.raises(BrokerError, match="already exists with other settings"):
        broker.declare_queue(unique_name, QueueConfig(redrive_policy=RedrivePolicy("dlq", 5)))
    broker.send(unique_name, b"still usable")


def test_what_rabbitmq_cannot_do_is_refused_not_ignored(broker: RabbitMQBroker, unique_name: str):
    broker.declare_queue(unique_name)
    with pytest.raises(UnsupportedSemantic, match="no deduplication"):
        broker.send(unique_name, b"x", dedup_id="order-1")
    with pytest.raises(UnsupportedSemantic, match="delay applies to queues"):
        broker.publish_batch(unique_name, [OutgoingMessage(b"x", delay=1)])
    with pytest.raises(QueueNotDeclared):
        broker.receive(f"{unique_name}-never-declared")


def test_a_fire_and_forget_subscription_is_an_exclusive_queue_gone_with_its_connection(
    rabbitmq: Endpoint, unique_name: str
):
    with RabbitMQBroker.from_url(rabbitmq.url) as broker:
        subscription = broker.subscribe(unique_name, "notifier", durable=False)
        assert isinstance(subscription, RabbitMQSubscription)
        queue = subscription.queue
        assert queue.startswith("amq.gen-")
        assert queue_exists(rabbitmq, f"{unique_name}.notifier") is False
    assert queue_exists(rabbitmq, queue) is False


def test_an_ack_after_the_connection_was_replaced_does_nothing_and_the_message_returns(
    rabbitmq: Endpoint, unique_name: str
):
    name = f"stale-{uuid.uuid4().hex[:8]}"
    with RabbitMQBroker.from_url(rabbitmq.url, connection_name=name) as broker:
        broker.declare_queue(unique_name)
        sent = broker.send(unique_name, b"one flat white")
        [held] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)

        def ours() -> list[str]:
            connections = management(rabbitmq, "/connections")
            assert isinstance(connections, list)
            return [c["name"] for c in connections if c.get("user_provided_name") == name]

        assert wait_for(lambda: len(ours()) == 1, timeout=15)
        management(rabbitmq, f"/connections/{quote(ours()[0], safe='')}", method="DELETE")
        # The next call notices the closed connection and reconnects; the old tag is stale.
        [again] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
        assert (again.message.id, again.message.attempt) == (sent, 2)
        assert held.ack() is True, "the first settle wins, even when it cannot reach the broker"
        assert again.ack() is True
        assert broker.receive(unique_name, 1, wait=0.5) == []


def test_heartbeats_keep_a_slow_consumers_connection_between_calls(
    rabbitmq: Endpoint, unique_name: str
):
    with RabbitMQBroker.from_url(rabbitmq.url, heartbeat=1) as broker:
        broker.declare_queue(unique_name)
        broker.send(unique_name, b"a slow pour-over")
        [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
        time.sleep(4)  # the work itself, not a wait: no broker call for four heartbeats
        delivery.ack()
        assert broker.receive(unique_name, 1, wait=0.5) == [], "the ack reached the broker"
        assert delivery.message.attempt == 1


@pytest.fixture
def own_rabbitmq() -> Iterator[Endpoint]:
    """A RabbitMQ of this test's own, since the test stops it."""
    endpoint = start_rabbitmq(Credentials.generate("outage"))
    try:
        yield endpoint
    finally:
        endpoint.container.stop()


def test_an_outage_longer_than_the_timeout_raises_and_the_same_broker_recovers(
    own_rabbitmq: Endpoint, unique_name: str
):
    with RabbitMQBroker.from_url(own_rabbitmq.url, timeout=3) as broker:
        broker.declare_queue(unique_name)
        before = broker.send(unique_name, b"before the outage")
        container = own_rabbitmq.container.get_wrapped_container()
        container.stop(timeout=10)
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            broker.send(unique_name, b"during the outage")
        assert time.monotonic() - started < 3 + 10, "gave up near the configured timeout"
        container.start()
        after = None
        deadline = time.monotonic() + 60
        while after is None:  # each call rides out 3 s of the boot; RabbitMQ needs a few more
            try:
                after = broker.send(unique_name, b"after the outage")
            except BrokerUnavailable:
                assert time.monotonic() < deadline, "RabbitMQ did not come back"
        got = receive_count(lambda: broker.receive(unique_name, 10, wait=1), 2)
        assert sorted(d.message.id for d in got) == sorted([before, after])
