"""Savings Plans hour by hour on a stated usage profile: coverage and utilization equal the
figures worked out by hand beside each assertion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.savings_plans import PlanType, SavingsPlan, Usage, apply_hour, apply_hours

D = Decimal
COMPUTE = SavingsPlan("sp-c", PlanType.COMPUTE, commitment=D("0.072"), discount=D("0.28"))


def test_a_plan_covers_up_to_its_commitment_and_the_rest_is_on_demand() -> None:
    # $0.072/h at 28 % off covers 0.072 / 0.72 = $0.10 of On-Demand usage. Usage $0.15:
    # covered 0.10, 0.05 On-Demand; the bill is 0.072 + 0.05 = 0.122 (not 0.15).
    bill = apply_hour([COMPUTE], [Usage("t3.large", D("0.15"))])
    assert bill.covered_on_demand == D("0.10")
    assert bill.on_demand_charges == D("0.05")
    assert bill.total == D("0.122")
    assert bill.coverage == D("0.10") / D("0.15")
    assert bill.utilization == 1


def test_unused_commitment_is_paid_and_lowers_utilization() -> None:
    # Usage $0.05 < what the plan covers: all covered, commitment used 0.05 x 0.72 = 0.036 of
    # 0.072 (utilization 50 %), bill 0.072.
    bill = apply_hour([COMPUTE], [Usage("t3.micro", D("0.05"))])
    assert (bill.coverage, bill.utilization, bill.total) == (1, D("0.5"), D("0.072"))


def test_ec2_instance_plans_first_and_only_their_family() -> None:
    instance_plan = SavingsPlan(
        "sp-i",
        PlanType.EC2_INSTANCE,
        commitment=D("0.0312"),
        discount=D("0.40"),
        instance_family="t3",
    )
    # The t3 plan ($0.0312 at 40 % off covers $0.052) takes the t3 usage first; Compute covers
    # the rest of the t3 usage (0.10 - 0.052 = 0.048, costing 0.048 x 0.72 = 0.03456 of its
    # 0.072), then m5 with the 0.03744 left: 0.03744 / 0.72 = 0.052 of it.
    bill = apply_hour(
        [COMPUTE, instance_plan], [Usage("t3.large", D("0.10")), Usage("m5.large", D("0.096"))]
    )
    assert bill.covered_on_demand == D("0.10") + D("0.052")
    assert bill.on_demand_charges == D("0.096") - D("0.052")
    assert bill.utilization == 1


def test_coverage_and_utilization_over_a_day_profile() -> None:
    # 24 hours: 12 busy hours of $0.20 usage, 12 quiet hours of $0.04.
    # Busy: covered 0.10 each (commitment used in full). Quiet: covered 0.04, used 0.0288.
    # Coverage = (12 x 0.10 + 12 x 0.04) / (12 x 0.20 + 12 x 0.04) = 1.68 / 2.88 = 0.5833…
    # Utilization = (12 x 0.072 + 12 x 0.0288) / (24 x 0.072) = 1.2096 / 1.728 = 0.7.
    hours = [[Usage("t3.large", D("0.20"))]] * 12 + [[Usage("t3.large", D("0.04"))]] * 12
    bills, coverage, utilization = apply_hours([COMPUTE], hours)
    assert len(bills) == 24
    assert coverage == D("1.68") / D("2.88")
    assert utilization == D("0.7")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SavingsPlan("x", PlanType.COMPUTE, D("1"), D("1.2")), "discount"),
        (lambda: SavingsPlan("x", PlanType.COMPUTE, D("0"), D("0.2")), "commitment"),
        (lambda: SavingsPlan("x", PlanType.EC2_INSTANCE, D("1"), D("0.2")), "family"),
    ],
)
def test_refused_plans(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
