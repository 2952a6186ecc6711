"""The datapoint table keeps the last day at full resolution and older history as hourly
means, so 14 days of a metric stay small and still forecast the same."""

from __future__ import annotations

from pathlib import Path

from orchestrator.asg.store import Store
from orchestrator.monitoring import DOWNSAMPLED_PERIOD, FULL_RESOLUTION, RETENTION
from orchestrator.scaling.forecast import make_forecast
from orchestrator.scaling.history import DAY, seeded_history

START = 1_795_000_000.0 - 1_795_000_000.0 % DAY  # a midnight, UTC
SERIES = "AWS/SQS/ApproximateNumberOfMessagesVisible/QueueName=orders"


def test_older_than_a_day_becomes_hourly_means_and_the_forecast_is_unchanged(tmp_path: Path):
    now = START + 14 * DAY
    points = seeded_history(START, now)
    with Store(tmp_path / "barista.db") as store:
        store.record_datapoints(SERIES, points, keep=RETENTION, now=now)
        before = make_forecast(store.datapoints_between(SERIES, 0, now), 10.0, now)
        store.downsample(SERIES, now - FULL_RESOLUTION, DOWNSAMPLED_PERIOD)
        kept = store.datapoints_between(SERIES, 0, now)
        store.downsample(SERIES, now - FULL_RESOLUTION, DOWNSAMPLED_PERIOD)  # idempotent
        assert store.datapoints_between(SERIES, 0, now) == kept
    assert len(kept) == 13 * 24 + 1440  # 13 days of hours, the last day of minutes
    first_hour = [v for t, v in points if START <= t < START + 3600]
    assert kept[0] == (START, sum(first_hour) / len(first_hour))
    after = make_forecast(kept, 10.0, now)
    assert after.capacity == before.capacity
    assert max(abs(a - b) for a, b in zip(after.load, before.load, strict=True)) < 1e-6


def test_the_sampler_downsamples_a_series_when_its_samples_cross_an_hour(tmp_path: Path):
    from orchestrator.monitoring import MetricsSampler  # noqa: PLC0415
    from orchestrator.runtime.fake import FakeRuntime  # noqa: PLC0415
    from orchestrator.scaling.metrics import QueueBacklogMetric  # noqa: PLC0415

    now = START + 3 * DAY + 3600 - 30  # half a minute before an hour starts
    runtime = FakeRuntime(start=now)
    with Store(tmp_path / "barista.db") as store:
        store.record_datapoints(SERIES, seeded_history(START, now), keep=RETENTION, now=now)
        sampler = MetricsSampler(store, runtime, lambda queue: 7)
        metric = QueueBacklogMetric("orders")
        sampler.sample([metric], runtime.now())  # recorded 30 s before the hour: no change
        assert len(store.datapoints_between(SERIES, 0, START + DAY)) == 1440
        runtime.advance(60)
        sampler.sample([metric], runtime.now())  # the first sample of a new hour
        sampler.close()
        assert len(store.datapoints_between(SERIES, 0, START + DAY)) == 24
