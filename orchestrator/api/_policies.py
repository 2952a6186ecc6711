"""PutScalingPolicy's request shape, its translation to Barista's policies, and back.

Target tracking accepts the metric forms Barista can measure, and says which when refused:

* ``PredefinedMetricSpecification`` ``ASGAverageCPUUtilization`` → CPU of the group;
* ``CustomizedMetricSpecification`` of ``AWS/EC2`` ``CPUUtilization`` for the same group;
* ``CustomizedMetricSpecification`` of ``AWS/SQS`` ``ApproximateNumberOfMessagesVisible`` with
  a ``QueueName`` dimension, either alone or in the metric math of AWS's "Scaling based on
  Amazon SQS" guide (``m1`` the queue, ``m2`` ``AWS/AutoScaling`` ``GroupInServiceInstances``
  of this group, ``e1 = m1 / m2``). Both mean *backlog per instance*: Barista's queue policy
  always divides by the in-service instances, so the single-metric form is read that way too,
  and DescribePolicies answers the metric math form, which says what is tracked.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import Field

from orchestrator.api._metrics import (
    IN_SERVICE,
    SQS,
    Dimension,
    metric_identity,
    metric_spec,
)
from orchestrator.api._predictive import (
    PredictiveScalingConfigurationRequest,
    describe_predictive,
    predictive_configuration,
)
from orchestrator.api._requests import Request
from orchestrator.arns import arn
from orchestrator.errors import ValidationError
from orchestrator.scaling.adjustment import AdjustmentType
from orchestrator.scaling.alarms import MetricAlarm, TrackingAlarm, tracking_alarm_name
from orchestrator.scaling.metrics import (
    PERIOD,
    TARGET_TRACKING_PERIODS,
    CpuUtilizationMetric,
    MetricSpec,
    QueueBacklogMetric,
)
from orchestrator.scaling.policy import (
    PolicyDefinition,
    PolicyType,
    ScalingPolicy,
    TargetTrackingPolicy,
)
from orchestrator.scaling.predictive import PredictiveScalingConfiguration
from orchestrator.scaling.simple import SimpleScalingPolicy
from orchestrator.scaling.step import StepAdjustment, StepScalingPolicy
from orchestrator.scaling.target_tracking import TargetTrackingConfiguration

Name = Field(min_length=1, max_length=255)

SUPPORTED_TARGET_METRICS = (
    "PredefinedMetricType ASGAverageCPUUtilization; or a CustomizedMetricSpecification of "
    "AWS/EC2 CPUUtilization (dimension AutoScalingGroupName), or of AWS/SQS "
    "ApproximateNumberOfMessagesVisible (dimension QueueName) either alone or as AWS's "
    "backlog-per-instance metric math (m1 = the queue metric, m2 = AWS/AutoScaling "
    "GroupInServiceInstances of this group, e1 = m1 / m2)"
)


class StepAdjustmentRequest(Request):
    metric_interval_lower_bound: float | None = None
    metric_interval_upper_bound: float | None = None
    scaling_adjustment: int


class MetricRequest(Request):
    namespace: str
    metric_name: str
    dimensions: list[Dimension] = Field(default_factory=list)


class MetricStatRequest(Request):
    metric: MetricRequest
    stat: str
    unit: str | None = None
    period: int | None = None


class MetricDataQuery(Request):
    id: str = Field(min_length=1, max_length=255)
    expression: str | None = None
    metric_stat: MetricStatRequest | None = None
    label: str | None = None
    return_data: bool | None = None
    period: int | None = None


class PredefinedMetricSpecification(Request):
    predefined_metric_type: str
    resource_label: str | None = None


class CustomizedMetricSpecification(Request):
    metric_name: str | None = None
    namespace: str | None = None
    dimensions: list[Dimension] = Field(default_factory=list)
    statistic: str | None = None
    unit: str | None = None
    period: int | None = None
    metrics: list[MetricDataQuery] | None = None


class TargetTrackingConfigurationRequest(Request):
    predefined_metric_specification: PredefinedMetricSpecification | None = None
    customized_metric_specification: CustomizedMetricSpecification | None = None
    target_value: float
    disable_scale_in: bool = False


class PutScalingPolicy(Request):
    auto_scaling_group_name: str = Name
    policy_name: str = Name
    policy_type: Literal[
        "SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling"
    ] = "SimpleScaling"
    adjustment_type: (
        Literal["ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"] | None
    ) = None
    min_adjustment_magnitude: int | None = None
    scaling_adjustment: int | None = None
    cooldown: int | None = Field(default=None, ge=0)
    metric_aggregation_type: Literal["Average", "Minimum", "Maximum"] | None = None
    step_adjustments: list[StepAdjustmentRequest] | None = None
    estimated_instance_warmup: int | None = Field(default=None, ge=0)
    target_tracking_configuration: TargetTrackingConfigurationRequest | None = None
    predictive_scaling_configuration: PredictiveScalingConfigurationRequest | None = None
    enabled: bool = True


# Which optional parameters each policy type takes; AWS refuses the others.
_ALLOWED = {
    "SimpleScaling": {
        "adjustment_type",
        "min_adjustment_magnitude",
        "scaling_adjustment",
        "cooldown",
    },
    "StepScaling": {
        "adjustment_type",
        "min_adjustment_magnitude",
        "metric_aggregation_type",
        "step_adjustments",
        "estimated_instance_warmup",
    },
    "TargetTrackingScaling": {"target_tracking_configuration", "estimated_instance_warmup"},
    "PredictiveScaling": {"predictive_scaling_configuration"},
}
_BASE = {"auto_scaling_group_name", "policy_name", "policy_type", "enabled"}


def _required(value: Any, member: str, policy_type: str) -> Any:
    if value is None:
        raise ValidationError(f"{member} is required for policy type {policy_type}.")
    return value


def _queue_math(group: str, queries: list[MetricDataQuery]) -> MetricSpec:
    """AWS's backlog-per-instance metric math, or a ValidationError that says what differs."""

    def refuse(why: str) -> ValidationError:
        return ValidationError(
            f"Unsupported metric math ({why}). Barista supports {SUPPORTED_TARGET_METRICS}."
        )

    queue: MetricDataQuery | None = None
    in_service: MetricDataQuery | None = None
    expressions = [q for q in queries if q.expression is not None]
    for query in queries:
        if query.metric_stat is None:
            continue
        metric = query.metric_stat.metric
        if (metric.namespace, metric.metric_name) == SQS[:2]:
            queue = query
        elif (metric.namespace, metric.metric_name) == IN_SERVICE[:2]:
            in_service = query
        else:
            raise refuse(f"metric {metric.namespace} {metric.metric_name}")
    if queue is None or in_service is None or len(expressions) != 1 or len(queries) != 3:
        raise refuse("expected three entries: the queue metric, GroupInServiceInstances and e1")
    assert queue.metric_stat is not None
    assert in_service.metric_stat is not None
    expression = expressions[0]
    wanted = f"{queue.id}/{in_service.id}"
    if "".join((expression.expression or "").split()) != wanted:
        raise refuse(f"expression {expression.expression!r} is not {queue.id} / {in_service.id}")
    returned = [q.id for q in queries if q.return_data is not False]
    if returned != [expression.id]:
        raise refuse(f"only {expression.id} may have ReturnData true")
    dimensions = in_service.metric_stat.metric.dimensions
    if [(d.name, d.value) for d in dimensions] != [(IN_SERVICE[2], group)]:
        raise refuse(
            f"GroupInServiceInstances must have the dimension AutoScalingGroupName={group}"
        )
    spec = metric_spec(*SQS[:2], queue.metric_stat.metric.dimensions)
    return spec


def metric_period(customized: CustomizedMetricSpecification) -> int:
    """The Period a customized metric is observed at: CustomizedMetricSpecification's, or the
    one its metric math queries agree on; 60 when none is given. A shorter one (10 or 30) is a
    high-resolution policy: sampled and alarmed at that period."""
    given = {customized.period} if customized.period is not None else set()
    for query in customized.metrics or []:
        given |= {p for p in (query.period, query.metric_stat and query.metric_stat.period) if p}
    if len(given) > 1:
        raise ValidationError(
            f"The metrics of a CustomizedMetricSpecification must share one Period (got "
            f"{', '.join(str(p) for p in sorted(given))})."
        )
    period = given.pop() if given else PERIOD
    if period not in TARGET_TRACKING_PERIODS:
        raise ValidationError(
            f"Period {period} is not supported: a target tracking metric's Period must be 10, "
            "30 or 60 seconds (a metric period greater than 60 isn't supported)."
        )
    return period


def target_metric(group: str, config: TargetTrackingConfigurationRequest) -> MetricSpec:
    """The series a TargetTrackingConfiguration tracks, if Barista can measure it, at the
    Period the policy observes it."""
    spec = _target_metric(group, config)
    customized = config.customized_metric_specification
    if customized is None:
        return spec
    return dataclasses.replace(spec, period=metric_period(customized))


def _target_metric(group: str, config: TargetTrackingConfigurationRequest) -> MetricSpec:
    predefined = config.predefined_metric_specification
    customized = config.customized_metric_specification
    if (predefined is None) == (customized is None):
        raise ValidationError(
            "TargetTrackingConfiguration needs exactly one of PredefinedMetricSpecification or "
            "CustomizedMetricSpecification."
        )
    if predefined is not None:
        if predefined.predefined_metric_type != "ASGAverageCPUUtilization":
            raise ValidationError(
                f"Unsupported PredefinedMetricType {predefined.predefined_metric_type}. "
                f"Barista supports {SUPPORTED_TARGET_METRICS}."
            )
        return CpuUtilizationMetric(group)
    assert customized is not None
    if customized.metrics:
        if customized.metric_name or customized.namespace or customized.dimensions:
            raise ValidationError(
                "CustomizedMetricSpecification takes either Metrics or MetricName/Namespace/"
                "Dimensions, not both."
            )
        return _queue_math(group, customized.metrics)
    if customized.metric_name is None or customized.namespace is None:
        raise ValidationError(
            "CustomizedMetricSpecification needs MetricName and Namespace, or Metrics. "
            f"Barista supports {SUPPORTED_TARGET_METRICS}."
        )
    try:
        spec = metric_spec(customized.namespace, customized.metric_name, customized.dimensions)
    except ValidationError as error:
        raise ValidationError(
            f"{error.message} Barista supports {SUPPORTED_TARGET_METRICS}."
        ) from None
    if isinstance(spec, CpuUtilizationMetric) and spec.auto_scaling_group_name != group:
        raise ValidationError(
            f"CPUUtilization must have the dimension AutoScalingGroupName={group}, the policy's "
            "own group."
        )
    return spec


def policy_from_request(request: PutScalingPolicy) -> ScalingPolicy:
    """Build the stored policy; the scaling modules enforce AWS's rules on the values."""
    kind = request.policy_type
    given = {name for name in request.model_fields_set if name not in _BASE}
    stray = sorted(given - _ALLOWED[kind])
    if stray:
        names = ", ".join(PutScalingPolicy.model_fields[n].alias or n for n in stray)
        raise ValidationError(f"{names} not supported for policy type {kind}.")
    definition: PolicyDefinition
    if kind == "TargetTrackingScaling":
        config = _required(
            request.target_tracking_configuration, "TargetTrackingConfiguration", kind
        )
        definition = TargetTrackingPolicy(
            target_metric(request.auto_scaling_group_name, config),
            TargetTrackingConfiguration(
                target_value=config.target_value,
                disable_scale_in=config.disable_scale_in,
                estimated_instance_warmup=request.estimated_instance_warmup,
            ),
        )
    elif kind == "PredictiveScaling":
        definition = predictive_configuration(
            request.auto_scaling_group_name,
            _required(
                request.predictive_scaling_configuration, "PredictiveScalingConfiguration", kind
            ),
        )
    elif kind == "StepScaling":
        steps = _required(request.step_adjustments, "StepAdjustments", kind)
        definition = StepScalingPolicy(
            policy_name=request.policy_name,
            adjustment_type=AdjustmentType(
                _required(request.adjustment_type, "AdjustmentType", kind)
            ),
            step_adjustments=tuple(
                StepAdjustment(
                    scaling_adjustment=s.scaling_adjustment,
                    metric_interval_lower_bound=s.metric_interval_lower_bound,
                    metric_interval_upper_bound=s.metric_interval_upper_bound,
                )
                for s in steps
            ),
            min_adjustment_magnitude=request.min_adjustment_magnitude,
            estimated_instance_warmup=request.estimated_instance_warmup,
            metric_aggregation_type=request.metric_aggregation_type or "Average",
        )
    else:
        definition = SimpleScalingPolicy(
            policy_name=request.policy_name,
            adjustment_type=AdjustmentType(
                _required(request.adjustment_type, "AdjustmentType", kind)
            ),
            scaling_adjustment=_required(request.scaling_adjustment, "ScalingAdjustment", kind),
            cooldown=request.cooldown,
            min_adjustment_magnitude=request.min_adjustment_magnitude,
        )
    return ScalingPolicy(
        auto_scaling_group_name=request.auto_scaling_group_name,
        policy_name=request.policy_name,
        definition=definition,
        enabled=request.enabled,
    )


def alarm_arn(alarm_name: str) -> str:
    return arn("cloudwatch", f"alarm:{alarm_name}")


def policy_alarms(policy: ScalingPolicy, alarms: list[MetricAlarm]) -> list[dict[str, str]]:
    """A target tracking policy's own two alarms; otherwise the alarms that invoke it."""
    if policy.policy_type is PolicyType.TARGET_TRACKING_SCALING:
        names = [
            tracking_alarm_name(policy.auto_scaling_group_name, policy.policy_name, which)
            for which in TrackingAlarm
        ]
    else:
        names = [a.alarm_name for a in alarms if any(policy.answers_to(x) for x in a.alarm_actions)]
    return [{"AlarmName": name, "AlarmARN": alarm_arn(name)} for name in names]


def tracked_metric(policy: ScalingPolicy) -> dict[str, Any]:
    """What a target tracking policy tracks, as its TargetTrackingConfiguration states it."""
    definition = policy.definition
    if not isinstance(definition, TargetTrackingPolicy):
        raise TypeError(f"{policy.policy_name} is no target tracking policy")
    return _tracked_metric(policy, definition.metric)


def _tracked_metric(policy: ScalingPolicy, metric: MetricSpec) -> dict[str, Any]:
    period = {"Period": metric.period} if metric.period != PERIOD else {}
    if (
        isinstance(metric, CpuUtilizationMetric)
        and metric.period == PERIOD
        and (metric.auto_scaling_group_name == policy.auto_scaling_group_name)
    ):
        return {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"}
        }
    if isinstance(metric, QueueBacklogMetric):
        queue = metric_identity(metric)
        group = {
            "Namespace": IN_SERVICE[0],
            "MetricName": IN_SERVICE[1],
            "Dimensions": [{"Name": IN_SERVICE[2], "Value": policy.auto_scaling_group_name}],
        }
        return {
            "CustomizedMetricSpecification": {
                "Metrics": [
                    {
                        "Id": "m1",
                        "Label": "Get the queue size (the number of messages waiting)",
                        "MetricStat": {"Metric": queue, "Stat": "Sum", **period},
                        "ReturnData": False,
                    },
                    {
                        "Id": "m2",
                        "Label": "Get the group size (the number of InService instances)",
                        "MetricStat": {"Metric": group, "Stat": "Average", **period},
                        "ReturnData": False,
                    },
                    {
                        "Id": "e1",
                        "Label": "Calculate the backlog per instance",
                        "Expression": "m1 / m2",
                        "ReturnData": True,
                    },
                ]
            }
        }
    identity = metric_identity(metric)
    return {"CustomizedMetricSpecification": {**identity, "Statistic": "Average", **period}}


def describe_policy(policy: ScalingPolicy, alarms: list[MetricAlarm]) -> dict[str, Any]:
    """One entry of DescribePolicies' ScalingPolicies, in AWS's shape."""
    definition = policy.definition
    described: dict[str, Any] = {
        "AutoScalingGroupName": policy.auto_scaling_group_name,
        "PolicyName": policy.policy_name,
        "PolicyARN": policy.policy_arn,
        "PolicyType": policy.policy_type.value,
        "Alarms": policy_alarms(policy, alarms),
        "Enabled": policy.enabled,
    }
    if isinstance(definition, PredictiveScalingConfiguration):
        described["PredictiveScalingConfiguration"] = describe_predictive(definition)
        return described
    if isinstance(definition, TargetTrackingPolicy):
        config = definition.configuration
        described["TargetTrackingConfiguration"] = {
            **_tracked_metric(policy, definition.metric),
            "TargetValue": config.target_value,
            "DisableScaleIn": config.disable_scale_in,
        }
        if config.estimated_instance_warmup is not None:
            described["EstimatedInstanceWarmup"] = config.estimated_instance_warmup
        return described
    described["AdjustmentType"] = definition.adjustment_type.value
    if definition.min_adjustment_magnitude is not None:
        described["MinAdjustmentMagnitude"] = definition.min_adjustment_magnitude
    if isinstance(definition, StepScalingPolicy):
        described["MetricAggregationType"] = definition.metric_aggregation_type
        described["StepAdjustments"] = [
            {
                key: value
                for key, value in (
                    ("MetricIntervalLowerBound", step.metric_interval_lower_bound),
                    ("MetricIntervalUpperBound", step.metric_interval_upper_bound),
                    ("ScalingAdjustment", step.scaling_adjustment),
                )
                if value is not None
            }
            for step in definition.step_adjustments
        ]
        if definition.estimated_instance_warmup is not None:
            described["EstimatedInstanceWarmup"] = definition.estimated_instance_warmup
    else:
        described["ScalingAdjustment"] = definition.scaling_adjustment
        if definition.cooldown is not None:
            described["Cooldown"] = definition.cooldown
    return described
