"""What an instance's run costs, as EC2 bills Linux instances: per second, with a 60-second
minimum, at the On-Demand list price (``orchestrator.price_list``) or at the Spot price of its
pool while it ran.

A Spot instance pays the price in force during each second it runs: the pool's price history
(``(time, price)`` changes, as the Spot market records them) is integrated over the run, so a
price change halfway through an hour bills each half at its own price. The minimum applies to
the run as a whole: a run shorter than a minute is billed as one minute, at the prices in
force from its start.

Every time is AWS time (the orchestrator's clock), in seconds since the epoch; amounts are
``Decimal`` US dollars, unrounded (Cost Explorer rounds for display only).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from orchestrator.price_list import on_demand_hourly

MINIMUM_BILLED_SECONDS = 60
HOUR = Decimal(3600)
# Cost Explorer answers about the current month and the 13 before it; Barista keeps the
# records of runs that ended since then, and forgets older ones (``retention_horizon``).
RETENTION_MONTHS = 13


class PurchaseOption(StrEnum):
    """Cost Explorer's PURCHASE_TYPE values for the two markets Barista runs."""

    ON_DEMAND = "On Demand Instances"
    SPOT = "Spot Instances"


@dataclass(frozen=True)
class Run:
    """One instance from launch to stop; ``end`` None while it still runs."""

    instance_id: str
    instance_type: str
    availability_zone: str
    purchase_option: PurchaseOption
    start: float
    end: float | None = None


def billed_seconds(start: float, end: float) -> int:
    """Whole seconds billed for a run from ``start`` to ``end``: rounded up, at least 60."""
    if end < start:
        raise ValueError(f"a run cannot end ({end}) before it starts ({start})")
    return max(MINIMUM_BILLED_SECONDS, math.ceil(end - start))


def on_demand_cost(instance_type: str, start: float, end: float) -> Decimal:
    """The On-Demand price of a run: hourly list price x billed seconds / 3600."""
    return on_demand_hourly(instance_type) * billed_seconds(start, end) / HOUR


def _integrate(history: Sequence[tuple[float, float]], low: float, high: float) -> Decimal:
    """Dollars for [low, high) at the hourly prices of ``history`` (changes, oldest first)."""
    total = Decimal(0)
    # Start at the change in force at ``low``: a long history is not walked from its start.
    first = max(0, bisect_right(history, low, key=lambda point: point[0]) - 1)
    for index in range(first, len(history)):
        since, price = history[index]
        if since >= high:
            break
        until = history[index + 1][0] if index + 1 < len(history) else math.inf
        a, b = max(since, low), min(until, high)
        if b > a:
            total += Decimal(str(price)) * Decimal(str(b - a)) / HOUR
    return total


def spot_cost(history: Sequence[tuple[float, float]], start: float, end: float) -> Decimal:
    """A Spot run's price: each billed second at the pool's price in force then.

    ``history`` is the pool's price changes, oldest first; the first must be in force at
    ``start`` (at or before it), as DescribeSpotPriceHistory gives the price in force at its
    StartTime."""
    if not history or history[0][0] > start:
        raise ValueError("the price history must cover the run's start")
    return _integrate(history, start, start + billed_seconds(start, end))


def cost_of(
    run: Run, now: float, spot_histories: Mapping[tuple[str, str], Sequence[tuple[float, float]]]
) -> Decimal:
    """A run's cost so far (to ``now`` if still running); Spot runs read their pool's history,
    keyed by (instance type, zone)."""
    end = run.end if run.end is not None else now
    if run.purchase_option is PurchaseOption.SPOT:
        history = spot_histories[(run.instance_type, run.availability_zone)]
        return spot_cost(history, run.start, end)
    return on_demand_cost(run.instance_type, run.start, end)


def charge_within(
    run: Run,
    low: float,
    high: float,
    now: float,
    spot_histories: Mapping[tuple[str, str], Sequence[tuple[float, float]]],
) -> Decimal:
    """What ``run`` costs within [low, high): its billed seconds (the minute minimum counted
    from its start) that fall in the window, at the prices in force then. Summed over
    adjacent windows it is the run's whole cost, which is how Cost Explorer splits a run
    across days or hours."""
    end = run.end if run.end is not None else now
    billed_end = run.start + billed_seconds(run.start, end)
    a, b = max(low, run.start), min(high, billed_end)
    if b <= a:
        return Decimal(0)
    if run.purchase_option is PurchaseOption.SPOT:
        history = spot_histories.get((run.instance_type, run.availability_zone), ())
        return _integrate(history, a, b)
    return on_demand_hourly(run.instance_type) * Decimal(str(b - a)) / HOUR


def retention_horizon(now: float) -> float:
    """The earliest time Cost Explorer can be asked about at ``now``: the first day (00:00
    UTC) of the month :data:`RETENTION_MONTHS` months before ``now``'s month. A run that ended
    before it counts in no period one can ask for, so its record may go."""
    today = datetime.fromtimestamp(now, UTC)
    months = today.year * 12 + today.month - 1 - RETENTION_MONTHS
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC).timestamp()


def by_purchase_option(costs: Iterable[tuple[PurchaseOption, Decimal]]) -> dict[str, Decimal]:
    """Cost Explorer's grouping: total per purchase option (both present, even at zero)."""
    totals = {option.value: Decimal(0) for option in PurchaseOption}
    for option, amount in costs:
        totals[option.value] += amount
    return totals
