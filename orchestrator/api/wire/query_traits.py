"""Query-protocol models for services whose botocore model moved to JSON (SQS).

SQS spoke only the Query protocol until 2023, and AWS still accepts it: SDKs older than the
switch (boto3 before 1.31.x of late 2023, the AWS SDK for Java 1.x, PHP 2, Go v1 …) send
``Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=…`` and parse
``<SendMessageBatchResponse>`` XML. botocore's current SQS model is the JSON one: same
operations and shapes, but without the Query serialisation traits (the ``locationName`` that
turns ``Entries`` into ``SendMessageBatchRequestEntry.N``, ``Attributes`` into
``Attribute.N.Name``/``.Value``, the ``resultWrapper`` and XML namespace of the answer).

The traits below are those of the last Query edition of the model (botocore 1.31's
``sqs/2012-11-05/service-2.json``), laid over the current model: a copy of the old file would
freeze every other change AWS has made to SQS since; a table of a few dozen names does not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ServiceModel

# (shape, where, locationName): where is a member name, or "member"/"key"/"value" of a list
# or map, or "" for the shape itself.
SQS_LOCATION_NAMES: tuple[tuple[str, str, str], ...] = (
    ("AWSAccountIdList", "member", "AWSAccountId"),
    ("ActionNameList", "member", "ActionName"),
    ("AttributeNameList", "member", "AttributeName"),
    ("BatchResultErrorEntryList", "member", "BatchResultErrorEntry"),
    ("BinaryList", "member", "BinaryListValue"),
    (
        "ChangeMessageVisibilityBatchRequestEntryList",
        "member",
        "ChangeMessageVisibilityBatchRequestEntry",
    ),
    (
        "ChangeMessageVisibilityBatchResultEntryList",
        "member",
        "ChangeMessageVisibilityBatchResultEntry",
    ),
    ("CreateQueueRequest", "Attributes", "Attribute"),
    ("CreateQueueRequest", "tags", "Tag"),
    ("DeleteMessageBatchRequestEntryList", "member", "DeleteMessageBatchRequestEntry"),
    ("DeleteMessageBatchResultEntryList", "member", "DeleteMessageBatchResultEntry"),
    ("GetQueueAttributesResult", "Attributes", "Attribute"),
    ("ListMessageMoveTasksResultEntryList", "member", "ListMessageMoveTasksResultEntry"),
    ("ListQueueTagsResult", "Tags", "Tag"),
    ("Message", "Attributes", "Attribute"),
    ("Message", "MessageAttributes", "MessageAttribute"),
    ("MessageAttributeNameList", "member", "MessageAttributeName"),
    ("MessageAttributeValue", "StringListValues", "StringListValue"),
    ("MessageAttributeValue", "BinaryListValues", "BinaryListValue"),
    ("MessageBodyAttributeMap", "key", "Name"),
    ("MessageBodyAttributeMap", "value", "Value"),
    ("MessageBodySystemAttributeMap", "key", "Name"),
    ("MessageBodySystemAttributeMap", "value", "Value"),
    ("MessageList", "member", "Message"),
    ("MessageSystemAttributeMap", "", "Attribute"),
    ("MessageSystemAttributeMap", "key", "Name"),
    ("MessageSystemAttributeMap", "value", "Value"),
    ("MessageSystemAttributeValue", "StringListValues", "StringListValue"),
    ("MessageSystemAttributeValue", "BinaryListValues", "BinaryListValue"),
    ("QueueAttributeMap", "", "Attribute"),
    ("QueueAttributeMap", "key", "Name"),
    ("QueueAttributeMap", "value", "Value"),
    ("QueueUrlList", "member", "QueueUrl"),
    ("SendMessageBatchRequestEntry", "MessageAttributes", "MessageAttribute"),
    ("SendMessageBatchRequestEntry", "MessageSystemAttributes", "MessageSystemAttribute"),
    ("SendMessageBatchRequestEntryList", "member", "SendMessageBatchRequestEntry"),
    ("SendMessageBatchResultEntryList", "member", "SendMessageBatchResultEntry"),
    ("SendMessageRequest", "MessageAttributes", "MessageAttribute"),
    ("SendMessageRequest", "MessageSystemAttributes", "MessageSystemAttribute"),
    ("SetQueueAttributesRequest", "Attributes", "Attribute"),
    ("StringList", "member", "StringListValue"),
    ("TagKeyList", "member", "TagKey"),
    ("TagMap", "", "Tag"),
    ("TagMap", "key", "Key"),
    ("TagMap", "value", "Value"),
)
SQS_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"

# Error shape -> (Query code, HTTP status). The JSON model lost these too; AWS still answers
# with them: as ``<Code>`` over Query, in the ``x-amzn-query-error`` header over JSON (which
# botocore reads to raise e.g. ``QueueDoesNotExist`` with the code
# ``AWS.SimpleQueueService.NonExistentQueue``). Shapes added after the switch have none.
SQS_ERRORS: Mapping[str, tuple[str, int]] = {
    "BatchEntryIdsNotDistinct": ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    "BatchRequestTooLong": ("AWS.SimpleQueueService.BatchRequestTooLong", 400),
    "EmptyBatchRequest": ("AWS.SimpleQueueService.EmptyBatchRequest", 400),
    "InvalidBatchEntryId": ("AWS.SimpleQueueService.InvalidBatchEntryId", 400),
    "MessageNotInflight": ("AWS.SimpleQueueService.MessageNotInflight", 400),
    "OverLimit": ("OverLimit", 403),
    "PurgeQueueInProgress": ("AWS.SimpleQueueService.PurgeQueueInProgress", 403),
    "QueueDeletedRecently": ("AWS.SimpleQueueService.QueueDeletedRecently", 400),
    "QueueDoesNotExist": ("AWS.SimpleQueueService.NonExistentQueue", 400),
    "QueueNameExists": ("QueueAlreadyExists", 400),
    "ResourceNotFoundException": ("ResourceNotFoundException", 404),
    "TooManyEntriesInBatchRequest": ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
    "UnsupportedOperation": ("AWS.SimpleQueueService.UnsupportedOperation", 400),
}


@dataclass(frozen=True)
class Edition:
    location_names: tuple[tuple[str, str, str], ...]
    namespace: str
    errors: Mapping[str, tuple[str, int]]


QUERY_EDITIONS: Mapping[str, Edition] = {
    "sqs": Edition(SQS_LOCATION_NAMES, SQS_NAMESPACE, SQS_ERRORS),
}


def with_query_errors(model: ServiceModel) -> ServiceModel:
    """``model`` with its error shapes' Query codes and statuses restored (a copy), or
    ``model`` itself when nothing was lost."""
    edition = QUERY_EDITIONS.get(model.service_name)
    if edition is None:
        return model
    description = _restore_errors(copy.deepcopy(model._service_description), edition)
    return ServiceModel(description, service_name=model.service_name)


def query_edition(model: ServiceModel) -> ServiceModel | None:
    """The Query edition of a JSON model AWS still serves over Query, or None."""
    edition = QUERY_EDITIONS.get(model.service_name)
    if edition is None:
        return None
    description = _restore_errors(copy.deepcopy(model._service_description), edition)
    description["metadata"].update(
        protocol="query", protocols=["query"], xmlNamespace=edition.namespace
    )
    shapes = description["shapes"]
    for shape_name, where, location_name in edition.location_names:
        shape = shapes[shape_name]
        target = shape if not where else shape.get(where) or shape["members"][where]
        target["locationName"] = location_name
    for operation in description["operations"].values():
        if "output" in operation:
            operation["output"]["resultWrapper"] = f"{operation['name']}Result"
    return ServiceModel(description, service_name=model.service_name)


def _restore_errors(description: dict[str, Any], edition: Edition) -> dict[str, Any]:
    for shape_name, (code, status) in edition.errors.items():
        description["shapes"][shape_name].setdefault(
            "error", {"code": code, "httpStatusCode": status, "senderFault": True}
        )
    return description
