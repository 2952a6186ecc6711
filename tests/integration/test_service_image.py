"""The project's own image starts, answers its health endpoint with the locked client
libraries loaded inside the container, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator

import pytest

from tests.support.brokers import http_get
from tests.support.containers import IMAGES_DIR, LOOPBACK, ClientProbe, ProjectContainer

pytestmark = pytest.mark.docker


def locked_versions() -> dict[str, str]:
    lock = (IMAGES_DIR / "service" / "requirements.lock").read_text()
    return dict(re.findall(r"^([a-z0-9-]+)==([^\s\\]+)", lock, flags=re.MULTILINE))


@pytest.fixture
def service() -> Iterator[ProjectContainer]:
    container = ProjectContainer("service").publish(8080)

    def probe() -> None:
        status, _ = http_get(f"http://{LOOPBACK}:{container.host_port(8080)}/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")

    container.waiting_for(ClientProbe(probe)).start()
    yield container
    container.stop()


def test_health_reports_the_locked_clients_and_the_catalog_python(service: ProjectContainer):
    status, body = http_get(f"http://{LOOPBACK}:{service.host_port(8080)}/healthz")
    assert status == 200
    health = json.loads(body)
    locked = locked_versions()
    for client in ("confluent-kafka", "pika", "redis"):
        assert health["clients"][client] == locked[client]
    assert health["clients"]["librdkafka"].startswith("2.")
    catalog = tomllib.loads((IMAGES_DIR / "catalog.toml").read_text())
    assert health["python"].startswith(catalog["service"]["python_version"] + ".")


def test_sigterm_stops_the_service_with_exit_code_0(service: ProjectContainer):
    wrapped = service.get_wrapped_container()
    wrapped.stop(timeout=10)  # SIGTERM, then SIGKILL after 10 s, like ECS's stopTimeout
    wrapped.reload()
    assert wrapped.attrs["State"]["ExitCode"] == 0
    assert wrapped.attrs["State"]["OOMKilled"] is False
