"""Receipt handles: opaque tokens for deliveries this orchestrator holds, with their deadlines.

A broker delivery cannot be re-created from a token (a RabbitMQ delivery tag belongs to one
channel, a Kafka offset to one group generation), so the live ``Delivery`` objects stay in a
process-local table keyed by handle. The token itself names the queue, the message and this
receive (a random part), base64url-encoded, so a handle given to the wrong queue or mangled in
transit is told apart from one that merely ended.

A handle works while its message is in flight: until it is deleted, or until its visibility
deadline, when the table gives the delivery back to the broker (``expired``) and forgets it.
It does not survive an orchestrator restart: the broker connection that held the delivery
closes, and the message comes back as the broker returns a dead consumer's messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from broker_adapters import Delivery


@dataclass(frozen=True)
class Receipt:
    """What a handle says: which queue and message, and which receive of it."""

    queue: str
    message_id: str
    nonce: str


def encode(receipt: Receipt) -> str:
    document = json.dumps(
        {"q": receipt.queue, "m": receipt.message_id, "n": receipt.nonce}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode(handle: str) -> Receipt | None:
    """The receipt a handle encodes, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    fields = (document.get("q"), document.get("m"), document.get("n"))
    if not all(isinstance(value, str) and value for value in fields):
        return None
    queue, message_id, nonce = (str(value) for value in fields)
    return Receipt(queue, message_id, nonce)


@dataclass
class Held:
    """A delivery in flight at this orchestrator, until ``deadline`` (monotonic seconds)."""

    handle: str
    queue: str
    backend: str
    delivery: Delivery
    deadline: float


class Receipts:
    """The table of held deliveries; thread-safe. ``clock`` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()

    def hold(self, queue: str, backend: str, delivery: Delivery, timeout: float) -> str:
        receipt = Receipt(queue, delivery.message.id, secrets.token_hex(8))
        handle = encode(receipt)
        with self._lock:
            self._held[handle] = Held(handle, queue, backend, delivery, self._clock() + timeout)
        return handle

    def get(self, handle: str) -> Held | None:
        """The live entry, or None when the handle ended (deleted, expired, other process)."""
        with self._lock:
            held = self._held.get(handle)
            if held is not None and held.deadline <= self._clock():
                return None  # expired: the reaper gives it back on its next pass
            return held

    def release(self, handle: str) -> Held | None:
        """Forget a handle (its delivery was settled); the entry, if it was live."""
        with self._lock:
            return self._held.pop(handle, None)

    def extend(self, handle: str, timeout: float) -> bool:
        """Move the deadline to now + timeout; False when the handle is no longer live."""
        with self._lock:
            held = self._held.get(handle)
            if held is None or held.deadline <= self._clock():
                return False
            held.deadline = self._clock() + timeout
            return True

    def expired(self) -> list[Held]:
        """Remove and return the entries whose deadline has passed."""
        now = self._clock()
        with self._lock:
            gone = [held for held in self._held.values() if held.deadline <= now]
            for held in gone:
                del self._held[held.handle]
        return gone

    def of_queue(self, queue: str, backend: str) -> list[Held]:
        with self._lock:
            return [h for h in self._held.values() if (h.queue, h.backend) == (queue, backend)]

    def drop_queue(self, queue: str, backend: str) -> list[Held]:
        with self._lock:
            gone = [h for h in self._held.values() if (h.queue, h.backend) == (queue, backend)]
            for held in gone:
                del self._held[held.handle]
        return gone

    def all(self) -> list[Held]:
        with self._lock:
            gone = list(self._held.values())
            self._held.clear()
        return gone
