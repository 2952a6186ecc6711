"""``barista seed-history``: days of the shop's daily pattern, ending at the orchestrator's
AWS now (the store's clock origin and BARISTA_TIME_SCALE), never at the wall clock's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.asg.store import Store
from orchestrator.cli import main
from orchestrator.clock import ScaledClock
from orchestrator.scaling.forecast import make_forecast
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.server import CLOCK_ORIGIN
from orchestrator.time_scale import TimeScale


def test_seeds_days_of_minutes_up_to_aws_now(tmp_path: Path, monkeypatch, capsys):
    path = tmp_path / "barista.db"
    origin = time.time() - 3600  # the orchestrator first started an hour of wall time ago
    with Store(path) as store:
        store.setting(CLOCK_ORIGIN, repr(origin))
    monkeypatch.setenv("BARISTA_STATE_PATH", str(path))
    monkeypatch.setenv("BARISTA_TIME_SCALE", "60")
    before = ScaledClock(origin, TimeScale(60.0))()
    assert before > time.time() + 58 * 3600  # 60 AWS hours passed: far ahead of the wall clock
    assert main(["seed-history", "--days", "2"]) == 0
    after = ScaledClock(origin, TimeScale(60.0))()
    assert "2880 datapoints" in capsys.readouterr().out
    with Store(path) as store:
        points = store.datapoints_between(QueueBacklogMetric("orders").key, 0, after + 1)
    assert len(points) == 2 * 1440
    assert before - 60 <= points[-1][0] <= after - 60
    assert before - 2 * 86400 <= points[0][0] <= after - 2 * 86400
    forecast = make_forecast(points, 10.0, after)  # enough for predictive scaling
    assert max(forecast.capacity) >= 12


def test_refuses_more_than_two_weeks(capsys):
    with pytest.raises(SystemExit):
        main(["seed-history", "--days", "15"])
    assert "between 1 and 14" in capsys.readouterr().err
