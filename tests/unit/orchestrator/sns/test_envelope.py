"""SNS's JSON envelope and the broker wire form of an SNS message."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from broker_adapters import Message
from orchestrator.sns import envelope
from orchestrator.sns.messages import outgoing, published
from orchestrator.sns.model import Subscription, Topic
from orchestrator.sns.signing import Signer

TOPIC = Topic("orders", "redis", 0.0)
SUBSCRIPTION = Subscription(
    id="3f1c",
    topic="orders",
    protocol="http",
    endpoint="http://127.0.0.1:1/",
    token="t0k",
    created=0.0,
    confirmed=True,
)
ENDPOINT = "http://127.0.0.1:8500"
SIGNER = Signer.load_or_create(Path(tempfile.mkdtemp(prefix="barista-sns-signing-")))


def _received(**kwargs: object) -> Message:
    sent = outgoing(
        "one flat white",
        subject=kwargs.get("subject"),  # type: ignore[arg-type]
        attributes=kwargs.get("attributes", {}),  # type: ignore[arg-type]
        per_protocol=kwargs.get("per_protocol", {}),  # type: ignore[arg-type]
        group_id=None,
        dedup_id=None,
    )
    return Message(sent.body, id="m-1", timestamp=1_764_806_400.25, headers=dict(sent.headers))


def test_a_notification_has_snss_fields_in_snss_order() -> None:
    message = published(
        _received(
            subject="order",
            attributes={
                "size": {"DataType": "String", "StringValue": "large"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
            },
        )
    )
    document = envelope.notification(message, TOPIC, SUBSCRIPTION, ENDPOINT, SIGNER)
    assert list(document) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert document["Timestamp"] == "2025-12-04T00:00:00.250Z"
    assert document["TopicArn"] == "arn:aws:sns:us-east-1:000000000000:orders"
    assert document["MessageAttributes"] == {
        "blob": {"Type": "Binary", "Value": "AP8="},
        "size": {"Type": "String", "Value": "large"},
    }
    assert document["UnsubscribeURL"].startswith(f"{ENDPOINT}/sns/?Action=Unsubscribe")
    assert document["SignatureVersion"] == "1"
    assert document["Signature"]
    assert document["SigningCertURL"] == (
        f"{ENDPOINT}/sns/SimpleNotificationService-{SIGNER.certificate_name}.pem"
    )


def test_a_notification_without_subject_or_attributes_leaves_them_out() -> None:
    document = envelope.notification(published(_received()), TOPIC, SUBSCRIPTION, ENDPOINT, SIGNER)
    assert "Subject" not in document
    assert "MessageAttributes" not in document


def test_the_per_protocol_text_of_a_structured_message() -> None:
    message = published(_received(per_protocol={"http": "for web hooks"}))
    assert (
        envelope.notification(message, TOPIC, SUBSCRIPTION, ENDPOINT, SIGNER)["Message"]
        == "for web hooks"
    )
    assert message.text_for("sqs") == "one flat white"


def test_a_plain_broker_message_is_a_plain_notification() -> None:
    message = published(
        Message(b'{"kind": "order-ready"}', id="k-0-1", timestamp=0.0, group_id="c-1")
    )
    assert (message.message, message.subject, dict(message.attributes)) == (
        '{"kind": "order-ready"}',
        None,
        {},
    )
    assert message.group_id == "c-1"


def test_the_subscription_confirmation() -> None:
    document = envelope.subscription_confirmation(SUBSCRIPTION, TOPIC, ENDPOINT, 0.0, SIGNER)
    assert document["Type"] == "SubscriptionConfirmation"
    assert document["Token"] == "t0k"
    assert document["SubscribeURL"] == (
        f"{ENDPOINT}/sns/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A"
        "000000000000%3Aorders&Token=t0k"
    )
    assert json.loads(envelope.encode(document)) == document
