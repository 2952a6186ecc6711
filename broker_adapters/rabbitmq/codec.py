"""Messages to and from AMQP properties, and the names of the queues this backend derives."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pika

from broker_adapters import wire
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE, Message, now

PERSISTENT = 2
# Headers RabbitMQ itself adds; they are read here, not handed to the application.
BROKER_HEADERS = ("x-death", "x-delivery-count", "x-acquired-count")
BROKER_HEADER_PREFIXES = ("x-first-death-", "x-last-death-")
DELAY_QUEUE = re.compile(r"\.delay\.\d+ms$")


def delay_queue_name(queue: str, delay_ms: int) -> str:
    """The holding queue for ``queue``'s messages delayed by exactly ``delay_ms``.

    Server-named queues (``amq.gen-…``) get a ``barista.`` stem, since names starting with
    ``amq.`` are reserved for the broker.
    """
    stem = f"barista.{queue}" if queue.startswith("amq.") else queue
    return f"{stem}.delay.{delay_ms}ms"


def delay_queue_pattern(queue: str) -> str:
    """A regular expression matching the names of ``queue``'s delay queues."""
    return f"^{re.escape(queue)}\\.delay\\.[0-9]+ms$"


def properties(
    message_id: str, timestamp: float, headers: Mapping[str, str]
) -> pika.BasicProperties:
    """Persistent, with the id and timestamp also in the AMQP fields plain clients read."""
    return pika.BasicProperties(
        message_id=message_id,
        timestamp=int(timestamp),
        delivery_mode=PERSISTENT,
        headers=dict(headers),
    )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _is_broker_header(name: str) -> bool:
    return name in BROKER_HEADERS or name.startswith(BROKER_HEADER_PREFIXES)


def receives(raw_headers: Mapping[str, Any], redelivered: bool) -> int:
    """How many times this copy has been received, this time included.

    Quorum queues count every return (nack, reject, channel or connection close) in
    ``x-delivery-count``, absent on the first delivery. Classic queues (fire-and-forget
    subscriptions) only flag a redelivery, so a redelivered message counts as a second receive.

    Measured quirk of 4.0.5: a message the broker dead-lettered after a connection close
    arrives in the dead-letter queue still carrying its source's count (so its first receive
    there reads ``max_receive_count + 1``, as SQS's would), but after a nack it arrives without
    one (reads 1); from its first return in the DLQ on, the DLQ's own count takes over.
    """
    count = raw_headers.get("x-delivery-count")
    if isinstance(count, int) and count >= 0:
        return count + 1
    # Absent, or not the broker's (a plain client may publish any header): the flag decides.
    return 2 if redelivered else 1


def decode(method: Any, props: Any, body: bytes) -> Message:
    """A Message from a delivery (basic.deliver); messages from plain AMQP clients get defaults."""
    raw: Mapping[str, Any] = props.headers or {}
    headers = {name: _text(value) for name, value in raw.items() if not _is_broker_header(name)}
    last_queue = raw.get("x-last-death-queue")
    if (
        DEAD_LETTER_REASON not in headers
        and last_queue is not None
        and not DELAY_QUEUE.search(_text(last_queue))
    ):
        # Dead-lettered by the broker itself (the delivery limit), not by this adapter.
        headers[DEAD_LETTER_REASON] = _text(raw.get("x-last-death-reason", "unknown"))
        headers[DEAD_LETTER_SOURCE] = _text(last_queue)
    return wire.decode(
        body,
        headers,
        default_id=props.message_id or wire.fallback_id(body),
        default_timestamp=float(props.timestamp) if props.timestamp else now(),
        receives=receives(raw, bool(method.redelivered)),
    )
