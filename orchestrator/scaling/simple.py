"""Simple scaling: one adjustment per alarm, then a cooldown before the next.

AWS: "after the scaling activity is started, the policy must wait for the scaling activity or
health check replacement to complete and the cooldown period to complete before responding to
additional alarms." DefaultCooldown (300 s) is the group's value and applies only to simple
scaling; a policy's own Cooldown overrides it. Warm-up does not apply to simple scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.scaling.activity import timestamp
from orchestrator.scaling.adjustment import AdjustmentType, adjusted_capacity, validate_adjustment
from orchestrator.scaling.decision import GroupSnapshot, ScalingDecision, change, clamp


@dataclass(frozen=True)
class SimpleScalingPolicy:
    """PutScalingPolicy with PolicyType SimpleScaling; ``cooldown`` None means DefaultCooldown."""

    policy_name: str
    adjustment_type: AdjustmentType
    scaling_adjustment: int
    cooldown: int | None = None
    min_adjustment_magnitude: int | None = None

    def __post_init__(self) -> None:
        validate_adjustment(
            self.adjustment_type, self.scaling_adjustment, self.min_adjustment_magnitude
        )


def cooldown_ends_at(
    policy: SimpleScalingPolicy, group: GroupSnapshot, last_activity_end: float | None
) -> float | None:
    """When the cooldown after the last scaling activity expires; None if there was none."""
    if last_activity_end is None:
        return None
    cooldown = policy.cooldown if policy.cooldown is not None else group.default_cooldown
    return last_activity_end + cooldown


def simple_scaling_decision(
    policy: SimpleScalingPolicy,
    group: GroupSnapshot,
    *,
    alarm_name: str,
    now: float,
    last_activity_end: float | None,
    activity_in_progress: bool = False,
) -> ScalingDecision:
    """What DesiredCapacity becomes when ``alarm_name`` runs ``policy`` at ``now``.

    ``last_activity_end`` is when the group's last scaling activity completed (None: never);
    the cooldown counts from there. While an activity is still in progress nothing happens.
    """
    if activity_in_progress:
        return ScalingDecision(None, "a scaling activity is still in progress.")
    ends = cooldown_ends_at(policy, group, last_activity_end)
    if ends is not None and now < ends:
        return ScalingDecision(None, f"cooldown in effect until {timestamp(ends)}.")
    current = group.desired_capacity
    proposed = adjusted_capacity(
        policy.adjustment_type, policy.scaling_adjustment, current, policy.min_adjustment_magnitude
    )
    return change(
        now=now,
        alarm_name=alarm_name,
        policy_name=policy.policy_name,
        current=current,
        new=clamp(proposed, group.min_size, group.max_size),
    )
