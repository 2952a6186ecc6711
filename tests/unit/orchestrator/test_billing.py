"""EC2's per-second billing on a stated clock: the 60-second minimum, On-Demand at the list
price, Spot at each second's pool price, totals per purchase option. Every expected amount is
worked out by hand in the comment beside it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.billing import (
    PurchaseOption,
    Run,
    billed_seconds,
    by_purchase_option,
    cost_of,
    on_demand_cost,
    spot_cost,
)

T0 = 1_796_256_000.0  # 2026-12-03T00:00:00Z


@pytest.mark.parametrize(
    ("seconds", "billed"),
    [(0, 60), (1, 60), (59.2, 60), (60, 60), (60.1, 61), (61, 61), (3600, 3600)],
)
def test_per_second_with_a_minute_minimum(seconds: float, billed: int) -> None:
    assert billed_seconds(T0, T0 + seconds) == billed


def test_on_demand_at_the_list_price() -> None:
    # t3.micro: $0.0104/h. One hour: 0.0104. Ten seconds: billed 60 s = 0.0104/60 = 0.000173…
    assert on_demand_cost("t3.micro", T0, T0 + 3600) == Decimal("0.0104")
    assert on_demand_cost("t3.micro", T0, T0 + 10) == Decimal("0.0104") * 60 / 3600
    # t3.large for 90 minutes: 0.0832 x 1.5 = 0.1248.
    assert on_demand_cost("t3.large", T0, T0 + 5400) == Decimal("0.1248")


def test_spot_at_each_seconds_price() -> None:
    # 0.0036 from before the start until T0+1800, then 0.0048: one hour costs
    # 0.0036/2 + 0.0048/2 = 0.0042.
    history = [(T0 - 600, 0.0036), (T0 + 1800, 0.0048)]
    assert spot_cost(history, T0, T0 + 3600) == Decimal("0.0042")
    # 30 s billed as 60 s at the price in force: 0.0036 / 60 = 0.00006.
    assert spot_cost(history, T0, T0 + 30) == Decimal("0.00006")
    with pytest.raises(ValueError, match="cover the run's start"):
        spot_cost([(T0 + 1, 0.0036)], T0, T0 + 30)


def test_totals_per_purchase_option_and_the_all_on_demand_comparison() -> None:
    histories = {("t3.micro", "az-a"): [(T0 - 1, 0.0036)]}
    runs = [
        Run("i-1", "t3.micro", "az-a", PurchaseOption.ON_DEMAND, T0, T0 + 3600),
        Run("i-2", "t3.micro", "az-a", PurchaseOption.SPOT, T0, T0 + 3600),
        Run("i-3", "t3.micro", "az-a", PurchaseOption.SPOT, T0 + 1800, None),  # still running
    ]
    now = T0 + 3600
    costs = [(r.purchase_option, cost_of(r, now, histories)) for r in runs]
    # On-Demand: 0.0104. Spot: 0.0036 + 0.0036/2 = 0.0054.
    assert by_purchase_option(costs) == {
        "On Demand Instances": Decimal("0.0104"),
        "Spot Instances": Decimal("0.0054"),
    }
    # Had it all been On-Demand: 0.0104 x 2.5 = 0.026.
    all_on_demand = sum(on_demand_cost(r.instance_type, r.start, r.end or now) for r in runs)
    assert all_on_demand == Decimal("0.026")
