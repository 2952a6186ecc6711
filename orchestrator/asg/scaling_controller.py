"""The scaling controller: turns datapoints, alarms and schedules into DesiredCapacity.

Once per period of AWS time it reads each group's policies, alarms and scheduled actions from
the store and the datapoints :class:`~orchestrator.monitoring.MetricsSampler` recorded, asks the
pure policy functions of ``orchestrator.scaling`` what desired capacity should be, and writes
the group back with the cause. Launching and terminating stay with the Auto Scaling
controller, which quotes that cause in its activities — as AWS's history reads "a monitor alarm
… triggered policy … At … an instance was started".

AWS rules followed here:

* target tracking owns two alarms (``orchestrator.scaling.alarms.target_tracking_alarm``);
  while one is in ALARM the policy is evaluated every period;
* a step or simple policy runs while a metric alarm naming it in AlarmActions is in ALARM;
* several policies: the one asking for the largest capacity wins, so scale-in happens only
  when every policy with an opinion agrees (EC2 Auto Scaling user guide, "multiple scaling
  policies");
* suspending AlarmNotification stops policies; suspending ScheduledActions stops schedules;
* a predictive policy in ForecastAndScale holds the group at its forecast capacity for the hour
  (``orchestrator.asg.forecasts``), a floor in the same largest-wins rule: dynamic policies
  scale above it, and none scales in below it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.asg import AutoScalingGroup, ScalingProcess, update_auto_scaling_group
from orchestrator.asg.forecasts import ForecastFloor, apply_forecasts
from orchestrator.asg.store import Store
from orchestrator.errors import AwsError
from orchestrator.instances import Health, Instance
from orchestrator.monitoring import MetricsSampler, instance_series
from orchestrator.runtime import Runtime
from orchestrator.scaling import (
    ASGAverageCPUUtilization,
    BacklogPerInstance,
    GroupSnapshot,
    ScalingDecision,
    simple_scaling_decision,
    step_scaling_decision,
    target_tracking_decision,
)
from orchestrator.scaling.activity import Activity, ActivityStatusCode, activity_id, timestamp
from orchestrator.scaling.alarms import (
    SCALE_IN_EVALUATION_PERIODS,
    MetricAlarm,
    alarm_in_alarm,
    target_tracking_alarm,
)
from orchestrator.scaling.metrics import CpuUtilizationMetric, MetricSpec, QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.scaling.predictive import PredictiveScalingConfiguration
from orchestrator.scaling.scheduled import ScheduledAction
from orchestrator.scaling.simple import SimpleScalingPolicy
from orchestrator.scaling.step import StepScalingPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proposal:
    """One policy's answer for this pass: the capacity it wants, and why."""

    policy_name: str
    capacity: int
    decision: ScalingDecision


class ScalingController:
    def __init__(self, store: Store, runtime: Runtime, sampler: MetricsSampler) -> None:
        self.store = store
        self.runtime = runtime
        self.sampler = sampler

    def evaluate_once(self) -> dict[str, list[Proposal]]:
        """One pass: sample what is watched, run schedules, then policies. Safe to repeat."""
        now = self.runtime.now()
        groups = self.store.groups()
        policies = self.store.policies()
        alarms = self.store.alarms()
        watched: list[MetricSpec] = [a.metric for a in alarms]
        watched += [
            p.definition.metric for p in policies if isinstance(p.definition, TargetTrackingPolicy)
        ]
        watched += [
            p.definition.sampled
            for p in policies
            if isinstance(p.definition, PredictiveScalingConfiguration) and p.definition.sampled
        ]
        self.sampler.sample(watched, now)
        for action, last_checked in self.store.scheduled_actions():
            group = groups.get(action.auto_scaling_group_name)
            if group is not None:
                groups[group.auto_scaling_group_name] = self._run_schedule(
                    group, action, last_checked, now
                )
        decided: dict[str, list[Proposal]] = {}
        for name, stored in groups.items():
            mine = [p for p in policies if p.auto_scaling_group_name == name and p.enabled]
            if not mine:
                continue
            group, floors = self._forecasts(stored, mine, now)
            forecast = [Proposal(f.policy_name, f.capacity, f.decision) for f in floors]
            if group.is_suspended(ScalingProcess.ALARM_NOTIFICATION):
                if forecast:
                    decided[name] = forecast
                    self._apply(group, forecast)
                continue
            # Instances on their way out (Terminating*) are no capacity, as for the group; nor
            # are a warm pool's (Warmed:*).
            leaving = {
                instance_id
                for instance_id, record in self.store.instance_lifecycles(name).items()
                if record.state.leaving or record.state.warmed
            }
            instances = [i for i in self.runtime.instances(name) if i.instance_id not in leaving]
            proposals = forecast + self._proposals(group, mine, alarms, instances, now)
            decided[name] = proposals
            self._apply(group, proposals)
        return decided

    def _forecasts(
        self, group: AutoScalingGroup, policies: Sequence[ScalingPolicy], now: float
    ) -> tuple[AutoScalingGroup, list[ForecastFloor]]:
        """Predictive policies' floors; a forecast that fails costs this pass its floor, as a
        missing datapoint costs an alarm one evaluation, and never the worker."""
        try:
            return apply_forecasts(self.store, group, policies, now)
        except Exception:
            log.warning(
                "forecast failed", extra={"group": group.auto_scaling_group_name}, exc_info=True
            )
            return group, []

    def _run_schedule(
        self, group: AutoScalingGroup, action: ScheduledAction, last_checked: float, now: float
    ) -> AutoScalingGroup:
        when = action.due(last_checked, now)
        if when is None or group.is_suspended(ScalingProcess.SCHEDULED_ACTIONS):
            # A run missed while ScheduledActions is suspended is skipped, not replayed later.
            self.store.mark_scheduled_action_checked(action, now)
            return group
        try:
            updated = update_auto_scaling_group(
                group,
                min_size=action.min_size,
                max_size=action.max_size,
                desired_capacity=action.desired_capacity,
            )
        except AwsError as error:
            self._record_failure(group, action, when, error)
            self.store.mark_scheduled_action_checked(action, now)
            return group
        cause = (
            f"At {timestamp(when)} a scheduled action update of AutoScalingGroup constraints to "
            f"min: {updated.min_size}, max: {updated.max_size}, desired: "
            f"{updated.desired_capacity}"
        )
        if updated.desired_capacity != group.desired_capacity:
            cause += (
                f" changing the desired capacity from {group.desired_capacity} to "
                f"{updated.desired_capacity}."
            )
            updated = dataclasses.replace(updated, desired_capacity_cause=cause)
        self._save(updated)
        self.store.mark_scheduled_action_checked(action, now)
        log.info("scheduled action ran", extra={"action": action.scheduled_action_name})
        return updated

    def _record_failure(
        self, group: AutoScalingGroup, action: ScheduledAction, when: float, error: AwsError
    ) -> None:
        self.store.record_activities(
            [
                Activity(
                    activity_id=activity_id(group.auto_scaling_group_name, action, when),
                    resource_id=group.auto_scaling_group_name,
                    description=f"Scheduled action {action.scheduled_action_name}",
                    cause=f"At {timestamp(when)} scheduled action "
                    f"{action.scheduled_action_name} ran.",
                    start_time=when,
                    end_time=when,
                    status_code=ActivityStatusCode.FAILED,
                    status_message=error.message,
                    progress=100,
                )
            ]
        )

    def _proposals(
        self,
        group: AutoScalingGroup,
        policies: Sequence[ScalingPolicy],
        alarms: Sequence[MetricAlarm],
        instances: Sequence[Instance],
        now: float,
    ) -> list[Proposal]:
        snapshot = GroupSnapshot.of(
            group,
            in_service_since=_in_service_since(instances),
            default_instance_warmup=group.default_instance_warmup,
        )
        proposals = []
        for policy in policies:
            definition = policy.definition
            decision: ScalingDecision | None
            if isinstance(definition, PredictiveScalingConfiguration):
                continue
            if isinstance(definition, TargetTrackingPolicy):
                decision = self._target_tracking(
                    group, policy, definition, snapshot, instances, now
                )
            else:
                decision = self._alarmed(group, policy, definition, alarms, snapshot, now)
            if decision is None:
                continue
            capacity = (
                decision.desired_capacity
                if decision.desired_capacity is not None
                else group.desired_capacity
            )
            proposals.append(Proposal(policy.policy_name, capacity, decision))
        return proposals

    def _target_tracking(
        self,
        group: AutoScalingGroup,
        policy: ScalingPolicy,
        definition: TargetTrackingPolicy[MetricSpec],
        snapshot: GroupSnapshot,
        instances: Sequence[Instance],
        now: float,
    ) -> ScalingDecision | None:
        """Record this period's tracked value, then act only if AlarmHigh or AlarmLow fires."""
        config = definition.configuration
        warmup = snapshot.instance_warmup(config.estimated_instance_warmup)
        capacity = [i for i in instances if i.health is not Health.STOPPED]
        counted = [
            i
            for i, since in zip(capacity, _in_service_since(capacity), strict=True)
            if since is not None and now >= since + warmup
        ]
        metric = definition.metric
        latest = self.store.datapoints(metric.key, limit=1)
        if not latest:
            return None  # INSUFFICIENT_DATA: nothing sampled yet
        sampled_at, raw = latest[0]
        tracked: BacklogPerInstance | ASGAverageCPUUtilization
        if isinstance(metric, QueueBacklogMetric):
            tracked = BacklogPerInstance(int(raw))
            value = raw / len(counted) if counted else (float("inf") if raw > 0 else 0.0)
        else:
            cpu = _average_cpu(self.store, metric, counted, sampled_at)
            if cpu is None:
                return None
            tracked = ASGAverageCPUUtilization(cpu)
            value = cpu
        series = policy.tracked_series
        history = self.store.datapoints(series, limit=1)
        if not history or history[0][0] < sampled_at:
            self.store.record_datapoint(series, sampled_at, value, keep=3600)
        values = [v for _, v in self.store.datapoints(series, limit=SCALE_IN_EVALUATION_PERIODS)]
        target = config.target_value
        if target_tracking_alarm(target, values) is None:
            # No alarm: the policy still holds its ground, so others cannot scale in past it.
            return ScalingDecision(None, f"tracked value {value:g} against target {target:g}.")
        return target_tracking_decision(
            config,
            snapshot,
            tracked,
            auto_scaling_group_name=group.auto_scaling_group_name,
            policy_name=policy.policy_name,
            now=now,
        )

    def _alarmed(
        self,
        group: AutoScalingGroup,
        policy: ScalingPolicy,
        definition: StepScalingPolicy | SimpleScalingPolicy,
        alarms: Sequence[MetricAlarm],
        snapshot: GroupSnapshot,
        now: float,
    ) -> ScalingDecision | None:
        fired = alarm_in_alarm(alarms, policy.answers_to, self.store.values)
        if fired is None:
            return None
        alarm, points = fired
        if isinstance(definition, StepScalingPolicy):
            return step_scaling_decision(
                definition,
                snapshot,
                metric_value=points[0],
                threshold=alarm.threshold,
                alarm_name=alarm.alarm_name,
                now=now,
            )
        return simple_scaling_decision(
            definition,
            snapshot,
            alarm_name=alarm.alarm_name,
            now=now,
            last_activity_end=self._last_activity_end(group),
            activity_in_progress=False,
        )

    def _last_activity_end(self, group: AutoScalingGroup) -> float | None:
        ends = [
            a.end_time
            for a in self.store.activities(group.auto_scaling_group_name, max_records=20)
            if a.end_time is not None
        ]
        return max(ends, default=None)

    def _apply(self, group: AutoScalingGroup, proposals: Sequence[Proposal]) -> None:
        if not proposals:
            return
        winner = max(proposals, key=lambda p: p.capacity)
        if winner.capacity == group.desired_capacity or winner.decision.desired_capacity is None:
            return
        current = self.store.groups().get(group.auto_scaling_group_name)
        if current is None or current.desired_capacity != group.desired_capacity:
            return  # changed by a user meanwhile: their word wins, re-evaluate next period
        self._save(
            dataclasses.replace(
                current,
                desired_capacity=winner.capacity,
                desired_capacity_cause=winner.decision.cause,
            )
        )
        log.info(
            "policy changed desired capacity",
            extra={"group": group.auto_scaling_group_name, "policy": winner.policy_name},
        )

    def _save(self, group: AutoScalingGroup) -> None:
        self.store.put_group(group)


def _in_service_since(instances: Sequence[Instance]) -> list[float | None]:
    """When each capacity-holding instance entered InService (None while Pending).

    The runtime reports health, not the moment it turned healthy, so a healthy instance
    counts as in service since its launch: its warm-up ends a health check's start-up time
    early, which errs toward reacting sooner.
    """
    return [
        i.launched_at if i.health is not Health.STARTING else None
        for i in instances
        if i.health is not Health.STOPPED
    ]


def _average_cpu(
    store: Store, metric: CpuUtilizationMetric, counted: Sequence[Instance], at: float
) -> float | None:
    """ASGAverageCPUUtilization over the instances past warm-up, from their own datapoints."""
    values = []
    for instance in counted:
        points = store.datapoints(instance_series(metric, instance.instance_id), limit=1)
        if points and points[0][0] == at:
            values.append(points[0][1])
    return sum(values) / len(values) if values else None
