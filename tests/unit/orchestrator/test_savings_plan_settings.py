"""``BARISTA_SAVINGS_PLANS``: plans declared in AWS's member names become plans the bill
applies; a bad declaration is refused naming the plan and the member."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orchestrator.errors import ValidationError
from orchestrator.savings_plan_settings import plans_from_environ
from orchestrator.savings_plans import PlanType, SavingsPlan, Usage, apply_hour


def _plans(*declared: dict[str, object]) -> list[SavingsPlan]:
    return plans_from_environ({"BARISTA_SAVINGS_PLANS": json.dumps(list(declared))})


def test_declared_plans_with_defaults() -> None:
    compute, instance = _plans(
        {"savingsPlanType": "Compute", "commitment": "0.05", "discount": "0.28"},
        {
            "savingsPlanType": "EC2Instance",
            "ec2InstanceFamily": "t3",
            "commitment": "0.02",
            "discount": "0.4",
            "start": "2026-12-01T00:00:00Z",
            "termDurationInSeconds": 94608000,
            "paymentOption": "Partial Upfront",
            "upfrontPaymentAmount": "262.8",  # half of 0.02 x 26280 h
        },
    )
    assert (compute.plan_id, compute.plan_type, compute.start, compute.end) == (
        "sp-barista-1",
        PlanType.COMPUTE,
        None,
        None,
    )
    assert compute.upfront_share == 0
    start = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert (instance.plan_id, instance.instance_family, instance.start) == (
        "sp-barista-2",
        "t3",
        start,
    )
    assert instance.end == start + 94608000
    assert instance.upfront_share == Decimal("0.5")
    assert plans_from_environ({}) == []


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"savingsPlanType": "Compute", "commitment": "0.05"}, r"\[0\]\.discount"),
        ({"savingsPlanType": "SageMaker", "commitment": "1", "discount": "0.1"}, "savingsPlanType"),
        ({"savingsPlanType": "Compute", "commitment": "-1", "discount": "0.1"}, "commitment"),
        ({"savingsPlanType": "Compute", "commitment": "x", "discount": "0.1"}, "commitment"),
        ({"savingsPlanType": "Compute", "commitment": "1", "discount": "1.5"}, "discount"),
        (
            {"savingsPlanType": "EC2Instance", "commitment": "1", "discount": "0.1"},
            "ec2InstanceFamily",
        ),
        (
            {
                "savingsPlanType": "Compute",
                "commitment": "1",
                "discount": "0.1",
                "region": "eu-west-1",
            },
            "region",
        ),
        (
            {
                "savingsPlanType": "Compute",
                "commitment": "1",
                "discount": "0.1",
                "termDurationInSeconds": 5,
            },
            "termDurationInSeconds",
        ),
        (
            {
                "savingsPlanType": "Compute",
                "commitment": "1",
                "discount": "0.1",
                "paymentOption": "Partial Upfront",
            },
            "upfrontPaymentAmount",
        ),
        ({"savingsPlanType": "Compute", "commitment": "1", "discount": "0.1", "rate": "1"}, "rate"),
    ],
)
def test_bad_declarations_name_the_member(declared: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _plans(declared)


def test_not_a_list_and_duplicate_ids() -> None:
    with pytest.raises(ValidationError, match="JSON"):
        plans_from_environ({"BARISTA_SAVINGS_PLANS": "[{"})
    plan = {
        "savingsPlanId": "sp-1",
        "savingsPlanType": "Compute",
        "commitment": "1",
        "discount": "0.1",
    }
    with pytest.raises(ValidationError, match="same savingsPlanId"):
        _plans(plan, plan)


def test_a_plan_owes_the_share_of_the_hour_it_spans() -> None:
    # In force from 00:30: the 00:00 hour owes half its commitment, $0.036 of $0.072, which
    # covers 0.036 / 0.72 = $0.05 of the $0.15 usage.
    plan = SavingsPlan("sp", PlanType.COMPUTE, Decimal("0.072"), Decimal("0.28"), start=1800.0)
    assert plan.share_of(0, 3600) == Decimal("0.5")
    bill = apply_hour([plan], [Usage("t3.large", Decimal("0.15"))], {"sp": plan.share_of(0, 3600)})
    assert bill.commitment == Decimal("0.036")
    assert bill.covered_on_demand == Decimal("0.05")
    assert bill.items[0].effective == Decimal("0.036")
    assert plan.share_of(-3600, 0) == 0
