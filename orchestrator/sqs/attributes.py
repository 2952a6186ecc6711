"""AWS's queue attributes: names, ranges and defaults, and what a backend can honour.

Ranges and defaults are the ones AWS documents for SQS (visibility 0 s..12 h, default 30 s;
delay 0..15 min; long poll up to 20 s; retention 60 s..14 days, default 4 days; 256 KiB).
A value in range that the queue's backend cannot honour is refused with
``InvalidAttributeValue`` and the backend's ``Features`` declaration, never stored and ignored.
What the orchestrator provides itself for every backend (the visibility timeout, long polling,
the message size limit) is accepted everywhere. FIFO queues need a backend that declares
``Features.fifo_queues`` (Redis).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from broker_adapters import Features
from orchestrator.sqs.errors import invalid_attribute_name, invalid_attribute_value
from orchestrator.sqs.model import FIFO_SUFFIX, name_from_arn

DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
}
RANGES = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 262144),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
}
FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
FIFO_CHOICES = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
SETTABLE = (*RANGES, "RedrivePolicy", "RedriveAllowPolicy", "FifoQueue", *FIFO_ONLY)
READ_ONLY = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
# AWS attributes Barista has no counterpart for: refused, with the reason.
UNSUPPORTED = {
    "Policy": "Barista has no IAM: every request signed with the configured keys is allowed",
    "KmsMasterKeyId": "Barista does not encrypt messages with KMS",
    "KmsDataKeyReusePeriodSeconds": "Barista does not encrypt messages with KMS",
    "SqsManagedSseEnabled": "Barista does not encrypt messages at rest",
}
MAX_RECEIVE_COUNT = (1, 1000)
MAX_SOURCE_QUEUE_ARNS = 10


@dataclass(frozen=True)
class Redrive:
    dead_letter_queue: str
    max_receive_count: int


def validate(
    given: Mapping[str, str],
    features: Features,
    *,
    queue_name: str,
    current: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The queue's full attribute set after applying ``given`` (CreateQueue when ``current``
    is None, SetQueueAttributes otherwise); raises AwsError for anything AWS or the backend
    would refuse."""
    creating = current is None
    result = dict(DEFAULTS) if current is None else dict(current)
    for name, raw in given.items():
        value = str(raw)
        if name in READ_ONLY or (name not in SETTABLE and name not in UNSUPPORTED):
            raise invalid_attribute_name(f"Unknown Attribute {name}.")
        if name in UNSUPPORTED:
            raise invalid_attribute_value(
                f"Attribute {name} is not supported: {UNSUPPORTED[name]}."
            )
        result[name] = _normalise(name, value)
    if not creating and result.get("FifoQueue") != (current or {}).get("FifoQueue"):
        raise invalid_attribute_name("FifoQueue can only be set when the queue is created.")
    fifo = result.get("FifoQueue") == "true"
    if fifo != queue_name.endswith(FIFO_SUFFIX):
        raise invalid_attribute_value(
            "The name of a FIFO queue must end with the .fifo suffix, and only a FIFO queue's "
            "name may end with it."
        )
    if fifo:
        result.setdefault("ContentBasedDeduplication", "false")
        result.setdefault("DeduplicationScope", "queue")
        result.setdefault("FifoThroughputLimit", "perQueue")
    else:
        result.pop("FifoQueue", None)
        for name in FIFO_ONLY:
            if name in result:
                raise invalid_attribute_name(f"Unknown Attribute {name}.")
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        if result.get(name) == "":
            del result[name]
    check_backend(result, features)
    return result


def _normalise(name: str, value: str) -> str:
    if name in RANGES:
        low, high = RANGES[name]
        try:
            number = int(value)
        except ValueError:
            raise invalid_attribute_value(f"Invalid value for the parameter {name}.") from None
        if not low <= number <= high:
            raise invalid_attribute_value(
                f"Invalid value for the parameter {name}: {number} is not in {low}..{high}."
            )
        return str(number)
    if name in ("FifoQueue", "ContentBasedDeduplication"):
        if value.lower() not in ("true", "false"):
            raise invalid_attribute_value(f"Invalid value for the parameter {name}.")
        return value.lower()
    if name in FIFO_CHOICES:
        if value not in FIFO_CHOICES[name]:
            choices = " or ".join(FIFO_CHOICES[name])
            raise invalid_attribute_value(f"Invalid value for the parameter {name}: use {choices}.")
        return value
    if name == "RedrivePolicy":
        return "" if value == "" else _dump(redrive_document(value))
    return "" if value == "" else _dump(redrive_allow_document(value))


def _dump(document: Mapping[str, object]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _json_object(name: str, value: str) -> dict[str, object]:
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        raise invalid_attribute_value(
            f"Invalid value for the parameter {name}: not JSON."
        ) from None
    if not isinstance(document, dict):
        raise invalid_attribute_value(f"Invalid value for the parameter {name}: not an object.")
    return document


def redrive_document(value: str) -> dict[str, object]:
    """``{"deadLetterTargetArn", "maxReceiveCount"}`` checked, the count as a number."""
    document = _json_object("RedrivePolicy", value)
    arn = document.get("deadLetterTargetArn")
    count = document.get("maxReceiveCount")
    if not isinstance(arn, str) or name_from_arn(arn) is None:
        raise invalid_attribute_value(
            "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            "deadLetterTargetArn."
        )
    try:
        number = int(str(count))
    except ValueError:
        number = 0
    low, high = MAX_RECEIVE_COUNT
    if not low <= number <= high:
        raise invalid_attribute_value(
            "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            f"maxReceiveCount: {count}, valid values are from {low} to {high} both inclusive."
        )
    extra = sorted(set(document) - {"deadLetterTargetArn", "maxReceiveCount"})
    if extra:
        raise invalid_attribute_value(
            f"Value for parameter RedrivePolicy is invalid. Reason: unknown members {extra}."
        )
    return {"deadLetterTargetArn": arn, "maxReceiveCount": number}


def redrive_allow_document(value: str) -> dict[str, object]:
    document = _json_object("RedriveAllowPolicy", value)
    permission = document.get("redrivePermission")
    sources = document.get("sourceQueueArns")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise invalid_attribute_value(
            "Value for parameter RedriveAllowPolicy is invalid. Reason: redrivePermission must "
            "be allowAll, denyAll or byQueue."
        )
    if permission != "byQueue":
        if sources is not None:
            raise invalid_attribute_value(
                "Value for parameter RedriveAllowPolicy is invalid. Reason: sourceQueueArns "
                "only goes with redrivePermission byQueue."
            )
        return {"redrivePermission": permission}
    if (
        not isinstance(sources, list)
        or not 1 <= len(sources) <= MAX_SOURCE_QUEUE_ARNS
        or not all(isinstance(arn, str) and name_from_arn(arn) for arn in sources)
    ):
        raise invalid_attribute_value(
            "Value for parameter RedriveAllowPolicy is invalid. Reason: byQueue needs "
            f"sourceQueueArns, 1 to {MAX_SOURCE_QUEUE_ARNS} queue ARNs."
        )
    return {"redrivePermission": permission, "sourceQueueArns": sources}


def redrive(attributes: Mapping[str, str]) -> Redrive | None:
    value = attributes.get("RedrivePolicy")
    if not value:
        return None
    document = json.loads(value)
    name = name_from_arn(document["deadLetterTargetArn"])
    if name is None:
        raise AssertionError("a stored RedrivePolicy names a queue")
    return Redrive(name, int(document["maxReceiveCount"]))


def allows_source(dead_letter_attributes: Mapping[str, str], source_arn: str) -> bool:
    """Whether the dead-letter queue's RedriveAllowPolicy lets ``source_arn`` use it."""
    value = dead_letter_attributes.get("RedriveAllowPolicy")
    if not value:
        return True
    document = json.loads(value)
    permission = document["redrivePermission"]
    if permission == "byQueue":
        return source_arn in document["sourceQueueArns"]
    return bool(permission == "allowAll")


def check_backend(attributes: Mapping[str, str], features: Features) -> None:
    """Refuse what the backend declares it cannot do, quoting the declaration."""
    name = features.name
    if int(attributes.get("DelaySeconds", "0")) and not features.delivery_delay:
        raise invalid_attribute_value(
            f"DelaySeconds must be 0 on a {name} queue: {name} declares "
            "Features.delivery_delay=False (it cannot hold a message back)."
        )
    if attributes["MessageRetentionPeriod"] != DEFAULTS["MessageRetentionPeriod"]:
        raise invalid_attribute_value(
            f"MessageRetentionPeriod cannot be changed on a {name} queue: broker_adapters "
            "declares no retention (messages stay until they are deleted), so only the "
            f"default {DEFAULTS['MessageRetentionPeriod']} is accepted."
        )
    if attributes.get("FifoQueue") == "true":
        if not features.fifo_queues:
            raise invalid_attribute_value(
                f"FifoQueue=true cannot be honoured on {name}: it declares "
                "Features.fifo_queues=False (no queue that keeps each message group in order "
                "and holds the group while one of its messages is in flight)."
            )
        if attributes.get("DeduplicationScope") == "messageGroup":
            raise invalid_attribute_value(
                f"DeduplicationScope=messageGroup cannot be honoured on {name}: "
                "broker_adapters deduplicates per queue (QueueConfig.deduplication_window), "
                "so only DeduplicationScope=queue is accepted."
            )
