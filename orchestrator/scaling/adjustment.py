"""Adjustment types shared by step and simple scaling, with AWS's rounding rules.

AWS (EC2 Auto Scaling user guide, "Scaling adjustment types"):

* ``ChangeInCapacity`` adds the adjustment to the current capacity;
* ``ExactCapacity`` sets the capacity to the adjustment (which must be non-negative);
* ``PercentChangeInCapacity`` adds that percentage of the current capacity, and AWS rounds a
  fractional result like this: values greater than 1 are rounded down (12.7 → 12), values
  between 0 and 1 become 1 (0.67 → 1), values between 0 and -1 become -1 (-0.58 → -1), values
  less than -1 are rounded up (-6.67 → -6). That is truncation toward zero, except that a
  non-zero change never truncates to nothing. ``MinAdjustmentMagnitude`` (valid only with this
  type) then raises the size of the change: +25 % of 4 is 1, but with a minimum of 2 AWS adds 2.
"""

from __future__ import annotations

import math
from enum import StrEnum

from orchestrator.errors import ValidationError


class AdjustmentType(StrEnum):
    CHANGE_IN_CAPACITY = "ChangeInCapacity"
    EXACT_CAPACITY = "ExactCapacity"
    PERCENT_CHANGE_IN_CAPACITY = "PercentChangeInCapacity"


def validate_adjustment(
    adjustment_type: AdjustmentType, scaling_adjustment: int, min_adjustment_magnitude: int | None
) -> None:
    """Refuse what PutScalingPolicy refuses about an adjustment."""
    if (
        min_adjustment_magnitude is not None
        and adjustment_type is not AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
    ):
        raise ValidationError(
            "MinAdjustmentMagnitude is only supported with adjustment type PercentChangeInCapacity."
        )
    if min_adjustment_magnitude is not None and min_adjustment_magnitude < 1:
        raise ValidationError("MinAdjustmentMagnitude must be at least 1.")
    if adjustment_type is AdjustmentType.EXACT_CAPACITY and scaling_adjustment < 0:
        raise ValidationError("ScalingAdjustment must be non-negative for ExactCapacity.")


def percent_change(percent: int, capacity: int, min_adjustment_magnitude: int | None = None) -> int:
    """Instances to add (negative: remove) for ``percent`` % of ``capacity``, rounded as AWS does.

    A 0 % step or an empty group gives 0: AWS's "between 0 and 1 → 1" rule covers fractions,
    not zero. MinAdjustmentMagnitude applies whenever the change is non-zero, in its direction.
    """
    raw = percent * capacity / 100
    if raw == 0:
        return 0
    instances = math.trunc(raw) or (1 if raw > 0 else -1)
    if min_adjustment_magnitude is not None and abs(instances) < min_adjustment_magnitude:
        instances = min_adjustment_magnitude if instances > 0 else -min_adjustment_magnitude
    return instances


def adjusted_capacity(
    adjustment_type: AdjustmentType,
    scaling_adjustment: int,
    capacity: int,
    min_adjustment_magnitude: int | None = None,
) -> int:
    """The capacity an adjustment asks for from ``capacity``, before clamping to [min, max]."""
    if adjustment_type is AdjustmentType.EXACT_CAPACITY:
        return scaling_adjustment
    if adjustment_type is AdjustmentType.CHANGE_IN_CAPACITY:
        return capacity + scaling_adjustment
    return capacity + percent_change(scaling_adjustment, capacity, min_adjustment_magnitude)
