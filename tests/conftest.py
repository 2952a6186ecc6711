"""Shared fixtures: real brokers in containers, started once per session, isolated per test.

Containers are session-scoped (starting Kafka costs seconds); tests isolate themselves with
fresh uuid-named topics, queues and streams (``unique_name``). Under ``CI=true`` a missing
Docker engine or missing images fail the run; elsewhere the Docker tests are skipped with the
same explanation.
"""

from __future__ import annotations

import os

# Ryuk, testcontainers' reaper, is pulled from a registry; fixtures clean up instead, and every
# container carries the barista.test-session label (see `make clean-test-containers`).
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import re
import uuid
from collections.abc import Iterator

import pytest

from tests.support.brokers import (
    BACKEND_FIXTURES,
    Endpoint,
    in_mode,
    start_haproxy,
    start_kafka,
    start_rabbitmq,
    start_redis,
)
from tests.support.containers import Credentials
from tests.support.engine import environment_problem, in_ci


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _keep_one_backend_of_matrix_tests(config, items)
    _leave_out_unless_named(config, items, "predictive")
    _leave_out_unless_named(config, items, "spot_load")
    _leave_out_unless_named(config, items, "deployments")
    _leave_out_unless_named(config, items, "swarm")
    _leave_out_unless_named(config, items, "lifecycle")
    needs_docker = [item for item in items if item.get_closest_marker("docker")]
    if not needs_docker:
        return
    problem = environment_problem()
    if problem is None:
        return
    if in_ci():
        pytest.exit(f"CI=true and the Docker tests cannot run:\n{problem}", returncode=1)
    skip = pytest.mark.skip(reason=" ".join(problem.split()))
    for item in needs_docker:
        item.add_marker(skip)


def _leave_out_unless_named(config: pytest.Config, items: list[pytest.Item], marker: str) -> None:
    """Tests of ``marker`` run only when the ``-m`` expression names it (their own make
    target): they take minutes the default run (and CI) does not have."""
    if marker in (config.getoption("markexpr") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker(marker)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(marker)]


def _keep_one_backend_of_matrix_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``matrix(ci="redis")`` checks a layer above the brokers (a protocol, the
    comparison's API path) that every backend shares: the default run (``make test``, CI) keeps
    the named backend's case (``ci`` may name several); ``-m matrix`` (``make test-matrix``)
    runs every backend's. The backend is the ``backend`` parameter, or the one ``param=``
    names (a parametrized fixture's)."""
    if "matrix" in (config.getoption("markexpr") or ""):
        return
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("matrix")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None:
            kept.append(item)
            continue
        backend = callspec.params.get(marker.kwargs.get("param", "backend"))
        chosen = marker.kwargs["ci"]
        if backend is not None and backend not in (
            (chosen,) if isinstance(chosen, str) else chosen
        ):
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A fresh topic/queue/stream name per test, readable in broker UIs."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def _running(endpoint: Endpoint) -> Iterator[Endpoint]:
    try:
        yield endpoint
    finally:
        endpoint.container.stop()


@pytest.fixture(scope="session")
def kafka() -> Iterator[Endpoint]:
    yield from _running(start_kafka(Credentials.generate("kafka")))


@pytest.fixture(scope="session")
def kafka_share(kafka: Endpoint) -> Endpoint:
    """The session's Kafka, its queues on share groups (``?queue_mode=share-group``)."""
    return in_mode(kafka, "kafka-share")


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[Endpoint]:
    yield from _running(start_rabbitmq(Credentials.generate("rabbit")))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Endpoint]:
    yield from _running(start_redis(Credentials.generate("redis")))


@pytest.fixture(scope="session")
def haproxy() -> Iterator[Endpoint]:
    yield from _running(start_haproxy(Credentials.generate("lb")))


@pytest.fixture(params=list(BACKEND_FIXTURES))
def backend(request: pytest.FixtureRequest) -> str:
    """Runs the requesting test once per broker backend."""
    return str(request.param)


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, backend: str) -> Endpoint:
    """The session broker of the test's backend."""
    return request.getfixturevalue(BACKEND_FIXTURES[backend])  # type: ignore[no-any-return]
