"""EC2's Spot actions, mounted with the launch template actions under ``ec2``:
``DescribeSpotPriceHistory``, the market's price changes, newest first, with the price in
force at ``StartTime`` (``orchestrator.spot.operations``). Reclaiming a pool's capacity, which
AWS offers no action for, is a dashboard control (``orchestrator.dashboard.controls``).

The market's settings come from the ``BARISTA_SPOT_*`` variables (``MarketSettings``), the
time from the orchestrator's clock (the runtime's), so answers follow the scaled AWS time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._requests import Request, iso, parse, parse_time
from orchestrator.spot.model import PRODUCT_DESCRIPTION, MarketSettings
from orchestrator.spot.operations import (
    PriceHistoryQuery,
    backfill,
    describe_spot_price_history,
    known_pools,
)
from orchestrator.spot.store import PricePoint, SpotStore


class FilterRequest(Request):
    name: str = Field(min_length=1)
    values: list[str] = Field(default_factory=list)


class DescribeSpotPriceHistory(Request):
    start_time: str | None = None
    end_time: str | None = None
    instance_types: list[str] = Field(default_factory=list)
    product_descriptions: list[str] = Field(default_factory=list)
    availability_zone: str | None = None
    availability_zone_id: str | None = None
    filters: list[FilterRequest] = Field(default_factory=list)
    max_results: int | None = None
    next_token: str | None = None
    dry_run: bool | None = None


def describe_point(point: PricePoint) -> dict[str, Any]:
    """One ``SpotPrice`` entry as EC2 answers it."""
    return {
        "AvailabilityZone": point.pool.availability_zone,
        "InstanceType": point.pool.instance_type,
        "ProductDescription": PRODUCT_DESCRIPTION,
        "SpotPrice": f"{point.price:.6f}",
        "Timestamp": iso(point.timestamp),
    }


def spot_actions(context: ApiContext) -> dict[str, Action]:
    """The Spot actions over the store at ``context.store_path``."""
    settings = MarketSettings.from_environ(context.environ)

    def describe_history(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeSpotPriceHistory, params)
        now = context.runtime.now()
        query = PriceHistoryQuery(
            start_time=parse_time(request.start_time, "startTime") if request.start_time else None,
            end_time=parse_time(request.end_time, "endTime") if request.end_time else None,
            instance_types=request.instance_types,
            product_descriptions=request.product_descriptions,
            availability_zone=request.availability_zone or request.availability_zone_id,
            filters=[(f.name, f.values) for f in request.filters],
            max_results=request.max_results,
            next_token=request.next_token,
        )
        with SpotStore(context.store_path) as store:
            # Before the market's first pass there would be no history: make up its past.
            backfill(store, settings, known_pools(settings), now)
            page = describe_spot_price_history(store, query, now)
        answer: dict[str, Any] = {"SpotPriceHistory": [describe_point(p) for p in page.items]}
        answer["NextToken"] = page.next_token or ""
        return answer

    return {"DescribeSpotPriceHistory": describe_history}
