"""The ECS controller on a fake task runtime: tasks, services, deployments, placement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import (
    DeploymentConfiguration,
    HealthStatus,
    LoadBalancer,
    PlacementStrategy,
    StopCode,
    TaskStatus,
)
from orchestrator.ecs.state import EcsStore
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.runtime.images import ImagePolicy
from orchestrator.runtime.tasks import FakeTaskRuntime


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[EcsController, FakeTaskRuntime, EcsStore, Clock]]:
    runtime = FakeTaskRuntime()
    clock = Clock()
    controller = EcsController(tmp_path / "b.db", runtime, clock=clock)
    store = EcsStore(tmp_path / "b.db")
    operations.create_cluster(store, "shop")
    for family, command in (("web", ["serve", "health"]), ("broken", ["exit"])):
        operations.register_task_definition(
            store,
            {
                "family": family,
                "containerDefinitions": [
                    {
                        "name": "app",
                        "image": "barista/service:latest",
                        "command": command,
                        "memory": 256,
                        "cpu": 256,
                    }
                ],
            },
            clock(),
        )
    yield controller, runtime, store, clock
    store.close()
    controller.close()


def live(store: EcsStore) -> list[str]:
    return [t.task_id for t in store.tasks(stopped=False) if t.desired_status is TaskStatus.RUNNING]


def test_run_task_runs_and_an_essential_exit_stops_it(world):
    controller, runtime, store, clock = world
    (task,) = operations.run_task(
        store, "shop", "web", launch_type="FARGATE_X" if False else None, now=clock()
    )
    # web has no task-level cpu/memory: EC2 launch type, which needs container instances.
    controller.reconcile_once()
    assert store.task(task.task_id).last_status is TaskStatus.PROVISIONING
    assert "No Container Instances" in (store.task(task.task_id).placement_reason or "")
    operations.register_container_instance(store, "shop", cpu=1024, memory=1024, now=clock())
    controller.reconcile_once()
    controller.reconcile_once()
    assert store.task(task.task_id).last_status is TaskStatus.RUNNING
    runtime.exit(task.task_id, code=3)
    controller.reconcile_once()
    stopped = store.task(task.task_id)
    assert stopped.last_status is TaskStatus.STOPPED
    assert stopped.stop_code is StopCode.ESSENTIAL_CONTAINER_EXITED
    assert stopped.stopped_reason == "Essential container in task exited"
    assert stopped.containers[0].exit_code == 3
    assert task.task_id in runtime.stopped


def test_stop_task_records_the_reason(world):
    controller, _runtime, store, clock = world
    operations.register_container_instance(store, "shop", cpu=1024, memory=1024, now=clock())
    (task,) = operations.run_task(store, "shop", "web", now=clock())
    controller.reconcile_once()
    operations.stop_task(store, "shop", task.arn, "done for today")
    controller.reconcile_once()
    stopped = store.task(task.task_id)
    assert (stopped.last_status, stopped.stop_code, stopped.stopped_reason) == (
        TaskStatus.STOPPED,
        StopCode.USER_INITIATED,
        "done for today",
    )


def test_a_service_keeps_its_desired_count_and_reaches_a_steady_state(world):
    controller, runtime, store, clock = world
    operations.register_container_instance(store, "shop", cpu=4096, memory=4096, now=clock())
    operations.create_service(store, "shop", "web", "web", 3, now=clock())
    for _ in range(3):
        controller.reconcile_once()
    assert len(live(store)) == 3
    assert not store.events("shop", "web", limit=1)[0].message.endswith("steady state."), (
        "without a health check a task counts healthy 40 s after RUNNING"
    )
    clock.now += 40
    controller.reconcile_once()  # healthy: the deployment completes
    controller.reconcile_once()  # nothing left to do: steady
    messages = [e.message for e in store.events("shop", "web")]
    assert messages[0] == "(service web) has reached a steady state."
    victim = live(store)[0]
    runtime.stop_task(victim)  # killed behind the controller's back
    controller.reconcile_once()
    controller.reconcile_once()
    assert len(live(store)) == 3
    assert victim not in live(store)
    assert len(runtime.containers) == 3


def test_rolling_deployment_replaces_every_task_and_completes(world):
    controller, _runtime, store, clock = world
    operations.register_container_instance(store, "shop", cpu=8192, memory=8192, now=clock())
    operations.register_task_definition(
        store,
        {"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 128}]},
        clock(),
    )
    operations.create_service(store, "shop", "web", "web:1", 2, now=clock())
    for _ in range(3):
        clock.now += 20
        controller.reconcile_once()
    operations.update_service(store, "shop", "web", task_definition="web:2", now=clock())
    for _ in range(6):
        clock.now += 20
        controller.reconcile_once()
    running = store.tasks(stopped=False)
    assert sorted(t.task_definition for t in running) == ["web:2", "web:2"]
    service = store.service("shop", "web")
    assert [d.rollout_state for d in service.deployments] == ["COMPLETED"]


def test_a_broken_revision_trips_the_circuit_breaker_and_rolls_back(world):
    controller, runtime, store, clock = world
    operations.register_container_instance(store, "shop", cpu=8192, memory=8192, now=clock())
    config = DeploymentConfiguration(circuit_breaker_enable=True, circuit_breaker_rollback=True)
    operations.create_service(
        store, "shop", "web", "web", 2, deployment_configuration=config, now=clock()
    )
    for _ in range(4):
        clock.now += 41
        controller.reconcile_once()
    assert store.service("shop", "web").deployments[0].rollout_state == "COMPLETED"
    operations.update_service(store, "shop", "web", task_definition="broken", now=clock())
    for _ in range(12):
        clock.now += 1
        controller.reconcile_once()
        for task in store.tasks(stopped=False):
            if task.task_definition.startswith("broken") and task.task_id in runtime.containers:
                runtime.exit(task.task_id)
    service = store.service("shop", "web")
    assert service.task_definition == "web:1"
    messages = [e.message for e in store.events("shop", "web")]
    assert any("deployment failed: tasks failed to start" in m for m in messages)
    assert any(m.startswith("(service web) rolling back to deployment") for m in messages)
    assert sorted(t.task_definition for t in store.tasks(stopped=False)) == ["web:1", "web:1"]


def test_unhealthy_service_task_is_replaced(world):
    controller, runtime, store, clock = world
    operations.register_task_definition(
        store,
        {
            "family": "checked",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "x",
                    "memory": 64,
                    "healthCheck": {"command": ["CMD", "true"]},
                }
            ],
        },
        clock(),
    )
    operations.register_container_instance(store, "shop", cpu=1024, memory=1024, now=clock())
    operations.create_service(store, "shop", "checked", "checked", 1, now=clock())
    controller.reconcile_once()
    (task_id,) = live(store)
    runtime.set_health(task_id, Health.HEALTHY)
    controller.reconcile_once()
    assert store.task(task_id).health_status is HealthStatus.HEALTHY
    runtime.set_health(task_id, Health.UNHEALTHY)
    controller.reconcile_once()
    assert store.task(task_id).stopped_reason == "Task failed container health checks"
    assert len(live(store)) == 1
    assert task_id not in live(store)


def test_unplaceable_task_waits_with_a_reason_then_is_placed_when_capacity_arrives(world):
    controller, runtime, store, clock = world
    operations.register_container_instance(store, "shop", cpu=1024, memory=512, now=clock())
    operations.create_service(
        store,
        "shop",
        "web",
        "web",
        3,
        placement_strategy=[PlacementStrategy("binpack", "memory")],
        now=clock(),
    )
    controller.reconcile_once()
    waiting = [t for t in store.tasks(stopped=False) if t.last_status is TaskStatus.PROVISIONING]
    assert len(waiting) == 1
    assert "insufficient memory available" in (waiting[0].placement_reason or "")
    events = [e.message for e in store.events("shop", "web")]
    assert any("was unable to place a task because no container instance" in m for m in events)
    operations.register_container_instance(store, "shop", cpu=1024, memory=512, now=clock())
    controller.reconcile_once()
    assert all(t.last_status is not TaskStatus.PROVISIONING for t in store.tasks(stopped=False))
    assert len(runtime.containers) == 3


def test_a_restarted_controller_starts_nothing_twice(world, tmp_path):
    controller, runtime, store, clock = world
    operations.register_container_instance(store, "shop", cpu=4096, memory=4096, now=clock())
    operations.create_service(store, "shop", "web", "web", 2, now=clock())
    controller.reconcile_once()
    again = EcsController(tmp_path / "b.db", runtime, clock=clock)
    again.reconcile_once()
    again.reconcile_once()
    assert len(runtime.containers) == 2
    again.close()


class FakeAsg:
    """A group whose instances appear as soon as desired capacity rises."""

    def __init__(self, desired: int, max_size: int) -> None:
        self.desired_capacity = desired
        self.max_size = max_size
        self.causes: list[str] = []

    def instances(self, group):
        return [
            Instance(
                f"i-{n}",
                group,
                "t",
                1,
                f"az-{'ab'[n % 2]}",
                Lifecycle.ON_DEMAND,
                False,
                0.0,
                Health.HEALTHY,
                f"c-{n}",
            )
            for n in range(self.desired_capacity)
        ]

    def resources(self, group):
        return (1024, 512)

    def desired(self, group):
        return (self.desired_capacity, self.max_size)

    def raise_desired(self, group, desired, cause):
        self.desired_capacity = desired
        self.causes.append(cause)


def test_capacity_provider_managed_scaling_grows_the_group_until_tasks_fit(world, tmp_path):
    _controller, runtime, store, clock = world
    asg = FakeAsg(desired=1, max_size=4)
    controller = EcsController(tmp_path / "b.db", runtime, clock=clock, capacity=asg)
    operations.create_capacity_provider(store, "hosts", "ecs-hosts")
    operations.put_cluster_capacity_providers(store, "shop", ["hosts"])
    operations.create_service(store, "shop", "web", "web", 5, now=clock())  # 256 MiB each
    controller.reconcile_once()
    assert asg.desired_capacity == 3, "2 tasks per 512 MiB instance: 1 + 2 more for 3 waiting"
    assert (
        "ECSManagedAutoScalingPolicy-hosts changing the desired capacity from 1 to 3"
        in (asg.causes[0])
    )
    controller.reconcile_once()
    assert asg.desired_capacity == 3
    placed = [t for t in store.tasks(stopped=False) if t.launched]
    assert len(placed) == 5
    assert {t.container_instance for t in placed} == {"ci-i-0", "ci-i-1", "ci-i-2"}
    asg.desired_capacity = 2  # an instance terminated: its tasks stop and are replaced
    controller.reconcile_once()
    stopped = [
        t for t in store.tasks() if t.stopped_reason == "Host EC2 (instance i-2) terminated."
    ]
    assert len(stopped) == 1
    controller.close()


def test_health_check_grace_period_keeps_an_unhealthy_new_task(world):
    controller, runtime, store, clock = world
    operations.register_task_definition(
        store,
        {
            "family": "slow",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "x",
                    "memory": 64,
                    "healthCheck": {"command": ["CMD", "true"]},
                }
            ],
        },
        clock(),
    )
    operations.register_container_instance(store, "shop", cpu=1024, memory=1024, now=clock())
    operations.create_service(
        store, "shop", "slow", "slow", 1, health_check_grace_period_seconds=120, now=clock()
    )
    controller.reconcile_once()
    (task_id,) = live(store)
    controller.reconcile_once()
    runtime.set_health(task_id, Health.UNHEALTHY)
    clock.now += 60
    controller.reconcile_once()
    assert live(store) == [task_id], "inside the grace period the scheduler ignores health"
    clock.now += 61
    controller.reconcile_once()
    assert store.task(task_id).stopped_reason == "Task failed container health checks"


class FakeTargets:
    """Target groups whose health the test sets; deregistered targets drain at once."""

    def __init__(self) -> None:
        self.registered: set[tuple[str, str, int]] = set()
        self.state: dict[tuple[str, str, int], str] = {}

    def register(self, arn, ip, port):
        self.registered.add((arn, ip, port))
        self.state.setdefault((arn, ip, port), "initial")

    def deregister(self, arn, ip, port):
        self.registered.discard((arn, ip, port))

    def healthy(self, arn, ip, port):
        return self.state.get((arn, ip, port)) == "healthy"

    def unhealthy(self, arn, ip, port):
        return self.state.get((arn, ip, port)) == "unhealthy"

    def drained(self, arn, ip, port):
        return (arn, ip, port) not in self.registered


def test_service_tasks_register_count_healthy_by_their_target_group_and_are_replaced_on_failure(
    world, tmp_path
):
    _controller, runtime, store, clock = world
    targets = FakeTargets()
    controller = EcsController(tmp_path / "b.db", runtime, clock=clock, targets=targets)
    operations.register_container_instance(store, "shop", cpu=4096, memory=4096, now=clock())
    operations.create_service(
        store,
        "shop",
        "web",
        "web",
        1,
        load_balancers=[LoadBalancer("tg-arn", "app", 8080)],
        now=clock(),
    )
    controller.reconcile_once()
    controller.reconcile_once()
    (task_id,) = live(store)
    (target,) = targets.registered
    assert target[0] == "tg-arn"
    assert target[2] == 8080
    assert store.task(task_id).healthy_at is None, "initial in its target group: not healthy yet"
    targets.state[target] = "healthy"
    controller.reconcile_once()
    assert store.task(task_id).healthy_at is not None
    targets.state[target] = "unhealthy"
    controller.reconcile_once()
    stopped = store.task(task_id)
    assert stopped.stopped_reason == "Task failed ELB health checks in (target-group tg-arn)"
    assert stopped.last_status is TaskStatus.STOPPED, "deregistered, drained, then stopped"
    assert target not in targets.registered
    assert len(live(store)) == 1
    controller.close()


def test_a_task_whose_image_barista_does_not_run_stops_with_cannot_pull(tmp_path: Path):
    runtime = FakeTaskRuntime(images=ImagePolicy())
    clock = Clock()
    controller = EcsController(tmp_path / "b.db", runtime, clock=clock)
    store = EcsStore(tmp_path / "b.db")
    try:
        operations.create_cluster(store, "shop")
        operations.register_task_definition(
            store,
            {
                "family": "miner",
                "requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc",
                "cpu": "256",
                "memory": "512",
                "containerDefinitions": [{"name": "app", "image": "someone/miner:latest"}],
            },
            clock(),
        )
        (task,) = operations.run_task(store, "shop", "miner", launch_type="FARGATE", now=clock())
        controller.reconcile_once()
        stopped = store.task(task.task_id)
        assert stopped.stop_code is StopCode.TASK_FAILED_TO_START
        assert (stopped.stopped_reason or "").startswith(
            "CannotPullContainerError: The image 'someone/miner:latest' is not one Barista runs"
        )
        assert runtime.specs == {}, "no container of the task was created"
    finally:
        store.close()
        controller.close()
