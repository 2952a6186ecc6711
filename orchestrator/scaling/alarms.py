"""CloudWatch metric alarms, as far as step and simple scaling need them.

A step or simple scaling policy does nothing on its own: in AWS a CloudWatch alarm watches a
metric and, in state ALARM, invokes the policy. :class:`MetricAlarm` keeps PutMetricAlarm's
names; :func:`evaluate` applies CloudWatch's "M out of N" rule to the newest datapoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.errors import ValidationError
from orchestrator.scaling.metrics import PERIOD, MetricSpec


class ComparisonOperator(StrEnum):
    GREATER_THAN_OR_EQUAL_TO_THRESHOLD = "GreaterThanOrEqualToThreshold"
    GREATER_THAN_THRESHOLD = "GreaterThanThreshold"
    LESS_THAN_THRESHOLD = "LessThanThreshold"
    LESS_THAN_OR_EQUAL_TO_THRESHOLD = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        match self:
            case ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD:
                return value >= threshold
            case ComparisonOperator.GREATER_THAN_THRESHOLD:
                return value > threshold
            case ComparisonOperator.LESS_THAN_THRESHOLD:
                return value < threshold
            case ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD:
                return value <= threshold


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class MetricAlarm:
    """PutMetricAlarm's parameters; ``alarm_actions`` name policies as ``group/policy``
    (or their ARNs), which is how the alarm finds what to invoke."""

    alarm_name: str
    metric: MetricSpec
    comparison_operator: ComparisonOperator
    threshold: float
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    period: int = PERIOD
    alarm_actions: tuple[str, ...] = ()
    # PutMetricAlarm's Statistic; with one datapoint per period every statistic is that value.
    statistic: str = "Average"

    def __post_init__(self) -> None:
        if self.evaluation_periods < 1:
            raise ValidationError("EvaluationPeriods must be at least 1.")
        if self.period < 1:
            raise ValidationError("Period must be at least 1 second.")
        wanted = self.required_datapoints
        if not 1 <= wanted <= self.evaluation_periods:
            raise ValidationError(
                f"DatapointsToAlarm ({wanted}) must be between 1 and EvaluationPeriods "
                f"({self.evaluation_periods})."
            )

    @property
    def required_datapoints(self) -> int:
        """M of "M out of N": DatapointsToAlarm, which defaults to EvaluationPeriods."""
        return (
            self.datapoints_to_alarm
            if self.datapoints_to_alarm is not None
            else self.evaluation_periods
        )


def evaluate(alarm: MetricAlarm, newest_first: Sequence[float]) -> AlarmState:
    """The alarm's state from its newest datapoints (one per period, newest first).

    ALARM when at least M of the last N breach; OK when enough of them do not that M breaches
    are impossible; INSUFFICIENT_DATA while fewer than M datapoints exist.
    """
    window = list(newest_first[: alarm.evaluation_periods])
    needed = alarm.required_datapoints
    breaching = sum(
        1 for value in window if alarm.comparison_operator.breaches(value, alarm.threshold)
    )
    if breaching >= needed:
        return AlarmState.ALARM
    if len(window) < needed:
        return AlarmState.INSUFFICIENT_DATA
    return AlarmState.OK
