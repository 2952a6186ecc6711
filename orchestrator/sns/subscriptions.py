"""Subscription operations: Subscribe, ConfirmSubscription, Unsubscribe, the listings and
Get/SetSubscriptionAttributes.

An ``sqs`` or ``application`` subscription is confirmed at once; an ``http``/``https`` one
waits for its endpoint to visit the SubscribeURL (or call ConfirmSubscription with the token)
that the delivery controller posts to it. Confirming creates the durable broker subscription
(``sns-{id}``), so a subscription receives what is published from its confirmation on.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from orchestrator import arns
from orchestrator.arns import ACCOUNT_ID
from orchestrator.errors import AwsError
from orchestrator.sns import attributes
from orchestrator.sns.attributes import invalid_parameter
from orchestrator.sns.model import (
    CONFIRMED_BY_ENDPOINT,
    PROTOCOLS,
    Subscription,
    subscription_id_from_arn,
    topic_arn,
)
from orchestrator.sns.service import SnsService, not_found
from orchestrator.sns.topics import PAGE, _start
from orchestrator.sqs.model import name_from_arn as queue_name_from_arn

# What Subscribe answers for a subscription still waiting (ListSubscriptions shows
# "PendingConfirmation").
SUBSCRIBE_PENDING = "pending confirmation"


def _check_endpoint(protocol: str, endpoint: object, fifo: bool) -> str:
    if protocol not in PROTOCOLS:
        raise invalid_parameter(
            f"Amazon SNS does not support this protocol string: {protocol} (Barista supports "
            f"{', '.join(PROTOCOLS)})"
        )
    if not isinstance(endpoint, str) or not endpoint:
        raise invalid_parameter("Endpoint Reason: no value for required parameter")
    if fifo and protocol != "sqs":
        raise invalid_parameter(f"Invalid protocol type: {protocol}: FIFO topics deliver to SQS")
    if protocol == "sqs":
        if queue_name_from_arn(endpoint) is None:
            raise invalid_parameter("SQS endpoint ARN")
    elif protocol in ("http", "https"):
        if not endpoint.startswith(f"{protocol}://"):
            raise invalid_parameter(f"Endpoint Reason: must start with {protocol}://")
    elif not endpoint.startswith(("http://", "https://")):
        raise invalid_parameter(
            "Endpoint Reason: Barista's application endpoints are the HTTP/S URL of the "
            "subscriber service to push to"
        )
    return endpoint


def subscribe(
    service: SnsService,
    arn: object,
    protocol: object,
    endpoint: object,
    given: Mapping[str, str],
    return_arn: bool,
) -> str:
    topic = service.topic(arn)
    features = service.features(topic.backend)
    if not features.durable_subscriptions:
        raise invalid_parameter(
            f"{features.name} declares Features.durable_subscriptions=False; an SNS "
            "subscription keeps its messages while its endpoint is away"
        )
    protocol = str(protocol or "").lower()
    checked_endpoint = _check_endpoint(protocol, endpoint, topic.fifo)
    checked = attributes.subscription_attributes(protocol, given)
    with service.store() as store:
        for existing in store.subscriptions(topic.name):
            if (existing.protocol, existing.endpoint) == (protocol, checked_endpoint):
                if checked and checked != existing.attributes:
                    raise invalid_parameter(
                        "Attributes Reason: Subscription already exists with different attributes"
                    )
                if not existing.confirmed:
                    # Subscribing again sends the confirmation again, as in SNS.
                    store.put_subscription(replace(existing, confirmation_sent=None))
                return existing.arn if existing.confirmed or return_arn else SUBSCRIBE_PENDING
    subscription = Subscription(
        id=str(uuid.uuid4()),
        topic=topic.name,
        protocol=protocol,
        endpoint=checked_endpoint,
        token=secrets.token_hex(64),
        created=service.clock(),
        confirmed=protocol not in CONFIRMED_BY_ENDPOINT,
        attributes=checked,
    )
    if subscription.confirmed:
        service.open_subscription(topic, subscription)
    with service.store() as store:
        store.put_subscription(subscription)
    return subscription.arn if subscription.confirmed or return_arn else SUBSCRIBE_PENDING


def confirm(service: SnsService, arn: object, token: object) -> str:
    topic = service.topic(arn)
    if not isinstance(token, str) or not token:
        raise invalid_parameter("Token Reason: no value for required parameter")
    with service.store() as store:
        subscription = store.subscription_by_token(token)
    if subscription is None or subscription.topic != topic.name:
        raise invalid_parameter("Invalid token")
    if not subscription.confirmed:
        confirmed = replace(subscription, confirmed=True)
        service.open_subscription(topic, confirmed)
        with service.store() as store:
            if store.subscription(subscription.id) is None:
                raise not_found("Subscription does not exist")
            store.put_subscription(confirmed)
    return subscription.arn


def lookup(service: SnsService, arn: object) -> Subscription:
    if not arn:
        raise invalid_parameter("SubscriptionArn Reason: no value for required parameter")
    parts = subscription_id_from_arn(arn)
    if parts is None:
        raise invalid_parameter(
            f"SubscriptionArn Reason: An ARN must have at least 6 elements, not {arn}"
        )
    with service.store() as store:
        subscription = store.subscription(parts[1])
    if subscription is None or subscription.topic != parts[0]:
        raise not_found("Subscription does not exist")
    return subscription


def unsubscribe(service: SnsService, arn: object) -> None:
    try:
        subscription = lookup(service, arn)
    except AwsError as error:
        if error.code == "NotFound":
            return
        raise
    with service.store() as store:
        store.delete_subscription(subscription.id)
        topic = store.topic(subscription.topic)
    if topic is not None:
        service.drop_subscription(topic, subscription)


def _listed(subscription: Subscription) -> dict[str, str]:
    return {
        "SubscriptionArn": subscription.listed_arn,
        "Owner": ACCOUNT_ID,
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "TopicArn": topic_arn(subscription.topic),
    }


def list_subscriptions(service: SnsService, topic_arn_: object, token: object) -> dict[str, Any]:
    name = service.topic(topic_arn_).name if topic_arn_ is not None else None
    with service.store() as store:
        subscriptions = store.subscriptions(name)
    start = _start(token)
    result: dict[str, Any] = {
        "Subscriptions": [_listed(s) for s in subscriptions[start : start + PAGE]]
    }
    if start + PAGE < len(subscriptions):
        result["NextToken"] = str(start + PAGE)
    return result


def get_attributes(service: SnsService, arn: object) -> dict[str, str]:
    subscription = lookup(service, arn)
    with service.store() as store:
        topic = store.topic(subscription.topic)
    shown = {
        "SubscriptionArn": subscription.arn,
        "TopicArn": topic_arn(subscription.topic),
        "Owner": ACCOUNT_ID,
        "SubscriptionPrincipal": arns.arn("iam", "user/barista", region=""),
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "ConfirmationWasAuthenticated": json.dumps(subscription.confirmed),
        "PendingConfirmation": json.dumps(not subscription.confirmed),
        "RawMessageDelivery": "false",
        **subscription.attributes,
    }
    if subscription.protocol in ("http", "https"):
        shown["EffectiveDeliveryPolicy"] = attributes.effective_delivery_policy(subscription, topic)
    if "FilterPolicy" in subscription.attributes:
        shown.setdefault("FilterPolicyScope", "MessageAttributes")
    return shown


def set_attribute(service: SnsService, arn: object, name: object, value: object) -> None:
    subscription = lookup(service, arn)
    if not isinstance(name, str) or not name:
        raise invalid_parameter("AttributeName Reason: no value for required parameter")
    merged = attributes.subscription_attributes(
        subscription.protocol,
        {name: "" if value is None else str(value)},
        subscription.attributes,
    )
    with service.store() as store:
        store.put_subscription(replace(subscription, attributes=merged))
