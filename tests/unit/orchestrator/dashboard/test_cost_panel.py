"""The dashboard's cost panel and Cost Explorer agree on one store: each hour's On-Demand,
Spot and Savings Plans figures on ``GET /dashboard/cost`` equal what ``GetCostAndUsage``
(the route ``barista ce get-cost-and-usage`` calls) answers for that hour as AmortizedCost by
purchase type, and the panel's "had it all been On-Demand" figure is the hand-worked one."""

from __future__ import annotations

import json
from decimal import Decimal

from starlette.testclient import TestClient

from orchestrator.billing import PurchaseOption, Run
from orchestrator.dashboard.snapshot import Dashboard
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.model import Pool
from orchestrator.spot.store import SpotStore
from tests.unit.orchestrator.api.conftest import START
from tests.unit.orchestrator.dashboard.conftest import caller, log_in

D = Decimal
HOUR = 3600
NOW = START + 1800  # 2026-11-28T00:30:00Z: the current hour is half over


def _store(dashboard: Dashboard, runtime: FakeRuntime) -> None:
    """Over the last hours: an On-Demand t3.small since 20:00 (still running), a Spot
    t3.micro 21:00-23:00 at $0.0031 then $0.0045 from 22:00, a short On-Demand t3.micro at
    22:10 (billed a minute); an EC2 Instance t3 plan of $0.01/h at 30 % off from 21:00."""
    runtime.advance(NOW - runtime.now())
    od, spot = PurchaseOption.ON_DEMAND, PurchaseOption.SPOT
    with SpotStore(dashboard.context.store_path) as store:
        store.record_prices(
            [
                (Pool("t3.micro", "az-a"), START - 5 * HOUR, 0.0031),
                (Pool("t3.micro", "az-a"), START - 2 * HOUR, 0.0045),
            ]
        )
        store.put_runs(
            [
                Run("i-od", "t3.small", "az-a", od, START - 4 * HOUR),
                Run("i-spot", "t3.micro", "az-a", spot, START - 3 * HOUR, START - HOUR),
                Run(
                    "i-short",
                    "t3.micro",
                    "az-b",
                    od,
                    START - 2 * HOUR + 600,
                    START - 2 * HOUR + 610,
                ),
            ]
        )
    plan = {
        "savingsPlanType": "EC2Instance",
        "ec2InstanceFamily": "t3",
        "commitment": "0.01",
        "discount": "0.3",
        "start": "2026-11-27T21:00:00Z",
    }
    dashboard.context.environ["BARISTA_SAVINGS_PLANS"] = json.dumps([plan])


def test_the_panel_agrees_with_cost_explorer(
    client: TestClient, dashboard: Dashboard, runtime: FakeRuntime
) -> None:
    _store(dashboard, runtime)
    log_in(client)
    answer = client.get("/dashboard/cost")
    assert answer.status_code == 200, answer.text
    panel = answer.json()
    rows = panel["hours"]
    assert len(rows) == 12
    assert rows[-1]["start"] == "2026-11-28T00:00:00Z"
    explorer = caller(client, "ce")(
        "GetCostAndUsage",
        TimePeriod={"Start": rows[0]["start"], "End": "2026-11-28T01:00:00Z"},
        Granularity="HOURLY",
        Metrics=["AmortizedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}],
    )["ResultsByTime"]
    assert [r["TimePeriod"]["Start"] for r in explorer] == [row["start"] for row in rows]
    names = {
        "On Demand Instances": "on_demand",
        "Spot Instances": "spot",
        "Savings Plans": "savings_plans",
    }
    for row, result in zip(rows, explorer, strict=True):
        ce = {
            names[g["Keys"][0]]: D(g["Metrics"]["AmortizedCost"]["Amount"])
            for g in result["Groups"]
        }
        for column in names.values():
            assert D(row[column]) == ce.get(column, D(0)), (row["start"], column)
        assert D(row["total"]) == sum(ce.values(), D(0))
    # Hand-worked, hour 22:00: t3.small 0.0208 + the short t3.micro's minute 0.0104/60, both
    # On-Demand-eligible; the plan's $0.01 covers 0.01/0.7 of it at 30 % off; the Spot hour at
    # 0.0045. All On-Demand: 0.0208 + 0.0104/60 + 0.0104 (the Spot hour at list price).
    by_start = {row["start"]: row for row in rows}
    hour = by_start["2026-11-27T22:00:00Z"]
    eligible = D("0.0208") + D("0.0104") / 60
    covered = D("0.01") / D("0.7")
    assert D(hour["spot"]) == D("0.0045")
    assert D(hour["savings_plans"]) == D("0.01")
    assert D(hour["on_demand"]) == (eligible - covered).quantize(D("1E-10"))
    assert D(hour["all_on_demand"]) == (eligible + D("0.0104")).quantize(D("1E-10"))
    # The current hour, half over: half an hour of the t3.small ($0.0104); the plan owes half
    # its commitment, $0.005, which covers 0.005 / 0.7 of it, the rest On-Demand.
    now_row = by_start["2026-11-28T00:00:00Z"]
    assert D(now_row["savings_plans"]) == D("0.005")
    assert D(now_row["on_demand"]) == (D("0.0104") - D("0.005") / D("0.7")).quantize(D("1E-10"))
    # Before the first run: nothing.
    assert by_start["2026-11-27T19:00:00Z"]["total"] == "0"
    assert panel["plans"] == ["sp-barista-1"]


def test_the_panel_needs_a_session(client: TestClient) -> None:
    answer = client.get("/dashboard/cost")
    assert answer.status_code == 401
