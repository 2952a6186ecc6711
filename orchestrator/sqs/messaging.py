"""Message actions: send, receive (long polling), delete, change visibility, and batches.

Visibility: every receive holds its deliveries in ``service.receipts`` until the deadline;
on Redis the broker keeps the same deadline itself (``Features.visibility_timeout``), so a
message also comes back if this orchestrator dies; on RabbitMQ and Kafka the orchestrator's
reaper gives it back (a nack) when the deadline passes.

FIFO queues (on backends with ``Features.fifo_queues``): every message needs a
MessageGroupId, and a MessageDeduplicationId unless the queue has ContentBasedDeduplication
(then the SHA-256 of the body, as SQS computes it); DelaySeconds per message is refused, as
SQS refuses it (the queue's DelaySeconds applies). The broker keeps the order, the held
groups and the deduplication window; sends answer its SequenceNumber.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from broker_adapters import Delivery, OutgoingMessage, Sent, ack_batch
from broker_adapters.core import DEAD_LETTER_SOURCE, MAX_RECEIVE_BATCH
from orchestrator.arns import ACCOUNT_ID
from orchestrator.errors import AwsError
from orchestrator.sqs import checksums, messages
from orchestrator.sqs.errors import (
    invalid_attribute_value,
    invalid_parameter,
    missing_parameter,
    receipt_handle_is_invalid,
)
from orchestrator.sqs.model import Queue, queue_arn
from orchestrator.sqs.receipts import Held, decode
from orchestrator.sqs.service import SqsService

LONG_POLL_SLICE = 0.1
MAX_BATCH_BYTES = 262144
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# MessageGroupId and MessageDeduplicationId: 1..128 letters, digits and ASCII punctuation.
_FIFO_TOKEN = re.compile(r"[!-~]{1,128}")
# XML 1.0's characters: what SQS accepts in a body.
_INVALID_BODY = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@dataclass(frozen=True)
class Prepared:
    """A validated send: what goes to the broker and what the answer reports."""

    outgoing: OutgoingMessage
    body: str
    attributes: dict[str, dict[str, Any]]
    system_attributes: dict[str, dict[str, Any]]


def prepare(queue: Queue, entry: Mapping[str, Any], features_delay: bool) -> Prepared:
    body = entry.get("MessageBody")
    if not isinstance(body, str) or not body:
        raise AwsError("MissingParameter", "The request must contain the parameter MessageBody.")
    if _INVALID_BODY.search(body):
        raise AwsError(
            "InvalidMessageContents",
            "Invalid binary character in the message body: SQS bodies are XML 1.0 characters.",
        )
    attributes = messages.check_attributes(entry.get("MessageAttributes") or {})
    system = dict(entry.get("MessageSystemAttributes") or {})
    trace_id = None
    for name, value in system.items():
        if name != "AWSTraceHeader" or not isinstance(value, Mapping):
            raise invalid_parameter(f"Message system attribute name '{name}' is invalid.")
        if value.get("DataType") != "String" or not value.get("StringValue"):
            raise invalid_parameter("AWSTraceHeader must be a String with a value.")
        trace_id = str(value["StringValue"])
    system_attributes = (
        {"AWSTraceHeader": {"DataType": "String", "StringValue": trace_id}} if trace_id else {}
    )
    size = len(body.encode()) + sum(_attribute_size(n, v) for n, v in attributes.items())
    limit = int(queue.attributes["MaximumMessageSize"])
    if size > limit:
        raise invalid_parameter(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} "
            "bytes."
        )
    delay = entry.get("DelaySeconds")
    seconds = int(queue.attributes["DelaySeconds"]) if delay is None else int(delay)
    if not 0 <= seconds <= 900:
        raise invalid_parameter(
            f"Value {seconds} for parameter DelaySeconds is invalid. Reason: must be between 0 "
            "and 900, if provided."
        )
    if queue.fifo and delay is not None and int(delay) != 0:
        raise invalid_parameter(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include "
            "parameter that is not valid for this queue type."
        )
    if seconds and not features_delay:
        raise invalid_attribute_value(
            f"DelaySeconds={seconds} cannot be honoured on a {queue.backend} queue: "
            f"{queue.backend} declares Features.delivery_delay=False."
        )
    group_id, dedup_id = _group_and_deduplication(queue, entry, body)
    outgoing = OutgoingMessage(
        body.encode(),
        group_id=group_id,
        dedup_id=dedup_id,
        delay=float(seconds),
        trace_id=trace_id,
        headers=messages.to_headers(attributes),
    )
    return Prepared(outgoing, body, attributes, system_attributes)


def _group_and_deduplication(
    queue: Queue, entry: Mapping[str, Any], body: str
) -> tuple[str | None, str | None]:
    """MessageGroupId and MessageDeduplicationId as SQS requires them of the queue's type."""
    group_id = _fifo_token(entry, "MessageGroupId")
    if group_id is None and queue.fifo:
        raise missing_parameter("MessageGroupId")
    dedup_id = _fifo_token(entry, "MessageDeduplicationId")
    if dedup_id is not None and not queue.fifo:
        raise invalid_parameter(
            "The request includes a parameter that is not valid for this queue type: "
            "MessageDeduplicationId applies to FIFO queues."
        )
    if dedup_id is None and queue.fifo:
        if queue.attributes.get("ContentBasedDeduplication") != "true":
            raise invalid_parameter(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        # SQS's content-based deduplication: SHA-256 of the body, not of the attributes.
        dedup_id = hashlib.sha256(body.encode()).hexdigest()
    return group_id, dedup_id


def _fifo_token(entry: Mapping[str, Any], member: str) -> str | None:
    """MessageGroupId or MessageDeduplicationId, held to SQS's alphabet and length."""
    value = entry.get(member)
    if value is None:
        return None
    if not isinstance(value, str) or not _FIFO_TOKEN.fullmatch(value):
        raise invalid_parameter(
            f"Value {value} for parameter {member} is invalid. Reason: it must be 1 to 128 "
            "alphanumeric or punctuation characters."
        )
    return value


def _attribute_size(name: str, value: Mapping[str, Any]) -> int:
    data = value.get("BinaryValue") or str(value.get("StringValue", "")).encode()
    return len(name.encode()) + len(str(value["DataType"]).encode()) + len(data)


def sent(prepared: Prepared, confirmed: Sent) -> dict[str, Any]:
    result: dict[str, Any] = {
        "MessageId": confirmed.message_id,
        "MD5OfMessageBody": checksums.md5_of_body(prepared.body),
    }
    if confirmed.sequence_number is not None:
        result["SequenceNumber"] = confirmed.sequence_number
    if prepared.attributes:
        result["MD5OfMessageAttributes"] = checksums.md5_of_attributes(prepared.attributes)
    if prepared.system_attributes:
        result["MD5OfMessageSystemAttributes"] = checksums.md5_of_attributes(
            prepared.system_attributes
        )
    return result


def send_message(service: SqsService, queue: Queue, entry: Mapping[str, Any]) -> dict[str, Any]:
    features = service.brokers.features(queue.backend)
    prepared = prepare(queue, entry, features.delivery_delay)
    with service.broker(queue) as broker:
        [confirmed] = broker.send_batch_sequenced(queue.name, [prepared.outgoing])
    return sent(prepared, confirmed)


def check_batch(entries: object) -> list[Mapping[str, Any]]:
    if not isinstance(entries, list) or not entries:
        raise AwsError("EmptyBatchRequest", "There should be at least one entry in the request.")
    if len(entries) > MAX_RECEIVE_BATCH:
        raise AwsError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_RECEIVE_BATCH}. You have sent "
            f"{len(entries)}.",
        )
    ids = [entry.get("Id") if isinstance(entry, Mapping) else None for entry in entries]
    for entry_id in ids:
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise AwsError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
    if len(set(ids)) != len(ids):
        raise AwsError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id.")
    return entries


def failure(entry_id: str, error: AwsError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": error.code,
        "Message": error.message,
    }


def send_message_batch(
    service: SqsService, queue: Queue, entries: object
) -> dict[str, list[dict[str, Any]]]:
    checked = check_batch(entries)
    features = service.brokers.features(queue.backend)
    total = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in checked)
    if total > MAX_BATCH_BYTES:
        raise AwsError(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent "
            f"{total} bytes.",
        )
    failed: list[dict[str, Any]] = []
    ready: list[tuple[str, Prepared]] = []
    for entry in checked:
        try:
            ready.append((entry["Id"], prepare(queue, entry, features.delivery_delay)))
        except AwsError as error:
            failed.append(failure(entry["Id"], error))
    successful: list[dict[str, Any]] = []
    if ready:
        with service.broker(queue) as broker:
            confirmed = broker.send_batch_sequenced(
                queue.name, [prepared.outgoing for _, prepared in ready]
            )
        for (entry_id, prepared), one in zip(ready, confirmed, strict=True):
            successful.append({"Id": entry_id, **sent(prepared, one)})
    return {"Successful": successful, "Failed": failed}


def receive_message(
    service: SqsService,
    queue: Queue,
    *,
    max_messages: int | None,
    wait: int | None,
    visibility: int | None,
    system_names: Sequence[str],
    attribute_names: Sequence[str],
    attempt_id: object = None,
) -> list[dict[str, Any]]:
    """Long-polls in slices. On a FIFO queue, ``attempt_id`` (ReceiveRequestAttemptId) makes a
    retried receive answer what the first one got (``ReceiveAttempts``); standard queues
    ignore it, as SQS does."""
    attempt = _fifo_token({"ReceiveRequestAttemptId": attempt_id}, "ReceiveRequestAttemptId")
    if attempt is not None and queue.fifo:
        earlier = service.receive_attempts.answer(
            service.receipts, queue.name, attempt, time.monotonic()
        )
        if earlier is not None:
            return earlier
    count = 1 if max_messages is None else max_messages
    if not 1 <= count <= MAX_RECEIVE_BATCH:
        raise invalid_parameter(
            f"Value {count} for parameter MaxNumberOfMessages is invalid. Reason: Must be "
            f"between 1 and {MAX_RECEIVE_BATCH}, if provided."
        )
    seconds = int(queue.attributes["ReceiveMessageWaitTimeSeconds"]) if wait is None else wait
    if not 0 <= seconds <= 20:
        raise invalid_parameter(
            f"Value {seconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
            "and <= 20, if provided."
        )
    timeout = int(queue.attributes["VisibilityTimeout"]) if visibility is None else visibility
    if not 0 <= timeout <= 43200:
        raise invalid_parameter(
            f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
            "and <= 43200, if provided."
        )
    for name in system_names:
        if name != "All" and name not in SYSTEM_ATTRIBUTES:
            raise AwsError("InvalidAttributeName", f"Unknown Attribute {name}.")
    native = service.brokers.features(queue.backend).visibility_changes
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        with service.broker(queue) as broker:
            service.receiving(queue)
            deliveries = broker.receive(
                queue.name,
                count,
                wait=max(0.0, min(remaining, LONG_POLL_SLICE)),
                visibility_timeout=float(timeout) if native else None,
            )
            handles = [
                service.receipts.hold(queue.name, queue.backend, delivery, timeout)
                for delivery in deliveries
            ]
            service.receiving(queue)
        if deliveries or deadline - time.monotonic() <= 0:
            break
        time.sleep(min(LONG_POLL_SLICE, max(0.0, deadline - time.monotonic())))
    answer = [
        _rendered(service, delivery, handle, system_names, attribute_names)
        for delivery, handle in zip(deliveries, handles, strict=True)
    ]
    if attempt is not None and queue.fifo:
        service.receive_attempts.remember(
            service.receipts, queue.name, attempt, time.monotonic(), answer
        )
    return answer


def _rendered(
    service: SqsService,
    delivery: Delivery,
    handle: str,
    system_names: Sequence[str],
    attribute_names: Sequence[str],
) -> dict[str, Any]:
    message = delivery.message
    body = messages.body_text(message.body)
    rendered: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": handle,
        "MD5OfBody": checksums.md5_of_body(body),
        "Body": body,
    }
    wanted = set(SYSTEM_ATTRIBUTES) if "All" in system_names else set(system_names)
    now = service.clock()
    first = service.first_receives.first(message.id, message.attempt, now)
    available = {
        "SenderId": ACCOUNT_ID,
        "SentTimestamp": str(int(message.timestamp * 1000)),
        "ApproximateReceiveCount": str(message.attempt),
        "ApproximateFirstReceiveTimestamp": str(int(first * 1000)),
        "MessageGroupId": message.group_id,
        "MessageDeduplicationId": message.dedup_id,
        "SequenceNumber": message.sequence_number,
        "AWSTraceHeader": message.trace_id,
        "DeadLetterQueueSourceArn": (
            queue_arn(message.headers[DEAD_LETTER_SOURCE])
            if DEAD_LETTER_SOURCE in message.headers
            else None
        ),
    }
    system = {
        name: value for name, value in available.items() if name in wanted and value is not None
    }
    if system:
        rendered["Attributes"] = system
    chosen = messages.selected(messages.from_headers(message.headers), list(attribute_names))
    if chosen:
        rendered["MessageAttributes"] = chosen
        rendered["MD5OfMessageAttributes"] = checksums.md5_of_attributes(chosen)
    return rendered


def _checked_handle(queue: Queue, handle: object) -> str:
    if not isinstance(handle, str) or not handle:
        raise AwsError("MissingParameter", "The request must contain the parameter ReceiptHandle.")
    receipt = decode(handle)
    if receipt is None or receipt.queue != queue.name:
        raise receipt_handle_is_invalid(handle)
    return handle


def delete_message(service: SqsService, queue: Queue, handle: object) -> None:
    """Delete the message a live handle stands for. A handle that ended (the message was
    deleted, or its visibility ran out) deletes nothing and succeeds, as on AWS, where only
    the latest receive's handle deletes."""
    checked = _checked_handle(queue, handle)
    held = service.receipts.release(checked)
    if held is None:
        return
    with service.broker(queue, declare=False):
        held.delivery.ack()
    service.first_receives.forget(held.delivery.message.id)


def change_message_visibility(
    service: SqsService, queue: Queue, handle: object, timeout: object
) -> None:
    checked = _checked_handle(queue, handle)
    try:
        seconds = int(str(timeout))
    except ValueError:
        raise AwsError("MissingParameter", "VisibilityTimeout must be an integer.") from None
    if not 0 <= seconds <= 43200:
        raise invalid_parameter(
            f"Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
            "and <= 43200."
        )
    held = service.receipts.get(checked)
    if held is None:
        raise AwsError(
            "MessageNotInflight",
            "The message referred to is not in flight: its visibility ended or it was deleted.",
        )
    native = service.brokers.features(queue.backend).visibility_changes
    if seconds == 0:
        if service.receipts.release(checked) is not None:
            service.give_back(held)
        return
    with service.broker(queue, declare=False):
        moved = held.delivery.change_visibility(seconds) if native else True
    if not moved or not service.receipts.extend(checked, seconds):
        raise AwsError("MessageNotInflight", "The message referred to is not in flight.")


def delete_message_batch(
    service: SqsService, queue: Queue, entries: object
) -> dict[str, list[dict[str, Any]]]:
    """Every live handle's message acked in one broker call (``ack_batch``), so a batch of
    ten costs one round trip on brokers that take a batch, not ten."""
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    held: list[Held] = []
    for entry in check_batch(entries):
        try:
            checked = _checked_handle(queue, entry.get("ReceiptHandle"))
        except AwsError as error:
            failed.append(failure(entry["Id"], error))
            continue
        released = service.receipts.release(checked)
        if released is not None:
            held.append(released)
        successful.append({"Id": entry["Id"]})
    if held:
        with service.broker(queue, declare=False):
            ack_batch([one.delivery for one in held])
        for one in held:
            service.first_receives.forget(one.delivery.message.id)
    return {"Successful": successful, "Failed": failed}


def change_message_visibility_batch(
    service: SqsService, queue: Queue, entries: object
) -> dict[str, list[dict[str, Any]]]:
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entry in check_batch(entries):
        try:
            change_message_visibility(
                service, queue, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout", 0)
            )
        except AwsError as error:
            failed.append(failure(entry["Id"], error))
        else:
            successful.append({"Id": entry["Id"]})
    return {"Successful": successful, "Failed": failed}
