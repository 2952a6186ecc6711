"""Cost Explorer over what Barista's instances ran: ``GetCostAndUsage``,
``GetSavingsPlansCoverage`` and ``GetSavingsPlansUtilization``, on ``POST /api/ce/…`` and the
AWS front door (JSON 1.1, ``AWSInsightsIndexService``).

The runs are the Spot market's records (``SpotStore.runs``: each instance from launch to stop,
On-Demand or Spot); the plans the ones ``BARISTA_SAVINGS_PLANS`` declares
(``orchestrator.savings_plan_settings``); ``orchestrator.cost_lines`` prices them hour by hour
(the same line items the dashboard's cost panel sums). ``TimePeriod`` is AWS's (``Start``
inclusive, ``End`` exclusive, ``YYYY-MM-DD`` or, for ``HOURLY``, ``YYYY-MM-DDThh:00:00Z``) on
the orchestrator's AWS clock.

- GetCostAndUsage: ``Granularity`` ``DAILY``, ``MONTHLY`` or ``HOURLY``; ``Metrics``
  ``UnblendedCost`` and ``BlendedCost`` (usage at list price: On-Demand or Spot, whether a plan
  covered it or not), ``AmortizedCost`` and ``NetAmortizedCost`` (with the plans: covered usage
  at their rates plus unused commitment) and ``UsageQuantity`` (instance-hours); ``GroupBy`` up
  to two, of ``DIMENSION`` ``PURCHASE_TYPE`` (``On Demand Instances``, ``Spot Instances``,
  ``Savings Plans``) or ``INSTANCE_TYPE``, or ``TAG`` ``aws:autoscaling:groupName``.
- GetSavingsPlansCoverage: per ``DAILY`` or ``MONTHLY`` period (default MONTHLY), the
  On-Demand-eligible spend (Spot is not) at On-Demand prices, covered and not.
- GetSavingsPlansUtilization: per period and in total, the commitment owed, used and unused,
  the On-Demand value of what it covered and the net savings; DataUnavailableException when
  no plan is declared, as AWS answers an account without plans.

``Filter`` is refused. A period that reaches past now is ``Estimated``; one that starts before
the billing horizon (the current month and the 13 before it, ``billing.RETENTION_MONTHS``,
as far back as AWS's Cost Explorer answers) is refused, naming the first date it answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._requests import Request, parse
from orchestrator.billing import RETENTION_MONTHS, retention_horizon
from orchestrator.cost_lines import HOUR_SECONDS, HourCost, LineItem, hour_costs
from orchestrator.errors import AwsError, ValidationError
from orchestrator.savings_plan_settings import plans_from_environ
from orchestrator.savings_plans import SavingsPlan
from orchestrator.spot.store import SpotStore

SERVICE = "ce"
METRICS = ("UnblendedCost", "BlendedCost", "AmortizedCost", "NetAmortizedCost", "UsageQuantity")
COVERAGE_METRICS = ("SpendCoveredBySavingsPlans",)
GROUP_TAG = "aws:autoscaling:groupName"


class DateInterval(Request):
    start: str
    end: str


class GroupDefinition(Request):
    type: str
    key: str


class GetSavingsPlansReport(Request):
    """GetSavingsPlansCoverage's and GetSavingsPlansUtilization's members Barista reads."""

    time_period: DateInterval
    granularity: str = "MONTHLY"
    group_by: list[GroupDefinition] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    filter: dict[str, Any] | None = None
    sort_by: dict[str, Any] | None = None
    next_token: str | None = None
    max_results: int | None = Field(default=None, ge=1)


class GetCostAndUsage(Request):
    time_period: DateInterval
    granularity: str
    metrics: list[str] = Field(min_length=1)
    group_by: list[GroupDefinition] = Field(default_factory=list, max_length=2)
    filter: dict[str, Any] | None = None
    next_page_token: str | None = None


def _moment(text: str, member: str) -> datetime:
    try:
        if "T" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise AwsError(
            "ValidationException", f"{member} '{text}' is not a date (YYYY-MM-DD)."
        ) from None


def _periods(
    start: datetime, end: datetime, granularity: str
) -> Iterator[tuple[datetime, datetime]]:
    at = start
    while at < end:
        if granularity == "HOURLY":
            step = at + timedelta(hours=1)
        elif granularity == "DAILY":
            step = at + timedelta(days=1)
        else:
            step = (at.replace(day=1) + timedelta(days=32)).replace(day=1)
        yield at, min(step, end)
        at = step


def _text(moment: datetime, granularity: str) -> str:
    if granularity == "HOURLY":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%d")


def _key_of(group: GroupDefinition) -> Callable[[LineItem, Mapping[str, str]], str]:
    if group.type == "DIMENSION" and group.key == "PURCHASE_TYPE":
        return lambda item, _: item.purchase_type
    if group.type == "DIMENSION" and group.key == "INSTANCE_TYPE":
        return lambda item, _: item.instance_type or "NoInstanceType"
    if group.type == "TAG" and group.key == GROUP_TAG:
        return lambda item, groups: (
            f"{GROUP_TAG}${groups.get(item.run.instance_id, '') if item.run else ''}"
        )
    raise AwsError(
        "ValidationException",
        f"GroupBy {group.type} {group.key} is not supported: Barista groups by DIMENSION "
        f"PURCHASE_TYPE or INSTANCE_TYPE, or TAG {GROUP_TAG}.",
    )


def _money(amount: Decimal) -> str:
    return f"{amount:.10f}".rstrip("0").rstrip(".") or "0"


def _percent(part: Decimal, whole: Decimal) -> str:
    return _money(part * 100 / whole) if whole else "0"


class _Sums:
    """One group's sums over a period."""

    def __init__(self) -> None:
        self.unblended = Decimal(0)
        self.amortized = Decimal(0)
        self.hours = Decimal(0)

    def add(self, item: LineItem) -> None:
        self.unblended += item.unblended
        self.amortized += item.amortized
        self.hours += item.usage_hours

    def metrics(self, names: list[str]) -> dict[str, Any]:
        values = {
            "UnblendedCost": self.unblended,
            "BlendedCost": self.unblended,
            "AmortizedCost": self.amortized,
            "NetAmortizedCost": self.amortized,
        }
        return {
            name: (
                {"Amount": str(self.hours.normalize()), "Unit": "Hrs"}
                if name == "UsageQuantity"
                else {"Amount": _money(values[name]), "Unit": "USD"}
            )
            for name in names
        }


def _period_bounds(
    period: DateInterval, granularity: str, allowed: tuple[str, ...]
) -> tuple[datetime, datetime]:
    if granularity not in allowed:
        raise AwsError(
            "ValidationException",
            f"Granularity '{granularity}' is not one of {', '.join(allowed)}.",
        )
    start = _moment(period.start, "TimePeriod.Start")
    end = _moment(period.end, "TimePeriod.End")
    if start >= end:
        raise AwsError("ValidationException", "Start date must be before End date.")
    for moment, member in ((start, "Start"), (end, "End")):
        if moment.timestamp() % HOUR_SECONDS:
            raise AwsError(
                "ValidationException", f"TimePeriod.{member} must fall on the hour (hh:00:00Z)."
            )
    return start, end


def _within_horizon(start: datetime, now: float) -> None:
    horizon = retention_horizon(now)
    if start.timestamp() < horizon:
        since = datetime.fromtimestamp(horizon, UTC).strftime("%Y-%m-%d")
        raise AwsError(
            "ValidationException",
            f"TimePeriod.Start is too old: Cost Explorer answers from {since} "
            f"({RETENTION_MONTHS} months before this month).",
        )


def _plans(context: ApiContext) -> list[SavingsPlan]:
    try:
        return plans_from_environ(context.environ)
    except ValidationError as error:
        raise AwsError("DataUnavailableException", error.message) from None


def _hours(
    store_path: Path, plans: list[SavingsPlan], start: datetime, end: datetime, now: float
) -> list[HourCost]:
    _within_horizon(start, now)
    with SpotStore(store_path) as store:
        runs = store.runs()
        histories = store.histories()
    return hour_costs(runs, histories, plans, start.timestamp(), end.timestamp(), now)


def _split(
    hours: list[HourCost], start: datetime, end: datetime, granularity: str
) -> Iterator[tuple[datetime, datetime, list[HourCost]]]:
    for low, high in _periods(start, end, granularity):
        a, b = low.timestamp(), high.timestamp()
        yield low, high, [h for h in hours if a <= h.start < b]


def _refuse_unsupported(request: GetSavingsPlansReport) -> None:
    if request.filter is not None:
        raise AwsError("ValidationException", "Barista does not support Filter.")
    if request.group_by:
        raise AwsError("ValidationException", "Barista does not support GroupBy here.")
    if request.next_token is not None:
        raise AwsError("InvalidNextTokenException", "The NextToken is invalid.")


def actions(context: ApiContext) -> dict[str, Action]:
    """Cost Explorer's actions Barista serves."""

    def get_cost_and_usage(params: Params) -> Mapping[str, Any]:
        request = parse(GetCostAndUsage, params)
        unknown = [m for m in request.metrics if m not in METRICS]
        if unknown:
            raise AwsError(
                "ValidationException",
                f"Metrics {unknown} are not supported; Barista answers {', '.join(METRICS)}.",
            )
        if request.filter is not None:
            raise AwsError("ValidationException", "Barista does not support Filter.")
        if request.next_page_token is not None:
            raise AwsError("InvalidNextTokenException", "The NextPageToken is invalid.")
        start, end = _period_bounds(
            request.time_period, request.granularity, ("DAILY", "MONTHLY", "HOURLY")
        )
        keys = [_key_of(g) for g in request.group_by]
        now = context.runtime.now()
        groups = {i.instance_id: i.group for i in context.runtime.instances()}
        hours = _hours(context.store_path, _plans(context), start, end, now)
        results = []
        for low, high, inside in _split(hours, start, end, request.granularity):
            total = _Sums()
            grouped: dict[tuple[str, ...], _Sums] = {}
            for hour in inside:
                for item in hour.items:
                    total.add(item)
                    grouped.setdefault(tuple(k(item, groups) for k in keys), _Sums()).add(item)
            results.append(
                {
                    "TimePeriod": {
                        "Start": _text(low, request.granularity),
                        "End": _text(high, request.granularity),
                    },
                    "Total": {} if keys else total.metrics(request.metrics),
                    "Groups": [
                        {"Keys": list(k), "Metrics": sums.metrics(request.metrics)}
                        for k, sums in sorted(grouped.items())
                    ]
                    if keys
                    else [],
                    "Estimated": high.timestamp() > now,
                }
            )
        return {
            "GroupDefinitions": [{"Type": g.type, "Key": g.key} for g in request.group_by],
            "ResultsByTime": results,
            "DimensionValueAttributes": [],
        }

    def get_savings_plans_coverage(params: Params) -> Mapping[str, Any]:
        request = parse(GetSavingsPlansReport, params)
        _refuse_unsupported(request)
        unknown = [m for m in request.metrics if m not in COVERAGE_METRICS]
        if unknown:
            raise AwsError(
                "ValidationException",
                f"Metrics {unknown}: coverage has SpendCoveredBySavingsPlans.",
            )
        start, end = _period_bounds(request.time_period, request.granularity, ("DAILY", "MONTHLY"))
        hours = _hours(context.store_path, _plans(context), start, end, context.runtime.now())
        coverages = []
        for low, high, inside in _split(hours, start, end, request.granularity):
            covered = sum((h.plans.covered_on_demand for h in inside), Decimal(0))
            eligible = sum((h.plans.eligible_on_demand for h in inside), Decimal(0))
            coverages.append(
                {
                    "Attributes": {},
                    "Coverage": {
                        "SpendCoveredBySavingsPlans": _money(covered),
                        "OnDemandCost": _money(eligible - covered),
                        "TotalCost": _money(eligible),
                        "CoveragePercentage": _percent(covered, eligible),
                    },
                    "TimePeriod": {"Start": _text(low, "DAILY"), "End": _text(high, "DAILY")},
                }
            )
        return {"SavingsPlansCoverages": coverages}

    def get_savings_plans_utilization(params: Params) -> Mapping[str, Any]:
        request = parse(GetSavingsPlansReport, params)
        _refuse_unsupported(request)
        if request.metrics:
            raise AwsError("ValidationException", "Utilization takes no Metrics.")
        plans = _plans(context)
        if not plans:
            raise AwsError(
                "DataUnavailableException",
                "No Savings Plans: declare them in BARISTA_SAVINGS_PLANS (docs/purchasing.md).",
            )
        upfront = {p.plan_id: p.upfront_share for p in plans}
        start, end = _period_bounds(request.time_period, request.granularity, ("DAILY", "MONTHLY"))
        hours = _hours(context.store_path, plans, start, end, context.runtime.now())

        def report(inside: list[HourCost]) -> dict[str, Any]:
            owed = sum((h.plans.commitment for h in inside), Decimal(0))
            used = sum((h.plans.used_commitment for h in inside), Decimal(0))
            covered = sum((h.plans.covered_on_demand for h in inside), Decimal(0))
            ahead = sum(
                (o * upfront[i] for h in inside for i, o, _ in h.plans.used_by_plan), Decimal(0)
            )
            return {
                "Utilization": {
                    "TotalCommitment": _money(owed),
                    "UsedCommitment": _money(used),
                    "UnusedCommitment": _money(owed - used),
                    "UtilizationPercentage": _percent(used, owed),
                },
                "Savings": {
                    "NetSavings": _money(covered - owed),
                    "OnDemandCostEquivalent": _money(covered),
                },
                "AmortizedCommitment": {
                    "AmortizedRecurringCommitment": _money(owed - ahead),
                    "AmortizedUpfrontCommitment": _money(ahead),
                    "TotalAmortizedCommitment": _money(owed),
                },
            }

        return {
            "SavingsPlansUtilizationsByTime": [
                {"TimePeriod": {"Start": _text(low, "DAILY"), "End": _text(high, "DAILY")}}
                | report(inside)
                for low, high, inside in _split(hours, start, end, request.granularity)
            ],
            "Total": report(hours),
        }

    return {
        "GetCostAndUsage": get_cost_and_usage,
        "GetSavingsPlansCoverage": get_savings_plans_coverage,
        "GetSavingsPlansUtilization": get_savings_plans_utilization,
    }
