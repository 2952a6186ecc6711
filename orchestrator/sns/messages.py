"""SNS messages on the broker wire format (broker_adapters/README.md), and back.

What ``Publish`` puts on the topic is what the demo's services already read: the body is the
message itself (for ``MessageStructure=json``, its ``default`` text), so a subscriber of
``broker_adapters`` gets the same bytes whether the message came from ``aws sns publish`` or
from a barista. MessageAttributes travel as headers in the SQS package's convention (an
attribute ``table`` of type String is the header ``table: 4``; other types are listed in
``sqs-data-types``), so they read the same on queues and topics. SNS's own fields use
``sns-`` headers: ``sns-subject``, ``sns-deduplication-id`` and ``sns-message-structure``
(the per-protocol texts of a ``MessageStructure=json`` message, without ``default``).
A message published by another client (no ``sns-`` headers) is a plain notification.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broker_adapters import Message, OutgoingMessage
from orchestrator.errors import AwsError
from orchestrator.sqs import messages as sqs_messages

SUBJECT = "sns-subject"
DEDUPLICATION_ID = "sns-deduplication-id"
STRUCTURE = "sns-message-structure"
PREFIX = "sns-"
MAX_SUBJECT = 100


def invalid_parameter_value(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


@dataclass(frozen=True)
class Published:
    """A message as the delivery side sees it, whoever published it."""

    message_id: str
    timestamp: float
    message: str
    subject: str | None = None
    attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    group_id: str | None = None
    dedup_id: str | None = None
    # Per-protocol texts of a MessageStructure=json message ("sqs", "http", …).
    per_protocol: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, protocol: str) -> str:
        return self.per_protocol.get(protocol, self.message)


def check_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """SNS's MessageAttributes rules: SQS's, plus a String.Array value is a JSON array."""
    checked = sqs_messages.check_attributes(attributes)
    for name, value in checked.items():
        if name.startswith(PREFIX):
            raise invalid_parameter_value(f"Message attribute name '{name}' is reserved.")
        if value["DataType"] == "String.Array":
            try:
                array = json.loads(value["StringValue"])
            except ValueError:
                array = None
            if not isinstance(array, list):
                raise invalid_parameter_value(
                    f"The message attribute '{name}' with type 'String.Array' has an invalid "
                    "value: it must be a JSON array."
                )
    return checked


def split_structure(message: str) -> tuple[str, dict[str, str]]:
    """MessageStructure=json: the ``default`` text and the per-protocol ones."""
    try:
        document = json.loads(message)
    except ValueError as error:
        raise AwsError(
            "InvalidParameter",
            "Invalid parameter: Message Structure - JSON message body failed to parse",
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("default"), str):
        raise AwsError(
            "InvalidParameter",
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        )
    others = {key: value for key, value in document.items() if key != "default"}
    if not all(isinstance(value, str) for value in others.values()):
        raise AwsError(
            "InvalidParameter",
            "Invalid parameter: Message Structure - every entry must be a string",
        )
    return document["default"], others


def outgoing(
    message: str,
    *,
    subject: str | None,
    attributes: Mapping[str, Mapping[str, Any]],
    per_protocol: Mapping[str, str],
    group_id: str | None,
    dedup_id: str | None,
) -> OutgoingMessage:
    headers = sqs_messages.to_headers(attributes)
    if subject is not None:
        headers[SUBJECT] = subject
    if dedup_id is not None:
        headers[DEDUPLICATION_ID] = dedup_id
    if per_protocol:
        headers[STRUCTURE] = json.dumps(dict(per_protocol), separators=(",", ":"))
    return OutgoingMessage(message.encode(), group_id=group_id, headers=headers)


def published(message: Message) -> Published:
    headers = dict(message.headers)
    own = {name: headers.pop(name) for name in list(headers) if name.startswith(PREFIX)}
    try:
        per_protocol = json.loads(own.get(STRUCTURE, "{}"))
    except ValueError:
        per_protocol = {}
    return Published(
        message_id=message.id,
        timestamp=message.timestamp,
        message=sqs_messages.body_text(message.body),
        subject=own.get(SUBJECT),
        attributes=sqs_messages.from_headers(headers),
        group_id=message.group_id,
        dedup_id=own.get(DEDUPLICATION_ID) or message.dedup_id,
        per_protocol=per_protocol if isinstance(per_protocol, dict) else {},
    )
