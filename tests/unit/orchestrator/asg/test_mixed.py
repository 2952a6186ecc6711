"""Mixed instances groups: AWS's rules for the policy, the documented On-Demand/Spot split,
the allocation strategies over the market's pools, and scale-in that keeps the split."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator.asg import plan
from orchestrator.asg.group import create_auto_scaling_group
from orchestrator.asg.mixed import (
    MixedInstancesPolicy,
    Override,
    instances_distribution,
    mixed_instances_policy,
    split,
)
from orchestrator.asg.plan import Launch
from orchestrator.errors import ValidationError
from orchestrator.instance_types import limits
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.spot.model import MarketSettings, Pool, PoolState

NOW = 1_000_000.0
TEMPLATES = {"web": create_launch_template("web", LaunchTemplateData(image="barista:1"))}
TWO_TYPES = (Override("t3.micro"), Override("t3.small"))


def _policy(
    base: int = 1, percentage: int = 50, strategy: str = "lowest-price", **more: object
) -> MixedInstancesPolicy:
    return mixed_instances_policy(
        TWO_TYPES if "overrides" not in more else more.pop("overrides"),  # type: ignore[arg-type]
        instances_distribution(
            on_demand_base_capacity=base,
            on_demand_percentage_above_base_capacity=percentage,
            spot_allocation_strategy=strategy,
            **more,  # type: ignore[arg-type]
        ),
    )


def _group(desired: int, policy: MixedInstancesPolicy, zones: tuple[str, ...] = ("az-a",)):
    group = create_auto_scaling_group(
        "web", "web", min_size=0, max_size=20, desired_capacity=desired, availability_zones=zones
    )
    return replace(group, mixed_instances_policy=policy)


def _market(
    prices: dict[str, float], room: dict[str, int], zone: str = "az-a"
) -> dict[Pool, PoolState]:
    capacity = 12
    return {
        Pool(t, zone): PoolState(
            pool=Pool(t, zone),
            step=0,
            price=prices[t],
            capacity=capacity,
            background=capacity - room[t],
            used=0,
        )
        for t in prices
    }


def _running(launches: tuple[Launch, ...]) -> list[Instance]:
    return [
        Instance(
            instance_id=launch.instance_id,
            group="web",
            launch_template="web",
            template_version=1,
            availability_zone=launch.availability_zone,
            lifecycle=launch.lifecycle,
            protected_at_launch=False,
            launched_at=NOW + n,
            health=Health.HEALTHY,
            container_id=f"c-{n}",
            instance_type=launch.instance_type,
        )
        for n, launch in enumerate(launches)
    ]


@pytest.mark.parametrize(
    ("base", "percentage", "desired", "expected"),
    [
        (1, 50, 5, (3, 2)),  # 1 base + half of 4 above it
        (1, 50, 4, (3, 1)),  # half of 3 is 1.5: rounded up, in On-Demand's favour
        (1, 50, 1, (1, 0)),
        (1, 50, 0, (0, 0)),
        (0, 0, 4, (0, 4)),
        (0, 100, 4, (4, 0)),  # AWS's default distribution: all On-Demand
        (10, 50, 4, (4, 0)),  # the base is more than desired
        (2, 25, 10, (4, 6)),
    ],
)
def test_the_documented_split(
    base: int, percentage: int, desired: int, expected: tuple[int, int]
) -> None:
    distribution = instances_distribution(
        on_demand_base_capacity=base, on_demand_percentage_above_base_capacity=percentage
    )
    assert split(distribution, desired) == expected


def test_base_one_half_above_two_types_launches_the_split_with_instance_types() -> None:
    market = _market({"t3.micro": 0.0040, "t3.small": 0.0070}, {"t3.micro": 5, "t3.small": 5})
    decided = plan(_group(5, _policy()), TEMPLATES, [], set(), NOW, market=market)
    launched = [(launch.lifecycle, launch.instance_type) for launch in decided.launches]
    on_demand = [t for lifecycle, t in launched if lifecycle is Lifecycle.ON_DEMAND]
    spot = [t for lifecycle, t in launched if lifecycle is Lifecycle.SPOT]
    # On-Demand: prioritized, the first override; Spot: lowest-price over the 2 cheapest pools,
    # spread evenly.
    assert on_demand == ["t3.micro"] * 3
    assert sorted(spot) == ["t3.micro", "t3.small"]
    # Each launch carries its type's limits.
    small = next(launch for launch in decided.launches if launch.instance_type == "t3.small")
    assert (small.data.cpus, small.data.memory_mib) == limits("t3.small")
    # Applied, the plan is complete: nothing more to do.
    again = plan(
        _group(5, _policy()), TEMPLATES, _running(decided.launches), set(), NOW, market=market
    )
    assert again.is_empty


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("lowest-price", "t3.micro"),  # cheapest per unit (one pool: SpotInstancePools 1)
        ("capacity-optimized", "t3.small"),  # the most room
        ("price-capacity-optimized", "t3.medium"),  # the cheapest of the roomy ones
    ],
)
def test_spot_allocation_strategies(strategy: str, expected: str) -> None:
    overrides = (Override("t3.micro"), Override("t3.small"), Override("t3.medium"))
    market = _market(
        {"t3.micro": 0.0035, "t3.small": 0.0200, "t3.medium": 0.0150},
        {"t3.micro": 1, "t3.small": 9, "t3.medium": 8},
    )
    policy = _policy(0, 0, strategy, overrides=overrides, spot_instance_pools=1)
    decided = plan(_group(1, policy), TEMPLATES, [], set(), NOW, market=market)
    assert [(launch.lifecycle, launch.instance_type) for launch in decided.launches] == [
        (Lifecycle.SPOT, expected)
    ]


def test_spot_launches_skip_full_pools_and_prices_over_the_maximum() -> None:
    market = _market({"t3.micro": 0.0050, "t3.small": 0.0090}, {"t3.micro": 0, "t3.small": 3})
    capped = _policy(0, 0, spot_max_price="0.0080")
    decided = plan(_group(2, capped), TEMPLATES, [], set(), NOW, market=market)
    assert decided.launches == ()
    assert "No Spot pool" in decided.notes[0]
    open_small = _policy(0, 0)
    decided = plan(_group(2, open_small), TEMPLATES, [], set(), NOW, market=market)
    assert [launch.instance_type for launch in decided.launches] == ["t3.small", "t3.small"]


def test_weighted_capacity_counts_units() -> None:
    policy = _policy(0, 0, overrides=(Override("t3.micro", 1), Override("t3.medium", 4)))
    market = _market({"t3.micro": 0.009, "t3.medium": 0.013}, {"t3.micro": 9, "t3.medium": 9})
    decided = plan(_group(8, policy), TEMPLATES, [], set(), NOW, market=market)
    # t3.medium costs 0.00325 a unit, t3.micro 0.009: lowest-price over 2 pools, spread.
    types = [launch.instance_type for launch in decided.launches]
    assert sum(4 if t == "t3.medium" else 1 for t in types) >= 8
    assert plan(
        _group(8, policy), TEMPLATES, _running(decided.launches), set(), NOW, market=market
    ).is_empty


def test_scale_in_keeps_the_split_and_drops_the_dearest_spot_pool() -> None:
    market = _market({"t3.micro": 0.0040, "t3.small": 0.0070}, {"t3.micro": 5, "t3.small": 5})
    decided = plan(_group(5, _policy()), TEMPLATES, [], set(), NOW, market=market)
    running = _running(decided.launches)
    smaller = plan(_group(4, _policy()), TEMPLATES, running, set(), NOW, market=market)
    (gone,) = smaller.terminations
    left = [i for i in running if i.instance_id != gone.instance_id]
    # Desired 4 is 3 On-Demand + 1 Spot: a Spot one goes, from the dearer pool.
    victim = next(i for i in running if i.instance_id == gone.instance_id)
    assert (victim.lifecycle, victim.instance_type) == (Lifecycle.SPOT, "t3.small")
    assert sum(1 for i in left if i.lifecycle is Lifecycle.ON_DEMAND) == 3


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: mixed_instances_policy([]), "at least one instance type"),
        (lambda: mixed_instances_policy([Override("m5.large")]), "m5.large"),
        (lambda: mixed_instances_policy([Override("t3.micro")] * 2), "Duplicate"),
        (
            lambda: mixed_instances_policy([Override("t3.micro", 2), Override("t3.small")]),
            "every instance type",
        ),
        (lambda: mixed_instances_policy([Override("t3.micro", 1000)]), "between 1 and 999"),
        (
            lambda: instances_distribution(on_demand_percentage_above_base_capacity=101),
            "between 0 and 100",
        ),
        (lambda: instances_distribution(on_demand_base_capacity=-1), "OnDemandBaseCapacity"),
        (lambda: instances_distribution(spot_instance_pools=21), "SpotInstancePools"),
        (
            lambda: instances_distribution(spot_allocation_strategy="cheapest"),
            "spotAllocationStrategy",
        ),
        (
            lambda: instances_distribution(on_demand_allocation_strategy="random"),
            "onDemandAllocationStrategy",
        ),
        (lambda: instances_distribution(spot_max_price="free"), "SpotMaxPrice"),
        (lambda: instances_distribution(spot_max_price="-1"), "SpotMaxPrice"),
    ],
)
def test_refused_as_aws_refuses(build: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()  # type: ignore[operator]


def test_market_settings_defaults_keep_spot_cheaper_than_on_demand() -> None:
    assert MarketSettings().floor < 1
