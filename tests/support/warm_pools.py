"""What the warm-pool tests ask about one group: of the orchestrator, its warm pool's and its
instances' lifecycle states (through the API, as a user's tools would); of Docker, an
instance's container."""

from __future__ import annotations

from typing import Any

from tests.support.containers import stable_image
from tests.support.orchestrator import group_containers


def put_warm_barista_group(
    api: Any, group: str, network: str, environment: dict[str, str], pool_state: str
) -> None:
    """Through the API, as a user would: a launch template of baristas, an empty group of up
    to 2 in one zone, and a warm pool of one barista in ``pool_state``."""
    api.call(
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": group,
            "LaunchTemplateData": {
                "ImageId": stable_image("service"),
                "BaristaContainer": {
                    "Command": ["serve", "barista"],
                    "Environment": environment,
                    "Network": network,
                    "StopTimeout": 5,
                },
            },
        },
    )
    api.call(
        "autoscaling",
        "CreateAutoScalingGroup",
        {
            "AutoScalingGroupName": group,
            "LaunchTemplate": {"LaunchTemplateName": group},
            "AvailabilityZones": ["az-a"],
            "MinSize": 0,
            "MaxSize": 2,
            "DesiredCapacity": 0,
        },
    )
    api.call(
        "autoscaling",
        "PutWarmPool",
        {
            "AutoScalingGroupName": group,
            "MinSize": 1,
            "MaxGroupPreparedCapacity": 1,
            "PoolState": pool_state,
        },
    )


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
