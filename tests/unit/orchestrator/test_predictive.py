"""Predictive scaling's forecast and what it does to a group, on a stated clock.

The clock: AWS time starts at 2026-11-28 00:00 UTC (``START``); history is one datapoint a
minute of the coffee shop's day (night 5 messages, 08:00 rush 150) with 10 % noise.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from orchestrator.errors import ValidationError
from orchestrator.scaling.forecast import (
    HORIZON_HOURS,
    REFRESH_INTERVAL,
    InsufficientHistory,
    due,
    make_forecast,
)
from orchestrator.scaling.history import DAY, coffee_shop_load, seeded_history
from orchestrator.scaling.predictive import (
    HOUR,
    Forecast,
    MaxCapacityBreachBehavior,
    PredictiveScalingConfiguration,
    PredictiveScalingMode,
    predictive_action,
    scheduled_hour,
)

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
TARGET = 10.0  # messages per barista


def config(**changes: object) -> PredictiveScalingConfiguration:
    values: dict = {
        "metric_specification": {"TargetValue": TARGET},
        "load_series": "AWS/SQS/ApproximateNumberOfMessagesVisible/QueueName=orders",
        "target_value": TARGET,
        "mode": PredictiveScalingMode.FORECAST_AND_SCALE,
    }
    values.update(changes)
    return PredictiveScalingConfiguration(**values)


def true_hourly(hour_start: float) -> float:
    """The pattern's mean over one hour, without noise: what a perfect forecast says."""
    return sum(coffee_shop_load(hour_start + m * 60, 5.0, 150.0) for m in range(60)) / 60


def test_three_days_of_a_daily_pattern_forecast_day_four_within_five_percent_of_the_peak():
    now = START + 3 * DAY
    forecast = make_forecast(seeded_history(START, now, seed=4), TARGET, now)
    assert forecast.timestamps[0] == now
    assert len(forecast.load) == len(forecast.capacity) == HORIZON_HOURS == 48
    truth = [true_hourly(t) for t in forecast.timestamps[:24]]
    errors = [abs(f - t) for f, t in zip(forecast.load[:24], truth, strict=True)]
    peak = max(truth)
    # The bound this test states: mean absolute error on day 4 under 5 % of the day's peak
    # hour, and no hour off by more than 10 % of it.
    assert sum(errors) / 24 < 0.05 * peak
    assert max(errors) < 0.10 * peak
    rush = forecast.timestamps.index(now + 8 * HOUR)
    needed = math.ceil(true_hourly(now + 8 * HOUR) / TARGET)
    assert forecast.capacity[rush] == pytest.approx(needed, abs=1)
    night = forecast.timestamps.index(now + 3 * HOUR)
    assert forecast.capacity[night] < forecast.capacity[rush] / 4


def test_one_day_of_history_is_enough_and_uses_at_most_fourteen_days():
    now = START + DAY
    assert len(make_forecast(seeded_history(START, now), TARGET, now).load) == 48
    old = seeded_history(START - 30 * DAY, START - 20 * DAY)  # all older than 14 days
    with pytest.raises(InsufficientHistory):
        make_forecast(old + seeded_history(START, START + 2 * HOUR), TARGET, START + 2 * HOUR)


def test_fewer_than_24_hours_of_history_refuses_to_forecast():
    now = START + 23 * HOUR
    with pytest.raises(InsufficientHistory, match="23 hour"):
        make_forecast(seeded_history(START, now), TARGET, now)
    with pytest.raises(InsufficientHistory, match="no metric history"):
        make_forecast([], TARGET, now)


def test_a_forecast_is_refreshed_every_six_hours_of_aws_time():
    assert due(None, START)
    assert not due(START, START + REFRESH_INTERVAL - 1)
    assert due(START, START + REFRESH_INTERVAL)
    assert REFRESH_INTERVAL == 6 * HOUR


def rush_forecast(capacity_at_eight: float) -> Forecast:
    """A forecast for day 4: 2 instances every hour except 8 at the 08:00 rush."""
    day4 = START + 3 * DAY
    stamps = tuple(day4 + h * HOUR for h in range(48))
    capacity = tuple(capacity_at_eight if h == 8 else 2.0 for h in range(48))
    return Forecast(day4, stamps, tuple(c * TARGET for c in capacity), capacity)


def act(cfg: PredictiveScalingConfiguration, now: float, **group: int):
    sizes = {"min_size": 1, "max_size": 10, "desired_capacity": 1} | group
    return predictive_action(cfg, rush_forecast(8.0), policy_name="rush", now=now, **sizes)


def test_forecast_only_never_changes_capacity():
    cfg = config(mode=PredictiveScalingMode.FORECAST_ONLY)
    for minute in range(0, 48 * 60, 5):
        assert act(cfg, START + 3 * DAY + minute * 60) is None


def test_forecast_and_scale_raises_capacity_before_the_rush_by_the_buffer():
    eight = START + 3 * DAY + 8 * HOUR
    cfg = config(scheduling_buffer_time=600)
    before = act(cfg, eight - 601)
    assert before is not None
    assert before.decision.desired_capacity == 2  # still the 07:00 hour's forecast
    at_buffer = act(cfg, eight - 600)
    assert at_buffer is not None
    assert at_buffer.hour_start == eight
    assert at_buffer.decision.desired_capacity == 8
    assert "predictive scaling policy rush" in at_buffer.decision.cause
    assert scheduled_hour(eight - 600, 600) == eight
    assert scheduled_hour(eight - 601, 600) == eight - HOUR


def test_the_forecast_is_a_floor_dynamic_policies_scale_above_and_it_never_scales_in():
    eight = START + 3 * DAY + 8 * HOUR
    above = act(config(), eight, desired_capacity=9)
    assert above is not None
    assert above.minimum == 8
    assert above.decision.desired_capacity is None  # 9 already covers the forecast
    after = act(config(), eight + HOUR, desired_capacity=8)
    assert after is not None
    assert after.decision.desired_capacity is None  # 09:00 forecasts 2: no scale-in


def test_honor_max_capacity_caps_the_forecast_at_max_size():
    action = act(config(), START + 3 * DAY + 8 * HOUR, max_size=5)
    assert action is not None
    assert (action.decision.desired_capacity, action.max_size) == (5, None)


def test_increase_max_capacity_lifts_max_by_the_buffer_percent_of_the_forecast():
    cfg = config(
        max_capacity_breach_behavior=MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY,
        max_capacity_buffer=25,
    )
    action = act(cfg, START + 3 * DAY + 8 * HOUR, max_size=5)
    assert action is not None
    assert action.max_size == 10  # forecast 8 + 25 % of it
    assert action.decision.desired_capacity == 8
    zero = config(
        max_capacity_breach_behavior=MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY,
        max_capacity_buffer=0,
    )
    lifted = act(zero, START + 3 * DAY + 8 * HOUR, max_size=5)
    assert lifted is not None
    assert lifted.max_size == 8  # buffer 0: up to the forecast, no further
    roomy = act(cfg, START + 3 * DAY + 8 * HOUR, max_size=20)
    assert roomy is not None
    assert roomy.max_size is None  # max already above forecast + buffer


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_value": 0}, "TargetValue must be positive"),
        ({"scheduling_buffer_time": 3600}, "SchedulingBufferTime"),
        (
            {"max_capacity_breach_behavior": MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY},
            "MaxCapacityBuffer is required",
        ),
        ({"max_capacity_buffer": 5}, "can only be set"),
    ],
)
def test_configuration_rules(changes: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        config(**changes)
