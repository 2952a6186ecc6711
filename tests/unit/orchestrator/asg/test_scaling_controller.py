"""The scaling controller against the fake runtime and a stated clock: policies, alarms and
schedules move desired capacity exactly when AWS's rules say, and the activities say why."""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest

from orchestrator.asg import create_auto_scaling_group, suspend_processes
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.scaling_controller import ScalingController
from orchestrator.asg.store import Store
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.monitoring import MetricsSampler
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling import (
    AdjustmentType,
    StepAdjustment,
    StepScalingPolicy,
    TargetTrackingConfiguration,
)
from orchestrator.scaling.alarms import ComparisonOperator, MetricAlarm
from orchestrator.scaling.metrics import CpuUtilizationMetric, QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.scaling.scheduled import ScheduledAction

START = float(calendar.timegm((2026, 11, 28, 7, 0, 30)))
GROUP = "baristas"


class Queue:
    """A backlog the test sets, read the way the sampler reads a broker."""

    def __init__(self) -> None:
        self.depth = 0

    def __call__(self, queue: str) -> int:
        assert queue == "orders"
        return self.depth


@pytest.fixture
def world(tmp_path: Path):
    runtime = FakeRuntime(start=START)
    queue = Queue()
    with Store(tmp_path / "barista.db") as store:
        store.put_launch_template(
            create_launch_template(
                GROUP, LaunchTemplateData(image="barista/service:latest", cpus=1.0)
            )
        )
        store.put_group(
            create_auto_scaling_group(
                GROUP, GROUP, min_size=1, max_size=10, availability_zones=("az-a", "az-b")
            )
        )
        sampler = MetricsSampler(store, runtime, queue)
        yield store, runtime, queue, ScalingController(store, runtime, sampler)
        sampler.close()


def tick(store, runtime, controller, periods=1):
    """One AWS minute per period: sample, decide, then let the group converge."""
    asg = AutoScalingController(store, runtime)
    for _ in range(periods):
        controller.evaluate_once()
        asg.reconcile_once()
        runtime.advance(60)


def desired(store) -> int:
    return store.groups()[GROUP].desired_capacity


def backlog_policy(target=10.0, warmup=60):
    return ScalingPolicy(
        GROUP,
        "orders-backlog",
        TargetTrackingPolicy(
            QueueBacklogMetric("orders"),
            TargetTrackingConfiguration(target_value=target, estimated_instance_warmup=warmup),
        ),
    )


def test_backlog_per_instance_scales_out_after_three_breaching_datapoints(world):
    store, runtime, queue, controller = world
    store.put_policy(backlog_policy())
    tick(store, runtime, controller)  # one healthy instance, no backlog
    queue.depth = 45
    tick(store, runtime, controller, periods=2)
    assert desired(store) == 1  # two datapoints above target: AlarmHigh needs three
    tick(store, runtime, controller)
    assert desired(store) == 5  # ceil(45 / 10)
    launches = [a for a in store.activities(GROUP) if a.description.startswith("Launching")]
    assert len(launches) == 1 + 4
    assert "AlarmHigh" in launches[0].cause
    assert "triggered policy orders-backlog changing the desired capacity from 1 to 5" in (
        launches[0].cause
    )
    assert "an instance was started in response to a difference" in launches[0].cause


def test_backlog_on_an_empty_group_launches_a_worker(world):
    store, runtime, queue, controller = world
    store.put_group(
        create_auto_scaling_group(GROUP, GROUP, min_size=0, max_size=4, availability_zones=["a"])
    )
    store.put_policy(backlog_policy(target=100))
    queue.depth = 3
    tick(store, runtime, controller, periods=3)
    assert desired(store) == 1  # any backlog with nobody serving it is infinitely high


def test_scale_in_waits_for_fifteen_low_datapoints_and_removes_one_at_a_time(world):
    store, runtime, queue, controller = world
    store.put_policy(backlog_policy())
    queue.depth = 40
    tick(store, runtime, controller, periods=3)
    assert desired(store) == 4
    queue.depth = 0
    tick(store, runtime, controller, periods=14)
    assert desired(store) == 4
    tick(store, runtime, controller)
    assert desired(store) == 3
    tick(store, runtime, controller, periods=3)
    assert desired(store) == 1  # MinSize
    assert len([i for i in runtime.instances(GROUP) if i.health is Health.HEALTHY]) == 1


def test_the_largest_capacity_wins_so_one_policy_vetoes_anothers_scale_in(world):
    store, runtime, queue, controller = world
    store.put_policy(backlog_policy())
    store.put_policy(
        ScalingPolicy(
            GROUP,
            "cpu",
            TargetTrackingPolicy(
                CpuUtilizationMetric(GROUP),
                TargetTrackingConfiguration(target_value=50, estimated_instance_warmup=0),
            ),
        )
    )
    queue.depth = 30
    tick(store, runtime, controller)
    for instance in runtime.instances(GROUP):
        runtime.set_cpu(instance.instance_id, 40.0)  # under target, but not by enough to shed
    tick(store, runtime, controller, periods=2)
    assert desired(store) == 3
    queue.depth = 0
    tick(store, runtime, controller, periods=20)
    # the backlog policy would go down to 1; CPU at 40 % of 3 needs 3 x 40 / 50 = 3 instances
    assert desired(store) == 3


def test_step_policy_runs_while_its_alarm_is_in_alarm(world):
    store, runtime, _, controller = world
    step = ScalingPolicy(
        GROUP,
        "cpu-steps",
        StepScalingPolicy(
            "cpu-steps",
            AdjustmentType.CHANGE_IN_CAPACITY,
            (StepAdjustment(1, 0, 20), StepAdjustment(3, 20, None)),
            estimated_instance_warmup=120,
        ),
    )
    store.put_policy(step)
    store.put_alarm(
        MetricAlarm(
            "cpu-high",
            CpuUtilizationMetric(GROUP),
            ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            60,
            evaluation_periods=2,
            alarm_actions=(step.policy_arn,),
        )
    )
    tick(store, runtime, controller)
    (only,) = runtime.instances(GROUP)
    runtime.set_cpu(only.instance_id, 90.0)  # breach of 30: the second step, +3
    tick(store, runtime, controller)
    assert desired(store) == 1  # one datapoint of two
    tick(store, runtime, controller)
    assert desired(store) == 4
    launches = [a for a in store.activities(GROUP) if a.description.startswith("Launching")]
    assert "a monitor alarm cpu-high in state ALARM triggered policy cpu-steps" in (
        launches[0].cause
    )


def test_scheduled_action_runs_on_its_cron_in_its_time_zone(world):
    store, runtime, _, controller = world
    action = ScheduledAction(
        GROUP, "rush", recurrence="5 8 * * *", time_zone="Europe/Paris", desired_capacity=6
    )
    store.put_scheduled_action(action, created_at=runtime.now())
    tick(store, runtime, controller, periods=5)  # evaluated 07:00:30Z .. 07:04:30Z
    assert desired(store) == 1
    tick(store, runtime, controller)  # evaluated at 07:05:30Z, past 08:05 in Paris
    assert desired(store) == 6
    assert len([i for i in runtime.instances(GROUP) if i.health is Health.HEALTHY]) == 6
    launches = [a for a in store.activities(GROUP) if a.description.startswith("Launching")]
    assert launches[0].cause.startswith(
        "At 2026-11-28T07:05:00Z a scheduled action update of AutoScalingGroup constraints to "
        "min: 1, max: 10, desired: 6 changing the desired capacity from 1 to 6."
    )


def test_suspended_processes_stop_schedules_and_policies(world):
    store, runtime, queue, controller = world
    store.put_policy(backlog_policy())
    store.put_scheduled_action(
        ScheduledAction(GROUP, "soon", start_time=START + 90, desired_capacity=3),
        created_at=START,
    )
    group = store.groups()[GROUP]
    store.put_group(suspend_processes(group, ["ScheduledActions", "AlarmNotification"]))
    queue.depth = 100
    tick(store, runtime, controller, periods=5)
    assert desired(store) == 1


def test_an_invalid_scheduled_update_fails_with_an_activity_and_changes_nothing(world):
    store, runtime, _, controller = world
    store.put_scheduled_action(
        ScheduledAction(GROUP, "too-big", start_time=START + 30, desired_capacity=50),
        created_at=START,
    )
    tick(store, runtime, controller, periods=2)
    assert desired(store) == 1
    (failed,) = [a for a in store.activities(GROUP) if a.status_code == "Failed"]
    assert "Desired capacity:50 must be between" in failed.status_message


def test_a_dead_instance_neither_counts_nor_stops_the_pass(world):
    store, runtime, queue, controller = world
    store.put_policy(backlog_policy())
    tick(store, runtime, controller)
    (first,) = runtime.instances(GROUP)
    runtime.set_health(first.instance_id, Health.STOPPED)  # a crashed barista
    queue.depth = 30
    tick(store, runtime, controller, periods=3)
    live = [i for i in runtime.instances(GROUP) if i.health is not Health.STOPPED]
    assert first.instance_id not in {i.instance_id for i in live}, "replaced"
    assert desired(store) == 3
