"""What the warm-pool tests ask about one group: of the orchestrator, its warm pool's and its
instances' lifecycle states (through the API, as a user's tools would); of Docker, an
instance's container."""

from __future__ import annotations

from typing import Any

from tests.support.orchestrator import group_containers


def warm_states(api: Any, group: str) -> dict[str, str]:
    """Instance id -> lifecycle state of the group's warm pool (DescribeWarmPool)."""
    described = api.call("autoscaling", "DescribeWarmPool", {"AutoScalingGroupName": group})
    return {i["InstanceId"]: i["LifecycleState"] for i in described["Instances"]}


def group_states(api: Any, group: str) -> dict[str, str]:
    """Instance id -> lifecycle state of the group's own instances."""
    (described,) = api.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [group]}
    )["AutoScalingGroups"]
    return {i["InstanceId"]: i["LifecycleState"] for i in described["Instances"]}


def container_of(group: str, instance_id: str) -> Any:
    """The instance's container, whatever its state."""
    return next(
        c for c in group_containers(group) if c.labels["barista.instance-id"] == instance_id
    )
