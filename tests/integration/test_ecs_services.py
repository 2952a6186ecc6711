"""ECS tasks and services on real containers: desired count, essential exits, the circuit
breaker, health checks with AWS's defaults compressed by the time scale."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from orchestrator.clock import ScaledClock
from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import DeploymentConfiguration, HealthStatus, StopCode, TaskStatus
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.tasks import LABEL_TASK_ID, DockerTaskRuntime
from orchestrator.time_scale import TimeScale
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

SCALE = TimeScale(5)  # a 5 s AWS health check interval runs every wall second
HEALTHZ = (
    "CMD",
    "python3",
    "-c",
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)",
)


def health_definition(family: str = "web") -> dict[str, object]:
    return {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": stable_image("service"),
                "command": ["serve", "health"],
                "portMappings": [{"containerPort": 8080}],
                "healthCheck": {
                    "command": list(HEALTHZ),
                    "interval": 5,
                    "timeout": 5,
                    # The scale compresses checks, not the app booting on a busy machine.
                    "startPeriod": 60,
                },
                "stopTimeout": 2,
            }
        ],
    }


def broken_definition() -> dict[str, object]:
    return {
        "family": "web",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": stable_image("python"),
                "command": ["python3", "-c", "raise SystemExit(1)"],
                "stopTimeout": 2,
            }
        ],
    }


class World:
    def __init__(self, path: Path) -> None:
        self.runtime = DockerTaskRuntime(labels={SESSION_LABEL: SESSION_ID})
        self.clock = ScaledClock(time.time(), SCALE)
        self.controller = EcsController(path, self.runtime, clock=self.clock, time_scale=SCALE)
        self.store = EcsStore(path)
        operations.create_cluster(self.store, "shop")

    def until(self, condition: Callable[[], bool], timeout: float = 60) -> bool:
        """Reconcile until ``condition`` holds: the controller's loop, run by the test."""

        def step() -> bool:
            self.controller.reconcile_once()
            return condition()

        return wait_for(step, timeout=timeout, interval=0.2)

    def live(self, service: str = "web") -> list[str]:
        return [
            t.task_id
            for t in self.store.tasks(cluster="shop", service=service, stopped=False)
            if t.desired_status is TaskStatus.RUNNING
        ]

    def healthy(self, service: str = "web") -> list[str]:
        return [
            t.task_id
            for t in self.store.tasks(cluster="shop", service=service, stopped=False)
            if t.health_status is HealthStatus.HEALTHY and t.desired_status is TaskStatus.RUNNING
        ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path / "barista.db")
    yield world
    for task_id in {c.task_id for c in world.runtime.task_containers()}:
        world.runtime.stop_task(task_id)
    world.store.close()
    world.controller.close()


def steady(world: World, service: str = "web") -> bool:
    events = world.store.events("shop", service, limit=1)
    return bool(events) and events[0].message == f"(service {service}) has reached a steady state."


def test_a_service_keeps_its_desired_count_through_a_killed_task(world: World):
    operations.register_task_definition(world.store, health_definition(), world.clock())
    operations.create_service(world.store, "shop", "web", "web", 2, now=world.clock())
    assert world.until(lambda: len(world.healthy()) == 2 and steady(world)), world.live()
    victim = world.healthy()[0]
    (container,) = docker.from_env().containers.list(
        filters={"label": [f"{LABEL_TASK_ID}={victim}"]}
    )
    container.kill()
    assert world.until(lambda: victim not in world.live() and len(world.healthy()) == 2)
    stopped = world.store.task(victim)
    assert stopped is not None
    assert stopped.stop_code is StopCode.ESSENTIAL_CONTAINER_EXITED
    assert stopped.containers[0].exit_code == 137
    assert world.until(lambda: steady(world))
    running = {c.task_id for c in world.runtime.task_containers() if c.running}
    assert running == set(world.live())


def test_run_task_an_essential_container_exit_stops_the_task_with_its_exit_code(world: World):
    operations.register_task_definition(world.store, broken_definition(), world.clock())
    (task,) = operations.run_task(world.store, "shop", "web", now=world.clock())
    assert world.until(lambda: world.store.task(task.task_id).last_status is TaskStatus.STOPPED)
    stopped = world.store.task(task.task_id)
    assert stopped is not None
    assert stopped.stopped_reason == "Essential container in task exited"
    assert stopped.containers[0].exit_code == 1
    assert not world.runtime.task_containers(), "a stopped task's containers are removed"


def test_a_broken_revision_trips_the_circuit_breaker_and_rolls_back(world: World):
    operations.register_task_definition(world.store, health_definition(), world.clock())
    operations.register_task_definition(world.store, broken_definition(), world.clock())
    config = DeploymentConfiguration(circuit_breaker_enable=True, circuit_breaker_rollback=True)
    operations.create_service(
        world.store, "shop", "web", "web:1", 1, deployment_configuration=config, now=world.clock()
    )
    assert world.until(lambda: steady(world))
    operations.update_service(
        world.store, "shop", "web", task_definition="web:2", now=world.clock()
    )

    def rolled_back() -> bool:
        service = world.store.service("shop", "web")
        assert service is not None
        return service.task_definition == "web:1" and steady(world)

    assert world.until(rolled_back, timeout=120)
    messages = [e.message for e in world.store.events("shop", "web")]
    failed = [m for m in messages if "deployment failed: tasks failed to start" in m]
    assert len(failed) == 1
    broken = [t for t in world.store.tasks(service="web") if t.task_definition == "web:2"]
    assert len(broken) == 3, "threshold for desired count 1 is 3 (clamped from 0.5)"
    assert all(t.stop_code is StopCode.ESSENTIAL_CONTAINER_EXITED for t in broken)
    live = world.store.tasks(service="web", stopped=False)
    assert [t.task_definition for t in live] == ["web:1"]
