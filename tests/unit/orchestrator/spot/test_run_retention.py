"""Run records are kept as long as Cost Explorer can ask about them: the current month and
the 13 before it (``orchestrator.billing.RETENTION_MONTHS``). A run that ended before that
horizon goes at the market's next pass; a run still going, or one that ended after it, stays;
Cost Explorer refuses a period that starts before it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.billing import PurchaseOption, Run, retention_horizon
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.controller import SpotMarketController
from orchestrator.spot.model import MarketSettings
from orchestrator.spot.store import SpotStore
from tests.support.aws_endpoint import CREDENTIALS, serve


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "horizon"),
    [
        ("2026-12-02T01:00:00", "2025-11-01T00:00:00"),
        ("2027-01-31T23:59:59", "2025-12-01T00:00:00"),
        ("2027-02-01T00:00:00", "2026-01-01T00:00:00"),
    ],
)
def test_the_horizon_is_the_month_13_months_back(now: str, horizon: str) -> None:
    assert retention_horizon(_at(now)) == _at(horizon)


def test_a_market_pass_forgets_runs_that_ended_before_the_horizon(tmp_path: Path) -> None:
    now = _at("2026-12-02T01:00:00")
    horizon = _at("2025-11-01T00:00:00")
    od = PurchaseOption.ON_DEMAND
    with SpotStore(tmp_path / "db") as store:
        store.put_runs(
            [
                Run("i-old", "t3.micro", "az-a", od, horizon - 7200, horizon - 1),
                Run("i-across", "t3.micro", "az-a", od, horizon - 7200, horizon + 1),
                Run("i-open", "t3.micro", "az-a", od, horizon - 7200),
                Run("i-new", "t3.micro", "az-a", od, now - 7200, now - 3600),
            ]
        )
    runtime = FakeRuntime(start=now)
    SpotMarketController(tmp_path / "db", runtime, MarketSettings()).reconcile_once()
    with SpotStore(tmp_path / "db") as store:
        kept = {r.instance_id for r in store.runs()}
        # i-open is no instance the runtime has: the pass ends it now, and keeps it.
        assert kept == {"i-across", "i-open", "i-new"}
        assert store.prune_runs(now) == 2  # i-across and i-new; i-open ended at now


def test_cost_explorer_refuses_a_period_before_the_horizon(tmp_path: Path) -> None:
    context = ApiContext(
        tmp_path / "db", FakeRuntime(start=_at("2026-12-02T01:00:00")), {}, CREDENTIALS
    )
    with serve(context) as endpoint:
        ce = endpoint.client("ce")
        answer = ce.get_cost_and_usage(
            TimePeriod={"Start": "2025-11-01", "End": "2025-11-02"},
            Granularity="DAILY",
            Metrics=["UnblendedCost"],
        )
        assert answer["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"] == "0"
        for call in (
            lambda: ce.get_cost_and_usage(
                TimePeriod={"Start": "2025-10-31", "End": "2025-11-02"},
                Granularity="DAILY",
                Metrics=["UnblendedCost"],
            ),
            lambda: ce.get_savings_plans_coverage(
                TimePeriod={"Start": "2025-10-31", "End": "2025-11-02"}
            ),
        ):
            with pytest.raises(ClientError) as refused:
                call()
            assert refused.value.response["Error"]["Code"] == "ValidationException"
            assert "2025-11-01" in refused.value.response["Error"]["Message"]
