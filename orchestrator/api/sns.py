"""Amazon SNS's actions over ``orchestrator.sns``: members as botocore's SNS model names them.

One ``SnsService`` per store path and broker set is shared by every ``actions()`` call in the
process and by the SubscribeURL route (``orchestrator.sns.service.shared``); ``shutdown()``
closes their broker connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.api import Action, ApiContext, Params
from orchestrator.sns import publishing, subscriptions, topics
from orchestrator.sns.attributes import invalid_parameter
from orchestrator.sns.service import SnsService, shared, shutdown

__all__ = ["SERVICE", "actions", "service_for", "shutdown"]

SERVICE = "sns"


def service_for(context: ApiContext) -> SnsService:
    return shared(context.store_path, context.environ)


def _strings(params: Params, member: str) -> dict[str, str]:
    value = params.get(member) or {}
    if not isinstance(value, Mapping):
        raise invalid_parameter(f"{member}: must be a map of strings")
    return {str(k): str(v) for k, v in value.items()}


def actions(context: ApiContext) -> dict[str, Action]:
    service = service_for(context)

    def create_topic(params: Params) -> Mapping[str, Any]:
        arn = topics.create_topic(
            service,
            params.get("Name"),
            _strings(params, "Attributes"),
            topics.tags_of(params.get("Tags")),
        )
        return {"TopicArn": arn}

    def set_topic_attributes(params: Params) -> Mapping[str, Any]:
        topics.set_topic_attribute(
            service,
            params.get("TopicArn"),
            params.get("AttributeName"),
            params.get("AttributeValue"),
        )
        return {}

    def delete_topic(params: Params) -> Mapping[str, Any]:
        topics.delete_topic(service, params.get("TopicArn"))
        return {}

    def subscribe(params: Params) -> Mapping[str, Any]:
        arn = subscriptions.subscribe(
            service,
            params.get("TopicArn"),
            params.get("Protocol"),
            params.get("Endpoint"),
            _strings(params, "Attributes"),
            bool(params.get("ReturnSubscriptionArn")),
        )
        return {"SubscriptionArn": arn}

    def set_subscription_attributes(params: Params) -> Mapping[str, Any]:
        subscriptions.set_attribute(
            service,
            params.get("SubscriptionArn"),
            params.get("AttributeName"),
            params.get("AttributeValue"),
        )
        return {}

    def unsubscribe(params: Params) -> Mapping[str, Any]:
        subscriptions.unsubscribe(service, params.get("SubscriptionArn"))
        return {}

    def tag_resource(params: Params) -> Mapping[str, Any]:
        topics.tag_resource(service, params.get("ResourceArn"), topics.tags_of(params.get("Tags")))
        return {}

    def untag_resource(params: Params) -> Mapping[str, Any]:
        topics.untag_resource(
            service, params.get("ResourceArn"), [str(k) for k in params.get("TagKeys") or []]
        )
        return {}

    return {
        "CreateTopic": create_topic,
        "ListTopics": lambda p: topics.list_topics(service, p.get("NextToken")),
        "GetTopicAttributes": lambda p: {
            "Attributes": topics.get_topic_attributes(service, p.get("TopicArn"))
        },
        "SetTopicAttributes": set_topic_attributes,
        "DeleteTopic": delete_topic,
        "Subscribe": subscribe,
        "ConfirmSubscription": lambda p: {
            "SubscriptionArn": subscriptions.confirm(service, p.get("TopicArn"), p.get("Token"))
        },
        "Unsubscribe": unsubscribe,
        "ListSubscriptions": lambda p: subscriptions.list_subscriptions(
            service, None, p.get("NextToken")
        ),
        "ListSubscriptionsByTopic": lambda p: subscriptions.list_subscriptions(
            service, p.get("TopicArn"), p.get("NextToken")
        ),
        "GetSubscriptionAttributes": lambda p: {
            "Attributes": subscriptions.get_attributes(service, p.get("SubscriptionArn"))
        },
        "SetSubscriptionAttributes": set_subscription_attributes,
        "Publish": lambda p: publishing.publish(service, p),
        "PublishBatch": lambda p: publishing.publish_batch(
            service, p.get("TopicArn"), p.get("PublishBatchRequestEntries")
        ),
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTagsForResource": lambda p: {"Tags": topics.list_tags(service, p.get("ResourceArn"))},
    }
