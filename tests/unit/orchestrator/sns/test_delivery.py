"""The delivery controller over the in-memory broker: an HTTP subscriber on 127.0.0.1
confirms through the SubscribeURL and gets SNS's envelope; filter policies, raw delivery,
the retry policy, the subscription's dead-letter queue and SQS fan-out."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.sns.delivery import DeliveryController
from tests.support.receiving import wait_for
from tests.unit.orchestrator.sns.conftest import QueueRecorder
from tests.unit.orchestrator.sns.subscriber import Subscriber, http_subscriber

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:kitchen"
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:kitchen-dlq"


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with http_subscriber() as started:
        yield started


def _converge(controller: DeliveryController, condition: Any, timeout: float = 10.0) -> bool:
    def passed() -> bool:
        controller.reconcile()
        return bool(condition())

    return wait_for(passed, timeout=timeout, interval=0.05)


def _confirmed_http(
    sns: Any, controller: DeliveryController, subscriber: Subscriber, **attributes: str
) -> tuple[str, str]:
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url, Attributes=attributes)

    def confirmed() -> bool:
        (listed,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        return bool(listed["SubscriptionArn"] != "PendingConfirmation")

    assert _converge(controller, confirmed), "the subscriber should confirm via SubscribeURL"
    (listed,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    return topic, listed["SubscriptionArn"]


def test_an_http_subscriber_confirms_and_gets_the_envelope(
    sns: Any, controller: DeliveryController, subscriber: Subscriber
) -> None:
    topic, subscription = _confirmed_http(sns, controller, subscriber)
    (confirmation,) = subscriber.confirmations()
    document = confirmation.json
    assert document["Type"] == "SubscriptionConfirmation"
    assert document["TopicArn"] == topic
    assert "/sns/?Action=ConfirmSubscription" in document["SubscribeURL"]
    assert confirmation.headers["x-amz-sns-topic-arn"] == topic

    message_id = sns.publish(
        TopicArn=topic,
        Message="one flat white",
        Subject="order",
        MessageAttributes={"size": {"DataType": "String", "StringValue": "large"}},
    )["MessageId"]
    assert _converge(controller, subscriber.notifications)
    (post,) = subscriber.notifications()
    envelope = post.json
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == "order"
    assert envelope["Message"] == "one flat white"
    assert envelope["MessageAttributes"] == {"size": {"Type": "String", "Value": "large"}}
    assert envelope["Timestamp"].endswith("Z")
    assert set(envelope) >= {"SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"}
    assert post.headers["x-amz-sns-subscription-arn"] == subscription
    assert post.headers["x-amz-sns-message-id"] == message_id

    # The UnsubscribeURL works without credentials, as SNS's does.
    with urllib.request.urlopen(envelope["UnsubscribeURL"], timeout=10) as answer:
        assert b"UnsubscribeResponse" in answer.read()
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_raw_message_delivery_posts_the_message_alone(
    sns: Any, controller: DeliveryController, subscriber: Subscriber
) -> None:
    topic, _ = _confirmed_http(sns, controller, subscriber, RawMessageDelivery="true")
    sns.publish(TopicArn=topic, Message='{"order": 1}')
    assert _converge(controller, subscriber.notifications)
    (post,) = subscriber.notifications()
    assert post.body == b'{"order": 1}'
    assert post.headers["x-amz-sns-rawdelivery"] == "true"


def test_a_filter_policy_drops_what_does_not_match(
    sns: Any, controller: DeliveryController, subscriber: Subscriber
) -> None:
    topic, _ = _confirmed_http(sns, controller, subscriber, FilterPolicy='{"size": ["large"]}')
    for size in ("small", "large", "medium"):
        sns.publish(
            TopicArn=topic,
            Message=f"a {size} cup",
            MessageAttributes={"size": {"DataType": "String", "StringValue": size}},
        )
    sns.publish(TopicArn=topic, Message="no size at all")
    assert _converge(controller, subscriber.notifications)
    controller.reconcile()
    assert [post.json["Message"] for post in subscriber.notifications()] == ["a large cup"]


def test_failed_deliveries_are_retried_then_sent_to_the_dead_letter_queue(
    sns: Any, controller: DeliveryController, subscriber: Subscriber, queues: QueueRecorder
) -> None:
    topic, subscription = _confirmed_http(sns, controller, subscriber)
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": DLQ_ARN}),
    )
    subscriber.failures_left = 2  # AWS's default policy: 3 retries, 20 s apart
    sns.publish(TopicArn=topic, Message="second time lucky")
    assert _converge(controller, lambda: len(subscriber.notifications()) == 3)
    assert queues.sent == []

    subscriber.failures_left = 10
    sns.publish(TopicArn=topic, Message="never delivered")
    assert _converge(controller, lambda: queues.to(DLQ_ARN))
    assert len(subscriber.notifications()) == 3 + 4  # the first try and three retries
    (dead,) = queues.to(DLQ_ARN)
    assert json.loads(dead["MessageBody"])["Message"] == "never delivered"
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "HTTP500"


def test_sqs_subscriptions_fan_out_with_or_without_the_envelope(
    sns: Any, controller: DeliveryController, queues: QueueRecorder
) -> None:
    topic = sns.create_topic(Name="orders")["TopicArn"]
    raw_queue = QUEUE_ARN + "-raw"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=QUEUE_ARN)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=raw_queue,
        Attributes={"RawMessageDelivery": "true"},
    )
    attributes = {"size": {"DataType": "String", "StringValue": "large"}}
    sns.publish(
        TopicArn=topic,
        Message=json.dumps({"default": "plain", "sqs": "for queues"}),
        MessageStructure="json",
        MessageAttributes=attributes,
    )
    assert _converge(controller, lambda: queues.to(QUEUE_ARN) and queues.to(raw_queue))
    (enveloped,) = queues.to(QUEUE_ARN)
    assert json.loads(enveloped["MessageBody"])["Message"] == "for queues"
    assert "MessageAttributes" not in enveloped
    (raw,) = queues.to(raw_queue)
    assert raw["MessageBody"] == "for queues"
    assert raw["MessageAttributes"] == attributes


def test_a_missing_queue_is_a_client_error_dead_lettered_at_once(
    sns: Any, controller: DeliveryController, queues: QueueRecorder
) -> None:
    topic = sns.create_topic(Name="orders")["TopicArn"]
    queues.missing.add(QUEUE_ARN)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=QUEUE_ARN,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN})},
    )
    sns.publish(TopicArn=topic, Message="lost order")
    assert _converge(controller, lambda: queues.to(DLQ_ARN))
    (dead,) = queues.to(DLQ_ARN)
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "QueueDoesNotExist"


def test_application_subscriptions_push_the_message_to_the_service(
    sns: Any, controller: DeliveryController, subscriber: Subscriber
) -> None:
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=subscriber.url)
    sns.publish(
        TopicArn=topic,
        Message='{"kind": "order-ready"}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order-ready"}},
    )
    assert _converge(controller, subscriber.notifications)
    (post,) = subscriber.notifications()
    assert post.body == b'{"kind": "order-ready"}'
    assert post.headers["x-amz-sns-attribute-kind"] == "order-ready"
    assert subscriber.confirmations() == []


def test_messages_published_straight_to_the_broker_are_delivered_too(
    sns: Any, controller: DeliveryController, queues: QueueRecorder, broker: Any
) -> None:
    topic = sns.create_topic(Name="order-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=QUEUE_ARN)
    broker.publish("order-events", b'{"kind": "order-ready"}', group_id="customer-1")
    assert _converge(controller, lambda: queues.to(QUEUE_ARN))
    (entry,) = queues.to(QUEUE_ARN)
    assert json.loads(entry["MessageBody"])["Message"] == '{"kind": "order-ready"}'


def test_workers_stop_with_their_subscription(sns: Any, controller: DeliveryController) -> None:
    topic = sns.create_topic(Name="orders")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=QUEUE_ARN)[
        "SubscriptionArn"
    ]
    controller.reconcile()
    assert controller.workers == 1
    sns.unsubscribe(SubscriptionArn=subscription)
    controller.reconcile()
    assert controller.workers == 0


def test_a_body_filter_policy_reads_the_demos_json_events(
    sns: Any, controller: DeliveryController, queues: QueueRecorder, broker: Any
) -> None:
    topic = sns.create_topic(Name="order-events")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=QUEUE_ARN,
        Attributes={
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"kind": ["order-ready"], "cups": [{"numeric": [">", 1]}]}),
            "RawMessageDelivery": "true",
        },
    )
    for kind, cups in (("order-placed", 2), ("order-ready", 1), ("order-ready", 3)):
        broker.publish("order-events", json.dumps({"kind": kind, "cups": cups}).encode())
    broker.publish("order-events", b"not json")
    assert _converge(controller, lambda: queues.to(QUEUE_ARN))
    controller.reconcile()
    assert [json.loads(e["MessageBody"]) for e in queues.to(QUEUE_ARN)] == [
        {"kind": "order-ready", "cups": 3}
    ]


def test_subscribing_again_resends_the_confirmation(
    sns: Any, controller: DeliveryController
) -> None:
    with http_subscriber(confirm=False) as shy:
        topic = sns.create_topic(Name="orders")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=shy.url)
        assert _converge(controller, shy.confirmations)
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=shy.url)
        assert _converge(controller, lambda: len(shy.confirmations()) == 2)
        token = shy.confirmations()[-1].json["Token"]
        arn = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
        (listed,) = sns.list_subscriptions()["Subscriptions"]
        assert listed["SubscriptionArn"] == arn
