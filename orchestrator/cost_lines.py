"""What the instances cost, hour by hour on the AWS clock, as line items: the one computation
Cost Explorer's answers (``orchestrator.api.ce``) and the dashboard's cost panel both sum, so
the two cannot disagree.

Each clock hour ``[h, h + 3600)`` (up to now for the hour not over yet):

- every run's charge in the hour comes from ``orchestrator.billing`` (per second, the
  60-second minimum counted from its start, Spot at each second's pool price);
- the Savings Plans in force (one declared without a start: from the first run's hour)
  apply to the hour's On-Demand usage (``orchestrator.savings_plans``: EC2 Instance plans
  first, then the higher discount), each plan's commitment scaled to the part of the hour it
  spans (so the current hour owes what has accrued);
- a run's covered part becomes a ``Savings Plans`` item, the rest an ``On Demand Instances``
  item; Spot runs are ``Spot Instances`` items, never covered; a plan's commitment not used
  in the hour is an item of its own (``Savings Plans``, no instance type, no usage).

Metrics, as Cost Explorer names them: ``unblended`` is the usage at its list price (On-Demand
or Spot: what the hour would cost with no plan); ``amortized`` is what the hour costs with the
plans (covered usage at the plans' rates, unused commitment, the rest at list price), the
same whatever the payment option (upfront fees spread evenly over the term);
``on_demand_equivalent`` is the usage at On-Demand list prices, Spot included (what the run
would have cost had it all been On-Demand).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from orchestrator.billing import HOUR, PurchaseOption, Run, billed_seconds, charge_within
from orchestrator.price_list import on_demand_hourly
from orchestrator.savings_plans import HourBill, SavingsPlan, Usage, apply_hour

SAVINGS_PLANS = "Savings Plans"  # Cost Explorer's PURCHASE_TYPE for plan-covered usage
HOUR_SECONDS = 3600

Histories = Mapping[tuple[str, str], Sequence[tuple[float, float]]]


@dataclass(frozen=True)
class LineItem:
    """One run's part of one hour, or one hour's unused commitment (``run`` None)."""

    hour: float  # the clock hour's start, AWS seconds
    purchase_type: str  # "On Demand Instances", "Spot Instances" or "Savings Plans"
    run: Run | None
    unblended: Decimal
    amortized: Decimal
    on_demand_equivalent: Decimal
    usage_hours: Decimal

    @property
    def instance_type(self) -> str | None:
        return None if self.run is None else self.run.instance_type


@dataclass(frozen=True)
class HourCost:
    """One clock hour: its line items and how the plans did in it."""

    start: float
    items: tuple[LineItem, ...]
    plans: HourBill


def hour_floor(at: float) -> float:
    return math.floor(at / HOUR_SECONDS) * HOUR_SECONDS


def _billed_end(run: Run, now: float) -> float:
    end = run.end if run.end is not None else now
    return run.start + billed_seconds(run.start, end)


def _seconds_within(run: Run, low: float, high: float, now: float) -> float:
    return max(0.0, min(high, _billed_end(run, now)) - max(low, run.start))


def hour_cost(
    runs: Sequence[Run],
    histories: Histories,
    plans: Sequence[SavingsPlan],
    start: float,
    now: float,
) -> HourCost:
    """The clock hour starting at ``start``; ``runs`` may hold runs outside it (skipped)."""
    end = start + HOUR_SECONDS
    items: list[LineItem] = []
    on_demand: list[tuple[Run, Decimal, Decimal]] = []  # run, charge, usage hours
    for run in runs:
        seconds = _seconds_within(run, start, end, now)
        if seconds <= 0:
            continue
        hours = Decimal(str(seconds)) / HOUR
        charge = charge_within(run, start, end, now, histories)
        if run.purchase_option is PurchaseOption.SPOT:
            list_price = on_demand_hourly(run.instance_type) * hours
            items.append(
                LineItem(start, PurchaseOption.SPOT.value, run, charge, charge, list_price, hours)
            )
        else:
            on_demand.append((run, charge, hours))
    accrued_until = min(end, max(start, now))
    shares = {p.plan_id: p.share_of(start, accrued_until) for p in plans}
    active = [p for p in plans if shares[p.plan_id] > 0]
    bill = apply_hour(
        active, [Usage(run.instance_type, charge) for run, charge, _ in on_demand], shares
    )
    for (run, charge, hours), covered in zip(on_demand, bill.items, strict=True):
        rest = charge - covered.on_demand
        if rest > 0:
            share = rest / charge
            items.append(
                LineItem(
                    start, PurchaseOption.ON_DEMAND.value, run, rest, rest, rest, hours * share
                )
            )
        if covered.on_demand > 0:
            share = covered.on_demand / charge
            items.append(
                LineItem(
                    start,
                    SAVINGS_PLANS,
                    run,
                    covered.on_demand,
                    covered.effective,
                    covered.on_demand,
                    hours * share,
                )
            )
    if active:
        unused = bill.unused_commitment
        items.append(
            LineItem(start, SAVINGS_PLANS, None, Decimal(0), unused, Decimal(0), Decimal(0))
        )
    return HourCost(start, tuple(items), bill)


def in_force_from_first_run(plans: Sequence[SavingsPlan], runs: Sequence[Run]) -> list[SavingsPlan]:
    """Plans declared without a start are in force from the hour of the first run on record
    (none while there is none): a commitment is not owed for hours before Barista ran."""
    if not runs:
        return [p for p in plans if p.start is not None]
    since = hour_floor(min(r.start for r in runs))
    return [p if p.start is not None else replace(p, start=since) for p in plans]


def hour_costs(
    runs: Sequence[Run],
    histories: Histories,
    plans: Sequence[SavingsPlan],
    low: float,
    high: float,
    now: float,
) -> list[HourCost]:
    """Every clock hour from ``low`` (on the hour) until ``high`` or now, whichever is first;
    hours after now have cost nothing yet and are left out."""
    if low % HOUR_SECONDS:
        raise ValueError(f"hours start on the hour, not at {low}")
    plans = in_force_from_first_run(plans, runs)
    relevant = sorted(
        (r for r in runs if r.start < high and _billed_end(r, now) > low), key=lambda r: r.start
    )
    costs = []
    at = low
    while at < high and at < now:
        here = [r for r in relevant if r.start < at + HOUR_SECONDS and _billed_end(r, now) > at]
        if here or any(p.share_of(at, min(at + HOUR_SECONDS, now)) > 0 for p in plans):
            costs.append(hour_cost(here, histories, plans, at, now))
        at += HOUR_SECONDS
    return costs
