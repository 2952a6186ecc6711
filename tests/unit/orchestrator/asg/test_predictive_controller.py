"""Predictive scaling in the control loop, against the fake runtime on a stated clock.

The clock: AWS time 2026-12-01 05:00:30 UTC at the start, after three days of the orders
queue's seeded history (one datapoint a minute from 2026-11-28 00:00, the coffee shop's day:
5 messages at night, 150 at the 08:00 rush). Each tick is one AWS minute.
"""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.scaling_controller import ScalingController
from orchestrator.asg.store import Store
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.monitoring import RETENTION, MetricsSampler
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling.history import DAY, seeded_history
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy
from orchestrator.scaling.predictive import (
    HOUR,
    MaxCapacityBreachBehavior,
    PredictiveScalingConfiguration,
    PredictiveScalingMode,
)
from tests.unit.orchestrator.asg.test_scaling_controller import desired, tick

HISTORY_START = float(calendar.timegm((2026, 11, 28, 0, 0, 0)))
START = HISTORY_START + 3 * DAY + 5 * HOUR + 30
SIX = HISTORY_START + 3 * DAY + 6 * HOUR
GROUP = "baristas"
ORDERS = QueueBacklogMetric("orders")


@pytest.fixture
def world(tmp_path: Path):
    runtime = FakeRuntime(start=START)
    with Store(tmp_path / "barista.db") as store:
        store.put_launch_template(
            create_launch_template(GROUP, LaunchTemplateData(image="barista/service:latest"))
        )
        store.put_group(
            create_auto_scaling_group(
                GROUP, GROUP, min_size=1, max_size=10, availability_zones=("az-a", "az-b")
            )
        )
        store.record_datapoints(
            ORDERS.key, seeded_history(HISTORY_START, START - 30), keep=RETENTION, now=START
        )
        sampler = MetricsSampler(store, runtime, lambda queue: 0)
        yield store, runtime, ScalingController(store, runtime, sampler)
        sampler.close()


def policy(mode: PredictiveScalingMode, **changes: object) -> ScalingPolicy:
    return ScalingPolicy(
        GROUP,
        "rush",
        PredictiveScalingConfiguration(
            metric_specification={"TargetValue": 10.0},
            load_series=ORDERS.key,
            target_value=10.0,
            sampled=ORDERS,
            mode=mode,
            **changes,  # type: ignore[arg-type]
        ),
    )


def test_forecast_only_forecasts_and_never_changes_capacity(world):
    store, runtime, controller = world
    store.put_policy(policy(PredictiveScalingMode.FORECAST_ONLY))
    tick(store, runtime, controller, periods=90)  # 05:00:30 to 06:30:30
    _, forecast = store.forecast(GROUP, "rush")
    assert forecast is not None
    assert forecast.update_time == START
    assert forecast.capacity_at(SIX) > 1
    assert desired(store) == 1
    assert not [a for a in store.activities(GROUP) if "predictive" in a.cause]


def test_forecast_and_scale_raises_capacity_before_the_hour_by_the_buffer(world):
    store, runtime, controller = world
    store.put_policy(policy(PredictiveScalingMode.FORECAST_AND_SCALE))
    tick(store, runtime, controller)
    _, forecast = store.forecast(GROUP, "rush")
    assert forecast is not None
    five, six = forecast.capacity_at(SIX - HOUR), forecast.capacity_at(SIX)
    assert five is not None
    assert six is not None
    assert 1 < five < six
    assert desired(store) == five
    tick(store, runtime, controller, periods=54)  # last pass at 05:54:30
    assert desired(store) == five
    tick(store, runtime, controller)  # 05:55:30: SchedulingBufferTime 300 s before 06:00
    assert desired(store) == six
    caused = [a for a in store.activities(GROUP) if "predictive scaling policy rush" in a.cause]
    assert any("for the hour starting 2026-12-01T06:00:00Z" in a.cause for a in caused)
    attempted, _ = store.forecast(GROUP, "rush")
    assert attempted == START  # not remade within 6 hours


def test_the_forecast_survives_a_restart_and_is_remade_after_six_hours(world, tmp_path):
    store, runtime, controller = world
    store.put_policy(policy(PredictiveScalingMode.FORECAST_ONLY))
    tick(store, runtime, controller)
    with Store(tmp_path / "barista.db") as reopened:
        _, kept = reopened.forecast(GROUP, "rush")
    assert kept is not None
    assert kept.update_time == START
    runtime.advance(6 * HOUR)
    tick(store, runtime, controller)
    _, remade = store.forecast(GROUP, "rush")
    assert remade is not None
    assert remade.update_time > START + 6 * HOUR


def test_increase_max_capacity_lifts_the_groups_max_size(world):
    store, runtime, controller = world
    store.put_group(
        create_auto_scaling_group(
            GROUP, GROUP, min_size=1, max_size=2, availability_zones=("az-a", "az-b")
        )
    )
    store.put_policy(
        policy(
            PredictiveScalingMode.FORECAST_AND_SCALE,
            max_capacity_breach_behavior=MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY,
            max_capacity_buffer=50,
        )
    )
    tick(store, runtime, controller)
    _, forecast = store.forecast(GROUP, "rush")
    assert forecast is not None
    five = forecast.capacity_at(SIX - HOUR)
    assert five is not None
    assert five > 2
    group = store.groups()[GROUP]
    assert group.max_size == -(-five * 3 // 2)  # forecast + 50 % of it, rounded up
    assert group.desired_capacity == five


def test_under_a_day_of_history_there_is_no_forecast_and_no_change(world):
    store, runtime, controller = world
    store.put_policy(
        ScalingPolicy(
            GROUP,
            "rush",
            PredictiveScalingConfiguration(
                metric_specification={"TargetValue": 10.0},
                load_series="Barista/Nothing",
                target_value=10.0,
                mode=PredictiveScalingMode.FORECAST_AND_SCALE,
            ),
        )
    )
    tick(store, runtime, controller, periods=3)
    attempted, forecast = store.forecast(GROUP, "rush")
    assert forecast is None
    assert attempted == START + 120
    assert desired(store) == 1
