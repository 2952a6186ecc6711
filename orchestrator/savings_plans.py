"""Savings Plans applied hour by hour, as AWS documents it: a commitment in dollars per hour
buys usage at a discount; in each hour the plans cover eligible On-Demand usage, highest
discount first, until the commitment is spent; the rest is billed On-Demand.

- An **EC2 Instance Savings Plan** covers one instance family (``t3``) in its region; a
  **Compute Savings Plan** any family. Where both could cover, EC2 Instance plans apply first
  (they give the larger discount, and AWS applies plans in that order).
- A plan's ``discount`` is the share off the On-Demand price (0.28: 28 % off). AWS publishes a
  rate per instance type, term and payment option; here each plan has one rate, which the
  caller supplies (Barista ships no rate card), so within a plan usage is covered in the
  order given.
- Spot usage is never covered (AWS does not apply Savings Plans to Spot).
- The commitment is spent in discounted dollars: covering $1.00 of On-Demand usage with a 28 %
  plan uses $0.72 of the hour's commitment. An hour's unused commitment is still paid.

A plan is in force from ``start`` to ``end`` (AWS seconds; None: without limit). In an hour
it only partly spans, or an hour not over yet, its commitment is the matching share of the
hourly one (``apply_hour``'s ``shares``), so an hour's bill is what has accrued so far.

**Coverage** is the share of eligible On-Demand spend (at On-Demand prices) that plans covered;
**utilization** the share of the commitment used. Pure functions over a usage profile, so a
test can state the profile and the expected figures by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class PlanType(StrEnum):
    COMPUTE = "Compute"
    EC2_INSTANCE = "EC2Instance"


@dataclass(frozen=True)
class SavingsPlan:
    plan_id: str
    plan_type: PlanType
    commitment: Decimal  # dollars per hour
    discount: Decimal  # share off the On-Demand price, 0 to 1
    instance_family: str | None = None  # EC2 Instance plans only
    start: float | None = None  # in force from (AWS seconds); None: always
    end: float | None = None  # in force until (exclusive); None: no end
    upfront_share: Decimal = Decimal(0)  # of the commitment, paid upfront (amortized)

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.discount < Decimal(1):
            raise ValueError(f"a discount is a share in [0, 1), not {self.discount}")
        if self.commitment <= 0:
            raise ValueError("a commitment is a positive number of dollars per hour")
        if (self.plan_type is PlanType.EC2_INSTANCE) != (self.instance_family is not None):
            raise ValueError("an EC2 Instance plan names one instance family; Compute none")
        if not Decimal(0) <= self.upfront_share <= Decimal(1):
            raise ValueError(f"an upfront share lies in [0, 1], not {self.upfront_share}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("a plan's end comes after its start")

    def share_of(self, low: float, high: float) -> Decimal:
        """The share of an hour's commitment owed for [low, high): the part of it the plan is
        in force, over 3600 seconds."""
        a = low if self.start is None else max(low, self.start)
        b = high if self.end is None else min(high, self.end)
        return Decimal(str(max(0.0, b - a))) / 3600

    def covers(self, instance_type: str) -> bool:
        family = instance_type.partition(".")[0]
        return self.instance_family is None or family == self.instance_family


@dataclass(frozen=True)
class Usage:
    """One hour's On-Demand usage of an instance type, at its On-Demand price."""

    instance_type: str
    on_demand_cost: Decimal


@dataclass(frozen=True)
class Covered:
    """What plans covered of one usage item: its On-Demand value, and what that cost at the
    plans' rates (the commitment it used)."""

    on_demand: Decimal
    effective: Decimal


@dataclass(frozen=True)
class HourBill:
    covered_on_demand: Decimal  # On-Demand value of the usage plans covered
    plan_charges: Decimal  # the commitments, used or not
    on_demand_charges: Decimal  # the uncovered usage, at On-Demand prices
    eligible_on_demand: Decimal  # all On-Demand usage, at On-Demand prices
    commitment: Decimal
    used_commitment: Decimal
    items: tuple[Covered, ...] = ()  # per usage item, in the order given
    used_by_plan: tuple[tuple[str, Decimal, Decimal], ...] = ()  # (plan id, commitment, used)

    @property
    def unused_commitment(self) -> Decimal:
        return self.commitment - self.used_commitment

    @property
    def total(self) -> Decimal:
        return self.plan_charges + self.on_demand_charges

    @property
    def coverage(self) -> Decimal:
        if not self.eligible_on_demand:
            return Decimal(0)
        return self.covered_on_demand / self.eligible_on_demand

    @property
    def utilization(self) -> Decimal:
        return self.used_commitment / self.commitment if self.commitment else Decimal(0)


def apply_hour(
    plans: Sequence[SavingsPlan],
    usage: Sequence[Usage],
    shares: Mapping[str, Decimal] | None = None,
) -> HourBill:
    """One hour's bill: plans in AWS's order (EC2 Instance first, then the higher discount),
    each covering the usage it may until its commitment is spent. ``shares`` (plan id →
    0..1, default 1) scales a plan's commitment for an hour it only partly spans."""
    remaining = [item.on_demand_cost for item in usage]
    covered_od = [Decimal(0)] * len(usage)
    effective = [Decimal(0)] * len(usage)
    per_plan: list[tuple[str, Decimal, Decimal]] = []
    order = sorted(
        plans, key=lambda p: (p.plan_type is not PlanType.EC2_INSTANCE, -p.discount, p.plan_id)
    )
    for plan in order:
        owed = plan.commitment * (shares.get(plan.plan_id, 1) if shares is not None else 1)
        budget = owed
        for index, item in enumerate(usage):
            if budget <= 0:
                break
            left = remaining[index]
            if left <= 0 or not plan.covers(item.instance_type):
                continue
            rate = 1 - plan.discount
            take = min(left, budget / rate)
            remaining[index] = left - take
            covered_od[index] += take
            effective[index] += take * rate
            budget -= take * rate
        per_plan.append((plan.plan_id, owed, owed - budget))
    eligible = sum((u.on_demand_cost for u in usage), Decimal(0))
    covered = sum(covered_od, Decimal(0))
    commitment = sum((owed for _, owed, _ in per_plan), Decimal(0))
    return HourBill(
        covered_on_demand=covered,
        plan_charges=commitment,
        on_demand_charges=eligible - covered,
        eligible_on_demand=eligible,
        commitment=commitment,
        used_commitment=sum((used for _, _, used in per_plan), Decimal(0)),
        items=tuple(Covered(c, e) for c, e in zip(covered_od, effective, strict=True)),
        used_by_plan=tuple(per_plan),
    )


def apply_hours(
    plans: Sequence[SavingsPlan], hours: Sequence[Sequence[Usage]]
) -> tuple[list[HourBill], Decimal, Decimal]:
    """Every hour's bill, and coverage and utilization over the whole profile."""
    bills = [apply_hour(plans, hour) for hour in hours]
    eligible = sum((b.eligible_on_demand for b in bills), Decimal(0))
    covered = sum((b.covered_on_demand for b in bills), Decimal(0))
    commitment = sum((b.commitment for b in bills), Decimal(0))
    used = sum((b.used_commitment for b in bills), Decimal(0))
    coverage = covered / eligible if eligible else Decimal(0)
    utilization = used / commitment if commitment else Decimal(0)
    return bills, coverage, utilization
