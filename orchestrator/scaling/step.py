"""Step scaling: an alarm breach picks a step by how far the metric is past the threshold.

AWS's rules (EC2 Auto Scaling user guide, "Step adjustments for step scaling"):

* bounds are relative to the alarm's threshold; ``None`` is unbounded (-∞ below, +∞ above);
* the ranges can't overlap or leave a gap; only one step may have a null lower bound and only
  one a null upper bound, and no step may have both null; a negative lower bound needs a step
  with a null lower bound, and a positive upper bound needs one with a null upper bound;
* above the threshold the lower bound is inclusive and the upper exclusive; below it the lower
  bound is exclusive and the upper inclusive. AWS does not say which applies exactly *at* the
  threshold; we try the above-threshold rule first, then the below-threshold one, so ``[0, 10)``
  and ``(-10, 0]`` both match a metric equal to the threshold;
* instance warm-up: "while scaling out, we do not consider instances that are warming up as
  part of the current capacity", so repeated breaches in one step's range make one activity
  (AWS's example: 10 instances, +10 % at 60 → 11; at 62 while warming, still 11; at 70, +30 %
  of 10 = 3 → 13, adding only 2). Scale-in is blocked until new instances finish warming up.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from orchestrator.errors import ValidationError
from orchestrator.scaling.adjustment import AdjustmentType, adjusted_capacity, validate_adjustment
from orchestrator.scaling.decision import GroupSnapshot, ScalingDecision, change, clamp


@dataclass(frozen=True)
class StepAdjustment:
    """One step: ``scaling_adjustment`` applies when the breach lies in its interval."""

    scaling_adjustment: int
    metric_interval_lower_bound: float | None = None
    metric_interval_upper_bound: float | None = None

    @property
    def lower(self) -> float:
        lower = self.metric_interval_lower_bound
        return -math.inf if lower is None else lower

    @property
    def upper(self) -> float:
        upper = self.metric_interval_upper_bound
        return math.inf if upper is None else upper

    def contains(self, breach: float, *, above_threshold: bool) -> bool:
        if above_threshold:
            return self.lower <= breach < self.upper
        return self.lower < breach <= self.upper


def validate_steps(steps: tuple[StepAdjustment, ...]) -> tuple[StepAdjustment, ...]:
    """Refuse step sets AWS refuses; return them ordered from lowest to highest interval."""
    if not steps:
        raise ValidationError("StepAdjustments must contain at least one step adjustment.")
    for step in steps:
        if step.metric_interval_lower_bound is None and step.metric_interval_upper_bound is None:
            raise ValidationError(
                "Step adjustment cannot have both lower and upper bounds set to null."
            )
        if step.lower >= step.upper:
            raise ValidationError(
                "Step adjustment's upper bound must be greater than its lower bound."
            )
    ordered = tuple(sorted(steps, key=lambda s: s.lower))
    for below, above in itertools.pairwise(ordered):
        if below.upper > above.lower:
            raise ValidationError("Step adjustment intervals must not overlap.")
        if below.upper < above.lower:
            raise ValidationError("Step adjustment intervals must not have gaps.")
    if ordered[0].lower < 0 and ordered[0].lower != -math.inf:
        raise ValidationError(
            "A step adjustment with a negative lower bound requires one with a null lower bound."
        )
    if ordered[-1].upper > 0 and ordered[-1].upper != math.inf:
        raise ValidationError(
            "A step adjustment with a positive upper bound requires one with a null upper bound."
        )
    return ordered


@dataclass(frozen=True)
class StepScalingPolicy:
    """PutScalingPolicy with PolicyType StepScaling; invalid policies cannot be built.

    ``cooldown`` is Application Auto Scaling's Cooldown (after a scaling activity on the
    target the policy waits that long); EC2 Auto Scaling's step policies leave it None and
    rely on warm-up.
    """

    policy_name: str
    adjustment_type: AdjustmentType
    step_adjustments: tuple[StepAdjustment, ...]
    min_adjustment_magnitude: int | None = None
    estimated_instance_warmup: int | None = None
    # How the alarm's datapoints are aggregated (Average, Minimum, Maximum); Barista records
    # one datapoint per period, so every aggregation of it is the same value.
    metric_aggregation_type: str = "Average"
    cooldown: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_adjustments", validate_steps(self.step_adjustments))
        for step in self.step_adjustments:
            validate_adjustment(
                self.adjustment_type, step.scaling_adjustment, self.min_adjustment_magnitude
            )

    def step_for(self, breach: float) -> StepAdjustment | None:
        """The step whose interval holds ``breach`` (metric - threshold), by AWS's bound rules."""
        rules = (True, False) if breach == 0 else (breach > 0,)
        for above_threshold in rules:
            for step in self.step_adjustments:
                if step.contains(breach, above_threshold=above_threshold):
                    return step
        return None


def step_scaling_decision(
    policy: StepScalingPolicy,
    group: GroupSnapshot,
    *,
    metric_value: float,
    threshold: float,
    alarm_name: str,
    now: float,
) -> ScalingDecision:
    """What DesiredCapacity becomes when ``alarm_name`` (in ALARM) runs ``policy`` at ``now``.

    ``metric_value`` is the aggregated metric, which by AWS's rule leaves out instances still
    warming up; the caller aggregates it. ``group.in_service_since`` decides which capacity is
    still warming.
    """
    step = policy.step_for(metric_value - threshold)
    current = group.desired_capacity
    if step is None:
        return ScalingDecision(
            None, f"metric {metric_value} lies in no step interval of policy {policy.policy_name}."
        )
    warmup = group.instance_warmup(policy.estimated_instance_warmup)
    warming = group.warming(now, warmup)
    exact = policy.adjustment_type is AdjustmentType.EXACT_CAPACITY
    scaling_out = step.scaling_adjustment > current if exact else step.scaling_adjustment > 0
    # Scale-out measures from capacity already contributing to the metric; scale-in from all of
    # it ("we consider instances that are terminating as part of the current capacity").
    base = current - warming if scaling_out else current
    proposed = adjusted_capacity(
        policy.adjustment_type, step.scaling_adjustment, base, policy.min_adjustment_magnitude
    )
    new = clamp(proposed, group.min_size, group.max_size)
    if scaling_out and new <= current:
        return ScalingDecision(
            None,
            f"capacity {current} (of which {warming} warming up) already covers step "
            f"{step.scaling_adjustment} of policy {policy.policy_name}.",
        )
    if new < current and warming:
        return ScalingDecision(
            None, f"scale-in waits: {warming} instance(s) still warming up ({warmup} s)."
        )
    return change(
        now=now,
        alarm_name=alarm_name,
        policy_name=policy.policy_name,
        current=current,
        new=new,
        why=f"step {step.scaling_adjustment} leaves desired capacity at {current}.",
    )
