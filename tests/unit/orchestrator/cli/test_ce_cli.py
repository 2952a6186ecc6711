"""``barista ce get-cost-and-usage`` answers what the API answers, grouped by purchase option."""

from __future__ import annotations

import json

from orchestrator.billing import PurchaseOption, Run
from orchestrator.spot.store import SpotStore
from tests.unit.orchestrator.cli.conftest import START, Barista, Server


def test_cost_by_purchase_option(barista: Barista, server: Server) -> None:
    with SpotStore(server.store_path) as store:
        store.put_runs(
            [Run("i-1", "t3.small", "az-a", PurchaseOption.ON_DEMAND, START - 7200, START - 3600)]
        )
    done = barista(
        "ce",
        "get-cost-and-usage",
        "--time-period",
        '{"Start": "2026-11-27", "End": "2026-11-28"}',
        "--granularity",
        "DAILY",
        "--metrics",
        "UnblendedCost",
        "--group-by",
        '[{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}]',
        "--output",
        "json",
    )
    assert done.code == 0, done.err
    (result,) = json.loads(done.out)["ResultsByTime"]
    (group,) = result["Groups"]
    # One t3.small hour on 2026-11-27, 22:00 to 23:00: $0.0208.
    assert group == {
        "Keys": ["On Demand Instances"],
        "Metrics": {"UnblendedCost": {"Amount": "0.0208", "Unit": "USD"}},
    }
    refused = barista(
        "ce",
        "get-cost-and-usage",
        "--time-period",
        '{"Start": "2026-11-27", "End": "2026-11-28"}',
        "--granularity",
        "WEEKLY",
        "--metrics",
        "UnblendedCost",
    )
    assert refused.code != 0
    assert "Granularity" in refused.err
