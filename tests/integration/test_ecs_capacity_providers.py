"""A capacity provider on a real Auto Scaling group: its instances are the cluster's
container instances, and managed scaling grows the group until waiting tasks fit."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.clock import ScaledClock
from orchestrator.ecs import operations
from orchestrator.ecs.capacity import StoreAsgCapacity
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import TaskStatus
from orchestrator.ecs.state import EcsStore
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.tasks import DockerTaskRuntime
from orchestrator.time_scale import TimeScale
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

SCALE = TimeScale(5)
SLEEP = ("python3", "-c", "import time; time.sleep(3600)")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[AutoScalingController, EcsController, EcsStore]]:
    path = tmp_path / "barista.db"
    clock = ScaledClock(time.time(), SCALE)
    instances = DockerRuntime(labels={SESSION_LABEL: SESSION_ID}, clock=clock)
    tasks = DockerTaskRuntime(labels={SESSION_LABEL: SESSION_ID})
    with Store(path) as store:
        # The "EC2 instances": small sleeping containers with 1 CPU and 256 MiB to offer.
        store.put_launch_template(
            create_launch_template(
                "ecs-host",
                LaunchTemplateData(
                    image=stable_image("python"),
                    command=SLEEP,
                    cpus=1.0,
                    memory_mib=256,
                    stop_timeout=1,
                ),
            )
        )
        store.put_group(
            create_auto_scaling_group(
                "ecs-hosts",
                "ecs-host",
                min_size=0,
                max_size=3,
                desired_capacity=1,
                availability_zones=("az-a", "az-b"),
            )
        )
        asg = AutoScalingController(store, instances)
        ecs = EcsController(
            path,
            tasks,
            clock=clock,
            time_scale=SCALE,
            capacity=StoreAsgCapacity(path, instances),
        )
        ecs_store = EcsStore(path)
        try:
            yield asg, ecs, ecs_store
        finally:
            for task_id in {c.task_id for c in tasks.task_containers()}:
                tasks.stop_task(task_id)
            for instance in instances.instances():
                instances.terminate(instance.instance_id, stop_timeout=1)
            ecs_store.close()
            ecs.close()


def test_managed_scaling_grows_the_group_and_places_waiting_tasks_on_its_instances(world):
    asg, ecs, store = world
    operations.create_cluster(store, "shop")
    operations.create_capacity_provider(store, "hosts", "ecs-hosts")
    operations.put_cluster_capacity_providers(store, "shop", ["hosts"])
    operations.register_task_definition(
        store,
        {
            "family": "sleeper",
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": stable_image("python"),
                    "command": list(SLEEP),
                    "memory": 128,
                    "stopTimeout": 1,
                }
            ],
        },
        ecs.clock(),
    )
    operations.create_service(store, "shop", "sleepers", "sleeper", 5, now=ecs.clock())

    def converged() -> bool:
        asg.reconcile_once()
        ecs.reconcile_once()
        tasks = store.tasks(service="sleepers", stopped=False)
        return sum(t.last_status is TaskStatus.RUNNING for t in tasks) == 5

    assert wait_for(converged, timeout=90, interval=0.3)
    group = asg.store.groups()["ecs-hosts"]
    assert group.desired_capacity == 3, "two 128 MiB tasks per 256 MiB host: 3 hosts for 5"
    assert "ECSManagedAutoScalingPolicy-hosts" in group.desired_capacity_cause
    hosts = {
        i.instance_id for i in asg.runtime.instances("ecs-hosts") if i.health is not Health.STOPPED
    }
    instances = store.container_instances("shop")
    assert {i.ec2_instance_id for i in instances} == hosts
    placed = Counter(t.container_instance for t in store.tasks(service="sleepers", stopped=False))
    assert sorted(placed.values()) == [1, 2, 2]
    assert set(placed) == {i.instance_id for i in instances}
    activities = [a.cause for a in asg.store.activities("ecs-hosts")]
    assert any(
        "ECSManagedAutoScalingPolicy-hosts changing the desired capacity" in c for c in activities
    )
