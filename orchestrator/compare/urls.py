"""Where the brokers are: URLs from options, BARISTA_*_URL, or what `make up`'s .env implies.

The fallback mirrors docker-compose.yml: every broker is published on 127.0.0.1 at the port
named in .env (or its default) and requires the user and password .env holds. Variables in the
process environment win over .env, as they do for Compose.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from orchestrator.env_file import read_env_file

BROKERS = ("kafka", "rabbitmq", "redis")
URL_VARIABLES = {
    "kafka": "BARISTA_KAFKA_URL",
    "rabbitmq": "BARISTA_RABBITMQ_URL",
    "redis": "BARISTA_REDIS_URL",
}
# A Kafka queue is consumed in one of two modes with different semantics (a consumer group
# keeps order per message group; a share group has locks and delivery counts), so each mode is
# a backend of its own, measured on the same broker: its column says which mode it is.
KAFKA_QUEUE_MODES = {"kafka": "consumer-group", "kafka-share": "share-group"}
BACKENDS = ("kafka", "kafka-share", "rabbitmq", "redis")
TITLES = {"kafka": "kafka (consumer group)", "kafka-share": "kafka (share group)"}
LOOPBACK = "127.0.0.1"


class BackendUnreachable(Exception):
    """Nothing answers at the backend's address; the message names the (redacted) URL."""


def _credentials(settings: Mapping[str, str], prefix: str) -> str:
    user = settings.get(f"{prefix}_USER", "")
    if not user:
        return ""
    password = settings.get(f"{prefix}_PASSWORD", "")
    return f"{quote(user, safe='')}:{quote(password, safe='')}@"


def compose_urls(settings: Mapping[str, str]) -> dict[str, str]:
    """The URLs of the compose stack's brokers, from .env-style settings."""
    kafka_port = settings.get("KAFKA_PORT", "9092")
    amqp_port = settings.get("RABBITMQ_PORT", "5672")
    management_port = settings.get("RABBITMQ_MANAGEMENT_PORT", "15672")
    redis_port = settings.get("REDIS_PORT", "6379")
    return {
        "kafka": f"kafka://{_credentials(settings, 'KAFKA')}{LOOPBACK}:{kafka_port}",
        "rabbitmq": (
            f"amqp://{_credentials(settings, 'RABBITMQ')}{LOOPBACK}:{amqp_port}"
            f"?management_port={management_port}"
        ),
        "redis": f"redis://{_credentials(settings, 'REDIS')}{LOOPBACK}:{redis_port}",
    }


def broker_of(backend: str) -> str:
    """The broker a backend runs on (both Kafka queue modes run on Kafka)."""
    return "kafka" if backend in KAFKA_QUEUE_MODES else backend


def title(backend: str) -> str:
    """The backend's column heading: a Kafka backend names its queue mode."""
    return TITLES.get(backend, backend)


def backend_url(backend: str, broker_url: str) -> str:
    """The URL the backend's experiments connect to: a Kafka backend's sets ``queue_mode``
    (over any the broker's URL has), so each column is the mode its heading names."""
    mode = KAFKA_QUEUE_MODES.get(backend)
    if mode is None:
        return broker_url
    parts = urlsplit(broker_url)
    query = {**dict(parse_qsl(parts.query)), "queue_mode": mode}
    return urlunsplit(parts._replace(query=urlencode(query)))


def default_urls(environ: Mapping[str, str], env_file: Path) -> dict[str, str]:
    """Per backend: its broker's BARISTA_*_URL if set, else the compose stack's URL (environ
    over .env), in the backend's queue mode."""
    fallback = compose_urls({**read_env_file(env_file), **environ})
    brokers = {broker: environ.get(URL_VARIABLES[broker]) or fallback[broker] for broker in BROKERS}
    return {backend: backend_url(backend, brokers[broker_of(backend)]) for backend in BACKENDS}


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, safe for errors and output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def redact_text(text: str, url: str) -> str:
    """``text`` with the URL's password (plain or URL-encoded) blanked out."""
    raw = urlsplit(url).password
    if not raw:
        return text
    password = unquote(raw)
    # Longest first, so an encoded form is not half-replaced by its decoded prefix.
    for secret in sorted({raw, password, quote(password, safe="")}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def first_address(url: str) -> tuple[str, int]:
    """Host and port of the URL's first server (Kafka URLs may list several)."""
    parts = urlsplit(url)
    server = parts.netloc.rsplit("@", 1)[-1].split(",")[0]
    probe = urlsplit(f"//{server}")
    defaults = {"kafka": 9092, "amqp": 5672, "redis": 6379}
    return probe.hostname or LOOPBACK, probe.port or defaults.get(parts.scheme, 0)


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Open and close a TCP connection, so a stopped broker fails in seconds with its URL.

    The adapters ride out an unreachable broker for up to 30 s (a restart, in production);
    here an absent broker is a setup mistake and should be said at once.
    """
    host, port = first_address(url)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        raise BackendUnreachable(
            f"cannot reach {redact(url)} ({error.strerror or error}); "
            "start the brokers with `make compare` or `make up`, or pass its URL",
        ) from None
