"""The Spot market's model: what a pool holds, who else uses it, and what that does to price.

A *pool* is one instance type in one Availability Zone, as in EC2. Each has a fixed
``capacity`` (instances of that type the zone can run). Other customers (the *background*)
use part of it; Barista's own Spot instances use more. What drives the market:

- **background demand** at step ``k`` (one step every ``price_interval`` seconds of AWS
  time) is ``demand + demand_swing * sin(2 pi t / 1 day + phase) + noise * u``, a share of
  capacity: a daily rhythm whose ``phase`` differs per pool, plus jitter ``u`` in
  [-1, 1). ``phase`` and ``u`` are hashes of the seed, the pool and ``k``, so the whole
  history is a pure function of the seed: two markets with one seed agree, a restarted
  orchestrator recomputes the same past, and no random state is kept anywhere;
- **price** follows utilisation ``rho = (background + Barista's) / capacity`` (capped at 1):
  ``on_demand * (floor + (1 - floor) * rho**2)``. An idle pool costs ``floor`` of the On-Demand
  price (0.3: AWS's typical 70 % discount), a full one the On-Demand price, the cap AWS
  applies;
- **capacity runs out** when the background leaves fewer free instances than Barista runs:
  the newest of Barista's Spot instances beyond what is free are interrupted, and no new Spot
  launch is placed there. A *reclaim* (the "reclaim capacity" control) sets a pool's free
  capacity to zero for ``reclaim_duration`` seconds, interrupting every Barista instance in it;
- a **rebalance recommendation** comes first for instances in a pool whose free capacity is
  down to ``rebalance_headroom`` instances or fewer: elevated risk, not an interruption yet.

All the numbers are :class:`MarketSettings`, read from ``BARISTA_SPOT_*`` settings.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from orchestrator.errors import ValidationError
from orchestrator.price_list import on_demand_hourly

DAY = 86_400.0
PRODUCT_DESCRIPTION = "Linux/UNIX"
PRICE_DECIMALS = 6  # DescribeSpotPriceHistory answers prices like "0.003100"


class Pool(NamedTuple):
    """One Spot capacity pool: an instance type in an Availability Zone."""

    instance_type: str
    availability_zone: str


@dataclass(frozen=True)
class MarketSettings:
    """The market's knobs (``BARISTA_SPOT_<NAME>``); durations in AWS seconds."""

    seed: int = 0
    price_interval: float = 300.0
    pool_capacity: int = 12
    demand: float = 0.55
    demand_swing: float = 0.2
    noise: float = 0.05
    floor: float = 0.3
    rebalance_headroom: int = 1
    reclaim_duration: float = 600.0
    # Zones whose pools exist before any group uses them (the demo's, by default).
    zones: tuple[str, ...] = ("az-a", "az-b")

    def __post_init__(self) -> None:
        problems = []
        if self.price_interval <= 0:
            problems.append("BARISTA_SPOT_PRICE_INTERVAL must be positive")
        if self.pool_capacity < 1:
            problems.append("BARISTA_SPOT_POOL_CAPACITY must be at least 1")
        if not 0 <= self.floor <= 1:
            problems.append("BARISTA_SPOT_FLOOR must lie in [0, 1]")
        for name in ("demand", "demand_swing", "noise"):
            if getattr(self, name) < 0:
                problems.append(f"BARISTA_SPOT_{name.upper()} must not be negative")
        if self.rebalance_headroom < 0 or self.reclaim_duration < 0:
            problems.append(
                "BARISTA_SPOT_REBALANCE_HEADROOM and _RECLAIM_DURATION must not be negative"
            )
        if problems:
            raise ValidationError("; ".join(problems) + ".")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MarketSettings:
        """The settings in ``environ`` (a ``.env`` merged with the process's), defaults else.

        A value that does not parse is refused with the variable's name."""
        defaults = cls()
        values: dict[str, object] = {}
        for name, default in vars(defaults).items():
            raw = environ.get(f"BARISTA_SPOT_{name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                if isinstance(default, tuple):
                    values[name] = tuple(z.strip() for z in raw.split(",") if z.strip())
                else:
                    values[name] = type(default)(raw)
            except ValueError:
                raise ValidationError(
                    f"BARISTA_SPOT_{name.upper()}={raw!r} is not a valid {type(default).__name__}."
                ) from None
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PoolState:
    """A pool at one step: its price and how much of it is free for Barista."""

    pool: Pool
    step: int
    price: float
    capacity: int
    background: int  # instances other customers run
    used: int  # Barista's Spot instances in it
    reclaimed: bool = False

    @property
    def free(self) -> int:
        """Instances Barista may run here in all (its own included)."""
        return 0 if self.reclaimed else max(0, self.capacity - self.background)

    @property
    def available(self) -> int:
        """Instances Barista may still launch here."""
        return max(0, self.free - self.used)

    @property
    def over(self) -> int:
        """How many of Barista's instances here must go: more run than the pool has free."""
        return max(0, self.used - self.free)


def _unit(seed: int, *parts: object) -> float:
    """A number in [0, 1) that depends only on the seed and ``parts``."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def step_of(settings: MarketSettings, now: float) -> int:
    """The price step that ``now`` (AWS seconds since the epoch) falls in."""
    return math.floor(now / settings.price_interval)


def step_start(settings: MarketSettings, step: int) -> float:
    return step * settings.price_interval


def background(settings: MarketSettings, pool: Pool, step: int) -> int:
    """Instances other customers run in ``pool`` during ``step`` (never negative)."""
    phase = 2 * math.pi * _unit(settings.seed, "phase", *pool)
    t = step_start(settings, step)
    jitter = 2 * _unit(settings.seed, "noise", *pool, step) - 1
    share = (
        settings.demand
        + settings.demand_swing * math.sin(2 * math.pi * t / DAY + phase)
        + settings.noise * jitter
    )
    return max(0, round(share * settings.pool_capacity))


def price(settings: MarketSettings, pool: Pool, utilisation: float) -> float:
    """The Spot price at a utilisation: between ``floor`` and 1 times the On-Demand price."""
    rho = min(1.0, max(0.0, utilisation))
    on_demand = float(on_demand_hourly(pool.instance_type))
    return round(on_demand * (settings.floor + (1 - settings.floor) * rho**2), PRICE_DECIMALS)


def pool_state(
    settings: MarketSettings, pool: Pool, step: int, used: int = 0, reclaimed: bool = False
) -> PoolState:
    """The pool during ``step`` with ``used`` of Barista's Spot instances in it."""
    others = background(settings, pool, step)
    rho = 1.0 if reclaimed else (others + used) / settings.pool_capacity
    return PoolState(
        pool=pool,
        step=step,
        price=price(settings, pool, rho),
        capacity=settings.pool_capacity,
        background=others,
        used=used,
        reclaimed=reclaimed,
    )


def at_risk(settings: MarketSettings, state: PoolState) -> bool:
    """Whether instances in the pool get a rebalance recommendation: free capacity is low."""
    return state.used > 0 and state.free - state.used <= settings.rebalance_headroom
