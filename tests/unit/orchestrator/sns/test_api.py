"""SNS through boto3 and the aws CLI on the in-process front door: topics, subscriptions,
attributes and publishing, with AWS's codes for what SNS refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_endpoint import Endpoint
from tests.unit.services.fakes import RecordingBroker

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:kitchen"
SLOW_POLICY = json.dumps(
    {"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60}}
)


def _error(refused: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = refused.value.response["Error"]
    return error["Code"], error["Message"]


def test_the_demos_topic_is_adopted_on_the_default_backend(sns: Any) -> None:
    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert arns == ["arn:aws:sns:us-east-1:000000000000:order-events"]
    tags = sns.list_tags_for_resource(ResourceArn=arns[0])["Tags"]
    assert tags == [{"Key": "barista:backend", "Value": "redis"}]


def test_create_get_set_and_delete_a_topic(sns: Any) -> None:
    arn = sns.create_topic(Name="orders", Attributes={"DisplayName": "Orders"})["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:000000000000:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn  # idempotent
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Orders"
    assert attributes["SubscriptionsConfirmed"] == "0"
    policy = json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]
    assert (policy["numRetries"], policy["minDelayTarget"], policy["maxDelayTarget"]) == (3, 20, 20)
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Cups")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Cups"
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as missing:
        sns.get_topic_attributes(TopicArn=arn)
    assert _error(missing)[0] == "NotFound"
    sns.delete_topic(TopicArn=arn)  # deleting again succeeds, as in SNS


def test_fifo_topics_need_a_backend_with_order_per_group(sns: Any) -> None:
    with pytest.raises(ClientError) as refused:
        sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})
    code, message = _error(refused)
    assert code == "InvalidParameter"
    assert "Features.ordering='single-consumer'" in message


@pytest.mark.parametrize(
    ("name", "attributes", "reason"),
    [
        ("orders.fifo", {}, ".fifo"),
        ("orders", {"FifoTopic": "true"}, ".fifo"),
        ("orders", {"ContentBasedDeduplication": "true"}, "only FIFO topics"),
        ("orders", {"KmsMasterKeyId": "alias/aws/sns"}, "does not encrypt"),
        ("orders", {"Colour": "blue"}, "Colour"),
        ("bad name!", {}, "Topic Name"),
    ],
)
def test_invalid_topics_are_refused(
    sns: Any, name: str, attributes: dict[str, str], reason: str
) -> None:
    with pytest.raises(ClientError) as refused:
        sns.create_topic(Name=name, Attributes=attributes)
    code, message = _error(refused)
    assert code == "InvalidParameter"
    assert reason in message


def test_a_backend_tag_must_name_a_configured_backend(sns: Any) -> None:
    with pytest.raises(ClientError) as refused:
        sns.create_topic(Name="orders", Tags=[{"Key": "barista:backend", "Value": "kafka"}])
    assert "no kafka broker is configured" in _error(refused)[1]
    with pytest.raises(ClientError) as unknown:
        sns.create_topic(Name="orders", Tags=[{"Key": "barista:backend", "Value": "nats"}])
    assert "not a backend" in _error(unknown)[1]


def test_subscriptions_to_queues_are_confirmed_at_once(sns: Any, broker: RecordingBroker) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    subscription = sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=QUEUE_ARN,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": '{"size": ["large"]}'},
    )["SubscriptionArn"]
    assert subscription.startswith(arn + ":")
    (listed,) = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert listed == {
        "SubscriptionArn": subscription,
        "Owner": "000000000000",
        "Protocol": "sqs",
        "Endpoint": QUEUE_ARN,
        "TopicArn": arn,
    }
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    assert attributes["FilterPolicyScope"] == "MessageAttributes"
    assert attributes["PendingConfirmation"] == "false"
    # The durable broker subscription exists: it keeps what is published from now on.
    sns.publish(TopicArn=arn, Message="hello")
    name = "sns-" + subscription.rsplit(":", 1)[1]
    kept = broker.subscribe("orders", name).receive(max_messages=10)
    assert [delivery.message.body for delivery in kept] == [b"hello"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1"
    sns.unsubscribe(SubscriptionArn=subscription)
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_http_subscriptions_wait_for_confirmation(sns: Any) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    answer = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://127.0.0.1:9/events")
    assert answer["SubscriptionArn"] == "pending confirmation"
    (listed,) = sns.list_subscriptions()["Subscriptions"]
    assert listed["SubscriptionArn"] == "PendingConfirmation"
    full = sns.subscribe(
        TopicArn=arn,
        Protocol="http",
        Endpoint="http://127.0.0.1:9/events",
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=full)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"
    with pytest.raises(ClientError) as refused:
        sns.confirm_subscription(TopicArn=arn, Token="not-the-token")
    assert _error(refused) == ("InvalidParameter", "Invalid parameter: Invalid token")


@pytest.mark.parametrize(
    ("protocol", "target", "attributes", "reason"),
    [
        ("email", "a@example.com", {}, "does not support this protocol"),
        ("sqs", "not-an-arn", {}, "SQS endpoint ARN"),
        ("https", "http://127.0.0.1/x", {}, "https://"),
        ("sqs", QUEUE_ARN, {"FilterPolicy": '{"a": "b"}'}, "must be an array"),
        ("sqs", QUEUE_ARN, {"FilterPolicyScope": "Everything"}, "FilterPolicyScope"),
        ("sqs", QUEUE_ARN, {"RawMessageDelivery": "yes"}, "true or false"),
        ("sqs", QUEUE_ARN, {"DeliveryPolicy": '{"healthyRetryPolicy": {}}'}, "only HTTP/S"),
        ("sqs", QUEUE_ARN, {"RedrivePolicy": '{"deadLetterTargetArn": "x"}'}, "RedrivePolicy"),
        (
            "http",
            "http://127.0.0.1/x",
            {"DeliveryPolicy": SLOW_POLICY},
            "at most 3600",
        ),
    ],
)
def test_invalid_subscriptions_are_refused(
    sns: Any, protocol: str, target: str, attributes: dict[str, str], reason: str
) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    with pytest.raises(ClientError) as refused:
        sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=target, Attributes=attributes)
    code, message = _error(refused)
    assert code == "InvalidParameter"
    assert reason in message


def test_set_subscription_attributes(sns: Any) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    subscription = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=QUEUE_ARN)[
        "SubscriptionArn"
    ]
    policy = '{"patient": {"age": [{"numeric": [">", 40]}]}}'
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="FilterPolicyScope",
        AttributeValue="MessageBody",
    )
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="FilterPolicy", AttributeValue=policy
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert (attributes["FilterPolicy"], attributes["FilterPolicyScope"]) == (policy, "MessageBody")
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": QUEUE_ARN + "-dlq"}),
    )
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="FilterPolicy", AttributeValue=""
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert "FilterPolicy" not in attributes
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith("kitchen-dlq")


def test_publish_puts_the_message_and_its_attributes_on_the_broker_topic(
    sns: Any, broker: RecordingBroker
) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    message_id = sns.publish(
        TopicArn=arn,
        Message="one flat white",
        Subject="order",
        MessageAttributes={
            "size": {"DataType": "String", "StringValue": "large"},
            "cups": {"DataType": "Number", "StringValue": "2"},
            "extras": {"DataType": "String.Array", "StringValue": '["oat", "vanilla"]'},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )["MessageId"]
    (sent,) = broker.published
    assert (sent.destination, sent.message.body, sent.message.id) == (
        "orders",
        b"one flat white",
        message_id,
    )
    headers = sent.message.headers
    assert headers["size"] == "large"
    assert headers["sns-subject"] == "order"
    assert json.loads(headers["sqs-data-types"]) == {
        "blob": "Binary",
        "cups": "Number",
        "extras": "String.Array",
    }


def test_publish_with_a_message_structure(sns: Any, broker: RecordingBroker) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    message = json.dumps({"default": "for everyone", "sqs": "for queues"})
    sns.publish(TopicArn=arn, Message=message, MessageStructure="json")
    (sent,) = broker.published
    assert sent.message.body == b"for everyone"
    assert json.loads(sent.message.headers["sns-message-structure"]) == {"sqs": "for queues"}
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=arn, Message='{"sqs": "x"}', MessageStructure="json")
    assert "No default entry" in _error(refused)[1]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"Message": ""}, "Empty message"),
        ({"Message": "x", "MessageDeduplicationId": "d"}, "not valid for this topic type"),
        ({"Message": "x", "Subject": "s" * 101}, "Subject"),
        ({"Message": "x" * (256 * 1024 + 1)}, "Message too long"),
        ({"Message": "x", "PhoneNumber": "+15555550100"}, "SMS"),
    ],
)
def test_invalid_publishes_are_refused(sns: Any, params: dict[str, Any], reason: str) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=arn, **params)
    assert reason in _error(refused)[1]


def test_publish_to_a_missing_topic_is_not_found(sns: Any) -> None:
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:nope", Message="x")
    assert _error(refused) == ("NotFound", "Topic does not exist")


def test_publish_batch_reports_each_entry(sns: Any, broker: RecordingBroker) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    answer = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[
            {"Id": "a", "Message": "first"},
            {"Id": "b", "Message": ""},
            {
                "Id": "c",
                "Message": "third",
                "MessageAttributes": {"size": {"DataType": "String", "StringValue": "small"}},
            },
        ],
    )
    assert [entry["Id"] for entry in answer["Successful"]] == ["a", "c"]
    (failed,) = answer["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("b", "InvalidParameter", True)
    assert [sent.message.body for sent in broker.published] == [b"first", b"third"]
    with pytest.raises(ClientError) as duplicate:
        sns.publish_batch(
            TopicArn=arn,
            PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}],
        )
    assert _error(duplicate)[0] == "BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as too_many:
        sns.publish_batch(
            TopicArn=arn,
            PublishBatchRequestEntries=[{"Id": str(i), "Message": "x"} for i in range(11)],
        )
    assert _error(too_many)[0] == "TooManyEntriesInBatchRequest"


def test_the_backend_tag_cannot_change(sns: Any) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "counter"}])
    with pytest.raises(ClientError) as refused:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "barista:backend", "Value": "kafka"}])
    assert _error(refused)[0] == "InvalidParameter"
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "barista:backend", "Value": "redis"}
    ]


def test_the_aws_cli_publishes(endpoint: Endpoint, broker: RecordingBroker) -> None:
    arn = "arn:aws:sns:us-east-1:000000000000:order-events"
    answer = endpoint.aws(
        "sns",
        "publish",
        "--topic-arn",
        arn,
        "--message",
        '{"kind": "order-ready"}',
        "--message-attributes",
        '{"kind": {"DataType": "String", "StringValue": "order-ready"}}',
    )
    assert answer.returncode == 0, answer.stderr
    (sent,) = broker.published
    assert json.loads(answer.stdout)["MessageId"] == sent.message.id
    assert (sent.destination, sent.message.headers["kind"]) == ("order-events", "order-ready")
