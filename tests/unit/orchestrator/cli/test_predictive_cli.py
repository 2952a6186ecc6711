"""``barista autoscaling put-scaling-policy --policy-type PredictiveScaling`` and
``get-predictive-scaling-forecast`` against a live API, with the controller's forecast made
from seeded history (clock: conftest's START, 2026-11-28 00:00 UTC, plus three days)."""

from __future__ import annotations

import json

from orchestrator.asg.scaling_controller import ScalingController
from orchestrator.asg.store import Store
from orchestrator.monitoring import RETENTION, MetricsSampler
from orchestrator.scaling.history import DAY, seeded_history
from orchestrator.scaling.metrics import QueueBacklogMetric
from tests.unit.orchestrator.api.test_predictive_policies import orders_backlog_spec
from tests.unit.orchestrator.cli.conftest import START, Barista, Server
from tests.unit.orchestrator.cli.test_autoscaling_cli import create_group


def test_put_a_predictive_policy_and_read_its_forecast(barista: Barista, server: Server, tmp_path):
    create_group(barista)
    config = tmp_path / "predictive.json"
    config.write_text(
        json.dumps(
            {
                "MetricSpecifications": [orders_backlog_spec("baristas")],
                "Mode": "ForecastOnly",
            }
        )
    )
    put = barista(
        "autoscaling",
        "put-scaling-policy",
        "--auto-scaling-group-name",
        "baristas",
        "--policy-name",
        "rush",
        "--policy-type",
        "PredictiveScaling",
        "--predictive-scaling-configuration",
        f"file://{config}",
    )
    assert put.code == 0, put.err
    server.runtime.advance(3 * DAY)
    now = server.runtime.now()
    with Store(server.store_path) as store:
        store.record_datapoints(
            QueueBacklogMetric("orders").key, seeded_history(START, now), keep=RETENTION, now=now
        )
        sampler = MetricsSampler(store, server.runtime, lambda queue: 0)
        ScalingController(store, server.runtime, sampler).evaluate_once()
        sampler.close()
    result = barista(
        "autoscaling",
        "get-predictive-scaling-forecast",
        "--auto-scaling-group-name",
        "baristas",
        "--policy-name",
        "rush",
        "--start-time",
        "2026-12-01T00:00:00Z",
        "--end-time",
        "2026-12-03T00:00:00Z",
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert len(answer["CapacityForecast"]["Values"]) == 48
    assert answer["LoadForecast"][0]["Timestamps"][0].startswith("2026-12-01T00:00:00")
    assert max(answer["CapacityForecast"]["Values"]) >= 10  # the rush: ~150 messages / 10
