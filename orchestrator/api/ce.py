"""Cost Explorer's ``GetCostAndUsage`` over what Barista's instances ran: ``POST /api/ce/…``
and the AWS front door (JSON 1.1, ``AWSInsightsIndexService``).

The runs are the Spot market's records (``SpotStore.runs``: each instance from launch to stop,
On-Demand or Spot), priced by ``orchestrator.billing`` (per second, 60 s minimum, the list
price or each second's pool price). ``TimePeriod`` is AWS's (``Start`` inclusive, ``End``
exclusive, ``YYYY-MM-DD`` or, for ``HOURLY``, ``YYYY-MM-DDThh:mm:ssZ``) on the orchestrator's
AWS clock; ``Granularity`` ``DAILY``, ``MONTHLY`` or ``HOURLY``; ``Metrics`` ``UnblendedCost``,
``BlendedCost``, ``AmortizedCost`` (all the same here: no Savings Plans yet) and
``UsageQuantity`` (instance-hours); ``GroupBy`` up to two, of ``DIMENSION`` ``PURCHASE_TYPE``
or ``INSTANCE_TYPE``, or ``TAG`` ``aws:autoscaling:groupName``. ``Filter`` is refused.
A period that reaches past now is ``Estimated``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._requests import Request, parse
from orchestrator.billing import HOUR, Run, billed_seconds, charge_within
from orchestrator.errors import AwsError
from orchestrator.spot.store import SpotStore

SERVICE = "ce"
METRICS = ("UnblendedCost", "BlendedCost", "AmortizedCost", "UsageQuantity")
GROUP_TAG = "aws:autoscaling:groupName"


class DateInterval(Request):
    start: str
    end: str


class GroupDefinition(Request):
    type: str
    key: str


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


def _key_of(group: GroupDefinition) -> Callable[[Run, Mapping[str, str]], str]:
    if group.type == "DIMENSION" and group.key == "PURCHASE_TYPE":
        return lambda run, _: run.purchase_option.value
    if group.type == "DIMENSION" and group.key == "INSTANCE_TYPE":
        return lambda run, _: run.instance_type
    if group.type == "TAG" and group.key == GROUP_TAG:
        return lambda run, groups: f"{GROUP_TAG}${groups.get(run.instance_id, '')}"
    raise AwsError(
        "ValidationException",
        f"GroupBy {group.type} {group.key} is not supported: Barista groups by DIMENSION "
        f"PURCHASE_TYPE or INSTANCE_TYPE, or TAG {GROUP_TAG}.",
    )


def _amounts(cost: Decimal, hours: Decimal, metrics: list[str]) -> dict[str, Any]:
    return {
        m: (
            {"Amount": str(hours.normalize()), "Unit": "Hrs"}
            if m == "UsageQuantity"
            else {"Amount": f"{cost:.10f}".rstrip("0").rstrip(".") or "0", "Unit": "USD"}
        )
        for m in metrics
    }


def actions(context: ApiContext) -> dict[str, Action]:
    """Cost Explorer's one action Barista serves."""

    def get_cost_and_usage(params: Params) -> Mapping[str, Any]:
        request = parse(GetCostAndUsage, params)
        if request.granularity not in ("DAILY", "MONTHLY", "HOURLY"):
            raise AwsError(
                "ValidationException",
                f"Granularity '{request.granularity}' is not one of DAILY, MONTHLY, HOURLY.",
            )
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
        start = _moment(request.time_period.start, "TimePeriod.Start")
        end = _moment(request.time_period.end, "TimePeriod.End")
        if start >= end:
            raise AwsError("ValidationException", "Start date must be before End date.")
        keys = [_key_of(g) for g in request.group_by]
        now = context.runtime.now()
        groups = {i.instance_id: i.group for i in context.runtime.instances()}
        with SpotStore(context.store_path) as store:
            runs = store.runs()
            histories = store.histories()
        results = []
        for low, high in _periods(start, end, request.granularity):
            a, b = low.timestamp(), high.timestamp()
            total_cost, total_hours = Decimal(0), Decimal(0)
            grouped: dict[tuple[str, ...], tuple[Decimal, Decimal]] = {}
            for run in runs:
                cost = charge_within(run, a, b, now, histories)
                end_at = run.end if run.end is not None else now
                billed_end = run.start + billed_seconds(run.start, end_at)
                seconds = max(0.0, min(b, billed_end) - max(a, run.start))
                hours = Decimal(str(seconds)) / HOUR
                if seconds <= 0:
                    continue
                total_cost += cost
                total_hours += hours
                key = tuple(k(run, groups) for k in keys)
                before = grouped.get(key, (Decimal(0), Decimal(0)))
                grouped[key] = (before[0] + cost, before[1] + hours)
            result: dict[str, Any] = {
                "TimePeriod": {
                    "Start": _text(low, request.granularity),
                    "End": _text(high, request.granularity),
                },
                "Total": {} if keys else _amounts(total_cost, total_hours, request.metrics),
                "Groups": [
                    {"Keys": list(k), "Metrics": _amounts(c, h, request.metrics)}
                    for k, (c, h) in sorted(grouped.items())
                ]
                if keys
                else [],
                "Estimated": b > now,
            }
            results.append(result)
        return {
            "GroupDefinitions": [{"Type": g.type, "Key": g.key} for g in request.group_by],
            "ResultsByTime": results,
            "DimensionValueAttributes": [],
        }

    return {"GetCostAndUsage": get_cost_and_usage}
