"""PutScalingPolicy's PredictiveScalingConfiguration: its request shape, its reading, and back.

What Barista forecasts is the *load* metric of the one metric specification AWS allows:

* the predefined pair ``ASGCPUUtilization`` (or the load metric ``ASGTotalCPUUtilization``):
  the sum of the group's instances' CPU, which the sampler records beside their average;
* the predefined pair ``ALBRequestCount`` (or ``ALBTargetGroupRequestCount``), whose
  ResourceLabel names the target group: its history comes from PutMetricData
  (``AWS/ApplicationELB`` ``RequestCount`` with dimension ``TargetGroup``), as Barista does not
  sample an Auto Scaling group's request count itself;
* a ``CustomizedLoadMetricSpecification`` whose one query that returns data is a MetricStat:
  any CloudWatch metric; ``AWS/SQS ApproximateNumberOfMessagesVisible`` of a queue (the coffee
  shop's orders backlog) and ``AWS/EC2 CPUUtilization`` of a group are also sampled live, any
  other metric is what PutMetricData put.

The scaling metric only says what TargetValue is a target *of*: the capacity forecast is the
load forecast divided by TargetValue, so it is kept and described, not evaluated. The network
metrics are refused by name: Barista does not measure them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchestrator.api._metrics import Dimension, metric_spec
from orchestrator.api._requests import Request, iso
from orchestrator.errors import ValidationError
from orchestrator.scaling.metrics import (
    CpuUtilizationMetric,
    MetricSpec,
    series_key,
    total_cpu_series,
)
from orchestrator.scaling.policy import ScalingPolicy
from orchestrator.scaling.predictive import (
    DEFAULT_SCHEDULING_BUFFER_TIME,
    Forecast,
    MaxCapacityBreachBehavior,
    PredictiveScalingConfiguration,
    PredictiveScalingMode,
)

ALB_REQUEST_COUNT = ("AWS/ApplicationELB", "RequestCount", "TargetGroup")
SUPPORTED_LOAD = (
    "PredefinedMetricPairSpecification ASGCPUUtilization or ALBRequestCount, "
    "PredefinedLoadMetricSpecification ASGTotalCPUUtilization or ALBTargetGroupRequestCount, "
    "or a CustomizedLoadMetricSpecification whose query that returns data is a MetricStat"
)
_PAIRS = {"ASGCPUUtilization", "ALBRequestCount", "ASGNetworkIn", "ASGNetworkOut"}
_LOADS = {
    "ASGTotalCPUUtilization",
    "ALBTargetGroupRequestCount",
    "ASGTotalNetworkIn",
    "ASGTotalNetworkOut",
}
_SCALING = {
    "ASGAverageCPUUtilization",
    "ALBRequestCountPerTarget",
    "ASGAverageNetworkIn",
    "ASGAverageNetworkOut",
}


class PredictiveMetric(Request):
    namespace: str
    metric_name: str
    dimensions: list[Dimension] = Field(default_factory=list)


class PredictiveMetricStat(Request):
    metric: PredictiveMetric
    stat: str = Field(min_length=1, max_length=100)
    unit: str | None = None


class PredictiveMetricDataQuery(Request):
    id: str = Field(min_length=1, max_length=255)
    expression: str | None = Field(default=None, min_length=1, max_length=1023)
    metric_stat: PredictiveMetricStat | None = None
    label: str | None = Field(default=None, max_length=2047)
    return_data: bool | None = None


class PredefinedMetric(Request):
    predefined_metric_type: str
    resource_label: str | None = Field(default=None, min_length=1, max_length=1023)


class CustomizedMetric(Request):
    metric_data_queries: list[PredictiveMetricDataQuery] = Field(min_length=1)


class MetricSpecificationRequest(Request):
    target_value: float
    predefined_metric_pair_specification: PredefinedMetric | None = None
    predefined_scaling_metric_specification: PredefinedMetric | None = None
    predefined_load_metric_specification: PredefinedMetric | None = None
    customized_scaling_metric_specification: CustomizedMetric | None = None
    customized_load_metric_specification: CustomizedMetric | None = None
    customized_capacity_metric_specification: CustomizedMetric | None = None


class PredictiveScalingConfigurationRequest(Request):
    metric_specifications: list[MetricSpecificationRequest]
    mode: Literal["ForecastAndScale", "ForecastOnly"] | None = None
    scheduling_buffer_time: int | None = Field(default=None, ge=0)
    max_capacity_breach_behavior: Literal["HonorMaxCapacity", "IncreaseMaxCapacity"] | None = None
    max_capacity_buffer: int | None = Field(default=None, ge=0, le=100)


Load = tuple[str, MetricSpec | None, str]  # series, what the sampler records, statistic


def _predefined_load(group: str, kind: str, label: str | None, member: str) -> Load:
    if kind in ("ASGCPUUtilization", "ASGTotalCPUUtilization"):
        metric = CpuUtilizationMetric(group)
        return total_cpu_series(metric), metric, "Average"
    if kind in ("ALBRequestCount", "ALBTargetGroupRequestCount"):
        if label is None:
            raise ValidationError(
                f"{member}: ResourceLabel is required for {kind}: it names the target group "
                "(app/<load-balancer-name>/<id>/targetgroup/<target-group-name>/<id>)."
            )
        target_group = label.split("/targetgroup/")[-1]
        namespace, name, dimension = ALB_REQUEST_COUNT
        series = series_key(namespace, name, [(dimension, f"targetgroup/{target_group}")])
        return series, None, "Sum"
    raise ValidationError(
        f"{member}: PredefinedMetricType {kind} is not supported: Barista does not measure "
        f"network traffic. Barista supports {SUPPORTED_LOAD}."
    )


def _customized_load(queries: list[PredictiveMetricDataQuery]) -> Load:
    returned = [q for q in queries if q.return_data is not False]
    if len(returned) != 1:
        raise ValidationError(
            "CustomizedLoadMetricSpecification: exactly one MetricDataQuery must return data "
            f"(ReturnData true); {len(returned)} do."
        )
    (query,) = returned
    if query.metric_stat is None:
        raise ValidationError(
            f"CustomizedLoadMetricSpecification: query {query.id} returns an expression; "
            f"Barista forecasts a single metric. Barista supports {SUPPORTED_LOAD}."
        )
    metric = query.metric_stat.metric
    dimensions = [(d.name, d.value) for d in metric.dimensions]
    series = series_key(metric.namespace, metric.metric_name, dimensions)
    try:
        sampled: MetricSpec | None = metric_spec(
            metric.namespace, metric.metric_name, metric.dimensions
        )
    except ValidationError:
        sampled = None  # a metric only PutMetricData fills
    return series, sampled, query.metric_stat.stat


def _load(group: str, spec: MetricSpecificationRequest) -> Load:
    pair = spec.predefined_metric_pair_specification
    loads = [spec.predefined_load_metric_specification, spec.customized_load_metric_specification]
    scalings = [
        spec.predefined_scaling_metric_specification,
        spec.customized_scaling_metric_specification,
    ]
    given_load = [m for m in loads if m is not None]
    given_scaling = [m for m in scalings if m is not None]
    if pair is not None:
        if given_load or given_scaling:
            raise ValidationError(
                "PredefinedMetricPairSpecification cannot be combined with a load or scaling "
                "metric specification."
            )
        if pair.predefined_metric_type not in _PAIRS:
            raise ValidationError(
                f"PredefinedMetricPairSpecification: PredefinedMetricType "
                f"{pair.predefined_metric_type} is not one of {', '.join(sorted(_PAIRS))}."
            )
        return _predefined_load(
            group,
            pair.predefined_metric_type,
            pair.resource_label,
            "PredefinedMetricPairSpecification",
        )
    if len(given_load) != 1 or len(given_scaling) != 1:
        raise ValidationError(
            "A MetricSpecification needs either a PredefinedMetricPairSpecification, or one "
            "load metric (PredefinedLoadMetricSpecification or "
            "CustomizedLoadMetricSpecification) and one scaling metric "
            "(PredefinedScalingMetricSpecification or CustomizedScalingMetricSpecification)."
        )
    scaling = spec.predefined_scaling_metric_specification
    if scaling is not None and scaling.predefined_metric_type not in _SCALING:
        raise ValidationError(
            f"PredefinedScalingMetricSpecification: PredefinedMetricType "
            f"{scaling.predefined_metric_type} is not one of {', '.join(sorted(_SCALING))}."
        )
    predefined = spec.predefined_load_metric_specification
    if predefined is not None:
        if predefined.predefined_metric_type not in _LOADS:
            raise ValidationError(
                f"PredefinedLoadMetricSpecification: PredefinedMetricType "
                f"{predefined.predefined_metric_type} is not one of "
                f"{', '.join(sorted(_LOADS))}."
            )
        return _predefined_load(
            group,
            predefined.predefined_metric_type,
            predefined.resource_label,
            "PredefinedLoadMetricSpecification",
        )
    customized = spec.customized_load_metric_specification
    assert customized is not None
    return _customized_load(customized.metric_data_queries)


def predictive_configuration(
    group: str, request: PredictiveScalingConfigurationRequest
) -> PredictiveScalingConfiguration:
    """The stored configuration; the scaling package enforces the value rules."""
    if len(request.metric_specifications) != 1:
        raise ValidationError(
            "MetricSpecifications must contain exactly one metric specification "
            f"(got {len(request.metric_specifications)})."
        )
    (spec,) = request.metric_specifications
    series, sampled, statistic = _load(group, spec)
    return PredictiveScalingConfiguration(
        metric_specification=spec.model_dump(by_alias=True, exclude_none=True),
        load_series=series,
        target_value=spec.target_value,
        sampled=sampled,
        mode=PredictiveScalingMode(request.mode or "ForecastOnly"),
        scheduling_buffer_time=(
            request.scheduling_buffer_time
            if request.scheduling_buffer_time is not None
            else DEFAULT_SCHEDULING_BUFFER_TIME
        ),
        max_capacity_breach_behavior=MaxCapacityBreachBehavior(
            request.max_capacity_breach_behavior or "HonorMaxCapacity"
        ),
        max_capacity_buffer=request.max_capacity_buffer,
        load_statistic=statistic,
    )


def describe_predictive(config: PredictiveScalingConfiguration) -> dict[str, Any]:
    """PredictiveScalingConfiguration as DescribePolicies answers it."""
    described: dict[str, Any] = {
        "MetricSpecifications": [dict(config.metric_specification)],
        "Mode": config.mode.value,
        "SchedulingBufferTime": config.scheduling_buffer_time,
        "MaxCapacityBreachBehavior": config.max_capacity_breach_behavior.value,
    }
    if config.max_capacity_buffer is not None:
        described["MaxCapacityBuffer"] = config.max_capacity_buffer
    return described


def describe_forecast(
    policy: ScalingPolicy,
    forecast: Forecast | None,
    attempted: float | None,
    start: float,
    end: float,
    now: float,
) -> dict[str, Any]:
    """GetPredictiveScalingForecast's answer: the hours of the last forecast within
    [start, end). With no forecast yet (under 24 hours of history) both forecasts are empty,
    and UpdateTime is when the policy last tried (or now)."""
    config = policy.definition
    assert isinstance(config, PredictiveScalingConfiguration)
    if forecast is None:
        when = attempted if attempted is not None else now
        return {
            "LoadForecast": [],
            "CapacityForecast": {"Timestamps": [], "Values": []},
            "UpdateTime": iso(when),
        }
    hours = [i for i, stamp in enumerate(forecast.timestamps) if start <= stamp < end]
    stamps = [iso(forecast.timestamps[i]) for i in hours]
    return {
        "LoadForecast": [
            {
                "Timestamps": stamps,
                "Values": [forecast.load[i] for i in hours],
                "MetricSpecification": dict(config.metric_specification),
            }
        ],
        "CapacityForecast": {
            "Timestamps": stamps,
            "Values": [forecast.capacity[i] for i in hours],
        },
        "UpdateTime": iso(forecast.update_time),
    }
