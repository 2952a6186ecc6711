"""The Docker socket proxy lets the orchestrator do its work and nothing else.

DockerRuntime's own tests run through it too (test_docker_runtime.py); here, what must not
pass: every endpoint outside the orchestrator's few, and every container creation that would
reach the host. Each refusal is a 403 from HAProxy, and nothing reached the engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.errors import APIError

from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.docker_proxy import docker_proxy

pytestmark = pytest.mark.docker

IMAGE = stable_image("python")


@pytest.fixture(scope="module")
def proxied() -> Iterator[docker.DockerClient]:
    with docker_proxy() as base_url:
        client = docker.DockerClient(base_url=base_url, timeout=30)
        yield client
        client.close()


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


def refused(call: Any) -> None:
    with pytest.raises(APIError) as error:
        call()
    assert error.value.status_code == 403, error.value


def test_what_the_orchestrator_does_passes(proxied: docker.DockerClient, engine):
    assert proxied.ping()
    name = f"proxy-ok-{uuid.uuid4().hex[:8]}"
    api = proxied.api
    created = api.create_container(
        IMAGE,
        command=["python3", "-c", "import time; time.sleep(600)"],
        name=name,
        labels={SESSION_LABEL: SESSION_ID},
        host_config=api.create_host_config(
            nano_cpus=250_000_000, mem_limit="64m", restart_policy={"Name": "no"}
        ),
    )
    try:
        api.start(created["Id"])
        assert proxied.containers.get(created["Id"]).status == "running"
        assert name in [c.name for c in proxied.containers.list(filters={"name": name})]
        assert "cpu_stats" in api.stats(created["Id"], stream=False)
        api.pause(created["Id"])
        api.unpause(created["Id"])
        api.stop(created["Id"], timeout=1)
        api.wait(created["Id"])
    finally:
        api.remove_container(created["Id"], force=True)
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(name)


@pytest.mark.parametrize(
    "host_config",
    [
        {"privileged": True},
        {"binds": ["/:/host"]},
        {"network_mode": "host"},
        {"pid_mode": "host"},
        {"cap_add": ["SYS_ADMIN"]},
        {"devices": ["/dev/kmsg:/dev/kmsg"]},
        {"security_opt": ["seccomp=unconfined"]},
        {"mounts": [docker.types.Mount("/host", "/", type="bind")]},
        {"volumes_from": ["some-container"]},
    ],
    ids=lambda config: next(iter(config)),
)
def test_a_container_that_would_reach_the_host_is_not_created(
    proxied: docker.DockerClient, engine: docker.DockerClient, host_config: dict[str, Any]
):
    name = f"proxy-escape-{uuid.uuid4().hex[:8]}"
    api = proxied.api
    refused(
        lambda: api.create_container(
            IMAGE,
            command=["true"],
            name=name,
            labels={SESSION_LABEL: SESSION_ID},
            host_config=api.create_host_config(**host_config),
        )
    )
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(name)


def test_everything_else_is_refused(proxied: docker.DockerClient, engine: docker.DockerClient):
    api = proxied.api
    witness = engine.containers.run(
        IMAGE,
        ["python3", "-c", "import time; time.sleep(600)"],
        labels={SESSION_LABEL: SESSION_ID},
        detach=True,
    )
    try:
        refused(lambda: api.exec_create(witness.id, ["id"]))
        refused(lambda: api.logs(witness.id))
        refused(lambda: api.get_archive(witness.id, "/etc/passwd"))
        refused(lambda: api.pull("debian", tag="stable"))
        refused(api.images)
        refused(lambda: api.create_volume("barista-proxy-test"))
        refused(api.networks)
        refused(api.info)
        assert api.get(f"{api.base_url}/events", stream=True, timeout=5).status_code == 403
        refused(lambda: api.commit(witness.id))
        refused(lambda: api.put_archive(witness.id, "/tmp", b""))
    finally:
        witness.remove(force=True)
