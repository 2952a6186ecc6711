"""What EC2 tells a Spot instance about its future: a rebalance recommendation, then an
interruption notice two minutes before the instance is stopped.

A notice is a record in the spot store, keyed by instance id; the instance-metadata endpoint
serves it (``spot/instance-action``, ``events/recommendations/rebalance``), Auto Scaling reads
it (``CapacityRebalance``, the activity history) and the market's controller stops the
instance at ``action_time``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# AWS's warning: an interrupted Spot instance is stopped two minutes after the notice.
INTERRUPTION_NOTICE_SECONDS = 120.0


class NoticeKind(StrEnum):
    REBALANCE = "rebalance"
    INTERRUPTION = "interruption"


@dataclass(frozen=True)
class Notice:
    """One instance's notice; an interruption replaces a rebalance recommendation (the
    recommendation's time is kept, as the metadata service keeps answering it)."""

    instance_id: str
    group: str
    instance_type: str
    availability_zone: str
    kind: NoticeKind
    noticed_at: float  # AWS seconds since the epoch
    # The interruption's stop time; None for a recommendation only.
    action_time: float | None = None
    rebalance_at: float | None = None
    reason: str = ""
    # Set once the market has stopped the instance.
    stopped: bool = False

    @property
    def interrupted(self) -> bool:
        return self.kind is NoticeKind.INTERRUPTION
