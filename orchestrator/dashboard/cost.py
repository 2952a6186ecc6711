"""The dashboard's cost panel: spend per hour on the AWS clock, split On-Demand / Spot /
covered by a Savings Plan, and what the same hours would have cost had every instance been
On-Demand.

``GET /dashboard/cost`` (a session, like ``/dashboard/state``) answers the last
:data:`HOURS` clock hours, the current one so far. The figures are sums of
``orchestrator.cost_lines``' line items, the same items Cost Explorer sums, with Cost
Explorer's amortized view: ``on_demand``, ``spot`` and ``savings_plans`` are the
``AmortizedCost`` of the ``On Demand Instances``, ``Spot Instances`` and ``Savings Plans``
purchase types (a plan's part is its covered usage at the plan's rate plus its unused
commitment), so ``barista ce get-cost-and-usage --granularity HOURLY --metrics AmortizedCost
--group-by Type=DIMENSION,Key=PURCHASE_TYPE`` over the same hours gives the same numbers.
``all_on_demand`` is every instance-hour at the On-Demand list price.

A panel of its own (this module, ``static/cost.js`` and one section of the page) so the
snapshot the page polls every second does not carry it: the cost of an hour changes slowly,
and the page asks for it every few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from orchestrator.api import ApiContext
from orchestrator.billing import PurchaseOption
from orchestrator.cost_lines import HOUR_SECONDS, SAVINGS_PLANS, HourCost, hour_costs, hour_floor
from orchestrator.dashboard.access import Refusal, check_session
from orchestrator.errors import ValidationError
from orchestrator.savings_plan_settings import plans_from_environ
from orchestrator.spot.store import SpotStore

HOURS = 12
COLUMNS = {
    PurchaseOption.ON_DEMAND.value: "on_demand",
    PurchaseOption.SPOT.value: "spot",
    SAVINGS_PLANS: "savings_plans",
}


def _money(amount: Decimal) -> str:
    return f"{amount:.10f}".rstrip("0").rstrip(".") or "0"


def _row(start: float, hour: HourCost | None) -> dict[str, Any]:
    sums = dict.fromkeys([*COLUMNS.values(), "total", "all_on_demand"], Decimal(0))
    for item in hour.items if hour is not None else ():
        sums[COLUMNS[item.purchase_type]] += item.amortized
        sums["total"] += item.amortized
        sums["all_on_demand"] += item.on_demand_equivalent
    return {
        "start": datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{name: _money(value) for name, value in sums.items()},
    }


def cost_panel(context: ApiContext, hours: int = HOURS) -> dict[str, Any]:
    """The panel's figures: one row per clock hour (oldest first), and their sums."""
    now = context.runtime.now()
    first = hour_floor(now) - (hours - 1) * HOUR_SECONDS
    try:
        plans = plans_from_environ(context.environ)
    except ValidationError:
        plans = []  # the orchestrator refuses a bad declaration at start
    with SpotStore(context.store_path) as store:
        runs = store.runs()
        histories = store.histories()
    found = {h.start: h for h in hour_costs(runs, histories, plans, first, now + 1, now)}
    rows = [
        _row(first + i * HOUR_SECONDS, found.get(first + i * HOUR_SECONDS)) for i in range(hours)
    ]
    totals = {
        name: _money(sum((Decimal(row[name]) for row in rows), Decimal(0)))
        for name in [*COLUMNS.values(), "total", "all_on_demand"]
    }
    return {"now": now, "plans": [p.plan_id for p in plans], "hours": rows, "totals": totals}


def cost_routes(context: ApiContext, wall: Callable[[], float]) -> list[BaseRoute]:
    """``GET /dashboard/cost``."""

    async def cost(request: Request) -> JSONResponse:
        try:
            check_session(request, context.credentials, wall())
        except Refusal as refusal:
            return refusal.response()
        answer = await run_in_threadpool(cost_panel, context)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return [Route("/dashboard/cost", cost, methods=["GET"])]
