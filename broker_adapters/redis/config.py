"""RedisConfig: the Redis backend's own settings, from ``from_url`` options or the URL query."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker_adapters.core import DEFAULT_VISIBILITY_TIMEOUT


@dataclass(frozen=True)
class RedisConfig:
    """Knobs of the Redis backend; every one has a default that suits the lab.

    Time values are seconds.
    """

    # One read or write on the socket; must exceed ``long_poll_slice`` (see below).
    socket_timeout: float = 5.0
    socket_connect_timeout: float = 2.0
    # How long one call keeps reconnecting (a Redis restart) before BrokerUnavailable.
    reconnect_budget: float = 30.0
    # Exponential backoff with jitter between reconnect attempts.
    retry_backoff_base: float = 0.05
    retry_backoff_cap: float = 1.0
    # Topic streams are trimmed to about this many entries (XADD MAXLEN ~): a durable
    # subscription away for longer than that many publishes misses the oldest ones.
    topic_max_length: int = 100_000
    # How long a durable subscription's delivery stays in flight before another receive of the
    # same subscription gets it again (subscriptions have no per-receive visibility timeout).
    subscription_visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    # A long poll blocks at most this long at a time before it looks again for messages that
    # became visible without a stream write the poll could wake on (an expired visibility
    # timeout of a delivery made while the poll was already waiting).
    long_poll_slice: float = 1.0
    # declare_queue forgets consumers of the queue that hold no message and were idle this long.
    prune_idle_consumers_after: float = 24 * 3600.0
    # This broker's consumer name in the groups; unique per Broker instance by default.
    consumer_name: str | None = None

    def __post_init__(self) -> None:
        positive = {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_connect_timeout,
            "retry_backoff_base": self.retry_backoff_base,
            "retry_backoff_cap": self.retry_backoff_cap,
            "subscription_visibility_timeout": self.subscription_visibility_timeout,
            "long_poll_slice": self.long_poll_slice,
            "prune_idle_consumers_after": self.prune_idle_consumers_after,
            "topic_max_length": self.topic_max_length,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.reconnect_budget < 0:
            raise ValueError(f"reconnect_budget must be >= 0, got {self.reconnect_budget}")
        if self.long_poll_slice >= self.socket_timeout:
            # A blocking read longer than the socket timeout would be cut off as a timeout.
            raise ValueError("long_poll_slice must be shorter than socket_timeout")

    @classmethod
    def from_options(cls, query: Mapping[str, str], options: Mapping[str, Any]) -> RedisConfig:
        """Settings from a URL query (strings) overridden by keyword options (typed)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted((set(query) | set(options)) - set(fields))
        if unknown:
            raise TypeError(
                f"unknown Redis option(s) {unknown}; known options are {sorted(fields)}",
            )
        values: dict[str, Any] = {
            name: _parse(fields[name].type, text) for name, text in query.items()
        }
        values.update(options)
        return cls(**values)


def _parse(annotation: object, text: str) -> object:
    """A URL query value as the field's type (annotations are strings under __future__)."""
    kind = str(annotation)
    if kind == "float":
        return float(text)
    if kind == "int":
        return int(text)
    return text
