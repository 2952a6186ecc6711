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

**Coverage** is the share of eligible On-Demand spend (at On-Demand prices) that plans covered;
**utilization** the share of the commitment used. Pure functions over a usage profile, so a
test can state the profile and the expected figures by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
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

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.discount < Decimal(1):
            raise ValueError(f"a discount is a share in [0, 1), not {self.discount}")
        if self.commitment <= 0:
            raise ValueError("a commitment is a positive number of dollars per hour")
        if (self.plan_type is PlanType.EC2_INSTANCE) != (self.instance_family is not None):
            raise ValueError("an EC2 Instance plan names one instance family; Compute none")

    def covers(self, instance_type: str) -> bool:
        family = instance_type.partition(".")[0]
        return self.instance_family is None or family == self.instance_family


@dataclass(frozen=True)
class Usage:
    """One hour's On-Demand usage of an instance type, at its On-Demand price."""

    instance_type: str
    on_demand_cost: Decimal


@dataclass(frozen=True)
class HourBill:
    covered_on_demand: Decimal  # On-Demand value of the usage plans covered
    plan_charges: Decimal  # the commitments, used or not
    on_demand_charges: Decimal  # the uncovered usage, at On-Demand prices
    eligible_on_demand: Decimal  # all On-Demand usage, at On-Demand prices
    commitment: Decimal
    used_commitment: Decimal

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


def apply_hour(plans: Sequence[SavingsPlan], usage: Sequence[Usage]) -> HourBill:
    """One hour's bill: plans in AWS's order (EC2 Instance first, then the higher discount),
    each covering the usage it may until its commitment is spent."""
    remaining = {index: item.on_demand_cost for index, item in enumerate(usage)}
    covered = Decimal(0)
    used = Decimal(0)
    order = sorted(
        plans, key=lambda p: (p.plan_type is not PlanType.EC2_INSTANCE, -p.discount, p.plan_id)
    )
    for plan in order:
        budget = plan.commitment
        for index, item in enumerate(usage):
            if budget <= 0:
                break
            left = remaining[index]
            if left <= 0 or not plan.covers(item.instance_type):
                continue
            rate = 1 - plan.discount
            take = min(left, budget / rate)
            remaining[index] = left - take
            covered += take
            budget -= take * rate
        used += plan.commitment - budget
    eligible = sum((u.on_demand_cost for u in usage), Decimal(0))
    commitment = sum((p.commitment for p in plans), Decimal(0))
    return HourBill(
        covered_on_demand=covered,
        plan_charges=commitment,
        on_demand_charges=eligible - covered,
        eligible_on_demand=eligible,
        commitment=commitment,
        used_commitment=used,
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
