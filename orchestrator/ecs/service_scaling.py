"""Service auto scaling (Application Auto Scaling for ``ecs:service:DesiredCount``).

A *scalable target* bounds a service's desired count (MinCapacity, MaxCapacity); *target
tracking* policies keep one metric at a target by moving it:

* ``ECSServiceAverageCPUUtilization``: CPU the service's running tasks use, in percent of the
  CPU they reserve (task ``cpu`` units ÷ 1024 vCPU), averaged over the tasks;
* ``ALBRequestCountPerTarget``: requests the target group took in the period ÷ its running
  tasks, from the HAProxy backend's request counter (``ElbRequestCounter``);
* backlog per task: a queue's backlog (``broker_adapters``: visible + in flight) ÷ running
  tasks, the customized-metric form AWS documents for SQS workers (``QueueName``).

The arithmetic is EC2 Auto Scaling's (``orchestrator.scaling.target_tracking``): one datapoint
per 60 s period, scale-out after 3 datapoints above the target straight to the proportional
count, scale-in after 15 below one task at a time; a task counts in the metric once it has
been healthy for the policy's cooldown (ScaleOutCooldown, default 300 s), like an instance
past warm-up. Step scaling runs while a CloudWatch metric alarm (the shared store's, as
PutMetricAlarm writes it) names the policy's ARN in AlarmActions and is in ALARM, with EC2 Auto
Scaling's step arithmetic and the policy's Cooldown since the service's last scaling activity.
``decide`` and ``step_decision`` are pure; ``ServiceScalingController`` samples, stores
datapoints in the table groups and alarms use too (``orchestrator.scaling.datapoints``) and
applies decisions with an activity each (the largest count asked for wins).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from orchestrator.asg.store import Store
from orchestrator.ecs.model import Service, Task, TaskStatus
from orchestrator.ecs.scalable_target import (
    BACKLOG,
    REQUESTS,
    ScalableTarget,
    ServiceMetric,
    ServiceScalingPolicy,
    cooldown,
)
from orchestrator.ecs.state import EcsStore
from orchestrator.loop import PerThread, run_passes
from orchestrator.runtime.tasks import TaskRuntime
from orchestrator.scaling.activity import Activity, ActivityStatusCode
from orchestrator.scaling.alarms import (
    SCALE_IN_EVALUATION_PERIODS,
    MetricAlarm,
    alarm_in_alarm,
    target_tracking_alarm,
)
from orchestrator.scaling.decision import GroupSnapshot, ScalingDecision
from orchestrator.scaling.metrics import PERIOD
from orchestrator.scaling.policy import TargetTrackingPolicy
from orchestrator.scaling.step import StepScalingPolicy, step_scaling_decision
from orchestrator.scaling.target_tracking import (
    ASGAverageCPUUtilization,
    BacklogPerInstance,
    target_tracking_decision,
)

log = logging.getLogger(__name__)

DAY = 86400  # seconds of datapoints kept: plenty for alarms of 15 periods


class MetricSource(Protocol):
    def queue_backlog(self, queue_name: str) -> int | None: ...

    def request_count(self, target_group_arn: str) -> int | None:
        """Requests the target group has taken in total so far (a counter), or None."""
        ...


class NoMetrics:
    def queue_backlog(self, queue_name: str) -> int | None:
        return None

    def request_count(self, target_group_arn: str) -> int | None:
        return None


def decide(
    policy_name: str,
    tracking: TargetTrackingPolicy[ServiceMetric],
    target: ScalableTarget,
    service: Service,
    tasks: Sequence[Task],
    newest_first: Sequence[float],
    *,
    now: float,
) -> ScalingDecision:
    """The desired count for one target tracking policy, from its datapoints (newest first)."""
    config = tracking.configuration
    if not newest_first:
        return ScalingDecision(None, "insufficient data.")
    value = newest_first[0]
    if target_tracking_alarm(config.target_value, newest_first) is None:
        return ScalingDecision(None, f"metric {value:g} is not in AlarmHigh or AlarmLow.")
    healthy_since = tuple(
        t.healthy_at
        for t in tasks
        if t.desired_status is TaskStatus.RUNNING and t.service == service.name
    )
    snapshot = GroupSnapshot(
        min_size=target.min_capacity,
        max_size=target.max_capacity,
        desired_capacity=service.desired_count,
        in_service_since=healthy_since,
        # A task counts in the metric once healthy for ScaleOutCooldown: the services' warm-up.
        default_cooldown=cooldown(config.scale_out_cooldown),
    )
    if tracking.metric.metric_type == BACKLOG:
        # The datapoint is the raw backlog; the per-task division counts tasks past cooldown.
        metric: ASGAverageCPUUtilization | BacklogPerInstance = BacklogPerInstance(round(value))
    else:
        metric = ASGAverageCPUUtilization(value)
    return target_tracking_decision(
        config,
        snapshot,
        metric,
        auto_scaling_group_name=target.resource_id,
        policy_name=policy_name,
        now=now,
    )


def step_decision(
    step: StepScalingPolicy,
    target: ScalableTarget,
    service: Service,
    metric_value: float,
    alarm: MetricAlarm,
    now: float,
) -> ScalingDecision:
    """EC2 Auto Scaling's step arithmetic on the service's desired count."""
    snapshot = GroupSnapshot(
        min_size=target.min_capacity,
        max_size=target.max_capacity,
        desired_capacity=service.desired_count,
        # No warm-up for services (the Cooldown gates instead): all of it counts as capacity.
        in_service_since=(now,) * service.desired_count,
        default_instance_warmup=0,
    )
    return step_scaling_decision(
        step,
        snapshot,
        metric_value=metric_value,
        threshold=alarm.threshold,
        alarm_name=alarm.alarm_name,
        now=now,
    )


class ServiceScalingController:
    """Samples each policy's metric once per period and applies target tracking."""

    def __init__(
        self,
        store_path: str | Path,
        tasks: TaskRuntime,
        *,
        clock: Callable[[], float] = time.time,
        metrics: MetricSource | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        self.runtime = tasks
        self.clock = clock
        self.metrics = metrics or NoMetrics()
        self._stores = PerThread(lambda: EcsStore(self.store_path), EcsStore.close)
        # Datapoints and CloudWatch alarms: the tables groups and services share.
        self._cloudwatch = PerThread(lambda: Store(self.store_path), Store.close)
        self._counters: dict[str, tuple[float, int]] = {}

    @property
    def store(self) -> EcsStore:
        return self._stores.get()

    @property
    def cloudwatch(self) -> Store:
        return self._cloudwatch.get()

    def close(self) -> None:
        self._stores.close()
        self._cloudwatch.close()

    def reconcile_once(self) -> None:
        now = self.clock()
        targets = {t.resource_id: t for t in self.store.scalable_targets()}
        decisions: dict[str, list[tuple[int, str]]] = {}
        policies = self.store.scaling_policies()
        for policy in policies:
            tracking = policy.definition
            if not isinstance(tracking, TargetTrackingPolicy):
                continue
            target = targets.get(policy.resource_id)
            service = self.store.service(policy.cluster, policy.service)
            if target is None or service is None or service.status != "ACTIVE":
                continue
            tasks = self.store.tasks(cluster=policy.cluster, service=policy.service, stopped=False)
            points = self.cloudwatch.datapoints(policy.series, limit=SCALE_IN_EVALUATION_PERIODS)
            if not points or now >= points[0][0] + PERIOD:
                value = self._sample(tracking.metric, tasks)
                if value is not None:
                    self.cloudwatch.record_datapoint(policy.series, now, value, keep=DAY)
                    points = [(now, value), *points]
            values = [v for _, v in points]
            decided = decide(policy.policy_name, tracking, target, service, tasks, values, now=now)
            if decided.desired_capacity is not None:
                decisions.setdefault(policy.resource_id, []).append(
                    (decided.desired_capacity, decided.cause)
                )
        self._step_decisions(targets, policies, decisions, now)
        for resource_id, wanted in decisions.items():
            self._apply(targets[resource_id], wanted, now)

    def _step_decisions(
        self,
        targets: dict[str, ScalableTarget],
        policies: Sequence[ServiceScalingPolicy],
        decisions: dict[str, list[tuple[int, str]]],
        now: float,
    ) -> None:
        """Step policies whose CloudWatch alarm (in the shared store) is in ALARM."""
        steps = [(p, p.definition) for p in policies if isinstance(p.definition, StepScalingPolicy)]
        if not steps:
            return
        alarms = self.cloudwatch.alarms()
        for policy, step in steps:
            target = targets.get(policy.resource_id)
            service = self.store.service(policy.cluster, policy.service)
            if target is None or service is None or service.status != "ACTIVE":
                continue
            if self._cooling_down(policy.resource_id, step, now):
                continue
            fired = alarm_in_alarm(alarms, policy.answers_to, self.cloudwatch.values)
            if fired is None:
                continue
            alarm, points = fired
            decided = step_decision(step, target, service, points[0], alarm, now)
            if decided.desired_capacity is not None:
                decisions.setdefault(policy.resource_id, []).append(
                    (decided.desired_capacity, decided.cause)
                )

    def _cooling_down(self, resource_id: str, step: StepScalingPolicy, now: float) -> bool:
        """Cooldown: after a scaling activity on the service, the policy waits ``cooldown``."""
        latest = self.store.scaling_activities(resource_id)
        return bool(latest) and now < latest[0].start_time + cooldown(step.cooldown)

    def _apply(self, target: ScalableTarget, wanted: list[tuple[int, str]], now: float) -> None:
        service = self.store.service(target.cluster, target.service)
        if service is None:
            return
        # Several policies: the one asking for the largest count wins (AWS).
        desired, cause = max(wanted, key=lambda item: item[0])
        if desired == service.desired_count:
            return
        self.store.put_service(dataclasses.replace(service, desired_count=desired))
        self.store.record_scaling_activity(
            Activity(
                activity_id=str(uuid.uuid4()),
                resource_id=target.resource_id,
                description=f"Setting desired count to {desired}.",
                cause=cause,
                start_time=now,
                status_code=ActivityStatusCode.SUCCESSFUL,
                end_time=now,
                progress=100,
            )
        )
        log.info(
            "service %s desired count %d -> %d", target.resource_id, service.desired_count, desired
        )

    def _sample(self, metric: ServiceMetric, tasks: Sequence[Task]) -> float | None:
        running = [t for t in tasks if t.last_status is TaskStatus.RUNNING]
        if metric.metric_type == BACKLOG:
            backlog = self.metrics.queue_backlog(metric.resource_label)
            return None if backlog is None else float(backlog)
        if metric.metric_type == REQUESTS:
            return self._requests_per_target(metric.resource_label, len(running))
        readings = []
        for task in running:
            cpu = self.runtime.cpu_percent(task.task_id)
            reserved = self._reserved_vcpus(task)
            if cpu is not None and reserved:
                readings.append(cpu / reserved)
        return sum(readings) / len(readings) if readings else None

    def _reserved_vcpus(self, task: Task) -> float:
        family, _, revision = task.task_definition.rpartition(":")
        definition = self.store.task_definition(family, int(revision))
        return definition.required_cpu / 1024 if definition.required_cpu else 1.0

    def _requests_per_target(self, target_group_arn: str, targets: int) -> float | None:
        """The counter's increase since the previous sample, per running task."""
        total = self.metrics.request_count(target_group_arn)
        if total is None:
            return None
        previous = self._counters.get(target_group_arn)
        self._counters[target_group_arn] = (self.clock(), total)
        if previous is None or targets == 0:
            return None
        # A counter that went down was restarted (HAProxy reloaded): all of it is new.
        increase = total - previous[1] if total >= previous[1] else total
        return increase / targets

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        run_passes(self.reconcile_once, stopping, interval, "service scaling")
