"""The Spot market's operations: DescribeSpotPriceHistory, and reclaiming a pool's capacity.

Both run over :class:`SpotStore` at an AWS time ``now`` given by the caller (the
orchestrator's clock), so they are as deterministic as the market itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.errors import AwsError
from orchestrator.instance_types import INSTANCE_TYPES
from orchestrator.paging import Page, paginate
from orchestrator.spot.model import (
    DAY,
    PRODUCT_DESCRIPTION,
    MarketSettings,
    Pool,
    pool_state,
    step_of,
    step_start,
)
from orchestrator.spot.store import PricePoint, SpotStore

# How far back EC2 keeps Spot price history (and how far back a request may ask).
HISTORY_DAYS = 90
# How much history the market makes up for a pool it has not recorded yet: the day before.
BACKFILL_SECONDS = DAY
MAX_RESULTS = 1000
PRODUCT_DESCRIPTIONS = (PRODUCT_DESCRIPTION, f"{PRODUCT_DESCRIPTION} (Amazon VPC)")
FILTERS = ("availability-zone", "instance-type", "product-description")


def known_pools(settings: MarketSettings, zones: Iterable[str] = ()) -> list[Pool]:
    """Every instance type Barista offers in the settings' zones and ``zones``."""
    all_zones = dict.fromkeys([*settings.zones, *zones])
    return [Pool(t, z) for z in all_zones for t in INSTANCE_TYPES]


def backfill(store: SpotStore, settings: MarketSettings, pools: Iterable[Pool], now: float) -> None:
    """Give each pool with no recorded price the model's prices for the day before ``now``
    (with no Barista instance in it, since none ran there), so the history is never empty."""
    recorded = store.latest_prices()
    first = step_of(settings, now - BACKFILL_SECONDS)
    last = step_of(settings, now)
    points: list[tuple[Pool, float, float]] = []
    for pool in pools:
        if pool in recorded:
            continue
        previous: float | None = None
        for step in range(first, last + 1):
            value = pool_state(settings, pool, step).price
            if value != previous:
                points.append(
                    (pool, max(step_start(settings, step), now - BACKFILL_SECONDS), value)
                )
                previous = value
    if points:
        store.record_prices(points)


@dataclass(frozen=True)
class PriceHistoryQuery:
    """DescribeSpotPriceHistory's parameters, already parsed (times in epoch seconds)."""

    start_time: float | None = None
    end_time: float | None = None
    instance_types: Sequence[str] = ()
    product_descriptions: Sequence[str] = ()
    availability_zone: str | None = None
    filters: Sequence[tuple[str, Sequence[str]]] = ()
    max_results: int | None = None
    next_token: str | None = None


def _refuse_token(token: str | None) -> AwsError:
    return AwsError("InvalidNextToken", f"The token '{token}' is invalid.")


def _check(query: PriceHistoryQuery, now: float) -> None:
    for name in query.instance_types:
        if name not in INSTANCE_TYPES:
            raise AwsError(
                "InvalidParameterValue",
                f"Invalid value '{name}' for InstanceType. Barista knows: "
                f"{', '.join(INSTANCE_TYPES)}.",
            )
    for name, _ in query.filters:
        if name not in FILTERS:
            raise AwsError(
                "InvalidParameterValue",
                f"The filter '{name}' is invalid. Barista filters on: {', '.join(FILTERS)}.",
            )
    if query.max_results is not None and not 1 <= query.max_results <= MAX_RESULTS:
        raise AwsError(
            "InvalidParameterValue",
            f"Value ( {query.max_results} ) for parameter maxResults is invalid. Expecting a "
            f"value between 1 and {MAX_RESULTS}.",
        )
    start = query.start_time
    end = query.end_time
    if start is not None and end is not None and start > end:
        raise AwsError(
            "InvalidParameterValue", "The StartTime parameter must be earlier than the EndTime."
        )
    if start is not None and start < now - HISTORY_DAYS * DAY:
        raise AwsError(
            "InvalidParameterValue",
            f"The StartTime parameter may be at most {HISTORY_DAYS} days in the past.",
        )


def _wanted(query: PriceHistoryQuery) -> tuple[set[str] | None, set[str] | None, bool]:
    """The instance types and zones asked for (None: all) and whether Linux is asked for."""
    types = set(query.instance_types) or None
    zones = {query.availability_zone} if query.availability_zone else None
    products = set(query.product_descriptions)
    for name, values in query.filters:
        chosen = set(values)
        if name == "instance-type":
            types = chosen if types is None else types & chosen
        elif name == "availability-zone":
            zones = chosen if zones is None else zones & chosen
        else:
            products = chosen if not products else products & chosen
    linux = not products or bool(products & set(PRODUCT_DESCRIPTIONS))
    return types, zones, linux


def describe_spot_price_history(
    store: SpotStore, query: PriceHistoryQuery, now: float
) -> Page[PricePoint]:
    """EC2's answer: every price change in [StartTime, EndTime], plus for each pool the
    change in force at StartTime (EC2 returns it so the first price is known), newest first.
    Without StartTime the answer starts at the oldest kept point; EndTime defaults to now."""
    _check(query, now)
    start = query.start_time if query.start_time is not None else now - HISTORY_DAYS * DAY
    end = query.end_time if query.end_time is not None else now
    types, zones, linux = _wanted(query)
    points = [
        p
        for p in store.price_history(start, min(end, now))
        if linux
        and (types is None or p.pool.instance_type in types)
        and (zones is None or p.pool.availability_zone in zones)
    ]
    return paginate(
        "spot-price-history",
        points,
        lambda p: [p.timestamp, p.pool.instance_type, p.pool.availability_zone],
        query.max_results or MAX_RESULTS,
        query.next_token,
        lambda: _refuse_token(query.next_token),
        descending=True,
    )


def reclaim_capacity(store: SpotStore, settings: MarketSettings, pool: Pool, now: float) -> float:
    """Take a pool's free capacity away now (the demo's "reclaim capacity"): every Barista
    Spot instance in it is interrupted by the market's next pass, and no Spot launch goes
    there until the returned time (``reclaim_duration`` later)."""
    if pool.instance_type not in INSTANCE_TYPES:
        raise AwsError(
            "InvalidParameterValue",
            f"Invalid value '{pool.instance_type}' for InstanceType. Barista knows: "
            f"{', '.join(INSTANCE_TYPES)}.",
        )
    if not pool.availability_zone:
        raise AwsError("InvalidParameterValue", "AvailabilityZone must not be empty.")
    until = now + settings.reclaim_duration
    store.reclaim(pool, until)
    return until
