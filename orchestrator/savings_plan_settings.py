"""The Savings Plans a user holds, declared in the orchestrator's settings:
``BARISTA_SAVINGS_PLANS``, a JSON list of plans in the shape AWS's Savings Plans API describes
them (``DescribeSavingsPlans``' ``savingsPlans`` members, camelCase as that API spells them),
plus one member of Barista's own, ``discount``.

Why settings and not ``aws savingsplans create-savings-plan``: AWS serves that API in the
rest-json protocol, which the front door does not speak, and buying a plan there means
choosing an offering from ``DescribeSavingsPlansOfferings`` with a rate per instance type,
term and payment option: a rate card Barista does not ship. So a plan is declared with the
one rate it gets (``discount``, the share off the On-Demand price), and docs/purchasing.md
lists this as a difference from AWS.

Members (``*`` required)::

    savingsPlanType*       "Compute" or "EC2Instance"
    commitment*            dollars per hour, a decimal string ("0.02")
    discount*              share off the On-Demand price, in (0, 1): "0.28" for 28 % off
    ec2InstanceFamily      EC2Instance plans only, and required there ("t3")
    savingsPlanId          default "sp-barista-<n>" (n from 1, in list order)
    start                  ISO 8601 time on the AWS clock; default: in force for all usage
    termDurationInSeconds  31536000 (1 year, default) or 94608000 (3 years)
    paymentOption          "No Upfront" (default), "Partial Upfront" or "All Upfront"
    upfrontPaymentAmount   Partial Upfront only: dollars paid upfront for the whole term
    region                 "us-east-1" (the price list's region; the only one accepted)

A bad value stops the orchestrator at start with a message naming the plan and the member,
as every other setting does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from orchestrator.arns import REGION
from orchestrator.errors import ValidationError
from orchestrator.savings_plans import PlanType, SavingsPlan

VARIABLE = "BARISTA_SAVINGS_PLANS"
TERMS = (31_536_000, 94_608_000)


class PlanDeclaration(BaseModel):
    """One plan as the setting declares it (AWS's member names)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    savings_plan_type: Literal["Compute", "EC2Instance"] = Field(alias="savingsPlanType")
    commitment: str
    discount: str
    ec2_instance_family: str | None = Field(default=None, alias="ec2InstanceFamily")
    savings_plan_id: str | None = Field(default=None, alias="savingsPlanId", min_length=1)
    start: datetime | None = None
    term_duration_in_seconds: int = Field(default=TERMS[0], alias="termDurationInSeconds")
    payment_option: Literal["No Upfront", "Partial Upfront", "All Upfront"] = Field(
        default="No Upfront", alias="paymentOption"
    )
    upfront_payment_amount: str | None = Field(default=None, alias="upfrontPaymentAmount")
    region: str = REGION


def _decimal(value: str, where: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"{where}={value!r} is not a decimal number.") from None
    if not number.is_finite():
        raise ValidationError(f"{where}={value!r} is not a finite number.")
    return number


def _plan(index: int, declared: PlanDeclaration) -> SavingsPlan:
    where = f"{VARIABLE}[{index}]"
    if declared.term_duration_in_seconds not in TERMS:
        raise ValidationError(
            f"{where}.termDurationInSeconds must be 31536000 (1 year) or 94608000 (3 years)."
        )
    if declared.region != REGION:
        raise ValidationError(f"{where}.region {declared.region!r}: Barista prices {REGION} only.")
    commitment = _decimal(declared.commitment, f"{where}.commitment")
    discount = _decimal(declared.discount, f"{where}.discount")
    if commitment <= 0:
        raise ValidationError(f"{where}.commitment must be a positive amount per hour.")
    if not Decimal(0) < discount < Decimal(1):
        raise ValidationError(f"{where}.discount must lie between 0 and 1 (0.28: 28 % off).")
    family = declared.ec2_instance_family
    if (declared.savings_plan_type == "EC2Instance") != (family is not None):
        raise ValidationError(
            f"{where}.ec2InstanceFamily is required for an EC2Instance plan and refused for "
            "a Compute plan."
        )
    total = commitment * declared.term_duration_in_seconds / 3600
    if declared.payment_option == "Partial Upfront":
        if declared.upfront_payment_amount is None:
            raise ValidationError(f"{where}.upfrontPaymentAmount is required for Partial Upfront.")
        upfront = _decimal(declared.upfront_payment_amount, f"{where}.upfrontPaymentAmount")
        if not Decimal(0) < upfront < total:
            raise ValidationError(
                f"{where}.upfrontPaymentAmount must lie between 0 and the term's commitment "
                f"({total})."
            )
        upfront_share = upfront / total
    elif declared.upfront_payment_amount is not None:
        raise ValidationError(f"{where}.upfrontPaymentAmount is for Partial Upfront plans only.")
    else:
        upfront_share = Decimal(1 if declared.payment_option == "All Upfront" else 0)
    start = (
        None
        if declared.start is None
        else (declared.start.replace(tzinfo=declared.start.tzinfo or UTC)).timestamp()
    )
    return SavingsPlan(
        plan_id=declared.savings_plan_id or f"sp-barista-{index + 1}",
        plan_type=PlanType(declared.savings_plan_type),
        commitment=commitment,
        discount=discount,
        instance_family=family,
        start=start,
        end=None if start is None else start + declared.term_duration_in_seconds,
        upfront_share=upfront_share,
    )


def plans_from_environ(environ: Mapping[str, str]) -> list[SavingsPlan]:
    """The plans ``BARISTA_SAVINGS_PLANS`` declares (none when unset or empty)."""
    raw = environ.get(VARIABLE, "").strip()
    if not raw:
        return []
    try:
        document: Any = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValidationError(f"{VARIABLE} is not JSON: {error.msg}.") from None
    if not isinstance(document, list):
        raise ValidationError(f"{VARIABLE} must be a JSON list of plans.")
    plans = []
    for index, item in enumerate(document):
        try:
            declared = PlanDeclaration.model_validate(item)
        except PydanticError as error:
            first = error.errors()[0]
            member = ".".join(str(part) for part in first["loc"])
            raise ValidationError(
                f"{VARIABLE}[{index}].{member}: {first['msg']}."
                if member
                else f"{VARIABLE}[{index}]: {first['msg']}."
            ) from None
        plans.append(_plan(index, declared))
    ids = [p.plan_id for p in plans]
    if len(set(ids)) != len(ids):
        raise ValidationError(f"{VARIABLE}: two plans have the same savingsPlanId.")
    return plans
