"""Predictive scaling on real barista containers, against target tracking alone.

Two runs of the same morning on Redis, each with a target tracking policy on backlog per
barista (target 10): one with it alone, one with a ForecastAndScale predictive policy beside
it, forecasting from three seeded days of the shop's day (quiet nights, the 08:00 rush). The
control plane runs at time_scale 120 (an AWS hour is 30 wall seconds) from 07:20 AWS time; at
08:00 a burst of orders lands. With the forecast, the baristas are InService before 08:00 and
backlog per barista stays under the target; with target tracking alone it breaches it, and
baristas are called in only after AlarmHigh. Both runs are measured here.

Marker ``predictive``: about two minutes of Docker, so the default run (and CI) deselects it;
``make test-predictive`` runs it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker_adapters import connect
from orchestrator.asg.store import Store
from orchestrator.clock import ScaledClock
from orchestrator.instances import Health
from orchestrator.monitoring import RETENTION
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.scaling import TargetTrackingConfiguration
from orchestrator.scaling.history import DAY, seeded_history
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.scaling.predictive import (
    PredictiveScalingConfiguration,
    PredictiveScalingMode,
)
from orchestrator.server import ControlLoop
from orchestrator.time_scale import TimeScale
from services.ledger import OrderState
from tests.support.barista_group import put_barista_group
from tests.support.containers import SESSION_ID, SESSION_LABEL
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, open_shop, place_orders, service_environment

pytestmark = [pytest.mark.docker, pytest.mark.predictive]

TIME_SCALE = 120.0
TARGET = 10.0  # messages per barista
MAX_SIZE = 4
BURST = 36  # orders at 08:00: 36 on one barista breaches 10, 9 on four does not
START_AFTER_MIDNIGHT = 7 * 3600 + 20 * 60  # the runs start at 07:20 AWS time
RUSH = 8 * 3600


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with open_shop("redis") as opened:
        yield opened


def clock_at(aws_start: float) -> ScaledClock:
    """A clock that reads ``aws_start`` now and runs TIME_SCALE times faster:
    aws = origin + (wall - origin) x scale, solved for the origin."""
    wall = time.time()
    origin = (aws_start - wall * TIME_SCALE) / (1 - TIME_SCALE)
    return ScaledClock(origin, TimeScale(TIME_SCALE))


def morning(shop: Shop, tmp_path: Path, *, predictive: bool) -> tuple[float, int, list[str]]:
    """One run: (highest backlog per barista from 08:00 on, baristas InService at 08:00, the
    activity causes)."""
    counter = Counter.fresh()
    group = f"morning-{'forecast' if predictive else 'tracking'}-{counter.queue[-8:]}"
    day = time.time() - time.time() % DAY
    start = day + START_AFTER_MIDNIGHT
    clock = clock_at(start)
    runtime = DockerRuntime(labels={SESSION_LABEL: SESSION_ID}, clock=clock)
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.2",
        "BARISTA_STOP_GRACE": "5",
    }
    metric = QueueBacklogMetric(counter.queue)
    tracking = ScalingPolicy(
        group,
        "backlog-per-barista",
        TargetTrackingPolicy(
            metric, TargetTrackingConfiguration(target_value=TARGET, estimated_instance_warmup=60)
        ),
    )
    stopping = threading.Event()
    with (
        Store(tmp_path / f"{group}.db") as store,
        connect(shop.broker.url) as broker,
    ):
        put_barista_group(
            store,
            shop,
            group,
            environment,
            min_size=1,
            max_size=MAX_SIZE,
            availability_zones=("az-a",),
            stop_timeout=5,
        )
        store.put_policy(tracking)
        if predictive:
            store.record_datapoints(
                metric.key,
                seeded_history(start - 3 * DAY, start, night=5.0, peak=150.0),
                keep=RETENTION,
                now=start,
            )
            store.put_policy(
                ScalingPolicy(
                    group,
                    "morning-rush",
                    PredictiveScalingConfiguration(
                        metric_specification={"TargetValue": TARGET},
                        load_series=metric.key,
                        target_value=TARGET,
                        sampled=metric,
                        mode=PredictiveScalingMode.FORECAST_AND_SCALE,
                        scheduling_buffer_time=1800,
                    ),
                )
            )
        loop = ControlLoop(store.path, runtime, lambda queue: broker.backlog(queue).total)
        worker = threading.Thread(target=loop.run, args=(stopping, 0.25), daemon=True)
        worker.start()
        try:
            rush_wall = clock.origin + (day + RUSH - clock.origin) / TIME_SCALE
            assert wait_for(lambda: time.time() >= rush_wall, 60, interval=0.05)
            in_service = sum(1 for i in runtime.instances(group) if i.health is Health.HEALTHY)
            orders = place_orders(shop, counter, BURST)
            burst_at = clock()
            ledger = counter.ledger(shop)
            assert wait_for(
                lambda: all(ledger.state(o.order_id) is OrderState.BREWED for o in orders), 120
            ), ledger.summary()
            # Two more periods, so the last datapoints of the drained queue are recorded.
            assert wait_for(lambda: clock() >= burst_at + 120, 10, interval=0.05)
        finally:
            stopping.set()
            worker.join(timeout=60)
            for instance in runtime.instances(group):
                runtime.terminate(instance.instance_id, stop_timeout=1)
        values = [v for t, v in store.datapoints(tracking.tracked_series, 30) if t >= burst_at]
        causes = [a.cause for a in store.activities(group, max_records=100)]
    assert values, "the tracked backlog per barista was recorded after the burst"
    return max(values), in_service, causes


def test_forecast_and_scale_has_baristas_in_service_before_the_rush_and_stays_under_target(
    shop: Shop, tmp_path: Path
):
    tracked_peak, tracked_in_service, tracked_causes = morning(shop, tmp_path, predictive=False)
    forecast_peak, forecast_in_service, forecast_causes = morning(shop, tmp_path, predictive=True)
    print(  # the measured comparison, for `make test-predictive PYTEST_ARGS=-s`
        f"backlog per barista from 08:00, highest: target tracking alone {tracked_peak:g} "
        f"({tracked_in_service} InService at 08:00), with the forecast {forecast_peak:g} "
        f"({forecast_in_service} InService at 08:00); target {TARGET:g}"
    )
    assert tracked_in_service == 1
    assert tracked_peak > TARGET, "target tracking alone breaches the target at the rush"
    assert any("AlarmHigh" in c for c in tracked_causes)
    assert forecast_in_service == MAX_SIZE, "the forecast had the baristas in before 08:00"
    assert any(
        "the forecast of predictive scaling policy morning-rush" in c for c in forecast_causes
    )
    assert forecast_peak < TARGET, (
        f"with the forecast, backlog per barista peaked at {forecast_peak} (target {TARGET})"
    )
