"""EC2-style placement on a cluster of container instances, observed on Docker's labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import PlacementStrategy, TaskStatus
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.tasks import DockerTaskRuntime
from orchestrator.time_scale import TimeScale
from tests.support.containers import stable_image
from tests.support.ecs import ecs_controller
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

# Small, quiet tasks: python sleeping, 64 MiB reserved each.
SLEEPER = {
    "family": "sleeper",
    "networkMode": "bridge",
    "requiresCompatibilities": ["EC2"],
    "containerDefinitions": [
        {
            "name": "app",
            "image": stable_image("python"),
            "command": ["python3", "-c", "import time; time.sleep(3600)"],
            "memory": 64,
            "cpu": 128,
            "stopTimeout": 1,
        }
    ],
}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[EcsController, EcsStore, DockerTaskRuntime]]:
    path = tmp_path / "b.db"
    with ecs_controller(path, TimeScale(5)) as controller, EcsStore(path) as store:
        operations.create_cluster(store, "shop")
        operations.register_task_definition(store, SLEEPER, controller.clock())
        yield controller, store, controller.runtime


def add_instance(store: EcsStore, zone: str, memory: int) -> str:
    instance = operations.register_container_instance(
        store, "shop", cpu=2048, memory=memory, availability_zone=zone
    )
    return instance.instance_id


def converge(controller: EcsController, store: EcsStore, service: str, count: int) -> bool:
    def step() -> bool:
        controller.reconcile_once()
        tasks = store.tasks(cluster="shop", service=service, stopped=False)
        return sum(t.last_status is TaskStatus.RUNNING for t in tasks) == count

    return wait_for(step, timeout=60, interval=0.2)


def placed_on(runtime: DockerTaskRuntime) -> Counter[str | None]:
    """Container instance of each running task container, read from Docker's labels."""
    return Counter(c.container_instance for c in runtime.task_containers() if c.running)


def test_binpack_on_memory_fills_the_fullest_instance_first(cluster):
    controller, store, runtime = cluster
    small = add_instance(store, "az-a", memory=192)  # room for 3 tasks
    large = add_instance(store, "az-b", memory=1024)
    operations.create_service(
        store,
        "shop",
        "packed",
        "sleeper",
        4,
        placement_strategy=[PlacementStrategy("binpack", "memory")],
        now=0.0,
    )
    assert converge(controller, store, "packed", 4)
    assert placed_on(runtime) == Counter({small: 3, large: 1})


def test_spread_across_zones_then_instances_balances_both(cluster):
    controller, store, runtime = cluster
    a1, a2 = add_instance(store, "az-a", 1024), add_instance(store, "az-a", 1024)
    b1 = add_instance(store, "az-b", 1024)
    operations.create_service(store, "shop", "spread", "sleeper", 4, now=0.0)  # ECS's default
    assert converge(controller, store, "spread", 4)
    zones = Counter(c.availability_zone for c in runtime.task_containers() if c.running)
    assert zones == Counter({"az-a": 2, "az-b": 2})
    per_instance = placed_on(runtime)
    assert per_instance[b1] == 2
    assert per_instance[a1] + per_instance[a2] == 2


def test_an_unplaceable_task_waits_with_a_reason_and_is_placed_once_capacity_is_added(cluster):
    controller, store, runtime = cluster
    first = add_instance(store, "az-a", memory=128)  # room for 2
    operations.create_service(store, "shop", "waiting", "sleeper", 3, now=0.0)
    assert converge(controller, store, "waiting", 2)
    (waiting,) = [
        t
        for t in store.tasks(service="waiting", stopped=False)
        if t.last_status is TaskStatus.PROVISIONING
    ]
    assert waiting.placement_reason == (
        "no container instance met all of its requirements. The closest matching "
        f"container-instance {first} has insufficient memory available."
    )
    messages = [e.message for e in store.events("shop", "waiting")]
    assert f"(service waiting) was unable to place a task because {waiting.placement_reason}" in (
        messages
    )
    second = add_instance(store, "az-b", memory=128)
    assert converge(controller, store, "waiting", 3)
    assert placed_on(runtime) == Counter({first: 2, second: 1})
    assert store.task(waiting.task_id).container_instance == second
