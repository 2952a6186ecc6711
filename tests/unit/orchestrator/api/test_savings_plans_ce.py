"""Savings Plans in Cost Explorer, through boto3 and ``barista ce`` on a stated day: a plan
declared in ``BARISTA_SAVINGS_PLANS``, runs recorded by the Spot market, and coverage,
utilization and amortized cost equal to the figures worked out by hand beside each assertion.

The day (2026-12-01, UTC on the AWS clock), t3.micro at $0.0104/h On-Demand:
- a Compute plan from 00:00, 28 % off, committing $0.007488/h (0.72 x 0.0104): exactly one
  t3.micro-hour of On-Demand usage;
- i-a On-Demand 00:00-03:30, i-b On-Demand 00:00-01:00, i-s Spot 02:00-03:00 at $0.0036/h.
Hour by hour: 00h usage 0.0208, covered 0.0104; 01h and 02h 0.0104, all covered; 03h 0.0052
covered (commitment used 0.003744); 04h-23h nothing. So over the day: eligible 0.0468,
covered 0.0364 (coverage 7/9); commitment 24 x 0.007488 = 0.179712, used
3.5 x 0.007488 = 0.026208 (utilization 3.5/24).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.billing import PurchaseOption, Run
from orchestrator.cli import main
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.model import Pool
from orchestrator.spot.store import SpotStore
from tests.support.aws_auth import ENVIRON
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve

D = Decimal
DAY1 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
NOW = DAY1 + 86_400 + 3600  # 2026-12-02T01:00:00Z
COMMITMENT = D("0.007488")
PLAN = {
    "savingsPlanId": "sp-day",
    "savingsPlanType": "Compute",
    "commitment": str(COMMITMENT),
    "discount": "0.28",
    "start": "2026-12-01T00:00:00Z",
}
PERIOD = {"Start": "2026-12-01", "End": "2026-12-02"}


def _runs() -> list[Run]:
    od, spot = PurchaseOption.ON_DEMAND, PurchaseOption.SPOT
    return [
        Run("i-a", "t3.micro", "az-a", od, DAY1, DAY1 + 3.5 * 3600),
        Run("i-b", "t3.micro", "az-a", od, DAY1, DAY1 + 3600),
        Run("i-s", "t3.micro", "az-a", spot, DAY1 + 7200, DAY1 + 10_800),
    ]


def _serve(tmp_path: Path, plans: list[dict[str, str]]) -> Iterator[Endpoint]:
    environ = {"BARISTA_SAVINGS_PLANS": json.dumps(plans)}
    context = ApiContext(tmp_path / "db", FakeRuntime(start=NOW), environ, CREDENTIALS)
    with SpotStore(context.store_path) as store:
        store.record_prices([(Pool("t3.micro", "az-a"), DAY1 - 60, 0.0036)])
        store.put_runs(_runs())
    with serve(context) as served:
        yield served


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    yield from _serve(tmp_path, [PLAN])


def _amount(metric: dict[str, str]) -> Decimal:
    return D(metric["Amount"])


def test_coverage_of_the_day(endpoint: Endpoint) -> None:
    answer = endpoint.client("ce").get_savings_plans_coverage(
        TimePeriod={"Start": "2026-12-01", "End": "2026-12-03"}, Granularity="DAILY"
    )
    day1, day2 = answer["SavingsPlansCoverages"]
    assert day1["TimePeriod"] == PERIOD
    coverage = day1["Coverage"]
    assert D(coverage["SpendCoveredBySavingsPlans"]) == D("0.0364")
    assert D(coverage["OnDemandCost"]) == D("0.0104")
    assert D(coverage["TotalCost"]) == D("0.0468")
    assert D(coverage["CoveragePercentage"]) == (D(700) / 9).quantize(D("1E-10"))
    # Day 2 so far (00:00-01:00): no usage, nothing to cover.
    assert D(day2["Coverage"]["TotalCost"]) == 0
    assert day2["Coverage"]["CoveragePercentage"] == "0"


def test_utilization_of_the_day(endpoint: Endpoint) -> None:
    answer = endpoint.client("ce").get_savings_plans_utilization(
        TimePeriod=PERIOD, Granularity="DAILY"
    )
    (day,) = answer["SavingsPlansUtilizationsByTime"]
    assert answer["Total"]["Utilization"] == day["Utilization"]
    utilization = day["Utilization"]
    assert D(utilization["TotalCommitment"]) == 24 * COMMITMENT
    assert D(utilization["UsedCommitment"]) == D("3.5") * COMMITMENT
    assert D(utilization["UnusedCommitment"]) == D("20.5") * COMMITMENT
    assert D(utilization["UtilizationPercentage"]) == (D("350") / 24).quantize(D("1E-10"))
    # The plan covered $0.0364 of On-Demand usage for $0.179712: it lost money this day.
    assert D(day["Savings"]["OnDemandCostEquivalent"]) == D("0.0364")
    assert D(day["Savings"]["NetSavings"]) == D("0.0364") - 24 * COMMITMENT
    amortized = day["AmortizedCommitment"]
    assert D(amortized["AmortizedRecurringCommitment"]) == 24 * COMMITMENT  # No Upfront
    assert D(amortized["AmortizedUpfrontCommitment"]) == 0


def test_amortized_cost_reflects_the_plan_and_unblended_stays_list_price(
    endpoint: Endpoint,
) -> None:
    answer = endpoint.client("ce").get_cost_and_usage(
        TimePeriod=PERIOD,
        Granularity="DAILY",
        Metrics=["UnblendedCost", "AmortizedCost", "NetAmortizedCost", "UsageQuantity"],
        GroupBy=[{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}],
    )
    (day,) = answer["ResultsByTime"]
    groups = {g["Keys"][0]: g["Metrics"] for g in day["Groups"]}
    assert set(groups) == {"On Demand Instances", "Spot Instances", "Savings Plans"}
    assert _amount(groups["On Demand Instances"]["UnblendedCost"]) == D("0.0104")
    assert _amount(groups["On Demand Instances"]["AmortizedCost"]) == D("0.0104")
    assert _amount(groups["Spot Instances"]["AmortizedCost"]) == D("0.0036")
    # Covered usage: $0.0364 at list price, the whole day's commitment amortized.
    assert _amount(groups["Savings Plans"]["UnblendedCost"]) == D("0.0364")
    assert _amount(groups["Savings Plans"]["AmortizedCost"]) == 24 * COMMITMENT
    assert _amount(groups["Savings Plans"]["NetAmortizedCost"]) == 24 * COMMITMENT
    # Instance-hours: 3.5 + 1 On-Demand, 3.5 of them covered; 1 Spot.
    assert _amount(groups["Savings Plans"]["UsageQuantity"]) == D("3.5")
    assert _amount(groups["On Demand Instances"]["UsageQuantity"]) == D("1")
    total = endpoint.client("ce").get_cost_and_usage(
        TimePeriod=PERIOD, Granularity="DAILY", Metrics=["UnblendedCost", "AmortizedCost"]
    )["ResultsByTime"][0]["Total"]
    assert _amount(total["UnblendedCost"]) == D("0.0504")  # 0.0468 On-Demand + 0.0036 Spot
    assert _amount(total["AmortizedCost"]) == D("0.0104") + D("0.0036") + 24 * COMMITMENT


def test_hourly_amortized_cost_splits_covered_usage_and_unused_commitment(
    endpoint: Endpoint,
) -> None:
    answer = endpoint.client("ce").get_cost_and_usage(
        TimePeriod={"Start": "2026-12-01T03:00:00Z", "End": "2026-12-01T04:00:00Z"},
        Granularity="HOURLY",
        Metrics=["AmortizedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "INSTANCE_TYPE"}],
    )
    (hour,) = answer["ResultsByTime"]
    groups = {g["Keys"][0]: _amount(g["Metrics"]["AmortizedCost"]) for g in hour["Groups"]}
    # i-a's last half hour (0.0052) at 28 % off, and the half of the commitment left unused.
    assert groups == {"t3.micro": D("0.003744"), "NoInstanceType": D("0.003744")}


def test_an_instance_plan_of_another_family_covers_nothing(tmp_path: Path) -> None:
    plan = {**PLAN, "savingsPlanType": "EC2Instance", "ec2InstanceFamily": "m5"}
    for endpoint in _serve(tmp_path, [plan]):
        ce = endpoint.client("ce")
        coverage = ce.get_savings_plans_coverage(TimePeriod=PERIOD)["SavingsPlansCoverages"]
        assert coverage[0]["Coverage"]["CoveragePercentage"] == "0"
        total = ce.get_savings_plans_utilization(TimePeriod=PERIOD)["Total"]["Utilization"]
        assert total["UtilizationPercentage"] == "0"


def test_utilization_without_plans_is_unavailable_and_refusals(tmp_path: Path) -> None:
    for endpoint in _serve(tmp_path, []):
        ce = endpoint.client("ce")
        with pytest.raises(ClientError) as refused:
            ce.get_savings_plans_utilization(TimePeriod=PERIOD)
        assert refused.value.response["Error"]["Code"] == "DataUnavailableException"
        assert "BARISTA_SAVINGS_PLANS" in refused.value.response["Error"]["Message"]
        for bad in (
            {"Granularity": "HOURLY"},
            {"GroupBy": [{"Type": "DIMENSION", "Key": "INSTANCE_FAMILY"}]},
            {"Metrics": ["OnDemandCost"]},
        ):
            with pytest.raises(ClientError) as refused:
                ce.get_savings_plans_coverage(TimePeriod=PERIOD, **bad)
            assert refused.value.response["Error"]["Code"] == "ValidationException"
        with pytest.raises(ClientError) as refused:
            ce.get_cost_and_usage(
                TimePeriod={"Start": "2026-12-01T03:30:00Z", "End": "2026-12-01T04:00:00Z"},
                Granularity="HOURLY",
                Metrics=["UnblendedCost"],
            )
        assert "on the hour" in refused.value.response["Error"]["Message"]


def test_barista_ce_verbs(
    endpoint: Endpoint, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARISTA_ENDPOINT_URL", endpoint.url)
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    period = json.dumps(PERIOD)
    assert (
        main(["ce", "get-savings-plans-coverage", "--time-period", period, "--output", "json"]) == 0
    )
    (coverage,) = json.loads(capsys.readouterr().out)["SavingsPlansCoverages"]
    assert D(coverage["Coverage"]["SpendCoveredBySavingsPlans"]) == D("0.0364")
    assert (
        main(["ce", "get-savings-plans-utilization", "--time-period", period, "--output", "json"])
        == 0
    )
    total = json.loads(capsys.readouterr().out)["Total"]
    assert D(total["Utilization"]["UsedCommitment"]) == D("3.5") * COMMITMENT
