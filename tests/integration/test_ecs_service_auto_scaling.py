"""Service auto scaling on real containers: backlog per task grows a service and shrinks it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import TaskStatus
from orchestrator.ecs.scalable_target import (
    BACKLOG,
    ScalableTarget,
    ServiceMetric,
    ServiceScalingPolicy,
    tracking_configuration,
)
from orchestrator.ecs.service_scaling import ServiceScalingController
from orchestrator.ecs.state import EcsStore
from orchestrator.scaling.policy import TargetTrackingPolicy
from orchestrator.time_scale import TimeScale
from tests.support.containers import stable_image
from tests.support.ecs import ecs_controller
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

SCALE = TimeScale(60)  # one one-minute datapoint per wall second


class Backlog:
    """The queue's backlog as the policy reads it (a broker's, in the demo)."""

    def __init__(self) -> None:
        self.messages = 0

    def queue_backlog(self, queue_name: str) -> int | None:
        return self.messages

    def request_count(self, target_group_arn: str) -> int | None:
        return None


@pytest.fixture
def world(
    tmp_path: Path,
) -> Iterator[tuple[EcsController, ServiceScalingController, EcsStore, Backlog]]:
    path = tmp_path / "barista.db"
    backlog = Backlog()
    with ecs_controller(path, SCALE) as ecs, EcsStore(path) as store:
        scaling = ServiceScalingController(path, ecs.runtime, clock=ecs.clock, metrics=backlog)
        yield ecs, scaling, store, backlog
        scaling.close()


def test_backlog_per_task_scales_a_service_out_and_back_in(world):
    ecs, scaling, store, backlog = world
    operations.create_cluster(store, "shop")
    operations.register_task_definition(
        store,
        {
            "family": "barista",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": stable_image("python"),
                    "command": ["python3", "-c", "import time; time.sleep(3600)"],
                    "stopTimeout": 1,
                }
            ],
        },
        ecs.clock(),
    )
    operations.create_service(store, "shop", "baristas", "barista", 1, now=ecs.clock())
    store.put_scalable_target(ScalableTarget("shop", "baristas", 1, 3))
    store.put_scaling_policy(
        ServiceScalingPolicy(
            "backlog",
            "shop",
            "baristas",
            TargetTrackingPolicy(
                ServiceMetric(BACKLOG, "orders"),
                tracking_configuration(10.0, scale_out_cooldown=60),
            ),
        )
    )

    def running(count: int) -> bool:
        ecs.reconcile_once()
        scaling.reconcile_once()
        tasks = store.tasks(service="baristas", stopped=False)
        live = [t for t in tasks if t.desired_status is TaskStatus.RUNNING]
        return len(live) == count and all(t.last_status is TaskStatus.RUNNING for t in live)

    assert wait_for(lambda: running(1), timeout=60, interval=0.2)
    backlog.messages = 25
    assert wait_for(lambda: running(3), timeout=60, interval=0.2), "ceil(25 / 10) = 3 tasks"
    (activity,) = store.scaling_activities("service/shop/baristas")
    assert activity.description == "Setting desired count to 3."
    backlog.messages = 0
    assert wait_for(lambda: running(1), timeout=90, interval=0.2), "one task in at a time"
    descriptions = [a.description for a in store.scaling_activities("service/shop/baristas")]
    assert descriptions[:2] == ["Setting desired count to 1.", "Setting desired count to 2."]
