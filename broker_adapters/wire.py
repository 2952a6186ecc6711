"""How a message travels on every broker: the body as bytes, the rest as string headers.

Other clients interoperate by following these names (see broker_adapters/README.md). Every
header is optional on receive: a message from a plain client (kcat, redis-cli, amqp-publish)
gets an id and timestamp from the broker's own metadata and counts as a first attempt.

Decoding never raises on what a plain client wrote: a timestamp that is not a finite number
is replaced by the broker's, and an attempt count that is not a whole number ≥ 0 counts as 0.
Each such repair is written, in words, in the ``barista-malformed-headers`` header of the
decoded message, so a consumer can dead-letter the message with that reason.
"""

from __future__ import annotations

import hashlib
import math
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
# Set on receive (never sent by the adapters): what decode had to repair, in words.
MALFORMED = "barista-malformed-headers"
# Wire headers a decoded message keeps among its user headers.
KEPT_PREFIXES = ("barista-dead-letter-", MALFORMED)


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
    """The headers for a message about to be sent; user headers may not use the prefix.

    Written for the send path's speed (it runs once per message): no copies or checks for
    what a message does not have."""
    encoded = {ID: message_id, TIMESTAMP: f"{timestamp:.6f}"}
    if headers:
        reserved = sorted(name for name in headers if name.startswith(PREFIX))
        if reserved:
            raise ValueError(f"header names starting with {PREFIX!r} are reserved: {reserved}")
        encoded.update(headers)
    if group_id is not None:
        encoded[GROUP_ID] = group_id
    if trace_id is not None:
        encoded[TRACE_ID] = trace_id
    if dedup_id is not None:
        encoded[DEDUP_ID] = dedup_id
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
    """A Message from received bytes and headers; ``receives`` counts this copy's receives.

    Never raises on header values: garbage is repaired and described under ``MALFORMED``.
    """
    problems: list[str] = []
    prior = _prior_attempts(headers.get(PRIOR_ATTEMPTS), problems)
    timestamp = _timestamp(headers.get(TIMESTAMP), problems)
    kept = {
        name: value
        for name, value in headers.items()
        if not name.startswith(PREFIX) or name.startswith(KEPT_PREFIXES)
    }
    if problems:
        earlier = kept.get(MALFORMED)
        kept[MALFORMED] = "; ".join([earlier, *problems] if earlier else problems)
    return Message(
        body=body,
        id=headers.get(ID) or default_id,
        timestamp=default_timestamp if timestamp is None else timestamp,
        attempt=prior + max(receives, 1),
        group_id=headers.get(GROUP_ID),
        trace_id=headers.get(TRACE_ID),
        dedup_id=headers.get(DEDUP_ID),
        headers=kept,
    )


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _prior_attempts(value: str | None, problems: list[str]) -> int:
    """The prior receive count: a whole number ≥ 0, else 0 (and a problem noted)."""
    if not value:
        return 0
    try:
        prior = int(value.strip())
    except ValueError:
        problems.append(f"{PRIOR_ATTEMPTS}: {_shown(value)} is not a whole number")
        return 0
    if prior < 0:
        problems.append(f"{PRIOR_ATTEMPTS}: {_shown(value)} is negative")
        return 0
    return prior


def _timestamp(value: str | None, problems: list[str]) -> float | None:
    """Seconds since the epoch, finite and ≥ 0; None (use the broker's) otherwise."""
    if not value:
        return None
    try:
        timestamp = float(value)
    except ValueError:
        timestamp = math.nan
    if not math.isfinite(timestamp) or timestamp < 0:
        problems.append(f"{TIMESTAMP}: {_shown(value)} is not a time in seconds")
        return None
    return timestamp
