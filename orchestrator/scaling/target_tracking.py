"""Target tracking: keep a metric at a target by sizing capacity in proportion to load.

AWS facts this follows (EC2 Auto Scaling user guide, target tracking and instance warm-up):

* the policy "adds or removes capacity as required to keep the metric at, or close to, the
  specified target value", and it prioritises availability: it scales out proportionally and
  fast, and scales in gradually and conservatively;
* for a queue worker AWS recommends *backlog per instance* = ApproximateNumberOfMessages ÷
  InService instances, with target = acceptable latency ÷ average processing time per message;
* "while instances are warming up, dynamic scaling policies scale out only if the metric value
  from instances that are not warming up is greater than the policy's target utilization", and
  warming instances "aren't counted toward the aggregated metrics of the group";
* "when scaling out, instances that are still warming up are counted as part of the current
  capacity of the group", so repeated breaches add only what exceeds the capacity on its way;
* scale-in is blocked until new instances finish warming up;
* with DisableScaleIn the policy never removes capacity.

Our reading of "proportional" and "gradual" (AWS does not publish its exact formula):

* scale-out: needed = ceil(counted x metric ÷ target), where ``counted`` is instances past
  warm-up. For backlog per instance that is ceil(backlog ÷ target), which stays defined with no
  instance in service, so a backlog on an empty group launches at least one worker;
* scale-in: one instance per decision, and only while the same load spread over one instance
  fewer would still keep the metric at or under the target. The caller evaluates again on its
  next tick, so capacity walks down step by step and never undershoots.

When to act is the policy's two alarms' business (``orchestrator.scaling.alarms``,
:func:`~orchestrator.scaling.alarms.target_tracking_alarm`); this module says how far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from orchestrator.errors import ValidationError
from orchestrator.scaling.alarms import TrackingAlarm, tracking_alarm_name
from orchestrator.scaling.decision import (
    GroupSnapshot,
    ScalingDecision,
    ceil_capacity,
    change,
    clamp,
)


@dataclass(frozen=True)
class TargetTrackingConfiguration:
    """TargetValue and DisableScaleIn as AWS names them, plus the policy's warm-up.

    ``estimated_instance_warmup`` None falls back to the group's default instance warm-up, then
    to DefaultCooldown, as in AWS. ``scale_out_cooldown`` and ``scale_in_cooldown`` are
    Application Auto Scaling's (EC2 Auto Scaling leaves them None): a service's tasks count in
    the metric once healthy for ScaleOutCooldown, as an instance does past its warm-up.
    """

    target_value: float
    disable_scale_in: bool = False
    estimated_instance_warmup: int | None = None
    scale_out_cooldown: int | None = None
    scale_in_cooldown: int | None = None

    def __post_init__(self) -> None:
        if not self.target_value > 0:
            raise ValidationError(f"TargetValue must be positive, got {self.target_value}.")
        if self.estimated_instance_warmup is not None and self.estimated_instance_warmup < 0:
            raise ValidationError("EstimatedInstanceWarmup must be non-negative.")


@dataclass(frozen=True)
class ASGAverageCPUUtilization:
    """Average CPU (percent) over the instances past warm-up; AWS's predefined metric."""

    value: float


@dataclass(frozen=True)
class BacklogPerInstance:
    """The queue's ApproximateNumberOfMessages; the policy divides by counted instances."""

    approximate_number_of_messages: int


TrackedMetric = ASGAverageCPUUtilization | BacklogPerInstance


def backlog_per_instance_target(
    acceptable_latency: float, average_processing_time_per_message: float
) -> float:
    """AWS's recipe: the backlog one instance may hold and still meet the latency goal.

    With 10 s acceptable latency and 0.1 s per message, the target is 100 messages.
    """
    if not acceptable_latency > 0 or not average_processing_time_per_message > 0:
        raise ValidationError("Latency and processing time must both be positive.")
    return acceptable_latency / average_processing_time_per_message


def backlog_per_instance(approximate_number_of_messages: int, in_service: int) -> float:
    """Backlog ÷ InService instances; any backlog with nobody to serve it is infinitely high."""
    if in_service == 0:
        return math.inf if approximate_number_of_messages > 0 else 0.0
    return approximate_number_of_messages / in_service


def target_tracking_decision(
    config: TargetTrackingConfiguration,
    group: GroupSnapshot,
    metric: TrackedMetric,
    *,
    auto_scaling_group_name: str,
    policy_name: str,
    now: float,
) -> ScalingDecision:
    """What DesiredCapacity becomes for ``metric`` at ``now`` under ``config``.

    For CPU, ``metric.value`` must already leave out warming instances (AWS aggregates only
    instances past warm-up); for backlog the division happens here, by the same instances.
    """
    warmup = group.instance_warmup(config.estimated_instance_warmup)
    counted = group.warmed_up(now, warmup)
    warming = group.warming(now, warmup)
    target = config.target_value
    if isinstance(metric, BacklogPerInstance):
        load = float(metric.approximate_number_of_messages)
        value = backlog_per_instance(metric.approximate_number_of_messages, counted)
    elif counted == 0:
        return ScalingDecision(None, "no instance past warm-up reports CPU: insufficient data.")
    else:
        load = metric.value * counted
        value = metric.value
    needed = ceil_capacity(load / target)
    if value > target:
        return _scale_out(
            group,
            needed=needed,
            warming=warming,
            value=value,
            target=target,
            auto_scaling_group_name=auto_scaling_group_name,
            policy_name=policy_name,
            now=now,
        )
    if value == target:
        return ScalingDecision(None, f"metric {value:g} is at target {target:g}.")
    if config.disable_scale_in:
        return ScalingDecision(None, f"metric {value:g} is below target; scale-in is disabled.")
    if warming:
        return ScalingDecision(
            None, f"scale-in waits: {warming} instance(s) still warming up ({warmup} s)."
        )
    return _scale_in(
        group,
        needed=needed,
        value=value,
        target=target,
        auto_scaling_group_name=auto_scaling_group_name,
        policy_name=policy_name,
        now=now,
    )


def _scale_out(
    group: GroupSnapshot,
    *,
    needed: int,
    warming: int,
    value: float,
    target: float,
    auto_scaling_group_name: str,
    policy_name: str,
    now: float,
) -> ScalingDecision:
    """Jump straight to the proportional capacity; warming capacity already counts toward it."""
    current = group.desired_capacity
    new = clamp(needed, group.min_size, group.max_size)
    if new <= current:
        return ScalingDecision(
            None,
            f"metric {value:g} is above target {target:g}, but capacity {current} "
            f"({warming} warming up) already covers the {needed} needed (MaxSize "
            f"{group.max_size}).",
        )
    return change(
        now=now,
        alarm_name=tracking_alarm_name(auto_scaling_group_name, policy_name, TrackingAlarm.HIGH),
        policy_name=policy_name,
        current=current,
        new=new,
    )


def _scale_in(
    group: GroupSnapshot,
    *,
    needed: int,
    value: float,
    target: float,
    auto_scaling_group_name: str,
    policy_name: str,
    now: float,
) -> ScalingDecision:
    """Remove one instance, and only if the load on one fewer stays at or under the target."""
    current = group.desired_capacity
    if needed > current - 1:
        return ScalingDecision(
            None,
            f"metric {value:g} is below target {target:g}, but {current - 1} instance(s) "
            "would push it over.",
        )
    return change(
        now=now,
        alarm_name=tracking_alarm_name(auto_scaling_group_name, policy_name, TrackingAlarm.LOW),
        policy_name=policy_name,
        current=current,
        new=clamp(current - 1, group.min_size, group.max_size),
        why=f"metric {value:g} is below target {target:g}, but desired is at MinSize.",
    )
