"""A topic's and a subscription's records, and how AWS names them.

Attributes are kept as SNS returns them (strings under AWS's names), so GetTopicAttributes and
GetSubscriptionAttributes answer what was stored; ``attributes.py`` validates them. Counts and
other derived attributes are computed when asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrator.arns import ACCOUNT_ID, arn
from orchestrator.sqs.model import BACKEND_TAG, BACKENDS

__all__ = ["ACCOUNT_ID", "BACKENDS", "BACKEND_TAG"]

FIFO_SUFFIX = ".fifo"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
PENDING_CONFIRMATION = "PendingConfirmation"
# Protocols whose endpoint must confirm (AWS: http, https, email; Barista: http, https).
CONFIRMED_BY_ENDPOINT = ("http", "https")
PROTOCOLS = ("sqs", "http", "https", "application")


@dataclass(frozen=True)
class Topic:
    """One SNS topic and the backend it lives on (chosen at creation, never moved).

    The broker topic is named like the SNS topic, so ``order-events`` here is the
    ``order-events`` the demo's services publish to and subscribe to.
    """

    name: str
    backend: str
    created: float
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return topic_arn(self.name)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoTopic") == "true"


@dataclass(frozen=True)
class Subscription:
    """One subscription. ``id`` is the last part of its ARN and names its broker subscription
    (``sns-{id}``); ``token`` is what SubscribeURL and ConfirmSubscription present."""

    id: str
    topic: str
    protocol: str
    endpoint: str
    token: str
    created: float
    confirmed: bool
    attributes: dict[str, str] = field(default_factory=dict)
    # When the SubscriptionConfirmation was last posted (http/https), None before.
    confirmation_sent: float | None = None

    @property
    def arn(self) -> str:
        return f"{topic_arn(self.topic)}:{self.id}"

    @property
    def listed_arn(self) -> str:
        """What ListSubscriptions shows: the ARN once confirmed, else PendingConfirmation."""
        return self.arn if self.confirmed else PENDING_CONFIRMATION

    @property
    def broker_subscription(self) -> str:
        return f"sns-{self.id}"

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery") == "true"


def topic_arn(name: str) -> str:
    return arn("sns", name)


def name_from_arn(arn: object) -> str | None:
    """The topic name a topic ARN stands for; None if it is not one."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"]:
        return None
    return parts[5] if valid_name(parts[5]) else None


def subscription_id_from_arn(arn: object) -> tuple[str, str] | None:
    """(topic name, subscription id) of a subscription ARN; None if it is not one."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":")
    if len(parts) != 7 or parts[:3] != ["arn", "aws", "sns"] or not valid_name(parts[5]):
        return None
    return parts[5], parts[6]


def valid_name(name: str) -> bool:
    """1..256 letters, digits, ``-`` and ``_``, plus ``.fifo`` for a FIFO topic."""
    stem = name.removesuffix(FIFO_SUFFIX)
    return bool(_NAME.fullmatch(stem)) and len(name) <= 256
