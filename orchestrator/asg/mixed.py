"""A group's ``MixedInstancesPolicy``: several instance types, On-Demand and Spot in one group.

The policy names instance types (``Overrides``, optionally weighted: an instance then counts
as ``WeightedCapacity`` units of the group's desired capacity) and how to split capacity
between the two markets (``InstancesDistribution``). The split, as AWS documents it:

- the first ``OnDemandBaseCapacity`` units are On-Demand;
- of the units above the base, ``OnDemandPercentageAboveBaseCapacity`` percent are On-Demand,
  the rest Spot. A fraction of an instance is rounded up, in On-Demand's favour (so with base
  1 and 50 %, desired 4 is 1 + 2 On-Demand and 1 Spot).

Which instance type each launch gets:

- On-Demand, ``prioritized`` (the default): the first override; ``lowest-price``: the cheapest
  per unit of capacity;
- Spot, among the pools (type x zone) with room and a price at or under the maximum
  (``SpotMaxPrice``, per unit-hour; the On-Demand price when not set):
  ``lowest-price`` (the API's default) spreads launches evenly over the ``SpotInstancePools``
  cheapest pools; ``capacity-optimized`` takes the pool with the most room
  (``capacity-optimized-prioritized``: the same, ties to the earlier override);
  ``price-capacity-optimized`` takes the cheapest of the pools with at least half as much room
  as the roomiest.

Everything here is pure: the planner (``orchestrator.asg.plan``) passes the market's pool
states in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from orchestrator.errors import ValidationError
from orchestrator.instance_types import INSTANCE_TYPES
from orchestrator.instances import Instance, Lifecycle
from orchestrator.price_list import on_demand_hourly
from orchestrator.spot.model import Pool, PoolState

MAX_OVERRIDES = 40  # instance types per mixed instances policy, AWS's quota
MAX_WEIGHT = 999
MAX_SPOT_INSTANCE_POOLS = 20
DEFAULT_SPOT_INSTANCE_POOLS = 2

E = TypeVar("E", bound=StrEnum)


class OnDemandAllocationStrategy(StrEnum):
    PRIORITIZED = "prioritized"
    LOWEST_PRICE = "lowest-price"


class SpotAllocationStrategy(StrEnum):
    LOWEST_PRICE = "lowest-price"
    CAPACITY_OPTIMIZED = "capacity-optimized"
    CAPACITY_OPTIMIZED_PRIORITIZED = "capacity-optimized-prioritized"
    PRICE_CAPACITY_OPTIMIZED = "price-capacity-optimized"


@dataclass(frozen=True)
class Override:
    instance_type: str
    weighted_capacity: int | None = None

    @property
    def weight(self) -> int:
        return self.weighted_capacity or 1


@dataclass(frozen=True)
class InstancesDistribution:
    """AWS's defaults where the request is silent (SpotMaxPrice: none, the On-Demand price)."""

    on_demand_allocation_strategy: OnDemandAllocationStrategy = (
        OnDemandAllocationStrategy.PRIORITIZED
    )
    on_demand_base_capacity: int = 0
    on_demand_percentage_above_base_capacity: int = 100
    spot_allocation_strategy: SpotAllocationStrategy = SpotAllocationStrategy.LOWEST_PRICE
    spot_instance_pools: int = DEFAULT_SPOT_INSTANCE_POOLS
    spot_max_price: str | None = None


@dataclass(frozen=True)
class MixedInstancesPolicy:
    overrides: tuple[Override, ...]
    instances_distribution: InstancesDistribution = field(default_factory=InstancesDistribution)

    @property
    def weighted(self) -> bool:
        return any(o.weighted_capacity is not None for o in self.overrides)

    def weight_of(self, instance_type: str | None) -> int:
        """Units an instance of this type counts for (1 for a type no override names)."""
        for override in self.overrides:
            if override.instance_type == instance_type:
                return override.weight
        return 1

    def max_price(self, instance_type: str) -> float:
        """The most this group pays for an hour of a Spot instance of ``instance_type``."""
        given = self.instances_distribution.spot_max_price
        if given is None:
            return float(on_demand_hourly(instance_type))
        return float(Decimal(given)) * self.weight_of(instance_type)


def _strategy(kind: type[E], value: str, member: str) -> E:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(v.value for v in kind)
        raise ValidationError(
            f"Value '{value}' at '{member}' failed to satisfy constraint: Member must be one "
            f"of: {known}"
        ) from None


def instances_distribution(
    *,
    on_demand_allocation_strategy: str | None = None,
    on_demand_base_capacity: int | None = None,
    on_demand_percentage_above_base_capacity: int | None = None,
    spot_allocation_strategy: str | None = None,
    spot_instance_pools: int | None = None,
    spot_max_price: str | None = None,
) -> InstancesDistribution:
    """A distribution with AWS's defaults and AWS's checks; ``SpotMaxPrice`` "" clears it."""
    base = 0 if on_demand_base_capacity is None else on_demand_base_capacity
    percentage = (
        100
        if on_demand_percentage_above_base_capacity is None
        else on_demand_percentage_above_base_capacity
    )
    pools = DEFAULT_SPOT_INSTANCE_POOLS if spot_instance_pools is None else spot_instance_pools
    if base < 0:
        raise ValidationError("OnDemandBaseCapacity must be greater than or equal to 0.")
    if not 0 <= percentage <= 100:
        raise ValidationError(
            "OnDemandPercentageAboveBaseCapacity must be between 0 and 100, inclusive."
        )
    if not 1 <= pools <= MAX_SPOT_INSTANCE_POOLS:
        raise ValidationError(
            f"SpotInstancePools must be between 1 and {MAX_SPOT_INSTANCE_POOLS}, inclusive."
        )
    price = spot_max_price or None
    if price is not None:
        try:
            value = Decimal(price)
        except InvalidOperation:
            raise ValidationError(f"SpotMaxPrice '{price}' is not a valid price.") from None
        if not value.is_finite() or value <= 0:
            raise ValidationError(f"SpotMaxPrice '{price}' must be a positive number.")
    return InstancesDistribution(
        on_demand_allocation_strategy=_strategy(
            OnDemandAllocationStrategy,
            on_demand_allocation_strategy or OnDemandAllocationStrategy.PRIORITIZED,
            "mixedInstancesPolicy.instancesDistribution.onDemandAllocationStrategy",
        ),
        on_demand_base_capacity=base,
        on_demand_percentage_above_base_capacity=percentage,
        spot_allocation_strategy=_strategy(
            SpotAllocationStrategy,
            spot_allocation_strategy or SpotAllocationStrategy.LOWEST_PRICE,
            "mixedInstancesPolicy.instancesDistribution.spotAllocationStrategy",
        ),
        spot_instance_pools=pools,
        spot_max_price=price,
    )


def mixed_instances_policy(
    overrides: Iterable[Override], distribution: InstancesDistribution | None = None
) -> MixedInstancesPolicy:
    """A policy AWS would accept: 1-40 distinct known types, weights on all or none (1-999)."""
    chosen = tuple(overrides)
    if not chosen:
        raise ValidationError(
            "A mixed instances policy needs at least one instance type in its Overrides."
        )
    if len(chosen) > MAX_OVERRIDES:
        raise ValidationError(
            f"A mixed instances policy may list at most {MAX_OVERRIDES} instance types."
        )
    seen: set[str] = set()
    for override in chosen:
        if override.instance_type not in INSTANCE_TYPES:
            raise ValidationError(
                f"The instance type {override.instance_type} in Overrides is not valid. Barista "
                f"offers: {', '.join(INSTANCE_TYPES)}."
            )
        if override.instance_type in seen:
            raise ValidationError(f"Duplicate instance type {override.instance_type} in Overrides.")
        seen.add(override.instance_type)
        weight = override.weighted_capacity
        if weight is not None and not 1 <= weight <= MAX_WEIGHT:
            raise ValidationError(
                f"WeightedCapacity of {override.instance_type} must be between 1 and {MAX_WEIGHT}."
            )
    weighted = [o.weighted_capacity is not None for o in chosen]
    if any(weighted) and not all(weighted):
        raise ValidationError(
            "WeightedCapacity must be specified for every instance type in Overrides or for none."
        )
    return MixedInstancesPolicy(chosen, distribution or InstancesDistribution())


def split(distribution: InstancesDistribution, desired: int) -> tuple[int, int]:
    """(On-Demand units, Spot units) for ``desired`` units, as AWS documents the split."""
    base = min(distribution.on_demand_base_capacity, desired)
    above = desired - base
    on_demand_above = math.ceil(above * distribution.on_demand_percentage_above_base_capacity / 100)
    return base + on_demand_above, above - on_demand_above


def units(policy: MixedInstancesPolicy, instances: Iterable[Instance]) -> Counter[Lifecycle]:
    """Units of capacity per market that ``instances`` provide."""
    counted: Counter[Lifecycle] = Counter({Lifecycle.ON_DEMAND: 0, Lifecycle.SPOT: 0})
    for instance in instances:
        counted[instance.lifecycle] += policy.weight_of(instance.instance_type)
    return counted


def on_demand_type(policy: MixedInstancesPolicy) -> str:
    """The instance type of the next On-Demand launch."""
    strategy = policy.instances_distribution.on_demand_allocation_strategy
    if strategy is OnDemandAllocationStrategy.LOWEST_PRICE:
        return min(
            policy.overrides,
            key=lambda o: float(on_demand_hourly(o.instance_type)) / o.weight,
        ).instance_type
    return policy.overrides[0].instance_type


@dataclass(frozen=True)
class SpotPool:
    """A candidate pool for one Spot launch: what the planner knows about it right now."""

    override: Override
    priority: int  # the override's position
    price: float  # per instance-hour
    room: int | None  # instances Barista may still launch there; None: unbounded
    members: int  # this group's Spot instances already there

    @property
    def unit_price(self) -> float:
        return self.price / self.override.weight


def spot_pools(
    policy: MixedInstancesPolicy,
    zone: str,
    market: Mapping[Pool, PoolState],
    members: Counter[str],
    launched: Counter[Pool],
) -> list[SpotPool]:
    """The pools of ``zone`` a Spot launch may use: room left, price within the maximum.

    ``members`` counts the group's Spot instances by type in the zone; ``launched`` what this
    pass has already decided to launch per pool (it uses room too)."""
    pools: list[SpotPool] = []
    for priority, override in enumerate(policy.overrides):
        pool = Pool(override.instance_type, zone)
        state = market.get(pool)
        if state is None:
            price = float(on_demand_hourly(override.instance_type))
            room = None
        else:
            price = state.price
            room = state.available - launched[pool]
        if room is not None and room <= 0:
            continue
        if price > policy.max_price(override.instance_type):
            continue
        pools.append(SpotPool(override, priority, price, room, members[override.instance_type]))
    return pools


def choose_spot_pool(policy: MixedInstancesPolicy, pools: Sequence[SpotPool]) -> SpotPool | None:
    """The pool the group's allocation strategy picks for the next Spot launch."""
    if not pools:
        return None
    distribution = policy.instances_distribution
    strategy = distribution.spot_allocation_strategy

    def room(pool: SpotPool) -> float:
        return math.inf if pool.room is None else pool.room

    if strategy is SpotAllocationStrategy.LOWEST_PRICE:
        cheapest = sorted(pools, key=lambda p: (p.unit_price, p.priority))
        chosen = cheapest[: distribution.spot_instance_pools]
        return min(chosen, key=lambda p: (p.members, p.unit_price, p.priority))
    if strategy is SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED:
        best = max(room(p) for p in pools)
        roomy = [p for p in pools if room(p) * 2 >= best]
        return min(roomy, key=lambda p: (p.unit_price, p.priority))
    return min(pools, key=lambda p: (-room(p), p.priority))


def mixed_from_raw(raw: Mapping[str, Any] | None) -> MixedInstancesPolicy | None:
    """A stored policy (``dataclasses.asdict``'s shape) read back."""
    if raw is None:
        return None
    distribution = dict(raw["instances_distribution"])
    return MixedInstancesPolicy(
        overrides=tuple(Override(**o) for o in raw["overrides"]),
        instances_distribution=InstancesDistribution(
            **{
                **distribution,
                "on_demand_allocation_strategy": OnDemandAllocationStrategy(
                    distribution["on_demand_allocation_strategy"]
                ),
                "spot_allocation_strategy": SpotAllocationStrategy(
                    distribution["spot_allocation_strategy"]
                ),
            }
        ),
    )
