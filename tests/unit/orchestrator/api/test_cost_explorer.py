"""Cost Explorer's GetCostAndUsage through boto3 on a stated clock: runs recorded by the Spot
market, priced per second, split by day and by purchase option, equal to hand-worked sums."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.billing import PurchaseOption, Run
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.model import Pool
from orchestrator.spot.store import SpotStore
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve

DAY1 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
NOW = DAY1 + 86_400 + 3600  # 2026-12-02T01:00:00Z


def _ten(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("1E-10"))


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    context = ApiContext(tmp_path / "db", FakeRuntime(start=NOW), {}, CREDENTIALS)
    with SpotStore(context.store_path) as store:
        store.record_prices([(Pool("t3.micro", "az-a"), DAY1 - 60, 0.0036)])
        store.put_runs(
            [
                # One On-Demand hour on day 1: 0.0104.
                Run("i-od", "t3.micro", "az-a", PurchaseOption.ON_DEMAND, DAY1, DAY1 + 3600),
                # Spot from 23:30 on day 1, still running at 01:00 on day 2:
                # day 1 half an hour at 0.0036 = 0.0018; day 2 one hour = 0.0036.
                Run("i-spot", "t3.micro", "az-a", PurchaseOption.SPOT, DAY1 + 84_600),
                # Ten seconds, billed a minute: 0.0104 / 60.
                Run(
                    "i-short",
                    "t3.micro",
                    "az-a",
                    PurchaseOption.ON_DEMAND,
                    DAY1 + 7200,
                    DAY1 + 7210,
                ),
            ]
        )
    with serve(context) as served:
        yield served


def test_daily_cost_by_purchase_option(endpoint: Endpoint) -> None:
    ce = endpoint.client("ce")
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-12-01", "End": "2026-12-03"},
        Granularity="DAILY",
        Metrics=["UnblendedCost", "UsageQuantity"],
        GroupBy=[{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}],
    )
    day1, day2 = answer["ResultsByTime"]
    assert day1["TimePeriod"] == {"Start": "2026-12-01", "End": "2026-12-02"}
    costs = {g["Keys"][0]: Decimal(g["Metrics"]["UnblendedCost"]["Amount"]) for g in day1["Groups"]}
    # Amounts are answered to ten decimal places.
    assert costs["On Demand Instances"] == _ten(Decimal("0.0104") + Decimal("0.0104") / 60)
    assert costs["Spot Instances"] == Decimal("0.0018")
    hours = {g["Keys"][0]: Decimal(g["Metrics"]["UsageQuantity"]["Amount"]) for g in day1["Groups"]}
    assert hours["Spot Instances"] == Decimal("0.5")
    assert day1["Estimated"] is False
    (spot_day2,) = day2["Groups"]
    assert spot_day2["Keys"] == ["Spot Instances"]
    assert Decimal(spot_day2["Metrics"]["UnblendedCost"]["Amount"]) == Decimal("0.0036")
    assert day2["Estimated"] is True  # the day is not over on the orchestrator's clock


def test_totals_without_groups_and_refusals(endpoint: Endpoint) -> None:
    ce = endpoint.client("ce")
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-12-01", "End": "2026-12-02"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
    )
    total = answer["ResultsByTime"][0]["Total"]["UnblendedCost"]
    assert Decimal(total["Amount"]) == _ten(Decimal("0.0104") * 61 / 60 + Decimal("0.0018"))
    assert total["Unit"] == "USD"
    for bad in (
        {"Granularity": "WEEKLY"},
        {"Metrics": ["NetUnblendedCost"]},
        {"GroupBy": [{"Type": "DIMENSION", "Key": "REGION"}]},
        {"TimePeriod": {"Start": "2026-12-02", "End": "2026-12-01"}},
    ):
        request = {
            "TimePeriod": {"Start": "2026-12-01", "End": "2026-12-02"},
            "Granularity": "DAILY",
            "Metrics": ["UnblendedCost"],
            **bad,
        }
        with pytest.raises(ClientError) as refused:
            ce.get_cost_and_usage(**request)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
