"""How a message travels on every broker: the body as bytes, the rest as string headers.

Other clients interoperate by following these names (see broker_adapters/README.md). Every
header is optional on receive: a message from a plain client (kcat, redis-cli, amqp-publish)
gets an id and timestamp from the broker's own metadata and counts as a first attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from broker_adapters.core import Message

PREFIX = "barista-"
ID = "barista-id"
TIMESTAMP = "barista-timestamp"
# Receives before this copy of the message existed (a nack that re-sends carries them on).
PRIOR_ATTEMPTS = "barista-prior-attempts"
GROUP_ID = "barista-group-id"
TRACE_ID = "barista-trace-id"
DEDUP_ID = "barista-dedup-id"


def encode_headers(
    message_id: str,
    timestamp: float,
    *,
    group_id: str | None = None,
    trace_id: str | None = None,
    dedup_id: str | None = None,
    prior_attempts: int = 0,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers for a message about to be sent; user headers may not use the prefix."""
    user = dict(headers or {})
    reserved = sorted(name for name in user if name.startswith(PREFIX))
    if reserved:
        raise ValueError(f"header names starting with {PREFIX!r} are reserved: {reserved}")
    encoded = {ID: message_id, TIMESTAMP: f"{timestamp:.6f}", **user}
    optional = {GROUP_ID: group_id, TRACE_ID: trace_id, DEDUP_ID: dedup_id}
    encoded |= {name: value for name, value in optional.items() if value is not None}
    if prior_attempts:
        encoded[PRIOR_ATTEMPTS] = str(prior_attempts)
    return encoded


def carry_headers(message: Message, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers for a new copy of a received message (requeue by re-send, dead-letter)."""
    headers = {
        ID: message.id,
        TIMESTAMP: f"{message.timestamp:.6f}",
        PRIOR_ATTEMPTS: str(message.attempt),
        **message.headers,
    }
    optional = {GROUP_ID: message.group_id, TRACE_ID: message.trace_id, DEDUP_ID: message.dedup_id}
    headers |= {name: value for name, value in optional.items() if value is not None}
    return headers | dict(extra or {})


def fallback_id(body: bytes) -> str:
    """A stable id for a message sent without one (equal bodies get equal ids)."""
    return "body-" + hashlib.sha256(body).hexdigest()[:24]


def decode(
    body: bytes,
    headers: Mapping[str, str],
    *,
    default_id: str,
    default_timestamp: float,
    receives: int = 1,
) -> Message:
    """A Message from received bytes and headers; ``receives`` counts this copy's receives."""
    prior = int(headers.get(PRIOR_ATTEMPTS, "0") or 0)
    timestamp = headers.get(TIMESTAMP)
    return Message(
        body=body,
        id=headers.get(ID) or default_id,
        timestamp=float(timestamp) if timestamp else default_timestamp,
        attempt=prior + max(receives, 1),
        group_id=headers.get(GROUP_ID),
        trace_id=headers.get(TRACE_ID),
        dedup_id=headers.get(DEDUP_ID),
        headers={
            name: value
            for name, value in headers.items()
            if not name.startswith(PREFIX) or name.startswith("barista-dead-letter-")
        },
    )
