"""Start Kafka, RabbitMQ, Redis and HAProxy for tests, and say how clients reach them."""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import docker.errors
import pika
import redis
from confluent_kafka.admin import AdminClient
from testcontainers.core.network import Network

from tests.support.containers import (
    LOOPBACK,
    ClientProbe,
    Credentials,
    InfraContainer,
    ProjectContainer,
    free_loopback_port,
)

PORT_CLASH_MARKERS = ("port is already allocated", "address already in use")
PORT_CLASH_ATTEMPTS = 3
# Where each broker listens for other containers (Kafka's internal listener, see start.sh).
INTERNAL_PORTS = {"kafka": 19092, "rabbitmq": 5672, "redis": 6379}


@dataclass(frozen=True)
class Endpoint:
    """Where a started container listens on the host, and the credentials it expects."""

    scheme: str
    port: int
    credentials: Credentials
    container: ProjectContainer
    ports: dict[str, int] = field(default_factory=dict)
    host: str = LOOPBACK
    query: str = ""

    def internal_url(self, host: str | None = None, port: int | None = None) -> str:
        """The URL other containers on the test network use (the alias is the image key)."""
        user = quote(self.credentials.user, safe="")
        password = quote(self.credentials.password, safe="")
        host = host or self.container.key
        port = port or INTERNAL_PORTS[self.container.key]
        url = f"{self.scheme}://{user}:{password}@{host}:{port}"
        if self.scheme == "amqp":
            return f"{url}?management_port=15672"
        # A Kafka URL's query is its queue mode (in_mode), the same inside the network.
        return f"{url}?{self.query}" if self.query else url

    @property
    def url(self) -> str:
        """The broker URL in the form ``broker_adapters.connect`` takes."""
        user = quote(self.credentials.user, safe="")
        password = quote(self.credentials.password, safe="")
        url = f"{self.scheme}://{user}:{password}@{self.host}:{self.port}"
        return f"{url}?{self.query}" if self.query else url


@dataclass(frozen=True)
class MemoryEndpoint:
    """A ``memory://`` broker: the URL names a store in this process, so it is the test's own."""

    url: str
    scheme: str = "memory"


def kafka_config(port: int, credentials: Credentials, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for the broker's SASL/PLAIN listener on 127.0.0.1:port."""
    return {
        "bootstrap.servers": f"{LOOPBACK}:{port}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": credentials.user,
        "sasl.password": credentials.password,
        **overrides,
    }


def pika_parameters(port: int, credentials: Credentials) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        host=LOOPBACK,
        port=port,
        credentials=pika.PlainCredentials(credentials.user, credentials.password),
        connection_attempts=1,
        socket_timeout=5,
        blocked_connection_timeout=5,
    )


def redis_client(port: int, credentials: Credentials | None, **overrides: Any) -> redis.Redis:
    """A client logging in as ``credentials``; None connects without logging in."""
    settings: dict[str, Any] = {
        "host": LOOPBACK,
        "port": port,
        "username": credentials.user if credentials else None,
        "password": credentials.password if credentials else None,
        "socket_timeout": 5,
        **overrides,
    }
    return redis.Redis(**settings)


def http_get(
    url: str, credentials: Credentials | None = None, timeout: float = 5
) -> tuple[int, bytes]:
    """GET a URL and return (status, body) without raising on 4xx/5xx."""
    request = urllib.request.Request(url)
    if credentials is not None:
        token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _start_with_free_port(build: Callable[[int], ProjectContainer]) -> tuple[ProjectContainer, int]:
    """Start a container whose host port must equal its own; retry on a port taken meanwhile."""
    for attempt in range(1, PORT_CLASH_ATTEMPTS + 1):
        port = free_loopback_port()
        container = build(port)
        try:
            container.start()
        except docker.errors.APIError as error:
            container.stop()
            if attempt < PORT_CLASH_ATTEMPTS and any(m in str(error) for m in PORT_CLASH_MARKERS):
                continue
            raise
        return container, port
    raise AssertionError("unreachable")


def start_kafka(credentials: Credentials, network: Network | None = None) -> Endpoint:
    """A single-node KRaft broker; its host port is also its advertised port."""

    def build(port: int) -> ProjectContainer:
        def probe() -> None:
            metadata = AdminClient(kafka_config(port, credentials)).list_topics(timeout=3)
            if not metadata.brokers:
                raise RuntimeError("no broker in the metadata yet")

        return (
            InfraContainer("kafka", user="appuser", network=network)
            .publish(port, port)
            .with_env("KAFKA_USER", credentials.user)
            .with_env("KAFKA_PASSWORD", credentials.password)
            .with_env("KAFKA_EXTERNAL_PORT", str(port))
            .with_env("KAFKA_ADVERTISED_HOST", LOOPBACK)
            .with_env("KAFKA_INTERNAL_HOST", "kafka")
            .waiting_for(ClientProbe(probe))
        )

    container, port = _start_with_free_port(build)
    return Endpoint("kafka", port, credentials, container)


def start_rabbitmq(credentials: Credentials, network: Network | None = None) -> Endpoint:
    """RabbitMQ on fixed host ports, so a restarted container is found where it was."""
    management_port = free_loopback_port()

    def build(port: int) -> ProjectContainer:
        def probe() -> None:
            pika.BlockingConnection(pika_parameters(port, credentials)).close()

        return (
            InfraContainer("rabbitmq", user="rabbitmq", network=network)
            .publish(5672, port)
            .publish(15672, management_port)
            .with_env("RABBITMQ_USER", credentials.user)
            .with_env("RABBITMQ_PASSWORD", credentials.password)
            .waiting_for(ClientProbe(probe))
        )

    container, port = _start_with_free_port(build)
    return Endpoint(
        "amqp",
        port,
        credentials,
        container,
        ports={"management": management_port},
        query=f"management_port={management_port}",
    )


def start_redis(credentials: Credentials, network: Network | None = None) -> Endpoint:
    """Redis on a fixed host port, so a restarted container is found where it was."""

    def build(port: int) -> ProjectContainer:
        def probe() -> None:
            if not redis_client(port, credentials).ping():
                raise RuntimeError("no PONG")

        return (
            InfraContainer("redis", user="redis", network=network)
            .publish(6379, port)
            .with_env("REDIS_USER", credentials.user)
            .with_env("REDIS_PASSWORD", credentials.password)
            .waiting_for(ClientProbe(probe))
        )

    container, port = _start_with_free_port(build)
    return Endpoint("redis", port, credentials, container)


def start_haproxy(credentials: Credentials) -> Endpoint:
    """HAProxy with its ALB listener (8080), stats page (8404) and runtime API (9999)."""
    container = (
        InfraContainer("haproxy", user="haproxy")
        .publish(8080)
        .publish(8404)
        .publish(9999)
        .with_env("HAPROXY_STATS_USER", credentials.user)
        .with_env("HAPROXY_STATS_PASSWORD", credentials.password)
    )

    def probe() -> None:
        status, _ = http_get(f"http://{LOOPBACK}:{container.host_port(8404)}/stats", credentials)
        if status != 200:
            raise RuntimeError(f"stats page answered {status}")

    container.waiting_for(ClientProbe(probe)).start()
    return Endpoint(
        "http",
        container.host_port(8080),
        credentials,
        container,
        ports={"stats": container.host_port(8404), "runtime_api": container.host_port(9999)},
    )


# Every broker backend by name, as tests and benchmarks parametrise over them.
STARTERS = {"kafka": start_kafka, "rabbitmq": start_rabbitmq, "redis": start_redis}
# The session fixture (tests/conftest.py) that runs each backend's shared broker.
BACKEND_FIXTURES = {"kafka": "kafka", "rabbitmq": "rabbitmq", "redis": "redis_server"}
# The contract suite runs every queue mode as a backend of its own: kafka-share is the same
# Kafka with queues on share groups (KafkaConfig.queue_mode, set in the URL). memory is the
# in-process backend: a store of the test's own, no container.
CONTRACT_BACKEND_FIXTURES = {
    **BACKEND_FIXTURES,
    "kafka-share": "kafka_share",
    "memory": "memory_endpoint",
}
# Backends that run inside the test process: their tests need no Docker.
IN_PROCESS_BACKENDS = frozenset({"memory"})
# Backends that are a queue mode of another broker: the broker, and the query its URL gains.
BACKEND_MODES = {"kafka-share": ("kafka", "queue_mode=share-group")}
# Brokers in containers, each queue mode its own: what the services in containers run on.
QUEUE_BACKENDS = [b for b in CONTRACT_BACKEND_FIXTURES if b not in IN_PROCESS_BACKENDS]


def broker_of(backend: str) -> str:
    """The broker under a backend: ``kafka`` for kafka-share, else the backend itself."""
    return BACKEND_MODES[backend][0] if backend in BACKEND_MODES else backend


def in_mode(endpoint: Endpoint, backend: str) -> Endpoint:
    """``endpoint`` as ``backend`` reaches it (kafka-share: queues on share groups)."""
    if backend not in BACKEND_MODES:
        return endpoint
    return replace(endpoint, query=BACKEND_MODES[backend][1])


def start_backend(
    backend: str, credentials: Credentials, network: Network | None = None
) -> Endpoint:
    """A broker of its own for ``backend`` (a name of QUEUE_BACKENDS), in its queue mode."""
    broker = BACKEND_MODES.get(backend, (backend, ""))[0]
    return in_mode(STARTERS[broker](credentials, network=network), backend)
