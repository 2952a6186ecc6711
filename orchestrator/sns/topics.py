"""Topic operations: CreateTopic, ListTopics, Get/SetTopicAttributes, DeleteTopic, tags."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from orchestrator.errors import AwsError
from orchestrator.sns import attributes
from orchestrator.sns.attributes import invalid_parameter
from orchestrator.sns.model import ACCOUNT_ID, BACKEND_TAG, Topic, valid_name
from orchestrator.sns.service import SnsService

PAGE = 100


def create_topic(
    service: SnsService, name: object, given: Mapping[str, str], tags: Mapping[str, str]
) -> str:
    """The topic's ARN; creating an existing topic with the same settings returns it."""
    if not isinstance(name, str) or not valid_name(name):
        raise invalid_parameter(
            "Topic Name: must be 1-256 letters, digits, hyphens and underscores (and .fifo)"
        )
    with service.store() as store:
        existing = store.topic(name)
    if existing is not None:
        backend = tags.get(BACKEND_TAG)
        if backend and backend != existing.backend:
            raise invalid_parameter(
                f"Tags Reason: topic {name} lives on {existing.backend}; it cannot move to "
                f"{backend}"
            )
        return existing.arn
    backend = service.backend_for(tags)
    checked = attributes.topic_attributes(name, given, service.features(backend), creating=True)
    topic = Topic(name, backend, service.clock(), checked, {**tags, BACKEND_TAG: backend})
    with service.store() as store:
        return store.create_topic(topic).arn


def list_topics(service: SnsService, token: object) -> dict[str, Any]:
    with service.store() as store:
        topics = store.topics()
    start = _start(token)
    page = topics[start : start + PAGE]
    result: dict[str, Any] = {"Topics": [{"TopicArn": topic.arn} for topic in page]}
    if start + PAGE < len(topics):
        result["NextToken"] = str(start + PAGE)
    return result


def _start(token: object) -> int:
    if token in (None, ""):
        return 0
    if not isinstance(token, str) or not token.isdigit():
        raise invalid_parameter("NextToken")
    return int(token)


def default_policy(topic: Topic) -> str:
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:GetTopicAttributes"],
                    "Resource": topic.arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT_ID}},
                }
            ],
        },
        separators=(",", ":"),
    )


def get_topic_attributes(service: SnsService, arn: object) -> dict[str, str]:
    topic = service.topic(arn)
    with service.store() as store:
        subscriptions = store.subscriptions(topic.name)
    confirmed = sum(1 for s in subscriptions if s.confirmed)
    shown = {
        "TopicArn": topic.arn,
        "Owner": ACCOUNT_ID,
        "Policy": default_policy(topic),
        "DisplayName": "",
        "SubscriptionsConfirmed": str(confirmed),
        "SubscriptionsPending": str(len(subscriptions) - confirmed),
        "SubscriptionsDeleted": "0",
        "EffectiveDeliveryPolicy": json.dumps(
            {
                "http": {
                    "defaultHealthyRetryPolicy": attributes.retry_policy_of_topic(topic).document(),
                    "disableSubscriptionOverrides": False,
                }
            },
            separators=(",", ":"),
        ),
        **topic.attributes,
    }
    if topic.fifo:
        shown.setdefault("ContentBasedDeduplication", "false")
    return shown


def set_topic_attribute(service: SnsService, arn: object, name: object, value: object) -> None:
    topic = service.topic(arn)
    if not isinstance(name, str) or not name:
        raise invalid_parameter("AttributeName Reason: no value for required parameter")
    if name == "FifoTopic":
        raise invalid_parameter("AttributeName Reason: FifoTopic is set at creation only")
    checked = attributes.topic_attributes(
        topic.name,
        {name: "" if value is None else str(value)},
        service.features(topic.backend),
        creating=False,
    )
    with service.store() as store:
        store.put_topic(replace(topic, attributes={**topic.attributes, **checked}))


def delete_topic(service: SnsService, arn: object) -> None:
    """Deleting a topic that does not exist succeeds, as in SNS."""
    try:
        topic = service.topic(arn)
    except AwsError as error:
        if error.code == "NotFound":
            return
        raise
    with service.store() as store:
        gone = store.delete_topic(topic.name)
    for subscription in gone:
        service.drop_subscription(topic, subscription)


def tags_of(pairs: object) -> dict[str, str]:
    """``Tags: [{Key, Value}]`` as a dict."""
    if pairs is None:
        return {}
    if not isinstance(pairs, Sequence):
        raise invalid_parameter("Tags")
    tags: dict[str, str] = {}
    for pair in pairs:
        if not isinstance(pair, Mapping) or not isinstance(pair.get("Key"), str):
            raise invalid_parameter("Tags Reason: every tag needs a Key")
        tags[pair["Key"]] = str(pair.get("Value", ""))
    return tags


def tag_resource(service: SnsService, arn: object, tags: Mapping[str, str]) -> None:
    topic = service.topic(arn, "ResourceArn")
    if BACKEND_TAG in tags and tags[BACKEND_TAG] != topic.backend:
        raise invalid_parameter(
            f"Tags Reason: {BACKEND_TAG} is chosen at creation; {topic.name} stays on "
            f"{topic.backend}"
        )
    with service.store() as store:
        store.put_topic(replace(topic, tags={**topic.tags, **tags}))


def untag_resource(service: SnsService, arn: object, keys: Sequence[str]) -> None:
    topic = service.topic(arn, "ResourceArn")
    if BACKEND_TAG in keys:
        raise invalid_parameter(f"TagKeys Reason: {BACKEND_TAG} cannot be removed")
    with service.store() as store:
        store.put_topic(replace(topic, tags={k: v for k, v in topic.tags.items() if k not in keys}))


def list_tags(service: SnsService, arn: object) -> list[dict[str, str]]:
    topic = service.topic(arn, "ResourceArn")
    return [{"Key": key, "Value": value} for key, value in sorted(topic.tags.items())]
