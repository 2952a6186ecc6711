"""DockerRuntime on a real engine: labels round-trip, ECS-style stops, deaths are visible.

Every container is labelled with this pytest session (``barista.test-session``) and removed by
a finalizer. Waits poll a condition with a deadline; the only timing assertions are the
stop-timeout bounds the runtime promises.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import docker
import pytest
from docker.errors import NotFound

from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime import InstanceIdInUse, Runtime
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.images import ImageNotAllowed
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.docker_proxy import docker_proxy

pytestmark = pytest.mark.docker

T = TypeVar("T")

SERVICE = LaunchTemplateData(
    image=stable_image("service"), command=("serve", "health"), stop_timeout=10.0
)
IGNORES_SIGTERM = LaunchTemplateData(
    image=stable_image("python"),
    command=(
        "python3",
        "-c",
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring SIGTERM', flush=True)\n"
        "time.sleep(600)",
    ),
    stop_timeout=2.0,
)
SLEEPER = LaunchTemplateData(
    image=stable_image("python"),
    command=("python3", "-c", "import time; time.sleep(600)"),
    stop_timeout=1.0,
)


def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll until ``condition`` returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    docker_client = docker.from_env()
    yield docker_client
    docker_client.close()


@pytest.fixture(scope="module")
def proxied_client() -> Iterator[docker.DockerClient]:
    """The engine through the Docker socket proxy, as the orchestrator reaches it in compose."""
    with docker_proxy() as base_url:
        docker_client = docker.DockerClient(base_url=base_url, timeout=60)
        yield docker_client
        docker_client.close()


@pytest.fixture(params=["engine", "docker-proxy"])
def runtime(request: pytest.FixtureRequest, client: docker.DockerClient) -> Iterator[DockerRuntime]:
    """The runtime on the engine's socket, and through the proxy (every call it makes must
    pass the proxy's rules); the tests' own checks always read the engine directly."""
    through = client if request.param == "engine" else request.getfixturevalue("proxied_client")
    docker_runtime = DockerRuntime(through, labels={SESSION_LABEL: SESSION_ID})
    yield docker_runtime
    for instance in docker_runtime.instances():
        docker_runtime.terminate(instance.instance_id, stop_timeout=0)


@pytest.fixture
def group() -> str:
    return f"rt-{uuid.uuid4().hex[:8]}"


def launch(
    runtime: Runtime,
    group: str,
    data: LaunchTemplateData,
    *,
    availability_zone: str = "az-a",
    template_version: int = 1,
    lifecycle: Lifecycle = Lifecycle.ON_DEMAND,
    protected: bool = False,
) -> Instance:
    return runtime.launch(
        group,
        f"i-{uuid.uuid4().hex[:10]}",
        template_name="tmpl",
        template_version=template_version,
        data=data,
        availability_zone=availability_zone,
        lifecycle=lifecycle,
        protected=protected,
    )


def listed(runtime: Runtime, group: str) -> dict[str, Instance]:
    return {instance.instance_id: instance for instance in runtime.instances(group)}


def exit_code(client: docker.DockerClient, container_id: str, since: float) -> int:
    """The exit code Docker recorded when the container died (read from the event log,
    because a terminated container is already removed)."""
    events = client.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        filters={"container": container_id, "event": "die"},
        decode=True,
    )
    codes = [int(event["Actor"]["Attributes"]["exitCode"]) for event in events]
    assert codes, f"no die event for {container_id}"
    return codes[-1]


def test_docker_runtime_satisfies_the_protocol(runtime: DockerRuntime):
    checked: Runtime = runtime
    assert isinstance(checked, Runtime)


def test_launched_instances_are_listed_with_every_label_field_and_become_healthy(
    runtime: DockerRuntime, client: docker.DockerClient, group: str
):
    before = runtime.now()
    first = launch(runtime, group, SERVICE, availability_zone="az-a", template_version=3)
    second = launch(
        runtime,
        group,
        SERVICE,
        availability_zone="az-b",
        template_version=4,
        lifecycle=Lifecycle.SPOT,
        protected=True,
    )
    after = runtime.now()
    assert first.health is Health.STARTING  # the image has a HEALTHCHECK

    def all_healthy() -> dict[str, Instance] | None:
        found = listed(runtime, group)
        return found if all(i.health is Health.HEALTHY for i in found.values()) else None

    started = time.monotonic()
    healthy = wait_for(all_healthy, timeout=60, what="both instances HEALTHY")
    print(f"time to HEALTHY: {time.monotonic() - started:.1f} s")

    assert set(healthy) == {first.instance_id, second.instance_id}
    one, two = healthy[first.instance_id], healthy[second.instance_id]
    assert (one.group, one.launch_template, one.template_version) == (group, "tmpl", 3)
    assert (one.availability_zone, one.lifecycle, one.protected_at_launch) == (
        "az-a",
        Lifecycle.ON_DEMAND,
        False,
    )
    assert (two.availability_zone, two.lifecycle, two.protected_at_launch) == (
        "az-b",
        Lifecycle.SPOT,
        True,
    )
    assert two.template_version == 4
    for instance, launched in ((one, first), (two, second)):
        assert before <= instance.launched_at <= after
        assert instance.launched_at == launched.launched_at
        assert instance.container_id == launched.container_id
        assert instance.address
        container = client.containers.get(instance.container_id)
        assert container.name == f"barista-{group}-{instance.instance_id}"
        assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] in ("no", "")
        assert container.attrs["Config"]["StopSignal"] == "SIGTERM"
        assert container.labels[SESSION_LABEL] == SESSION_ID
    assert runtime.instances("some-other-group") == []


def test_terminate_sends_sigterm_and_the_instance_is_gone(
    runtime: DockerRuntime, client: docker.DockerClient, group: str
):
    instance = launch(runtime, group, SERVICE)
    # Healthy means `barista serve health` is serving, so its SIGTERM handler is installed.
    wait_for(
        lambda: listed(runtime, group)[instance.instance_id].health is Health.HEALTHY,
        timeout=60,
        what="HEALTHY",
    )
    since = time.time()
    started = time.monotonic()
    runtime.terminate(instance.instance_id)
    elapsed = time.monotonic() - started
    print(f"SIGTERM to gone: {elapsed:.2f} s (stop_timeout {SERVICE.stop_timeout} s)")

    assert listed(runtime, group) == {}
    with pytest.raises(NotFound):
        client.containers.get(instance.container_id)
    assert exit_code(client, instance.container_id, since) == 0
    assert elapsed < SERVICE.stop_timeout / 2
    runtime.terminate(instance.instance_id)  # idempotent
    runtime.terminate("i-never-launched")


def test_an_instance_that_ignores_sigterm_is_killed_after_stop_timeout(
    runtime: DockerRuntime, client: docker.DockerClient, group: str
):
    instance = launch(runtime, group, IGNORES_SIGTERM)
    container = client.containers.get(instance.container_id)
    wait_for(
        lambda: b"ignoring SIGTERM" in container.logs(),
        timeout=30,
        what="the SIGTERM handler to be installed",
    )
    since = time.time()
    started = time.monotonic()
    runtime.terminate(instance.instance_id)  # the template's stop_timeout: 2 s
    elapsed = time.monotonic() - started
    print(f"SIGTERM ignored, SIGKILL after: {elapsed:.2f} s (stop_timeout 2 s)")

    assert 2.0 <= elapsed <= 6.0
    assert exit_code(client, instance.container_id, since) == 137  # 128 + SIGKILL
    assert listed(runtime, group) == {}


def test_a_container_killed_behind_the_runtimes_back_is_reported_stopped(
    runtime: DockerRuntime, client: docker.DockerClient, group: str
):
    instance = launch(runtime, group, SLEEPER)
    assert listed(runtime, group)[instance.instance_id].health is Health.HEALTHY  # no HEALTHCHECK
    client.containers.get(instance.container_id).kill()
    wait_for(
        lambda: listed(runtime, group)[instance.instance_id].health is Health.STOPPED,
        timeout=10,
        what="STOPPED",
    )
    assert runtime.cpu_percent(instance.instance_id) is None
    runtime.terminate(instance.instance_id)
    assert listed(runtime, group) == {}


def test_an_instance_id_cannot_be_launched_twice(runtime: DockerRuntime, group: str):
    instance = launch(runtime, group, SLEEPER)
    with pytest.raises(InstanceIdInUse):
        runtime.launch(
            group,
            instance.instance_id,
            template_name="tmpl",
            template_version=1,
            data=SLEEPER,
            availability_zone="az-a",
            lifecycle=Lifecycle.ON_DEMAND,
            protected=False,
        )
    assert list(listed(runtime, group)) == [instance.instance_id]


def test_cpu_percent_reads_one_docker_stats_sample(runtime: DockerRuntime, group: str):
    busy = LaunchTemplateData(
        image=stable_image("python"),
        command=("python3", "-c", "while True: pass"),
        cpus=0.5,
        memory_mib=64,
        stop_timeout=1.0,
    )
    instance = launch(runtime, group, busy)
    started = time.monotonic()
    percent = runtime.cpu_percent(instance.instance_id)
    print(f"one docker stats call: {time.monotonic() - started:.2f} s, cpu {percent}%")
    assert percent is not None
    assert 0.0 <= percent <= 100.0  # --cpus 0.5 caps it near 50 %
    assert runtime.cpu_percent("i-unknown") is None


def test_instances_ignores_containers_not_labelled_managed(
    runtime: DockerRuntime, client: docker.DockerClient, group: str
):
    impostor = client.containers.run(
        stable_image("python"),
        ["python3", "-c", "import time; time.sleep(600)"],
        detach=True,
        labels={
            SESSION_LABEL: SESSION_ID,
            "barista.group": group,
            "barista.instance-id": "i-impostor",
        },
    )
    try:
        assert runtime.instances(group) == []
        assert runtime.instances() == []
        runtime.terminate("i-impostor", stop_timeout=0)  # must not touch it
        impostor.reload()
        assert impostor.status == "running"
    finally:
        impostor.remove(force=True)


def test_an_image_barista_does_not_run_is_refused_before_anything_is_created(
    runtime: DockerRuntime, group: str
):
    with pytest.raises(ImageNotAllowed, match="BARISTA_ALLOWED_IMAGES"):
        launch(runtime, group, LaunchTemplateData(image="alpine:latest"))
    assert listed(runtime, group) == {}
