"""The contract suite runs every test once per backend: against real brokers in containers
(marked ``docker``), and against the in-process memory backend (no Docker).

A test that needs a semantic a backend declares it lacks (``Features``) is skipped with the
declaration as the reason, so `pytest -ra` prints the list of declared differences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from broker_adapters import Broker, connect
from tests.support.brokers import (
    CONTRACT_BACKEND_FIXTURES,
    IN_PROCESS_BACKENDS,
    Endpoint,
    MemoryEndpoint,
)


@pytest.fixture(
    params=[
        pytest.param(name, marks=() if name in IN_PROCESS_BACKENDS else pytest.mark.docker)
        for name in CONTRACT_BACKEND_FIXTURES
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """Runs the requesting test once per backend and queue mode (kafka-share: share groups);
    the cases of a backend in a container are marked ``docker``."""
    return str(request.param)


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, backend: str) -> Endpoint | MemoryEndpoint:
    """The session broker of the test's backend, in the backend's queue mode."""
    return request.getfixturevalue(CONTRACT_BACKEND_FIXTURES[backend])  # type: ignore[no-any-return]


@pytest.fixture
def memory_endpoint(unique_name: str) -> MemoryEndpoint:
    """A memory store named for the test, so no other test shares its queues."""
    return MemoryEndpoint(f"memory://{unique_name}")


@pytest.fixture
def connect_broker(endpoint: Endpoint | MemoryEndpoint) -> Iterator[Callable[[], Broker]]:
    """Opens extra connections (competing consumers); all are closed after the test."""
    opened: list[Broker] = []

    def open_one() -> Broker:
        broker = connect(endpoint.url)
        opened.append(broker)
        return broker

    yield open_one
    for broker in reversed(opened):
        broker.close()


@pytest.fixture
def broker(connect_broker: Callable[[], Broker]) -> Broker:
    return connect_broker()


def require(broker: Broker, feature: str, wanted: object = True) -> None:
    """Skip unless the backend declares ``feature == wanted``; the reason quotes it."""
    value = getattr(broker.features, feature)
    if value != wanted:
        pytest.skip(
            f"{broker.features.name} declares {feature}={value!r}; the test needs {wanted!r}"
        )
