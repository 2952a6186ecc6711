"""CloudWatch, as far as scaling needs it: ``POST /api/cloudwatch/{Action}``.

Metric alarms watch one of the two series Barista records (``orchestrator.api._metrics``) and
invoke step or simple scaling policies named in ``AlarmActions`` by their PolicyARN (or
``group/policy``); an action that names no existing policy is refused, since AWS would
otherwise invoke nothing. An alarm's state is not stored: DescribeAlarms evaluates it from the
stored datapoints each time (``orchestrator.scaling.alarms.evaluate``), so it is always the
state the controller would see.

DescribeAlarms pages by alarm name: ``MaxRecords`` 1-100 (50 when not given) and a
``NextToken`` for the rest, refused with CloudWatch's ``InvalidNextToken`` when Barista did not
give it out (``orchestrator.paging``).

GetMetricStatistics reads the same datapoints, one per period as the controller records them,
so Average, Minimum, Maximum and Sum of a period agree unless a caller asks for a longer one.

PutMetricData adds datapoints to any metric, up to two weeks old (CloudWatch's rule), which is
how a predictive scaling policy gets the history it forecasts from. Barista keeps one value per
period (StorageResolution 60, or 1 for high resolution): a datum's Value, the Counts-weighted
mean of its Values, or its StatisticValues' average; a later put for the same period replaces
it; points older than a day are kept as hourly means. Unlike CloudWatch, Barista accepts
``AWS/`` namespaces, so history can be loaded for the metrics it samples itself (the orders
queue, a group's CPU).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._metrics import Dimension, metric_identity, metric_spec
from orchestrator.api._policies import alarm_arn, tracked_metric
from orchestrator.api._requests import Request, iso, parse, parse_time
from orchestrator.asg.store import Store
from orchestrator.ecs.scalable_target import (
    BACKLOG,
    REQUESTS,
    ServiceMetric,
    ServiceScalingPolicy,
)
from orchestrator.ecs.state import EcsStore
from orchestrator.errors import AwsError, ValidationError
from orchestrator.monitoring import DOWNSAMPLED_PERIOD, FULL_RESOLUTION, RETENTION
from orchestrator.paging import paginate
from orchestrator.scaling.alarms import (
    SCALE_IN_EVALUATION_PERIODS,
    SCALE_OUT_EVALUATION_PERIODS,
    AlarmRule,
    AlarmState,
    ComparisonOperator,
    MetricAlarm,
    TrackingAlarm,
    evaluate,
    tracking_alarm_name,
)
from orchestrator.scaling.metrics import PERIOD, series_key
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.scaling.step import StepScalingPolicy

SERVICE = "cloudwatch"
HIGH_RESOLUTION_PERIODS = (10, 20, 30)

Statistic = Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
HISTORY = 1440  # datapoints a describe reads back: one day of minutes
FUTURE_LIMIT = 2 * 3600  # PutMetricData: how far ahead of now a datapoint may be


class PutMetricAlarm(Request):
    alarm_name: str = Field(min_length=1, max_length=255)
    metric_name: str = Field(min_length=1, max_length=255)
    namespace: str = Field(min_length=1, max_length=255)
    dimensions: list[Dimension] = Field(default_factory=list)
    statistic: Statistic = "Average"
    period: int = Field(default=60, ge=1)
    evaluation_periods: int = Field(ge=1)
    datapoints_to_alarm: int | None = Field(default=None, ge=1)
    threshold: float
    comparison_operator: Literal[
        "GreaterThanOrEqualToThreshold",
        "GreaterThanThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
    ]
    alarm_actions: list[str] = Field(default_factory=list, max_length=5)


class DescribeAlarms(Request):
    alarm_names: list[str] = Field(default_factory=list, max_length=100)
    alarm_name_prefix: str | None = None
    state_value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"] | None = None
    action_prefix: str | None = None
    max_records: int = Field(default=50, ge=1, le=100)
    next_token: str | None = None


class DeleteAlarms(Request):
    alarm_names: list[str] = Field(min_length=1, max_length=100)


class GetMetricStatistics(Request):
    namespace: str
    metric_name: str
    dimensions: list[Dimension] = Field(default_factory=list)
    start_time: str
    end_time: str
    period: int = Field(ge=1)
    statistics: list[Statistic] = Field(min_length=1, max_length=5)


class StatisticSet(Request):
    sample_count: float = Field(gt=0)
    sum: float
    minimum: float
    maximum: float


class MetricDatum(Request):
    metric_name: str = Field(min_length=1, max_length=255)
    dimensions: list[Dimension] = Field(default_factory=list, max_length=30)
    timestamp: str | None = None
    value: float | None = None
    statistic_values: StatisticSet | None = None
    values: list[float] | None = Field(default=None, max_length=150)
    counts: list[float] | None = Field(default=None, max_length=150)
    unit: str | None = None
    storage_resolution: Literal[1, 60] | None = None


class PutMetricData(Request):
    namespace: str = Field(min_length=1, max_length=255)
    metric_data: list[MetricDatum] = Field(min_length=1, max_length=1000)


_SYMBOLS = {
    ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD: "greater than or equal to",
    ComparisonOperator.GREATER_THAN_THRESHOLD: "greater than",
    ComparisonOperator.LESS_THAN_THRESHOLD: "less than",
    ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD: "less than or equal to",
}


class DescribedAlarm(AlarmRule, Protocol):
    """What DescribeAlarms shows of an alarm besides its metric."""

    @property
    def alarm_name(self) -> str: ...

    @property
    def alarm_actions(self) -> tuple[str, ...]: ...

    @property
    def period(self) -> int: ...

    @property
    def statistic(self) -> str: ...

    @property
    def datapoints_to_alarm(self) -> int | None: ...


@dataclass(frozen=True)
class ServiceTrackingAlarm:
    """An alarm an Application Auto Scaling target tracking policy owns: an ECS service's
    metric, named by CloudWatch's identity (``identity``), read from the policy's series."""

    alarm_name: str
    comparison_operator: ComparisonOperator
    threshold: float
    evaluation_periods: int
    alarm_actions: tuple[str, ...]
    identity: Mapping[str, Any]
    statistic: str
    period: int = PERIOD

    @property
    def datapoints_to_alarm(self) -> int:
        return self.evaluation_periods

    @property
    def required_datapoints(self) -> int:
        return self.evaluation_periods


def state_reason(alarm: DescribedAlarm, newest_first: list[float], state: AlarmState) -> str:
    """CloudWatch's StateReason sentence for the evaluated window."""
    window = newest_first[: alarm.evaluation_periods]
    if state is AlarmState.INSUFFICIENT_DATA:
        return (
            f"Insufficient Data: {len(window)} datapoint(s) were received, "
            f"{alarm.required_datapoints} are needed."
        )
    shown = ", ".join(f"{v:g}" for v in window)
    breaching = sum(1 for v in window if alarm.comparison_operator.breaches(v, alarm.threshold))
    verdict = "Threshold Crossed" if state is AlarmState.ALARM else "Threshold Not Crossed"
    return (
        f"{verdict}: {breaching} out of the last {len(window)} datapoints [{shown}] were "
        f"{_SYMBOLS[alarm.comparison_operator]} the threshold ({alarm.threshold:g}) "
        f"(minimum {alarm.required_datapoints} datapoint(s) for ALARM)."
    )


def describe_alarm(
    alarm: DescribedAlarm, newest_first: list[float], identity: Mapping[str, Any]
) -> dict[str, Any]:
    """One entry of DescribeAlarms' MetricAlarms, with the state evaluated now; ``identity``
    is the metric's Namespace, MetricName and Dimensions."""
    state = evaluate(alarm, newest_first)
    described: dict[str, Any] = {
        "AlarmName": alarm.alarm_name,
        "AlarmArn": alarm_arn(alarm.alarm_name),
        "ActionsEnabled": True,
        "AlarmActions": list(alarm.alarm_actions),
        "StateValue": state.value,
        "StateReason": state_reason(alarm, newest_first, state),
        **identity,
        "Statistic": alarm.statistic,
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "Threshold": alarm.threshold,
        "ComparisonOperator": alarm.comparison_operator.value,
    }
    if alarm.datapoints_to_alarm is not None:
        described["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    return described


# A target tracking policy's two alarms: AlarmHigh above the target for 3 periods, AlarmLow
# below it for 15 (EC2 and Application Auto Scaling alike).
TRACKING_RULES = {
    TrackingAlarm.HIGH: (ComparisonOperator.GREATER_THAN_THRESHOLD, SCALE_OUT_EVALUATION_PERIODS),
    TrackingAlarm.LOW: (ComparisonOperator.LESS_THAN_THRESHOLD, SCALE_IN_EVALUATION_PERIODS),
}


def target_tracking_alarms(policy: ScalingPolicy) -> list[tuple[MetricAlarm, str]]:
    """The two alarms an Auto Scaling target tracking policy owns (AWS creates them with the
    policy), each with the series it reads: the value the policy tracks, one per period
    (backlog ÷ instances in service, or the group's average CPU)."""
    definition = policy.definition
    if not isinstance(definition, TargetTrackingPolicy):
        return []
    target = definition.configuration.target_value
    return [
        (
            MetricAlarm(
                alarm_name=tracking_alarm_name(
                    policy.auto_scaling_group_name, policy.policy_name, which
                ),
                metric=definition.metric,
                period=definition.metric.period,
                comparison_operator=operator,
                threshold=target,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                alarm_actions=(policy.policy_arn,),
            ),
            policy.tracked_series,
        )
        for which, (operator, periods) in TRACKING_RULES.items()
    ]


def service_tracking_alarms(policy: ServiceScalingPolicy) -> list[ServiceTrackingAlarm]:
    """The two alarms an ECS service's target tracking policy owns, as DescribeAlarms shows
    them: the metric the policy names (CloudWatch's names for it), AlarmHigh above the target
    for 3 periods, AlarmLow below it for 15, the policy's ARN as the action."""
    definition = policy.definition
    if not isinstance(definition, TargetTrackingPolicy):
        return []
    identity, statistic = _service_metric(policy, definition.metric)
    return [
        ServiceTrackingAlarm(
            alarm_name=tracking_alarm_name(policy.resource_id, policy.policy_name, which),
            comparison_operator=operator,
            threshold=definition.configuration.target_value,
            evaluation_periods=periods,
            alarm_actions=(policy.policy_arn,),
            identity=identity,
            statistic=statistic,
        )
        for which, (operator, periods) in TRACKING_RULES.items()
    ]


def _service_metric(
    policy: ServiceScalingPolicy, metric: ServiceMetric
) -> tuple[dict[str, Any], str]:
    """CloudWatch's name for what a service's policy tracks, and the statistic AWS uses."""
    if metric.metric_type == REQUESTS:
        # The ResourceLabel ends in the target group's ARN suffix: targetgroup/<name>/<id>.
        _, _, target_group = metric.resource_label.partition("/targetgroup/")
        return {
            "Namespace": "AWS/ApplicationELB",
            "MetricName": "RequestCountPerTarget",
            "Dimensions": [{"Name": "TargetGroup", "Value": f"targetgroup/{target_group}"}],
        }, "Sum"
    if metric.metric_type == BACKLOG:
        return {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": metric.resource_label}],
        }, "Average"
    return {
        "Namespace": "AWS/ECS",
        "MetricName": "CPUUtilization",
        "Dimensions": [
            {"Name": "ClusterName", "Value": policy.cluster},
            {"Name": "ServiceName", "Value": policy.service},
        ],
    }, "Average"


def describe_tracking_alarm(
    policy: ScalingPolicy, alarm: MetricAlarm, newest_first: list[float]
) -> dict[str, Any]:
    """A target tracking alarm as DescribeAlarms shows it: the tracked metric as the policy
    states it (a metric math query for backlog per instance), AWS's do-not-edit description."""
    described = describe_alarm(alarm, newest_first, metric_identity(alarm.metric))
    described["AlarmDescription"] = (
        f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy.policy_arn}."
    )
    tracked = tracked_metric(policy)
    custom = tracked.get("CustomizedMetricSpecification", {})
    if "Metrics" in custom:
        for key in ("Namespace", "MetricName", "Dimensions", "Statistic"):
            described.pop(key, None)
        described["Metrics"] = custom["Metrics"]
    return described


def _statistic(name: str, values: list[float]) -> float:
    if name == "SampleCount":
        return float(len(values))
    if name == "Sum":
        return sum(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    return sum(values) / len(values)


def _check_period(period: int) -> None:
    """CloudWatch's rule for alarm periods, in AWS's words."""
    if period not in HIGH_RESOLUTION_PERIODS and period % 60:
        raise ValidationError(
            f"The parameter Period must be 10, 20, 30, or a multiple of 60 (got {period})."
        )


def check_timestamp(when: float, now: float, index: int) -> None:
    """CloudWatch takes datapoints up to two weeks old and up to two hours ahead."""
    if not now - RETENTION <= when <= now + FUTURE_LIMIT:
        raise AwsError(
            "InvalidParameterValue",
            f"The parameter MetricData.member.{index}.Timestamp must specify a time no more "
            "than two weeks in the past and no more than two hours in the future.",
        )


def datum_value(datum: MetricDatum, index: int) -> float:
    """The one value Barista keeps for a datum's period: Value, the mean of Values weighted
    by Counts, or StatisticValues' Sum ÷ SampleCount."""
    given = [
        name
        for name, present in (
            ("Value", datum.value is not None),
            ("StatisticValues", datum.statistic_values is not None),
            ("Values", datum.values is not None),
        )
        if present
    ]
    if len(given) != 1:
        raise AwsError(
            "InvalidParameterCombination",
            f"The parameters MetricData.member.{index}.Value, StatisticValues and Values are "
            f"mutually exclusive and one of them is required (got {', '.join(given) or 'none'}).",
        )
    if datum.value is not None:
        value = datum.value
    elif datum.statistic_values is not None:
        value = datum.statistic_values.sum / datum.statistic_values.sample_count
    else:
        assert datum.values is not None
        counts = datum.counts or [1.0] * len(datum.values)
        if len(counts) != len(datum.values) or not datum.values or sum(counts) <= 0:
            raise AwsError(
                "InvalidParameterValue",
                f"The parameters MetricData.member.{index}.Values and Counts must be non-empty "
                "arrays of the same length.",
            )
        value = sum(v * c for v, c in zip(datum.values, counts, strict=True)) / sum(counts)
    if not math.isfinite(value):
        raise AwsError(
            "InvalidParameterValue",
            f"The value {value} for parameter MetricData.member.{index}.Value is invalid.",
        )
    return value


def invalid_next_token() -> AwsError:
    return AwsError("InvalidNextToken", "The NextToken value is not valid.")


def actions(context: ApiContext) -> dict[str, Action]:  # noqa: PLR0915 - one closure per action
    """CloudWatch's alarm and statistics actions over the store."""

    def put_alarm(params: Params) -> Mapping[str, Any]:
        request = parse(PutMetricAlarm, params)
        _check_period(request.period)
        metric = metric_spec(request.namespace, request.metric_name, request.dimensions)
        with Store(context.store_path) as store:
            policies = store.policies()
            with EcsStore(context.store_path) as ecs_store:
                service_policies = {
                    p.policy_arn
                    for p in ecs_store.scaling_policies()
                    if isinstance(p.definition, StepScalingPolicy)
                }
            for action in request.alarm_actions:
                if action not in service_policies and not any(
                    p.answers_to(action) for p in policies
                ):
                    raise ValidationError(
                        f"AlarmActions: {action} names no scaling policy. Use the PolicyARN "
                        "that PutScalingPolicy returned (EC2 or Application Auto Scaling)."
                    )
            alarm = MetricAlarm(
                alarm_name=request.alarm_name,
                metric=metric,
                comparison_operator=ComparisonOperator(request.comparison_operator),
                threshold=request.threshold,
                evaluation_periods=request.evaluation_periods,
                datapoints_to_alarm=request.datapoints_to_alarm,
                period=request.period,
                alarm_actions=tuple(request.alarm_actions),
                statistic=request.statistic,
            )
            store.put_alarm(alarm)
        return {}

    def describe_alarms(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeAlarms, params)
        described = []

        def wanted(alarm: DescribedAlarm) -> bool:
            if request.alarm_names and alarm.alarm_name not in request.alarm_names:
                return False
            if request.alarm_name_prefix and not alarm.alarm_name.startswith(
                request.alarm_name_prefix
            ):
                return False
            return not request.action_prefix or any(
                a.startswith(request.action_prefix) for a in alarm.alarm_actions
            )

        with Store(context.store_path) as store:
            for alarm in store.alarms():
                if wanted(alarm):
                    values = [v for _, v in store.datapoints(alarm.metric.key, HISTORY)]
                    described.append(describe_alarm(alarm, values, metric_identity(alarm.metric)))
            for policy in store.policies():
                for alarm, tracked in target_tracking_alarms(policy):
                    if wanted(alarm):
                        values = [v for _, v in store.datapoints(tracked, HISTORY)]
                        described.append(describe_tracking_alarm(policy, alarm, values))
            with EcsStore(context.store_path) as ecs_store:
                service_policies = ecs_store.scaling_policies()
            for service_policy in service_policies:
                for service_alarm in service_tracking_alarms(service_policy):
                    if wanted(service_alarm):
                        values = [v for _, v in store.datapoints(service_policy.series, HISTORY)]
                        entry = describe_alarm(service_alarm, values, service_alarm.identity)
                        entry["AlarmDescription"] = (
                            "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy "
                            f"{service_policy.policy_arn}."
                        )
                        described.append(entry)
        if request.state_value:
            described = [e for e in described if e["StateValue"] == request.state_value]
        page = paginate(
            "alarms",
            described,
            lambda a: [a["AlarmName"]],
            request.max_records,
            request.next_token,
            invalid_next_token,
        )
        answer: dict[str, Any] = {"MetricAlarms": page.items, "CompositeAlarms": []}
        if page.next_token is not None:
            answer["NextToken"] = page.next_token
        return answer

    def delete_alarms(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteAlarms, params)
        with Store(context.store_path) as store:
            known = {a.alarm_name for a in store.alarms()}
            missing = [name for name in request.alarm_names if name not in known]
            if missing:
                raise AwsError("ResourceNotFound", f"{', '.join(missing)} not found")
            for name in request.alarm_names:
                store.delete_alarm(name)
        return {}

    def put_metric_data(params: Params) -> Mapping[str, Any]:
        request = parse(PutMetricData, params)
        now = context.runtime.now()
        by_series: dict[str, list[tuple[float, float]]] = {}
        for index, datum in enumerate(request.metric_data, start=1):
            when = (
                parse_time(datum.timestamp, f"metricData.member.{index}.timestamp")
                if datum.timestamp is not None
                else now
            )
            check_timestamp(when, now, index)
            dimensions = [(d.name, d.value) for d in datum.dimensions]
            series = series_key(request.namespace, datum.metric_name, dimensions)
            period = datum.storage_resolution or 60
            bucket = when - when % period
            by_series.setdefault(series, []).append((bucket, datum_value(datum, index)))
        with Store(context.store_path) as store:
            for series, points in by_series.items():
                store.record_datapoints(series, points, keep=RETENTION, now=now)
                store.downsample(series, now - FULL_RESOLUTION, DOWNSAMPLED_PERIOD)
        return {}

    def metric_statistics(params: Params) -> Mapping[str, Any]:
        request = parse(GetMetricStatistics, params)
        dimensions = [(d.name, d.value) for d in request.dimensions]
        series = series_key(request.namespace, request.metric_name, dimensions)
        start = parse_time(request.start_time, "startTime")
        end = parse_time(request.end_time, "endTime")
        if end <= start:
            raise ValidationError(
                "The parameter StartTime must be less than the parameter EndTime."
            )
        with Store(context.store_path) as store:
            points = store.datapoints_between(series, start, end)
        buckets: dict[float, list[float]] = {}
        for when, value in points:
            if start <= when < end:
                bucket = start + (when - start) // request.period * request.period
                buckets.setdefault(bucket, []).append(value)
        unit = "Percent" if request.metric_name == "CPUUtilization" else "Count"
        datapoints = [
            {
                "Timestamp": iso(bucket),
                **{name: _statistic(name, values) for name in request.statistics},
                "Unit": unit,
            }
            for bucket, values in sorted(buckets.items())
        ]
        return {"Label": request.metric_name, "Datapoints": datapoints}

    return {
        "PutMetricAlarm": put_alarm,
        "DescribeAlarms": describe_alarms,
        "DeleteAlarms": delete_alarms,
        "GetMetricStatistics": metric_statistics,
        "PutMetricData": put_metric_data,
    }
