"""Predictive scaling: a policy that sets capacity ahead of the load its forecast expects.

AWS facts this follows (EC2 Auto Scaling user guide, "Predictive scaling", and the
PredictiveScalingConfiguration API reference):

* a policy names one metric specification: a target value and either a predefined metric pair
  or a load metric plus a scaling metric; the *load* metric is what is forecast, and the
  capacity forecast is the load forecast divided by the target of the scaling metric;
* Mode ForecastOnly (the default) only forecasts; ForecastAndScale also acts on it;
* in ForecastAndScale the forecast capacity of each hour becomes the group's minimum capacity
  from the start of that hour, advanced by SchedulingBufferTime (default 300 s, under
  3600) so instances are in service when the hour starts; dynamic scaling policies may still
  scale above it, and predictive scaling never scales *in* on a forecast;
* MaxCapacityBreachBehavior HonorMaxCapacity (default) caps the forecast capacity at MaxSize;
  IncreaseMaxCapacity lets capacity go above it, up to the forecast capacity plus
  MaxCapacityBuffer percent of it (buffer 10 and forecast 50 give an effective maximum of 55),
  and the raised maximum stays the group's maximum until someone changes it.

Our reading where AWS says no more: "approaches or exceeds" MaxSize means the forecast plus its
buffer is above MaxSize, and that is when IncreaseMaxCapacity lifts it.

The forecast itself is ``orchestrator.scaling.forecast``; this module holds the policy's
configuration and the pure decision of what one hour's forecast does to a group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.errors import ValidationError
from orchestrator.scaling.activity import timestamp
from orchestrator.scaling.decision import ScalingDecision, ceil_capacity
from orchestrator.scaling.metrics import MetricSpec, metric_from_document, metric_to_document

HOUR = 3600  # the forecast's interval: one value per hour
DEFAULT_SCHEDULING_BUFFER_TIME = 300


class PredictiveScalingMode(StrEnum):
    FORECAST_ONLY = "ForecastOnly"
    FORECAST_AND_SCALE = "ForecastAndScale"


class MaxCapacityBreachBehavior(StrEnum):
    HONOR_MAX_CAPACITY = "HonorMaxCapacity"
    INCREASE_MAX_CAPACITY = "IncreaseMaxCapacity"


@dataclass(frozen=True)
class PredictiveScalingConfiguration:
    """A predictive policy as PutScalingPolicy gives it.

    ``metric_specification`` is AWS's PredictiveScalingMetricSpecification as the caller wrote
    it (a nested structure of metric queries), kept so DescribePolicies and
    GetPredictiveScalingForecast answer it unchanged; what Barista evaluates of it is
    ``load_series`` (the datapoint series whose history is forecast), ``target_value`` (what one
    instance should carry) and ``sampled`` (the live metric the sampler must record for that
    series, ``None`` where only PutMetricData fills it).
    """

    metric_specification: Mapping[str, Any]
    load_series: str
    target_value: float
    sampled: MetricSpec | None = None
    mode: PredictiveScalingMode = PredictiveScalingMode.FORECAST_ONLY
    scheduling_buffer_time: int = DEFAULT_SCHEDULING_BUFFER_TIME
    max_capacity_breach_behavior: MaxCapacityBreachBehavior = (
        MaxCapacityBreachBehavior.HONOR_MAX_CAPACITY
    )
    max_capacity_buffer: int | None = None
    load_statistic: str = field(default="Average")

    def __post_init__(self) -> None:
        if not self.target_value > 0:
            raise ValidationError(f"TargetValue must be positive, got {self.target_value}.")
        if not 0 <= self.scheduling_buffer_time < HOUR:
            raise ValidationError(
                "SchedulingBufferTime must be less than the forecast interval of 3600 seconds "
                f"(got {self.scheduling_buffer_time})."
            )
        increase = self.max_capacity_breach_behavior is (
            MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY
        )
        if increase and self.max_capacity_buffer is None:
            raise ValidationError(
                "MaxCapacityBuffer is required when MaxCapacityBreachBehavior is "
                "IncreaseMaxCapacity."
            )
        if not increase and self.max_capacity_buffer is not None:
            raise ValidationError(
                "MaxCapacityBuffer can only be set when MaxCapacityBreachBehavior is "
                "IncreaseMaxCapacity."
            )
        if self.max_capacity_buffer is not None and not 0 <= self.max_capacity_buffer <= 100:
            raise ValidationError("MaxCapacityBuffer must be between 0 and 100.")


def configuration_to_document(config: PredictiveScalingConfiguration) -> dict[str, Any]:
    return {
        "metric_specification": dict(config.metric_specification),
        "load_series": config.load_series,
        "target_value": config.target_value,
        "sampled": metric_to_document(config.sampled) if config.sampled is not None else None,
        "mode": config.mode.value,
        "scheduling_buffer_time": config.scheduling_buffer_time,
        "max_capacity_breach_behavior": config.max_capacity_breach_behavior.value,
        "max_capacity_buffer": config.max_capacity_buffer,
        "load_statistic": config.load_statistic,
    }


def configuration_from_document(document: Mapping[str, Any]) -> PredictiveScalingConfiguration:
    sampled = document.get("sampled")
    return PredictiveScalingConfiguration(
        metric_specification=document["metric_specification"],
        load_series=document["load_series"],
        target_value=document["target_value"],
        sampled=metric_from_document(sampled) if sampled is not None else None,
        mode=PredictiveScalingMode(document["mode"]),
        scheduling_buffer_time=document["scheduling_buffer_time"],
        max_capacity_breach_behavior=MaxCapacityBreachBehavior(
            document["max_capacity_breach_behavior"]
        ),
        max_capacity_buffer=document["max_capacity_buffer"],
        load_statistic=document.get("load_statistic", "Average"),
    )


@dataclass(frozen=True)
class Forecast:
    """One forecast run: hourly timestamps (epoch seconds, on the hour) and their values.

    ``load`` is in the load metric's unit; ``capacity`` is instances, load ÷ target rounded up
    (the minimum capacity each hour needs). ``update_time`` is when the forecast was made.
    """

    update_time: float
    timestamps: tuple[float, ...]
    load: tuple[float, ...]
    capacity: tuple[float, ...]

    def capacity_at(self, hour_start: float) -> float | None:
        """The capacity forecast for the hour starting at ``hour_start``, if forecast."""
        for when, value in zip(self.timestamps, self.capacity, strict=True):
            if when == hour_start:
                return value
        return None


def capacity_forecast(load: Sequence[float], target_value: float) -> tuple[float, ...]:
    """Instances needed each hour: load ÷ target, rounded up, never negative."""
    return tuple(float(max(0, ceil_capacity(value / target_value))) for value in load)


def forecast_to_document(forecast: Forecast) -> dict[str, Any]:
    return {
        "update_time": forecast.update_time,
        "timestamps": list(forecast.timestamps),
        "load": list(forecast.load),
        "capacity": list(forecast.capacity),
    }


def forecast_from_document(document: Mapping[str, Any]) -> Forecast:
    return Forecast(
        update_time=document["update_time"],
        timestamps=tuple(document["timestamps"]),
        load=tuple(document["load"]),
        capacity=tuple(document["capacity"]),
    )


def scheduled_hour(now: float, scheduling_buffer_time: int) -> float:
    """The hour whose forecast applies at ``now``: each hour's capacity is scheduled
    SchedulingBufferTime seconds before the hour starts."""
    return math.floor((now + scheduling_buffer_time) / HOUR) * HOUR


@dataclass(frozen=True)
class PredictiveAction:
    """What one pass of a ForecastAndScale policy asks of a group.

    ``minimum`` is the floor the forecast sets (dynamic policies may ask for more; nothing may
    scale in below it while the hour lasts); ``max_size`` is the group's new MaxSize when
    IncreaseMaxCapacity lifts it, else ``None``. ``decision`` is the desired capacity change
    (``None`` when the group already has the forecast capacity) and its cause.
    """

    hour_start: float
    forecast_capacity: float
    minimum: int
    max_size: int | None
    decision: ScalingDecision


def predictive_action(
    config: PredictiveScalingConfiguration,
    forecast: Forecast,
    *,
    min_size: int,
    max_size: int,
    desired_capacity: int,
    policy_name: str,
    now: float,
) -> PredictiveAction | None:
    """What the forecast does to the group at ``now``; ``None`` when it does nothing.

    ForecastOnly never acts; an hour the forecast does not cover does nothing either.
    """
    if config.mode is not PredictiveScalingMode.FORECAST_AND_SCALE:
        return None
    hour = scheduled_hour(now, config.scheduling_buffer_time)
    wanted = forecast.capacity_at(hour)
    if wanted is None:
        return None
    needed = ceil_capacity(wanted)
    new_max: int | None = None
    ceiling = max_size
    if config.max_capacity_breach_behavior is MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY:
        buffer = config.max_capacity_buffer or 0
        lifted = ceil_capacity(wanted * (1 + buffer / 100))
        if lifted > max_size:
            new_max = lifted
            ceiling = lifted
    minimum = max(min_size, min(needed, ceiling))
    if minimum <= desired_capacity:
        decision = ScalingDecision(
            None,
            f"forecast capacity {wanted:g} for the hour starting {timestamp(hour)} is covered "
            f"by desired capacity {desired_capacity}.",
        )
    else:
        decision = ScalingDecision(
            minimum,
            f"At {timestamp(now)} the forecast of predictive scaling policy {policy_name} for "
            f"the hour starting {timestamp(hour)} (capacity {wanted:g}) changed the desired "
            f"capacity from {desired_capacity} to {minimum}.",
        )
    return PredictiveAction(hour, wanted, minimum, new_max, decision)
