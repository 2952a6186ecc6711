"""RabbitMQ's own settings, and how an ``amqp://`` URL becomes them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_AMQP_PORT = 5672
DEFAULT_MANAGEMENT_PORT = 15672


def http_url(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class RabbitMQConfig:
    """Knobs only the RabbitMQ backend has; ``from_url`` options override any of them.

    ``timeout`` bounds how long one call rides out an unreachable or restarting broker
    (reconnecting with backoff) and how long it waits for a publisher confirm, after which it
    raises ``BrokerUnavailable``. ``heartbeat`` is the AMQP heartbeat the client asks for: a
    consumer whose process hangs (rather than exits) gives its messages back after about
    twice this. A background thread keeps heartbeats flowing while the caller is busy between
    calls, so a slow consumer is not mistaken for a dead one.
    """

    host: str = "localhost"
    port: int = DEFAULT_AMQP_PORT
    virtual_host: str = "/"
    user: str = "guest"
    password: str = "guest"  # noqa: S105 - RabbitMQ's documented default, refused off-host
    # Management HTTP API root (backlog reads queue depths there); same credentials.
    management_url: str = ""
    timeout: float = 30.0
    heartbeat: int = 15
    # Shown in the management UI (and API) as the connection's name.
    connection_name: str = "barista broker_adapters"
    # Socket connect/read timeout for one connection attempt.
    socket_timeout: float = 5.0
    # Publishes in flight before the batch publisher waits for confirms.
    confirm_window: int = 1000
    # An idle delay queue is deleted this long after its last message could have expired.
    delay_queue_idle_expiry: float = 60.0

    def __post_init__(self) -> None:
        if not self.management_url:
            object.__setattr__(self, "management_url", http_url(self.host, DEFAULT_MANAGEMENT_PORT))
        if self.timeout <= 0 or self.socket_timeout <= 0:
            raise ValueError("timeout and socket_timeout must be positive")
        if self.heartbeat < 0:
            raise ValueError("heartbeat must be >= 0 (0 turns heartbeats off)")
        if self.confirm_window < 1:
            raise ValueError("confirm_window must be at least 1")

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RabbitMQConfig:
        """``amqp://user:password@host:port/vhost?management_port=15672``.

        User and password are URL-decoded; the vhost is the URL-decoded path, "/" when the
        path is empty or "/" (write "%2F" explicitly for clarity). ``management_port`` in the
        query (or a ``management_url`` option) says where the management API listens;
        by default port 15672 on the AMQP host.
        """
        parts = urlsplit(url)
        if parts.scheme != "amqp":
            raise ValueError(f"a RabbitMQ URL starts with amqp://, got {url!r}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown RabbitMQ options {unknown}; known: {sorted(known)}")
        host = parts.hostname or "localhost"
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        settings: dict[str, Any] = {
            "host": host,
            "port": parts.port or DEFAULT_AMQP_PORT,
            "virtual_host": unquote(path) or "/",
        }
        if parts.username is not None:
            settings["user"] = unquote(parts.username)
        if parts.password is not None:
            settings["password"] = unquote(parts.password)
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown_query = sorted(set(query) - {"management_port", "heartbeat"})
        if unknown_query:
            raise ValueError(
                f"unknown query parameters {unknown_query} in a RabbitMQ URL; "
                "known: management_port, heartbeat",
            )
        if "management_port" in query:
            settings["management_url"] = http_url(host, int(query["management_port"]))
        if "heartbeat" in query:
            settings["heartbeat"] = int(query["heartbeat"])
        return cls(**(settings | options))
