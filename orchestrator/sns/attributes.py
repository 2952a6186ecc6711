"""SNS's topic and subscription attributes: which exist, which values they take, and which a
backend can honour (its ``Features``). Refusals are ``InvalidParameter``, as SNS words them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from broker_adapters import Features
from orchestrator.errors import AwsError
from orchestrator.sns import filter_policy, retries
from orchestrator.sns.model import FIFO_SUFFIX, Subscription, Topic
from orchestrator.sqs.model import name_from_arn as queue_name_from_arn

TOPIC_SETTABLE = (
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "ContentBasedDeduplication",
    "SignatureVersion",
    "TracingConfig",
)
TOPIC_CREATE_ONLY = ("FifoTopic",)
SUBSCRIPTION_SETTABLE = (
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
)
# Attributes of AWS's that Barista does not model; refused so a caller knows.
NOT_MODELLED = {
    "KmsMasterKeyId": "Barista does not encrypt topics at rest",
    "ArchivePolicy": "Barista does not archive FIFO topics (no message replay)",
    "SubscriptionRoleArn": "Barista has no Firehose subscriptions",
    "ReplayPolicy": "Barista does not replay messages",
    "FifoThroughputScope": "Barista has one throughput mode",
}


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameter", f"Invalid parameter: {message}")


def _boolean(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise invalid_parameter(f"Attributes Reason: {name}: must be true or false, got {value}")
    return value.lower()


def _name_check(name: str, settable: tuple[str, ...]) -> None:
    if name in NOT_MODELLED:
        raise invalid_parameter(f"AttributeName {name}: {NOT_MODELLED[name]}")
    if name not in settable:
        raise invalid_parameter(f"AttributeName {name}: not an attribute Barista can set")


def fifo_refusal(features: Features) -> str | None:
    """Why a backend cannot hold a FIFO topic (order per message group), or None."""
    if features.ordering == "group":
        return None
    return (
        f"{features.name} declares Features.ordering={features.ordering!r}; a FIFO topic needs "
        "order per message group ('group')"
    )


def topic_attributes(
    name: str, given: Mapping[str, str], features: Features, *, creating: bool
) -> dict[str, str]:
    """Checked topic attributes (AWS's spellings of true/false) for CreateTopic or one
    SetTopicAttributes call."""
    checked: dict[str, str] = {}
    fifo = name.endswith(FIFO_SUFFIX)
    for key, raw in given.items():
        value = str(raw)
        _name_check(key, TOPIC_SETTABLE + (TOPIC_CREATE_ONLY if creating else ()))
        if key in ("FifoTopic", "ContentBasedDeduplication"):
            value = _boolean(key, value)
        elif key == "DeliveryPolicy" and value:
            try:
                retries.parse_topic_policy(value)
            except retries.DeliveryPolicyError as error:
                raise invalid_parameter(str(error)) from error
        elif key == "SignatureVersion" and value not in ("1", "2"):
            raise invalid_parameter("Attributes Reason: SignatureVersion: must be 1 or 2")
        elif key == "TracingConfig" and value not in ("PassThrough", "Active"):
            raise invalid_parameter("Attributes Reason: TracingConfig: PassThrough or Active")
        elif key == "Policy" and value:
            _json_object(key, value)
        checked[key] = value
    if creating:
        declared_fifo = checked.get("FifoTopic") == "true"
        if declared_fifo != fifo:
            raise invalid_parameter(
                "Topic Name: a FIFO topic's name ends with .fifo and sets FifoTopic=true"
                if fifo
                else "Topic Name: FifoTopic=true needs a name ending with .fifo"
            )
        if fifo:
            refusal = fifo_refusal(features)
            if refusal:
                raise invalid_parameter(f"Attributes Reason: FifoTopic: {refusal}")
    if checked.get("ContentBasedDeduplication") == "true" and not fifo:
        raise invalid_parameter(
            "Attributes Reason: ContentBasedDeduplication: only FIFO topics deduplicate"
        )
    return checked


def _json_object(name: str, value: str) -> dict[str, Any]:
    try:
        document = json.loads(value)
    except ValueError as error:
        raise invalid_parameter(f"{name}: failed to parse JSON. {error}") from error
    if not isinstance(document, dict):
        raise invalid_parameter(f"{name}: must be a JSON object")
    return document


def subscription_attributes(
    protocol: str, given: Mapping[str, str], current: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Checked subscription attributes for Subscribe or one SetSubscriptionAttributes call;
    the result is the whole new set (``current`` with ``given`` applied)."""
    merged = dict(current or {})
    for key, raw in given.items():
        value = _subscription_value(protocol, key, str(raw))
        if value == "" and key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
            merged.pop(key, None)
            if key == "FilterPolicy":
                merged.pop("FilterPolicyScope", None)
            continue
        merged[key] = value
    if merged.get("FilterPolicy"):
        try:
            filter_policy.parse(
                merged["FilterPolicy"], merged.get("FilterPolicyScope", "MessageAttributes")
            )
        except filter_policy.FilterPolicyError as error:
            raise invalid_parameter(str(error)) from error
    elif given.get("FilterPolicyScope"):
        merged["FilterPolicyScope"] = str(given["FilterPolicyScope"])
    return merged


def _subscription_value(protocol: str, key: str, value: str) -> str:
    _name_check(key, SUBSCRIPTION_SETTABLE)
    if key == "RawMessageDelivery":
        if protocol not in ("sqs", "http", "https"):
            raise invalid_parameter(
                f"Attributes Reason: RawMessageDelivery: not for protocol {protocol}"
            )
        return _boolean(key, value)
    if key == "DeliveryPolicy" and value:
        if protocol not in ("http", "https"):
            raise invalid_parameter(
                "Attributes Reason: DeliveryPolicy: only HTTP/S subscriptions take a "
                "delivery policy"
            )
        try:
            retries.parse_subscription_policy(value)
        except retries.DeliveryPolicyError as error:
            raise invalid_parameter(str(error)) from error
    elif key == "FilterPolicyScope" and value not in filter_policy.SCOPES:
        raise invalid_parameter(
            f"FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or "
            "MessageAttributes"
        )
    elif key == "RedrivePolicy" and value:
        _redrive(value)
    return value


def _redrive(value: str) -> str:
    document = _json_object("RedrivePolicy", value)
    target = document.get("deadLetterTargetArn")
    if set(document) != {"deadLetterTargetArn"} or queue_name_from_arn(target or "") is None:
        raise invalid_parameter(
            'RedrivePolicy: must be {"deadLetterTargetArn": "<an SQS queue ARN>"}'
        )
    return str(target)


def dead_letter_queue(subscription: Subscription) -> str | None:
    """The ARN of the subscription's dead-letter queue, if it has one."""
    value = subscription.attributes.get("RedrivePolicy")
    return _redrive(value) if value else None


def parsed_filter(subscription: Subscription) -> filter_policy.FilterPolicy | None:
    text = subscription.attributes.get("FilterPolicy")
    if not text:
        return None
    return filter_policy.parse(
        text, subscription.attributes.get("FilterPolicyScope", "MessageAttributes")
    )


def retry_policy(subscription: Subscription, topic: Topic | None) -> retries.RetryPolicy:
    """The effective retry policy: the subscription's, else the topic's, else AWS's default
    for the protocol."""
    if subscription.protocol == "sqs":
        return retries.SQS_DEFAULT
    own = subscription.attributes.get("DeliveryPolicy")
    if own:
        policy = retries.parse_subscription_policy(own)
        if policy is not None:
            return policy
    topic_policy = topic.attributes.get("DeliveryPolicy") if topic else None
    if topic_policy:
        policy = retries.parse_topic_policy(topic_policy)
        if policy is not None:
            return policy
    return retries.HTTP_DEFAULT


def retry_policy_of_topic(topic: Topic) -> retries.RetryPolicy:
    text = topic.attributes.get("DeliveryPolicy")
    policy = retries.parse_topic_policy(text) if text else None
    return policy or retries.HTTP_DEFAULT


def effective_delivery_policy(subscription: Subscription, topic: Topic | None) -> str:
    policy = retry_policy(subscription, topic)
    return json.dumps(
        {
            "healthyRetryPolicy": policy.document(),
            "sicklyRetryPolicy": None,
            "throttlePolicy": None,
            "guaranteed": False,
        },
        separators=(",", ":"),
    )
