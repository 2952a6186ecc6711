"""Publish and PublishBatch: check the message, deduplicate FIFO messages, put them on the
topic's broker topic (``messages`` says in which form).

FIFO deduplication is the orchestrator's (a table in its store, SNS's five-minute window),
so it holds for messages published through the API; a message a client puts on the broker
topic directly is not deduplicated.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from broker_adapters import OutgoingMessage
from broker_adapters.core import DEDUPLICATION_WINDOW, MAX_MESSAGE_BYTES
from orchestrator.errors import AwsError
from orchestrator.sns import messages
from orchestrator.sns.attributes import invalid_parameter
from orchestrator.sns.model import Topic
from orchestrator.sns.service import SnsService

MAX_BATCH = 10
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_DEDUP_ID = re.compile(r"[!-~]{1,128}")


@dataclass(frozen=True)
class Prepared:
    outgoing: OutgoingMessage
    dedup_id: str | None


def prepare(topic: Topic, entry: Mapping[str, Any]) -> Prepared:
    """Check one message for ``topic``; raises AwsError as SNS would refuse it."""
    message = entry.get("Message")
    if not isinstance(message, str) or message == "":
        raise invalid_parameter("Empty message")
    subject = entry.get("Subject")
    if subject is not None and (
        not isinstance(subject, str) or not subject or len(subject) > messages.MAX_SUBJECT
    ):
        raise invalid_parameter("Subject")
    per_protocol: dict[str, str] = {}
    structure = entry.get("MessageStructure")
    if structure is not None:
        if structure != "json":
            raise invalid_parameter("MessageStructure Reason: the only structure is json")
        message, per_protocol = messages.split_structure(message)
    attributes = messages.check_attributes(entry.get("MessageAttributes") or {})
    group_id, dedup_id = _ordering_ids(topic, message, entry)
    outgoing = messages.outgoing(
        message,
        subject=subject,
        attributes=attributes,
        per_protocol=per_protocol,
        group_id=group_id,
        dedup_id=dedup_id,
    )
    size = len(outgoing.body) + sum(len(k) + len(v) for k, v in outgoing.headers.items())
    if size > MAX_MESSAGE_BYTES:
        raise invalid_parameter(
            f"Message too long: {size} bytes with its attributes; the limit is {MAX_MESSAGE_BYTES}"
        )
    return Prepared(outgoing, dedup_id if topic.fifo else None)


def _ordering_ids(
    topic: Topic, message: str, entry: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """MessageGroupId and MessageDeduplicationId (content-based where the topic says so)."""
    group_id = entry.get("MessageGroupId")
    dedup_id = entry.get("MessageDeduplicationId")
    if group_id is not None and (
        not isinstance(group_id, str) or not _DEDUP_ID.fullmatch(group_id)
    ):
        raise invalid_parameter("MessageGroupId")
    if not topic.fifo:
        if dedup_id is not None:
            raise invalid_parameter(
                "The request includes MessageDeduplicationId parameter that is not valid for "
                "this topic type"
            )
        return group_id, None
    if not group_id:
        raise invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
    if not dedup_id:
        if topic.attributes.get("ContentBasedDeduplication") != "true":
            raise invalid_parameter(
                "The topic should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        return group_id, hashlib.sha256(message.encode()).hexdigest()
    if not isinstance(dedup_id, str) or not _DEDUP_ID.fullmatch(dedup_id):
        raise invalid_parameter("MessageDeduplicationId")
    return group_id, dedup_id


def _sequence_number() -> str:
    return f"{time.time_ns():020d}"


def _publish(service: SnsService, topic: Topic, batch: Sequence[Prepared]) -> list[str]:
    """Publish what is not a duplicate; message ids in order (a duplicate gets the earlier
    message's id)."""
    ids: list[str | None] = [None] * len(batch)
    fresh: list[int] = []
    now = service.clock()
    with service.store() as store:
        for index, prepared in enumerate(batch):
            if prepared.dedup_id is None:
                fresh.append(index)
                continue
            earlier = store.deduplicate(
                topic.name, prepared.dedup_id, "", now, DEDUPLICATION_WINDOW
            )
            if earlier is None:
                fresh.append(index)
            else:
                ids[index] = earlier
        try:
            sent: list[str] = []
            if fresh:
                with service.broker(topic.backend) as broker:
                    sent = broker.publish_batch(topic.name, [batch[i].outgoing for i in fresh])
        except AwsError:
            for index in fresh:
                if batch[index].dedup_id is not None:
                    store.forget_deduplication(topic.name, batch[index].dedup_id or "")
            raise
        for index, message_id in zip(fresh, sent, strict=True):
            ids[index] = message_id
            if batch[index].dedup_id is not None:
                store.record_message_id(topic.name, batch[index].dedup_id or "", message_id)
    return [message_id or "" for message_id in ids]


def publish(service: SnsService, params: Mapping[str, Any]) -> dict[str, str]:
    if params.get("PhoneNumber"):
        raise invalid_parameter("PhoneNumber Reason: Barista does not send SMS")
    arn = params.get("TopicArn") or params.get("TargetArn")
    topic = service.topic(arn)
    prepared = prepare(topic, params)
    [message_id] = _publish(service, topic, [prepared])
    result = {"MessageId": message_id}
    if topic.fifo:
        result["SequenceNumber"] = _sequence_number()
    return result


def publish_batch(service: SnsService, arn: object, entries: object) -> dict[str, Any]:
    topic = service.topic(arn)
    if not isinstance(entries, list) or not entries:
        raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries")
    if len(entries) > MAX_BATCH:
        raise AwsError(
            "TooManyEntriesInBatchRequest",
            f"The batch request contains more entries than permissible ({MAX_BATCH})",
        )
    ids = [entry.get("Id") if isinstance(entry, Mapping) else None for entry in entries]
    for entry_id in ids:
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise AwsError("InvalidBatchEntryId", f"The batch entry id {entry_id} is invalid")
    if len(set(ids)) != len(ids):
        raise AwsError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id")
    failed: list[dict[str, Any]] = []
    good: list[tuple[str, Prepared]] = []
    for entry in entries:
        try:
            good.append((entry["Id"], prepare(topic, entry)))
        except AwsError as error:
            failed.append(
                {
                    "Id": entry["Id"],
                    "Code": error.code,
                    "Message": error.message,
                    "SenderFault": True,
                }
            )
    total = sum(len(p.outgoing.body) for _, p in good)
    if total > MAX_MESSAGE_BYTES:
        raise AwsError(
            "BatchRequestTooLong",
            "The length of all the messages put together is more than the limit "
            f"({MAX_MESSAGE_BYTES})",
        )
    successful: list[dict[str, str]] = []
    if good:
        message_ids = _publish(service, topic, [p for _, p in good])
        for (entry_id, _), message_id in zip(good, message_ids, strict=True):
            result = {"Id": entry_id, "MessageId": message_id}
            if topic.fifo:
                result["SequenceNumber"] = _sequence_number()
            successful.append(result)
    return {"Successful": successful, "Failed": failed}
