"""SNS on each real broker, driven by boto3 through the front door: HTTP subscribers confirm
via the SubscribeURL and get SNS's envelope (or the raw message), a filter policy drops what
does not match, a subscriber of ``broker_adapters`` (what the demo's subscribers use) sees
the same message, and an ``sqs`` subscription fans out to a Barista queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from broker_adapters import connect
from orchestrator.api import ApiContext
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sns import service as sns_service
from services.orders import EventKind, OrderEvent
from tests.support.aws_endpoint import CREDENTIALS, serve
from tests.support.brokers import Endpoint as BrokerEndpoint
from tests.support.messaging_lab import Lab, messaging_lab
from tests.support.receiving import receive_count, wait_for
from tests.unit.orchestrator.sns.subscriber import Subscriber, http_subscriber

pytestmark = pytest.mark.docker

TIMEOUT = 60.0


@pytest.fixture
def lab(tmp_path: Path, endpoint: BrokerEndpoint, backend: str) -> Iterator[Lab]:
    with messaging_lab(tmp_path, endpoint, backend) as value:
        yield value


def _subscribe_http(lab: Lab, topic: str, subscriber: Subscriber, **attributes: str) -> str:
    lab.sns.subscribe(
        TopicArn=topic, Protocol="http", Endpoint=subscriber.url, Attributes=attributes
    )

    def confirmed() -> bool:
        listed = lab.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        mine = [s for s in listed if s["Endpoint"] == subscriber.url]
        return bool(mine) and mine[0]["SubscriptionArn"] != "PendingConfirmation"

    assert wait_for(confirmed, timeout=TIMEOUT), "the subscriber should confirm via SubscribeURL"
    listed = lab.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    return str(next(s["SubscriptionArn"] for s in listed if s["Endpoint"] == subscriber.url))


def _size(value: str) -> dict[str, dict[str, str]]:
    return {"size": {"DataType": "String", "StringValue": value}}


def test_http_subscribers_and_broker_subscribers_get_every_published_message(
    lab: Lab, unique_name: str
) -> None:
    topic = lab.sns.create_topic(Name=unique_name)["TopicArn"]
    with (
        http_subscriber() as filtered,
        http_subscriber() as raw,
        connect(lab.broker_url) as broker,
    ):
        filtered_arn = _subscribe_http(lab, topic, filtered, FilterPolicy='{"size": ["large"]}')
        _subscribe_http(lab, topic, raw, RawMessageDelivery="true")
        kitchen = broker.subscribe(unique_name, "kitchen-display")
        try:
            small = lab.sns.publish(
                TopicArn=topic, Message="a small cup", MessageAttributes=_size("small")
            )
            large = lab.sns.publish(
                TopicArn=topic,
                Message="a large cup",
                Subject="order",
                MessageAttributes=_size("large"),
            )

            # The demo's kind of subscriber: the message as published, attributes as headers.
            got = receive_count(lambda: kitchen.receive(10, wait=1.0), 2, timeout=TIMEOUT)
            assert [d.message.body for d in got] == [b"a small cup", b"a large cup"]
            assert [d.message.id for d in got] == [small["MessageId"], large["MessageId"]]
            assert got[1].message.headers["size"] == "large"

            assert wait_for(lambda: len(raw.notifications()) == 2, timeout=TIMEOUT)
            assert sorted(post.body for post in raw.notifications()) == [
                b"a large cup",
                b"a small cup",
            ]
            assert wait_for(lambda: bool(filtered.notifications()), timeout=TIMEOUT)
            (post,) = filtered.notifications()
            envelope = post.json
            assert envelope["Type"] == "Notification"
            assert envelope["MessageId"] == large["MessageId"]
            assert (envelope["Subject"], envelope["Message"]) == ("order", "a large cup")
            assert envelope["MessageAttributes"] == {"size": {"Type": "String", "Value": "large"}}
            assert post.headers["x-amz-sns-subscription-arn"] == filtered_arn
        finally:
            kitchen.close()
            broker.delete_subscription(unique_name, "kitchen-display")
    lab.sns.delete_topic(TopicArn=topic)


def test_sns_fans_out_to_a_barista_queue(lab: Lab, unique_name: str) -> None:
    topic = lab.sns.create_topic(Name=unique_name)["TopicArn"]
    queue_url = lab.sqs.create_queue(QueueName=f"{unique_name}-q")["QueueUrl"]
    queue_arn = lab.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    lab.sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    sent = lab.sns.publish(
        TopicArn=topic, Message="one flat white", MessageAttributes=_size("large")
    )
    messages: list[Any] = []

    def arrived() -> bool:
        messages.extend(
            lab.sqs.receive_message(
                QueueUrl=queue_url, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            ).get("Messages", [])
        )
        return bool(messages)

    assert wait_for(arrived, timeout=TIMEOUT, interval=0.0)
    (message,) = messages
    assert message["Body"] == "one flat white"
    assert message["MessageAttributes"]["size"] == {"DataType": "String", "StringValue": "large"}
    assert sent["MessageId"]
    lab.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    lab.sns.delete_topic(TopicArn=topic)
    lab.sqs.delete_queue(QueueUrl=queue_url)


def test_publishing_to_the_envelope_queue_carries_snss_json(lab: Lab, unique_name: str) -> None:
    topic = lab.sns.create_topic(Name=unique_name)["TopicArn"]
    queue_url = lab.sqs.create_queue(QueueName=f"{unique_name}-q")["QueueUrl"]
    queue_arn = lab.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    lab.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    lab.sns.publish(TopicArn=topic, Message="one cortado")
    messages: list[Any] = []

    def arrived() -> bool:
        messages.extend(
            lab.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        )
        return bool(messages)

    assert wait_for(arrived, timeout=TIMEOUT, interval=0.0)
    envelope = json.loads(messages[0]["Body"])
    assert (envelope["Type"], envelope["Message"], envelope["TopicArn"]) == (
        "Notification",
        "one cortado",
        topic,
    )
    lab.sns.delete_topic(TopicArn=topic)
    lab.sqs.delete_queue(QueueUrl=queue_url)


def test_fifo_topics_live_only_where_order_per_group_is_declared(
    lab: Lab, unique_name: str, backend: str
) -> None:
    name = f"{unique_name}.fifo"
    attributes = {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    if backend != "kafka":
        with pytest.raises(lab.sns.exceptions.InvalidParameterException) as refused:
            lab.sns.create_topic(Name=name, Attributes=attributes)
        assert "Features.ordering='single-consumer'" in str(refused.value)
        return
    topic = lab.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    # An SQS FIFO queue needs deduplication, which Kafka does not declare: a FIFO topic may
    # fan out to a standard queue, as in AWS.
    queue_url = lab.sqs.create_queue(QueueName=f"{unique_name}-q")["QueueUrl"]
    queue_arn = lab.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    lab.sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    with connect(lab.broker_url) as broker:
        with broker.subscribe(name, "kitchen-display") as kitchen:
            first = lab.sns.publish(TopicArn=topic, Message="cup 1", MessageGroupId="table-4")
            again = lab.sns.publish(TopicArn=topic, Message="cup 1", MessageGroupId="table-4")
            assert again["MessageId"] == first["MessageId"]  # deduplicated by content
            for cup in range(2, 6):
                lab.sns.publish(TopicArn=topic, Message=f"cup {cup}", MessageGroupId="table-4")
            # On the topic: once each, in order, with the group id.
            got = receive_count(lambda: kitchen.receive(10, wait=1.0), 5, timeout=TIMEOUT)
            assert [d.message.body for d in got] == [f"cup {n}".encode() for n in range(1, 6)]
            assert {d.message.group_id for d in got} == {"table-4"}
        broker.delete_subscription(name, "kitchen-display")
    messages: list[Any] = []

    def arrived() -> bool:
        got = lab.sqs.receive_message(
            QueueUrl=queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10
        ).get("Messages", [])
        for message in got:
            messages.append(message)
            lab.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages) >= 5

    assert wait_for(arrived, timeout=TIMEOUT, interval=0.0)
    # A standard queue keeps no order (a share group spreads it over partitions).
    assert sorted(m["Body"] for m in messages) == [f"cup {n}" for n in range(1, 6)]
    lab.sns.delete_topic(TopicArn=topic)
    lab.sqs.delete_queue(QueueUrl=queue_url)


def test_aws_sns_publish_to_the_demos_topic_reaches_its_subscribers(
    tmp_path: Path, endpoint: BrokerEndpoint, unique_name: str
) -> None:
    events = f"{unique_name}-events"  # stands in for order-events, adopted the same way
    environ = {"BARISTA_BROKER_URL": endpoint.url, "BARISTA_SNS_TOPICS": events}
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(), environ, CREDENTIALS)
    event = OrderEvent(
        kind=EventKind.READY,
        order_id="o-1",
        customer_id="ada",
        cups=2,
        at=datetime.now(UTC),
        accepted_at=datetime.now(UTC),
        barista="barista-1",
    )
    try:
        with (
            serve(context) as api,
            connect(endpoint.url) as broker,
            broker.subscribe(events, "kitchen-display") as kitchen,
        ):
            listed = api.aws("sns", "list-topics")
            assert listed.returncode == 0, listed.stderr
            arn = f"arn:aws:sns:us-east-1:000000000000:{events}"
            assert {"TopicArn": arn} in json.loads(listed.stdout)["Topics"]
            published = api.aws(
                "sns", "publish", "--topic-arn", arn, "--message", event.model_dump_json()
            )
            assert published.returncode == 0, published.stderr
            (got,) = receive_count(lambda: kitchen.receive(10, wait=1.0), 1, timeout=TIMEOUT)
            assert OrderEvent.model_validate_json(got.message.body) == event
            assert got.message.id == json.loads(published.stdout)["MessageId"]
            kitchen.close()
            broker.delete_subscription(events, "kitchen-display")
    finally:
        sns_service.shutdown()


def test_unsubscribe_stops_delivery_and_forgets_the_broker_subscription(
    lab: Lab, unique_name: str
) -> None:
    topic = lab.sns.create_topic(Name=unique_name)["TopicArn"]
    with http_subscriber() as subscriber:
        arn = _subscribe_http(lab, topic, subscriber, RawMessageDelivery="true")
        lab.sns.publish(TopicArn=topic, Message="before")
        assert wait_for(lambda: bool(subscriber.notifications()), timeout=TIMEOUT)
        lab.sns.unsubscribe(SubscriptionArn=arn)  # its delivery worker is still consuming
        assert lab.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
        lab.sns.publish(TopicArn=topic, Message="after")
        with connect(lab.broker_url) as broker:
            with broker.subscribe(unique_name, "probe") as probe:
                lab.sns.publish(TopicArn=topic, Message="seen by the probe")
                got = receive_count(lambda: probe.receive(10, wait=1.0), 1, timeout=TIMEOUT)
                assert [d.message.body for d in got] == [b"seen by the probe"]
            broker.delete_subscription(unique_name, "probe")
        assert [post.body for post in subscriber.notifications()] == [b"before"]
    lab.sns.delete_topic(TopicArn=topic)
