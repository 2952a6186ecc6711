"""A queue's record: its name, backend, attributes and tags, and how AWS names it.

Attributes are kept as SQS returns them (strings under AWS's names) so GetQueueAttributes
answers what CreateQueue and SetQueueAttributes stored; ``attributes.py`` validates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from orchestrator.arns import ACCOUNT_ID, arn

BACKEND_TAG = "barista:backend"
BACKENDS = ("kafka", "rabbitmq", "redis")
# URL scheme -> backend name, as broker_adapters.connect reads them.
SCHEME_BACKENDS = {"kafka": "kafka", "amqp": "rabbitmq", "redis": "redis"}
FIFO_SUFFIX = ".fifo"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True)
class Queue:
    """One SQS queue and the backend it lives on (chosen at creation, never moved)."""

    name: str
    backend: str
    created: float
    last_modified: float
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return queue_arn(self.name)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"


def queue_arn(name: str) -> str:
    return arn("sqs", name)


def queue_url(name: str, endpoint: str) -> str:
    """``http://host:port/000000000000/NAME``; ``endpoint`` is scheme://host:port."""
    return f"{endpoint.rstrip('/')}/{ACCOUNT_ID}/{name}"


def name_from_url(url: str) -> str | None:
    """The queue name a QueueUrl (any host) or a bare name stands for; None if malformed."""
    path = urlsplit(url).path if "://" in url else url
    parts = [part for part in path.split("/") if part]
    if not parts:
        return None
    name = parts[-1]
    return name if valid_name(name) else None


def name_from_arn(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        return None
    return parts[5] if valid_name(parts[5]) else None


def valid_name(name: str) -> bool:
    """1..80 letters, digits, ``-`` and ``_``, plus ``.fifo`` for a FIFO queue."""
    stem = name.removesuffix(FIFO_SUFFIX)
    return bool(_NAME.fullmatch(stem)) and len(name) <= 80
