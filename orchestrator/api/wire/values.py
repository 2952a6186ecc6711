"""Value conversions every protocol shares: timestamps, blobs, and output walked by its shape.

Actions see timestamps as ISO 8601 strings (what ``--cli-input-json`` takes) and may return
them as strings, epoch numbers or datetimes; :func:`normalise` turns a returned document into
typed values (aware datetimes, bytes, ints, floats, bools) that each protocol then encodes its
own way, keeping only the members the shape defines.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from orchestrator.errors import AwsError

log = logging.getLogger(__name__)

INTEGER_TYPES = frozenset({"integer", "long", "short", "byte"})
FLOAT_TYPES = frozenset({"float", "double"})


def iso_text(moment: datetime) -> str:
    """The ISO 8601 form actions receive: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_datetime(value: Any) -> datetime:
    """An aware UTC datetime from an ISO string, epoch seconds or a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp_input(value: Any, member: str) -> str:
    """A timestamp as the wire carried it → the ISO text actions take."""
    try:
        return iso_text(to_datetime(value))
    except (ValueError, OverflowError, OSError):
        raise AwsError(
            "ValidationError",
            f"Value '{value}' at '{member}' failed to satisfy constraint: Member must be a "
            "timestamp (ISO 8601 or epoch seconds)",
        ) from None


def blob_input(value: Any, member: str) -> bytes:
    """A base64 blob from a text protocol → bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise AwsError(
            "ValidationError",
            f"Value at '{member}' failed to satisfy constraint: Member must be base64",
        ) from None


def _scalar(kind: str, value: Any) -> Any:
    if kind == "timestamp":
        return to_datetime(value)
    if kind == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind == "boolean":
        return bool(value)
    if kind in INTEGER_TYPES:
        return int(value)
    if kind in FLOAT_TYPES:
        return float(value)
    return value if isinstance(value, str) else str(value)


def normalise(shape: Shape, value: Any, path: str = "") -> Any:
    """A returned value, typed by its shape; None for members that should not be sent."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            raise TypeError(f"{path or shape.name}: expected a structure, got {value!r}")
        out: dict[str, Any] = {}
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                log.debug("dropping %s.%s: not in the model's %s", path, name, shape.name)
                continue
            typed = normalise(member, item, f"{path}.{name}" if path else name)
            if typed is not None:
                out[name] = typed
        return out
    if isinstance(shape, ListShape):
        return [normalise(shape.member, item, f"{path}[]") for item in value]
    if isinstance(shape, MapShape):
        return {
            str(key): normalise(shape.value, item, f"{path}.{key}") for key, item in value.items()
        }
    return _scalar(shape.type_name, value)


def epoch(moment: datetime) -> float | int:
    """Epoch seconds, an int when whole (what AWS's JSON services send)."""
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else round(seconds, 3)
