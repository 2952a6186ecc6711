"""EC2's Spot market as Barista runs it: pools per instance type and zone whose price moves
with demand and whose capacity can run out, the price history DescribeSpotPriceHistory
answers, and the notices (rebalance recommendation, two-minute interruption) that reach an
instance through its metadata endpoint before the market stops it.

The model is ``model.py`` (and docs/spot.md); the records ``store.py``; the actions
``operations.py``; the loop ``controller.py``. Auto Scaling buys from it (``orchestrator.asg``'s
mixed instances policy) and reads its notices; the market never imports Auto Scaling.
"""

from __future__ import annotations

from orchestrator.spot.model import MarketSettings, Pool, PoolState, pool_state
from orchestrator.spot.notices import INTERRUPTION_NOTICE_SECONDS, Notice, NoticeKind
from orchestrator.spot.store import PricePoint, SpotStore

__all__ = [
    "INTERRUPTION_NOTICE_SECONDS",
    "MarketSettings",
    "Notice",
    "NoticeKind",
    "Pool",
    "PoolState",
    "PricePoint",
    "SpotStore",
    "pool_state",
]
