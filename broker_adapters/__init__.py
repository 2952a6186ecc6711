"""One messaging API (SNS-like topics, SQS-like queues) over Kafka, RabbitMQ and Redis, and
in this process's memory (for tests: no network).

    broker = connect("kafka://user:password@127.0.0.1:9092")
    broker = connect("amqp://user:password@127.0.0.1:5672/")
    broker = connect("redis://user:password@127.0.0.1:6379/0")
    broker = connect("memory://shop")

Nothing here knows about orders or Docker. Each backend lives in its own module and imports
its client library only when it is used, so this package imports without every client.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any
from urllib.parse import urlsplit

from broker_adapters.core import (
    Backlog,
    Broker,
    BrokerError,
    BrokerUnavailable,
    DeadLettered,
    Delivery,
    Features,
    Message,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    Sent,
    Subscription,
    UnsupportedSemantic,
    ack_batch,
)

# scheme -> "module:class"; one table, so an unknown scheme can name the known ones.
BACKENDS: dict[str, str] = {
    "kafka": "broker_adapters.kafka:KafkaBroker",
    "amqp": "broker_adapters.rabbitmq:RabbitMQBroker",
    "redis": "broker_adapters.redis:RedisBroker",
    "memory": "broker_adapters.memory:MemoryBroker",
}


class UnknownScheme(BrokerError, ValueError):
    """The URL's scheme names no backend."""


def backend_class(scheme: str) -> type[Broker]:
    """The Broker class for a URL scheme, imported on first use."""
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        close = difflib.get_close_matches(scheme, BACKENDS, n=1)
        hint = f"; did you mean {close[0]}://?" if close else ""
        raise UnknownScheme(f"unknown broker scheme {scheme!r}: known schemes are {known}{hint}")
    module_name, class_name = target.split(":")
    cls: type[Broker] = getattr(importlib.import_module(module_name), class_name)
    return cls


def features_of(url: str) -> Features:
    """What the broker at ``url`` declares (its backend, in the mode the URL chooses), without
    connecting: what an API in front of it may promise before the first call."""
    if "://" not in url:
        raise UnknownScheme(f"broker URL {url!r} has no scheme")
    return backend_class(urlsplit(url).scheme).features_of(url)


def connect(url: str, **options: Any) -> Broker:
    """A Broker for ``url``; ``options`` are the backend's own settings (see its Config)."""
    if "://" not in url:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        raise UnknownScheme(f"broker URL {url!r} has no scheme: start it with one of {known}")
    cls = backend_class(urlsplit(url).scheme)
    return cls.from_url(url, **options)


__all__ = [
    "BACKENDS",
    "Backlog",
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "DeadLettered",
    "Delivery",
    "Features",
    "Message",
    "Outcome",
    "OutgoingMessage",
    "QueueConfig",
    "QueueNotDeclared",
    "RedrivePolicy",
    "Sent",
    "Subscription",
    "UnknownScheme",
    "UnsupportedSemantic",
    "ack_batch",
    "backend_class",
    "connect",
    "features_of",
]
