"""The Spot market's model: deterministic under a seed, price between the floor and the
On-Demand price, rising with use, capacity that runs out."""

from __future__ import annotations

import pytest

from orchestrator.errors import ValidationError
from orchestrator.price_list import on_demand_hourly
from orchestrator.spot.model import (
    MarketSettings,
    Pool,
    at_risk,
    background,
    pool_state,
    step_of,
)

POOL = Pool("t3.micro", "az-a")
STEPS = range(5_900_000, 5_900_288)  # one day of five-minute steps


def test_same_seed_same_market_other_seed_other_market() -> None:
    one, same, other = MarketSettings(seed=7), MarketSettings(seed=7), MarketSettings(seed=8)
    history = [pool_state(one, POOL, k).price for k in STEPS]
    assert history == [pool_state(same, POOL, k).price for k in STEPS]
    assert history != [pool_state(other, POOL, k).price for k in STEPS]


def test_pools_move_independently() -> None:
    settings = MarketSettings()
    micro = [background(settings, POOL, k) for k in STEPS]
    zone_b = [background(settings, Pool("t3.micro", "az-b"), k) for k in STEPS]
    assert micro != zone_b


def test_price_lies_between_floor_and_on_demand_and_rises_with_use() -> None:
    settings = MarketSettings(floor=0.3)
    on_demand = float(on_demand_hourly("t3.micro"))
    for k in STEPS:
        prices = [pool_state(settings, POOL, k, used).price for used in range(0, 14)]
        assert all(0.3 * on_demand - 1e-9 <= p <= on_demand for p in prices)
        assert prices == sorted(prices)
    # A full pool costs the On-Demand price, the cap.
    assert pool_state(settings, POOL, STEPS[0], used=settings.pool_capacity).price == on_demand


def test_idle_pool_costs_the_floor() -> None:
    settings = MarketSettings(demand=0, demand_swing=0, noise=0, floor=0.3)
    state = pool_state(settings, POOL, STEPS[0])
    assert state.background == 0
    assert state.price == round(0.3 * float(on_demand_hourly("t3.micro")), 6)


def test_capacity_runs_out_and_over_counts_the_excess() -> None:
    settings = MarketSettings(pool_capacity=10, demand=0.8, demand_swing=0, noise=0)
    state = pool_state(settings, POOL, STEPS[0], used=4)
    assert (state.background, state.free, state.available, state.over) == (8, 2, 0, 2)
    assert at_risk(settings, state)


def test_a_reclaimed_pool_has_nothing_free() -> None:
    settings = MarketSettings(demand=0, demand_swing=0, noise=0)
    state = pool_state(settings, POOL, STEPS[0], used=3, reclaimed=True)
    assert (state.free, state.over) == (0, 3)
    assert state.price == float(on_demand_hourly("t3.micro"))


def test_steps_follow_the_price_interval() -> None:
    settings = MarketSettings(price_interval=300)
    assert step_of(settings, 299.9) == 0
    assert step_of(settings, 300) == 1


def test_settings_from_environ_and_refusals() -> None:
    settings = MarketSettings.from_environ(
        {
            "BARISTA_SPOT_SEED": "42",
            "BARISTA_SPOT_ZONES": "us-east-1a, us-east-1b",
            "BARISTA_SPOT_FLOOR": "0.25",
            "BARISTA_SPOT_POOL_CAPACITY": "",
        }
    )
    assert (settings.seed, settings.zones, settings.floor) == (
        42,
        ("us-east-1a", "us-east-1b"),
        0.25,
    )
    assert settings.pool_capacity == MarketSettings().pool_capacity
    with pytest.raises(ValidationError, match="BARISTA_SPOT_SEED"):
        MarketSettings.from_environ({"BARISTA_SPOT_SEED": "many"})
    with pytest.raises(ValidationError, match="BARISTA_SPOT_FLOOR"):
        MarketSettings.from_environ({"BARISTA_SPOT_FLOOR": "1.5"})
