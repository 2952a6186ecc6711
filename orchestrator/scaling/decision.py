"""The values every policy shares: the group as a policy sees it, and the decision it returns."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from orchestrator.scaling.activity import timestamp

DEFAULT_COOLDOWN = 300  # seconds; AWS's default, used only by simple scaling policies

# Float arithmetic can leave 3.0000000000000004 where the exact answer is 3; ceil would then add
# an instance nobody asked for. Differences this small are rounding noise, not load.
_EPSILON = 1e-9


def ceil_capacity(value: float) -> int:
    """``ceil`` that ignores float noise, so 160 ÷ 50 x … lands on the intended integer."""
    return math.ceil(value - _EPSILON)


def clamp(capacity: int, min_size: int, max_size: int) -> int:
    """AWS never lets a policy move desired capacity outside [MinSize, MaxSize]."""
    return max(min_size, min(max_size, capacity))


class Scalable(Protocol):
    """What a snapshot reads from a group; a Protocol so this package never imports ``asg``."""

    @property
    def min_size(self) -> int: ...
    @property
    def max_size(self) -> int: ...
    @property
    def desired_capacity(self) -> int: ...
    @property
    def default_cooldown(self) -> int: ...


@dataclass(frozen=True)
class GroupSnapshot:
    """What a scaling policy needs to know about a group at one instant.

    ``in_service_since`` holds, for each instance counted in the group's capacity (not
    terminating), the time it entered InService, or ``None`` while it is still Pending. AWS
    starts the warm-up clock at InService ("how long after an instance reaches the InService
    state it waits before contributing usage data to the aggregated metrics").
    ``default_instance_warmup`` is the group's DefaultInstanceWarmup (``None``: not enabled,
    AWS's default).
    """

    min_size: int
    max_size: int
    desired_capacity: int
    in_service_since: tuple[float | None, ...] = ()
    default_cooldown: int = DEFAULT_COOLDOWN
    default_instance_warmup: int | None = None

    @classmethod
    def of(
        cls,
        group: Scalable,
        in_service_since: Iterable[float | None] = (),
        default_instance_warmup: int | None = None,
    ) -> GroupSnapshot:
        return cls(
            min_size=group.min_size,
            max_size=group.max_size,
            desired_capacity=group.desired_capacity,
            in_service_since=tuple(in_service_since),
            default_cooldown=group.default_cooldown,
            default_instance_warmup=default_instance_warmup,
        )

    def instance_warmup(self, estimated_instance_warmup: int | None) -> int:
        """AWS's fallback chain: the policy's EstimatedInstanceWarmup, then the group's
        DefaultInstanceWarmup, then DefaultCooldown."""
        if estimated_instance_warmup is not None:
            return estimated_instance_warmup
        if self.default_instance_warmup is not None:
            return self.default_instance_warmup
        return self.default_cooldown

    def warmed_up(self, now: float, warmup: int) -> int:
        """Instances whose warm-up has ended: the only ones in the aggregated metrics."""
        return sum(1 for t in self.in_service_since if t is not None and now >= t + warmup)

    def warming(self, now: float, warmup: int) -> int:
        """Desired capacity not yet contributing to metrics: warming, Pending or not launched.

        Counting from desired capacity (not from the instances seen) means capacity a previous
        scale-out asked for but the runtime has not started yet also counts as on its way.
        """
        return max(0, self.desired_capacity - self.warmed_up(now, warmup))


@dataclass(frozen=True)
class ScalingDecision:
    """A policy's answer: the new DesiredCapacity (``None`` for no change) and why.

    ``cause`` uses AWS's activity-cause phrasing when capacity changes, so the activity history
    reads like DescribeScalingActivities; when nothing changes it says why not.
    """

    desired_capacity: int | None
    cause: str

    @property
    def changes(self) -> bool:
        return self.desired_capacity is not None


def change(
    *, now: float, alarm_name: str, policy_name: str, current: int, new: int, why: str = ""
) -> ScalingDecision:
    """A decision that moves desired capacity, or a no-op one if ``new`` equals ``current``."""
    if new == current:
        return ScalingDecision(None, why or f"desired capacity stays at {current}.")
    cause = (
        f"At {timestamp(now)} a monitor alarm {alarm_name} in state ALARM triggered policy "
        f"{policy_name} changing the desired capacity from {current} to {new}."
    )
    return ScalingDecision(new, cause)
