"""SQS messages on the broker wire format (broker_adapters/README.md), and back.

Message attributes travel as ordinary headers, so a barista or a plain broker client reads
them: an attribute ``table`` of type String is the header ``table: 4``. A Binary attribute's
value is base64 in its header, and every type other than plain ``String`` is recorded in the
``sqs-data-types`` header (JSON, name → DataType). On receive, every header not reserved by
the wire format reads as a String attribute unless ``sqs-data-types`` says otherwise, so
headers set by other clients show up as MessageAttributes too. ``AWSTraceHeader`` (the one
message system attribute) is the wire format's trace id.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from broker_adapters import wire
from orchestrator.sqs.errors import invalid_parameter

DATA_TYPES_HEADER = "sqs-data-types"
MAX_ATTRIBUTES = 10
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_BASE_TYPES = ("String", "Number", "Binary")


def check_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """AWS's rules for MessageAttributes: at most 10, valid names, a type, a value."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    checked: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        lowered = name.lower()
        if (
            not _ATTRIBUTE_NAME.fullmatch(name)
            or name.startswith(".")
            or name.endswith(".")
            or ".." in name
            or lowered.startswith(("aws.", "amazon."))
            or lowered.startswith(wire.PREFIX)
            or name == DATA_TYPES_HEADER
        ):
            raise invalid_parameter(f"Message attribute name '{name}' is invalid.")
        if not isinstance(value, Mapping):
            raise invalid_parameter(f"Message attribute '{name}' must be a structure.")
        data_type = value.get("DataType")
        if not isinstance(data_type, str) or data_type.split(".", 1)[0] not in _BASE_TYPES:
            raise invalid_parameter(
                f"The message attribute '{name}' has an invalid message attribute type, the set "
                "of supported type prefixes is Binary, Number, and String."
            )
        if data_type.startswith("Binary"):
            blob = value.get("BinaryValue")
            if isinstance(blob, str):  # the plain JSON API carries blobs as base64
                try:
                    blob = base64.b64decode(blob, validate=True)
                except (binascii.Error, ValueError):
                    blob = None
            if not isinstance(blob, bytes | bytearray):
                raise invalid_parameter(
                    f"The message attribute '{name}' must contain a binary value."
                )
            checked[name] = {"DataType": data_type, "BinaryValue": bytes(blob)}
        else:
            text = value.get("StringValue")
            if not isinstance(text, str) or not text:
                raise invalid_parameter(
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    "value for message attribute type '" + data_type + "'."
                )
            checked[name] = {"DataType": data_type, "StringValue": text}
    return checked


def to_headers(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    types: dict[str, str] = {}
    for name, value in attributes.items():
        data_type = value["DataType"]
        if "BinaryValue" in value:
            headers[name] = base64.b64encode(value["BinaryValue"]).decode()
        else:
            headers[name] = value["StringValue"]
        if data_type != "String":
            types[name] = data_type
    if types:
        headers[DATA_TYPES_HEADER] = json.dumps(types, separators=(",", ":"), sort_keys=True)
    return headers


def from_headers(headers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """MessageAttributes from a received message's headers (see the module docstring)."""
    try:
        types = json.loads(headers.get(DATA_TYPES_HEADER, "{}"))
    except json.JSONDecodeError:
        types = {}
    if not isinstance(types, dict):
        types = {}
    attributes: dict[str, dict[str, Any]] = {}
    for name, value in headers.items():
        if name.startswith(wire.PREFIX) or name == DATA_TYPES_HEADER or not value:
            continue
        data_type = str(types.get(name, "String"))
        if data_type.startswith("Binary"):
            try:
                blob = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                attributes[name] = {"DataType": "String", "StringValue": value}
                continue
            attributes[name] = {"DataType": data_type, "BinaryValue": blob}
        else:
            attributes[name] = {"DataType": data_type, "StringValue": value}
    return attributes


def selected(
    attributes: Mapping[str, dict[str, Any]], names: list[str]
) -> dict[str, dict[str, Any]]:
    """ReceiveMessage's MessageAttributeNames: ``All``, ``.*``, exact names, ``prefix.*``."""
    if not names:
        return {}
    chosen: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        for pattern in names:
            if pattern in ("All", ".*", name) or (
                pattern.endswith(".*") and name.startswith(pattern[:-1])
            ):
                chosen[name] = value
    return chosen


def body_text(body: bytes) -> str:
    """SQS bodies are text; bytes from another client that are not UTF-8 are shown replaced."""
    return body.decode("utf-8", errors="replace")
