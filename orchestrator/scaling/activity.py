"""Scaling activities: the history DescribeScalingActivities shows, one per launch or terminate
of an Auto Scaling group's instance, or per change of a scalable target's capacity (an ECS
service's desired count, Application Auto Scaling's DescribeScalingActivities).

The *cause* text copies AWS's phrasing ("At …Z an instance was started in response to …") so a
reader who knows AWS recognises why each instance came or went.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum


class ActivityStatusCode(StrEnum):
    PENDING_SPOT_BID_PLACEMENT = "PendingSpotBidPlacement"
    PRE_IN_SERVICE = "PreInService"
    IN_PROGRESS = "InProgress"
    WAITING_FOR_ELB_CONNECTION_DRAINING = "WaitingForELBConnectionDraining"
    MID_LIFECYCLE_ACTION = "MidLifecycleAction"
    WAITING_FOR_INSTANCE_WARMUP = "WaitingForInstanceWarmup"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


@dataclass(frozen=True)
class Activity:
    """One entry of an activity history, named as DescribeScalingActivities names it.

    ``resource_id`` is what was scaled: an Auto Scaling group's name (EC2 Auto Scaling's
    AutoScalingGroupName) or a scalable target's resource id (Application Auto Scaling's
    ResourceId, ``service/<cluster>/<service>``). Each service keeps its own history.
    """

    activity_id: str
    resource_id: str
    description: str
    cause: str
    start_time: float
    status_code: ActivityStatusCode = ActivityStatusCode.IN_PROGRESS
    end_time: float | None = None
    status_message: str = ""
    progress: int = 0
    # The instance's zone, for the Details AWS answers ({"Subnet ID", "Availability Zone"});
    # None for activities that concern no instance, and for ones recorded before it was kept.
    availability_zone: str | None = None


def timestamp(now: float) -> str:
    """AWS's cause timestamps: UTC, second precision, ``Z`` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def activity_id(*parts: object) -> str:
    """A uuid-shaped id derived from what the activity is about, so a replan is reproducible."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
