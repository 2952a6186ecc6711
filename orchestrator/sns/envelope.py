"""SNS's JSON envelope: what an HTTP/S endpoint (and, without raw delivery, an SQS queue)
receives, and the headers an HTTP/S POST carries.

Every envelope is signed as SNS signs its own (``signing.py``): ``SignatureVersion`` is the
topic's (``1`` by default), ``SigningCertURL`` a certificate on the orchestrator's address.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from orchestrator.sns.messages import Published
from orchestrator.sns.model import Subscription, Topic, topic_arn
from orchestrator.sns.signing import Signer


def timestamp(seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, as SNS writes it: 2026-12-03T22:00:00.000Z."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _signature_fields(topic: Topic | None) -> dict[str, str]:
    """Placeholders in SNS's place in the document; ``Signer.sign`` fills them."""
    version = topic.attributes.get("SignatureVersion", "1") if topic else "1"
    return {"SignatureVersion": version, "Signature": "", "SigningCertURL": ""}


def subscribe_url(endpoint: str, subscription: Subscription) -> str:
    query = urlencode(
        {
            "Action": "ConfirmSubscription",
            "TopicArn": topic_arn(subscription.topic),
            "Token": subscription.token,
        }
    )
    return f"{endpoint.rstrip('/')}/sns/?{query}"


def unsubscribe_url(endpoint: str, subscription: Subscription) -> str:
    query = urlencode({"Action": "Unsubscribe", "SubscriptionArn": subscription.arn})
    return f"{endpoint.rstrip('/')}/sns/?{query}"


def envelope_attributes(attributes: Any) -> dict[str, dict[str, str]]:
    """MessageAttributes as the envelope shows them: ``{"Type": …, "Value": …}``."""
    shown: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if "BinaryValue" in value:
            text = base64.b64encode(value["BinaryValue"]).decode()
        else:
            text = str(value.get("StringValue", ""))
        shown[name] = {"Type": str(value["DataType"]), "Value": text}
    return shown


def notification(
    message: Published,
    topic: Topic | None,
    subscription: Subscription,
    endpoint: str,
    signer: Signer,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message.message_id,
        "TopicArn": topic_arn(subscription.topic),
    }
    if message.subject is not None:
        document["Subject"] = message.subject
    document |= {
        "Message": message.text_for(subscription.protocol),
        "Timestamp": timestamp(message.timestamp),
        **_signature_fields(topic),
        "UnsubscribeURL": unsubscribe_url(endpoint, subscription),
    }
    if message.attributes:
        document["MessageAttributes"] = envelope_attributes(message.attributes)
    return signer.sign(document, endpoint)


def subscription_confirmation(
    subscription: Subscription, topic: Topic | None, endpoint: str, now: float, signer: Signer
) -> dict[str, Any]:
    arn = topic_arn(subscription.topic)
    document = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": subscription.token,
        "TopicArn": arn,
        "Message": (
            f"You have chosen to subscribe to the topic {arn}.\nTo confirm the subscription, "
            "visit the SubscribeURL included in this message."
        ),
        "SubscribeURL": subscribe_url(endpoint, subscription),
        "Timestamp": timestamp(now),
        **_signature_fields(topic),
    }
    return signer.sign(document, endpoint)


def http_headers(
    kind: str, message_id: str, subscription: Subscription, *, raw: bool = False
) -> dict[str, str]:
    """The headers of SNS's POST to an HTTP/S endpoint."""
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic_arn(subscription.topic),
    }
    if kind == "Notification":
        headers["x-amz-sns-subscription-arn"] = subscription.arn
    if raw:
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()
