"""Service auto scaling: target tracking on CPU, backlog per task and requests per target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.asg.store import Store
from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.load_balancing import backend_requests
from orchestrator.ecs.model import TaskStatus
from orchestrator.ecs.scalable_target import (
    BACKLOG,
    CPU,
    REQUESTS,
    ScalableTarget,
    ServiceMetric,
    ServiceScalingPolicy,
    policy_to_document,
    scaling_policy_arn,
    tracking_configuration,
)
from orchestrator.ecs.service_scaling import ServiceScalingController
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.tasks import FakeTaskRuntime
from orchestrator.scaling.adjustment import AdjustmentType
from orchestrator.scaling.alarms import ComparisonOperator, MetricAlarm
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.scaling.policy import TargetTrackingPolicy
from orchestrator.scaling.step import StepAdjustment, StepScalingPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


class Metrics:
    def __init__(self) -> None:
        self.backlog = 0
        self.requests = 0

    def queue_backlog(self, queue_name: str) -> int | None:
        return self.backlog

    def request_count(self, target_group_arn: str) -> int | None:
        return self.requests


@pytest.fixture
def shop(
    tmp_path: Path,
) -> Iterator[
    tuple[EcsController, ServiceScalingController, EcsStore, FakeTaskRuntime, Clock, Metrics]
]:
    runtime = FakeTaskRuntime()
    clock = Clock()
    metrics = Metrics()
    ecs = EcsController(tmp_path / "b.db", runtime, clock=clock)
    scaling = ServiceScalingController(tmp_path / "b.db", runtime, clock=clock, metrics=metrics)
    store = EcsStore(tmp_path / "b.db")
    operations.create_cluster(store, "shop")
    operations.register_task_definition(
        store,
        {
            "family": "barista",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "512",
            "memory": "1024",
            "containerDefinitions": [{"name": "app", "image": "x"}],
        },
        clock(),
    )
    operations.create_service(store, "shop", "baristas", "barista", 2, now=clock())
    store.put_scalable_target(ScalableTarget("shop", "baristas", 1, 6))
    yield ecs, scaling, store, runtime, clock, metrics
    store.close()
    ecs.close()
    scaling.close()


def tracking(
    name: str, metric_type: str, target: float, resource_label: str = ""
) -> ServiceScalingPolicy:
    return ServiceScalingPolicy(
        name,
        "shop",
        "baristas",
        TargetTrackingPolicy(
            ServiceMetric(metric_type, resource_label), tracking_configuration(target)
        ),
    )


def minutes(shop, count: int) -> None:
    ecs, scaling, _store, _runtime, clock, _metrics = shop
    for _ in range(count):
        ecs.reconcile_once()
        ecs.reconcile_once()
        scaling.reconcile_once()
        clock.now += 60


def desired(store: EcsStore) -> int:
    service = store.service("shop", "baristas")
    assert service is not None
    return service.desired_count


def test_cpu_above_target_for_three_minutes_scales_out_proportionally(shop):
    _ecs, _scaling, store, runtime, _clock, _metrics = shop
    store.put_scaling_policy(tracking("cpu50", CPU, 50.0))
    minutes(shop, 6)  # tasks healthy and past the 300 s cooldown
    for task in store.tasks(stopped=False):
        runtime.cpu[task.task_id] = 45.0  # of 0.5 vCPU reserved: 90 %
    minutes(shop, 2)
    assert desired(store) == 2, "two datapoints above are not yet an alarm"
    minutes(shop, 1)
    assert desired(store) == 4, "2 tasks at 90 % → ceil(180 / 50) = 4"
    (activity,) = store.scaling_activities("service/shop/baristas")
    assert activity.description == "Setting desired count to 4."
    assert "triggered policy cpu50 changing the desired capacity from 2 to 4" in activity.cause


def test_backlog_per_task_scales_out_then_in_one_task_at_a_time(shop):
    ecs, _scaling, store, _runtime, _clock, metrics = shop
    store.put_scaling_policy(tracking("backlog", BACKLOG, 10.0, resource_label="orders"))
    minutes(shop, 6)
    metrics.backlog = 55
    minutes(shop, 3)
    assert desired(store) == 6  # ceil(55 / 10) = 6, MaxCapacity 6
    metrics.backlog = 0
    minutes(shop, 8)  # new tasks past cooldown
    assert desired(store) == 6, "scale-in needs 15 datapoints below"
    minutes(shop, 10)
    assert 1 <= desired(store) < 6
    ecs.reconcile_once()
    live = [t for t in store.tasks(stopped=False) if t.desired_status is TaskStatus.RUNNING]
    assert len(live) == desired(store)


def test_requests_per_target_use_the_counter_increase(shop):
    _ecs, _scaling, store, _runtime, _clock, metrics = shop
    store.put_scaling_policy(tracking("rps", REQUESTS, 100.0, resource_label="tg"))
    minutes(shop, 6)
    for _ in range(4):
        metrics.requests += 600  # 300 per task per minute
        minutes(shop, 1)
    assert desired(store) == 6  # ceil(600 / 100), capped at MaxCapacity


SHOW_STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,req_tot\n"
    "lb_web_9080,FRONTEND,,,0,3,2000,140,0,0,140\n"
    "tg_counter,10.0.0.2:8080,0,0,0,2,,70,0,0,\n"
    "tg_counter,BACKEND,0,0,0,3,200,135,0,0,133\n"
)


def test_the_request_counter_is_the_backends_req_tot():
    assert backend_requests(SHOW_STAT, "tg_counter") == 133
    assert backend_requests(SHOW_STAT, "tg_other") is None
    without_req_tot = SHOW_STAT.replace(",req_tot", "").replace(",133\n", "\n")
    assert backend_requests(without_req_tot, "tg_counter") == 135


def test_step_scaling_runs_while_its_cloudwatch_alarm_is_in_alarm(shop, tmp_path):
    _ecs, scaling, store, _runtime, clock, _metrics = shop
    policy = ServiceScalingPolicy(
        "steps",
        "shop",
        "baristas",
        StepScalingPolicy(
            "steps",
            AdjustmentType.CHANGE_IN_CAPACITY,
            (StepAdjustment(1, 0.0, 50.0), StepAdjustment(3, 50.0, None)),
            cooldown=120,
        ),
    )
    store.put_scaling_policy(policy)
    backlog = QueueBacklogMetric("orders")
    with Store(tmp_path / "b.db") as cloudwatch:
        cloudwatch.put_alarm(
            MetricAlarm(
                "orders-high",
                backlog,
                ComparisonOperator.GREATER_THAN_THRESHOLD,
                100.0,
                evaluation_periods=2,
                alarm_actions=(scaling_policy_arn("service/shop/baristas", "steps"),),
            )
        )
        cloudwatch.record_datapoint(backlog.key, clock.now - 60, 130.0, keep=86400)
        cloudwatch.record_datapoint(backlog.key, clock.now, 170.0, keep=86400)
        scaling.reconcile_once()
        assert desired(store) == 5, "170 - 100 = 70 lies in the [50, ∞) step: +3"
        (activity,) = store.scaling_activities("service/shop/baristas")
        assert "alarm orders-high in state ALARM triggered policy steps" in activity.cause
        clock.now += 60
        cloudwatch.record_datapoint(backlog.key, clock.now, 120.0, keep=86400)
        scaling.reconcile_once()
        assert desired(store) == 5, "inside the 120 s cooldown"
        clock.now += 61
        cloudwatch.record_datapoint(backlog.key, clock.now, 120.0, keep=86400)
        scaling.reconcile_once()
        assert desired(store) == 6, "20 over: +1, at MaxCapacity 6"


def test_policies_stored_before_the_shared_model_read_the_same(tmp_path):
    """ECS's policy documents keep the shape they had as ecs/model.py's own classes."""
    tracking_document = {
        "policy_name": "rps",
        "cluster": "shop",
        "service": "baristas",
        "metric": REQUESTS,
        "target_value": 100.0,
        "resource_label": "tg",
        "scale_out_cooldown": 60,
        "scale_in_cooldown": 120,
        "disable_scale_in": True,
    }
    step_document = {
        "policy_name": "steps",
        "cluster": "shop",
        "service": "baristas",
        "adjustment_type": "PercentChangeInCapacity",
        "steps": [[0.0, None, 50]],
        "cooldown": 30,
        "min_adjustment_magnitude": 2,
        "metric_aggregation_type": "Maximum",
    }
    with EcsStore(tmp_path / "old.db") as store:
        for table, document in (
            ("ecs_scaling_policies", tracking_document),
            ("ecs_step_policies", step_document),
        ):
            store._connection.execute(
                f"INSERT INTO {table} VALUES (?, ?, ?)",
                ("service/shop/baristas", document["policy_name"], json.dumps(document)),
            )
        rps, steps = store.scaling_policies()
    assert rps.definition == TargetTrackingPolicy(
        ServiceMetric(REQUESTS, "tg"),
        tracking_configuration(
            100.0, scale_out_cooldown=60, scale_in_cooldown=120, disable_scale_in=True
        ),
    )
    assert steps.definition == StepScalingPolicy(
        "steps",
        AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
        (StepAdjustment(50, 0.0, None),),
        min_adjustment_magnitude=2,
        metric_aggregation_type="Maximum",
        cooldown=30,
    )
    assert policy_to_document(rps) == tracking_document
    assert policy_to_document(steps) == step_document
