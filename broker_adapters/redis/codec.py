"""How a message is laid out in a stream entry and in a Pub/Sub payload.

Stream entry fields (what ``redis-cli XADD`` needs to write to interoperate):

- ``body``: the message bytes (the only field a plain client must set);
- one field per wire header, named as in ``broker_adapters.wire`` (``barista-id``,
  ``barista-timestamp``, ``barista-group-id``, ``barista-trace-id``, ``barista-dedup-id``,
  ``barista-prior-attempts``, ``barista-dead-letter-reason``, ``barista-dead-letter-source``);
- ``headers``: the user headers as one JSON object of strings, so a user header can never
  collide with ``body`` or a wire header.

Any other field a plain client adds is read as a user header of that name. An entry without
``barista-id`` gets its entry id as message id and the entry id's milliseconds as timestamp.

A Pub/Sub payload (fire-and-forget subscriptions) has no fields, so it is framed:
``barista:1\\n`` + a JSON object of all headers + ``\\n`` + body. A payload without that first
line (a plain ``PUBLISH``) is all body, with an id derived from the body.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from redis.typing import EncodableT, FieldT

from broker_adapters import wire
from broker_adapters.core import Message, now

BODY = "body"
HEADERS = "headers"
PAYLOAD_MAGIC = b"barista:1\n"

Fields = dict[FieldT, EncodableT]


def entry_fields(body: bytes, headers: Mapping[str, str]) -> Fields:
    """Stream entry fields for a message whose full headers (wire + user) are ``headers``."""
    fields: Fields = {BODY: body}
    user: dict[str, str] = {}
    prefix = wire.PREFIX
    for name, value in headers.items():
        if name.startswith(prefix):
            fields[name] = value
        else:
            user[name] = value
    if user:
        fields[HEADERS] = json.dumps(user, ensure_ascii=False, sort_keys=True)
    return fields


def flatten(fields: Fields) -> list[EncodableT]:
    """Fields as the flat name, value, name, value, ... list that scripts and XADD take."""
    return [item for pair in fields.items() for item in pair]


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def entry_ms(entry_id: str) -> int:
    return int(entry_id.partition("-")[0])


def decode_entry(entry_id: str, raw: Mapping[bytes, bytes], receives: int) -> Message:
    """The Message in a stream entry; ``receives`` is its delivery count in the group."""
    return decode_fields(
        raw,
        default_id=entry_id,
        default_timestamp=entry_ms(entry_id) / 1000,
        receives=receives,
    )


def dead_lettered(entry_id: str, raw: Mapping[bytes, bytes], receives: int) -> Message:
    """The Message a receive script dead-lettered, its ``attempt`` the receives it counted
    (consumers' receives, prior attempts included), as the dead-letter copy records them."""
    return dataclasses.replace(decode_entry(entry_id, raw, receives), attempt=receives)


def decode_fields(
    raw: Mapping[bytes, bytes], *, default_id: str, default_timestamp: float, receives: int
) -> Message:
    """The Message in entry fields (a stream entry's, or a FIFO queue entry's)."""
    headers: dict[str, str] = {}
    body = b""
    for raw_name, value in raw.items():
        name = _text(raw_name)
        if name == BODY:
            body = value
        elif name == HEADERS:
            headers.update(_user_headers(value))
        else:
            headers[name] = _text(value)
    return wire.decode(
        body,
        headers,
        default_id=default_id,
        default_timestamp=default_timestamp,
        receives=receives,
    )


def _user_headers(value: bytes) -> dict[str, str]:
    """The JSON ``headers`` field; a plain client's non-JSON value is kept as one header."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        parsed = None
    if not isinstance(parsed, dict):
        return {HEADERS: _text(value)}
    return {str(name): str(item) for name, item in parsed.items()}


def pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """A script's flat field list as a mapping."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def encode_payload(body: bytes, headers: Mapping[str, str]) -> bytes:
    header_line = json.dumps(dict(headers), ensure_ascii=False, sort_keys=True).encode()
    return PAYLOAD_MAGIC + header_line + b"\n" + body


def decode_payload(payload: bytes) -> Message:
    if payload.startswith(PAYLOAD_MAGIC):
        header_line, _, body = payload[len(PAYLOAD_MAGIC) :].partition(b"\n")
        try:
            headers = json.loads(header_line)
        except (ValueError, RecursionError):
            headers = None
        if isinstance(headers, dict):
            return wire.decode(
                body,
                {str(name): str(value) for name, value in headers.items()},
                default_id=wire.fallback_id(body),
                default_timestamp=now(),
            )
    return wire.decode(payload, {}, default_id=wire.fallback_id(payload), default_timestamp=now())
