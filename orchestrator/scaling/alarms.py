"""CloudWatch metric alarms: the one "M out of N" rule every scaling policy acts through.

A step or simple scaling policy does nothing on its own: in AWS a CloudWatch alarm watches a
metric and, in state ALARM, invokes the policy. :class:`MetricAlarm` keeps PutMetricAlarm's
names; :func:`evaluate` applies CloudWatch's "M out of N" rule to the newest datapoints, and
:func:`alarm_in_alarm` finds the alarm that invokes a given policy. A target tracking policy
owns two alarms of its own (:func:`target_tracking_alarm`): AlarmHigh after
:data:`SCALE_OUT_EVALUATION_PERIODS` one-minute datapoints above the target, AlarmLow after
:data:`SCALE_IN_EVALUATION_PERIODS` below it. EC2 Auto Scaling and Application Auto Scaling
create the same pair, so groups and ECS services both evaluate them here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from orchestrator.errors import ValidationError
from orchestrator.scaling.activity import activity_id
from orchestrator.scaling.metrics import PERIOD, MetricSpec

SCALE_OUT_EVALUATION_PERIODS = 3  # AlarmHigh: 3 datapoints within 3 minutes
SCALE_IN_EVALUATION_PERIODS = 15  # AlarmLow: 15 datapoints within 15 minutes


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


class TrackingAlarm(StrEnum):
    """The two alarms AWS creates for a target tracking policy, by the suffix of their names."""

    HIGH = "AlarmHigh"
    LOW = "AlarmLow"


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


def tracking_alarm_name(scaled: str, policy_name: str, which: TrackingAlarm) -> str:
    """AWS's name for an alarm a target tracking policy owns (``scaled``: the group or the
    resource id), with a uuid derived from the names so it is stable."""
    uuid = activity_id(scaled, policy_name, which)
    return f"TargetTracking-{scaled}-{which}-{uuid}"


def alarm_state(
    comparison_operator: ComparisonOperator,
    threshold: float,
    newest_first: Sequence[float],
    *,
    evaluation_periods: int,
    datapoints_to_alarm: int,
) -> AlarmState:
    """CloudWatch's rule over datapoints (one per period, newest first).

    ALARM when at least M (``datapoints_to_alarm``) of the last N (``evaluation_periods``)
    breach; OK when enough of them do not that M breaches are impossible; INSUFFICIENT_DATA
    while fewer than M datapoints exist.
    """
    window = list(newest_first[:evaluation_periods])
    breaching = sum(1 for value in window if comparison_operator.breaches(value, threshold))
    if breaching >= datapoints_to_alarm:
        return AlarmState.ALARM
    if len(window) < datapoints_to_alarm:
        return AlarmState.INSUFFICIENT_DATA
    return AlarmState.OK


class AlarmRule(Protocol):
    """What judges an alarm's datapoints: a MetricAlarm, or an alarm a target tracking
    policy owns (described, never stored)."""

    @property
    def comparison_operator(self) -> ComparisonOperator: ...

    @property
    def threshold(self) -> float: ...

    @property
    def evaluation_periods(self) -> int: ...

    @property
    def required_datapoints(self) -> int: ...


def evaluate(alarm: AlarmRule, newest_first: Sequence[float]) -> AlarmState:
    """The alarm's state from its newest datapoints (one per period, newest first)."""
    return alarm_state(
        alarm.comparison_operator,
        alarm.threshold,
        newest_first,
        evaluation_periods=alarm.evaluation_periods,
        datapoints_to_alarm=alarm.required_datapoints,
    )


def target_tracking_alarm(
    target_value: float, newest_first: Sequence[float]
) -> TrackingAlarm | None:
    """Which of a target tracking policy's alarms is in ALARM for its tracked datapoints.

    AlarmHigh: every one of the last 3 above the target; AlarmLow: every one of the last 15
    below it. Neither (``None``) leaves the policy where it is: AWS acts only on an alarm.
    """
    high = alarm_state(
        ComparisonOperator.GREATER_THAN_THRESHOLD,
        target_value,
        newest_first,
        evaluation_periods=SCALE_OUT_EVALUATION_PERIODS,
        datapoints_to_alarm=SCALE_OUT_EVALUATION_PERIODS,
    )
    if high is AlarmState.ALARM:
        return TrackingAlarm.HIGH
    low = alarm_state(
        ComparisonOperator.LESS_THAN_THRESHOLD,
        target_value,
        newest_first,
        evaluation_periods=SCALE_IN_EVALUATION_PERIODS,
        datapoints_to_alarm=SCALE_IN_EVALUATION_PERIODS,
    )
    return TrackingAlarm.LOW if low is AlarmState.ALARM else None


def alarm_in_alarm(
    alarms: Iterable[MetricAlarm],
    invokes: Callable[[str], bool],
    datapoints: Callable[[str, int], Sequence[float]],
) -> tuple[MetricAlarm, Sequence[float]] | None:
    """The first alarm in ALARM whose AlarmActions invoke a policy, with its datapoints.

    ``invokes`` says whether an action (an ARN, or ``group/policy``) names the policy;
    ``datapoints(series, n)`` reads the newest ``n`` values of a series, newest first. A step
    or simple policy runs only while such an alarm is in ALARM, on its newest datapoint.
    """
    for alarm in alarms:
        if not any(invokes(action) for action in alarm.alarm_actions):
            continue
        points = datapoints(alarm.metric.key, alarm.evaluation_periods)
        if evaluate(alarm, points) is AlarmState.ALARM:
            return alarm, points
    return None
