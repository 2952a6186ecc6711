"""EC2 Auto Scaling's warm pool actions: parse, call ``WarmPools``, render.

PutWarmPool, DescribeWarmPool and DeleteWarmPool in botocore's shapes; the pool's rules and
its size live in ``orchestrator.asg.warm_pool``, this module only translates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pydantic import Field

from orchestrator.api import Action, Params
from orchestrator.api._requests import Request, parse
from orchestrator.asg.operations import AutoScaling, healthy
from orchestrator.asg.warm_pool import WarmPool
from orchestrator.asg.warm_pool_operations import WarmInstance, WarmPools

GroupName = Field(min_length=1, max_length=255)


class InstanceReusePolicy(Request):
    reuse_on_scale_in: bool | None = None


class PutWarmPool(Request):
    auto_scaling_group_name: str = GroupName
    max_group_prepared_capacity: int | None = Field(default=None, ge=-1)
    min_size: int | None = Field(default=None, ge=0)
    pool_state: str | None = None
    instance_reuse_policy: InstanceReusePolicy | None = None


class DescribeWarmPool(Request):
    auto_scaling_group_name: str = GroupName
    max_records: int | None = None
    next_token: str | None = None


class DeleteWarmPool(Request):
    auto_scaling_group_name: str = GroupName
    force_delete: bool = False


def describe_warm_pool_configuration(pool: WarmPool) -> dict[str, Any]:
    """``WarmPoolConfiguration``, in DescribeWarmPool and DescribeAutoScalingGroups alike."""
    described: dict[str, Any] = {
        "MinSize": pool.min_size,
        "PoolState": pool.pool_state.value,
        "InstanceReusePolicy": {"ReuseOnScaleIn": pool.reuse_on_scale_in},
    }
    if pool.max_group_prepared_capacity is not None:
        described["MaxGroupPreparedCapacity"] = pool.max_group_prepared_capacity
    if pool.pending_delete:
        described["Status"] = "PendingDelete"
    return described


def _describe_instance(warm: WarmInstance, now: float) -> dict[str, Any]:
    instance = warm.instance
    described: dict[str, Any] = {
        "InstanceId": instance.instance_id,
        "AvailabilityZone": instance.availability_zone,
        "LifecycleState": warm.lifecycle.state.value,
        # A stopped or paused warm instance is as its pool keeps it, not unhealthy.
        "HealthStatus": "Healthy"
        if warm.lifecycle.state.warmed or healthy(warm.group, instance, now)
        else "Unhealthy",
        "LaunchTemplate": {
            "LaunchTemplateName": instance.launch_template,
            "Version": str(instance.template_version),
        },
        "ProtectedFromScaleIn": False,
    }
    if instance.instance_type is not None:
        described["InstanceType"] = instance.instance_type
    return described


def warm_pool_actions(
    operations: Callable[[], AbstractContextManager[AutoScaling]],
) -> dict[str, Action]:
    """The warm pool actions over ``operations`` (autoscaling.py's store context)."""

    def put(params: Params) -> Mapping[str, Any]:
        request = parse(PutWarmPool, params)
        reuse = request.instance_reuse_policy
        with operations() as ops:
            WarmPools(ops.store, ops.runtime).put(
                request.auto_scaling_group_name,
                max_group_prepared_capacity=request.max_group_prepared_capacity,
                min_size=request.min_size,
                pool_state=request.pool_state,
                reuse_on_scale_in=reuse.reuse_on_scale_in if reuse is not None else None,
            )
        return {}

    def describe(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeWarmPool, params)
        with operations() as ops:
            found = WarmPools(ops.store, ops.runtime).describe(
                request.auto_scaling_group_name, request.max_records, request.next_token
            )
            now = ops.runtime.now()
        answer: dict[str, Any] = {
            "Instances": [_describe_instance(w, now) for w in found.instances.items]
        }
        if found.pool is not None:
            answer["WarmPoolConfiguration"] = describe_warm_pool_configuration(found.pool)
        if found.instances.next_token is not None:
            answer["NextToken"] = found.instances.next_token
        return answer

    def delete(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteWarmPool, params)
        with operations() as ops:
            WarmPools(ops.store, ops.runtime).delete(
                request.auto_scaling_group_name, force_delete=request.force_delete
            )
        return {}

    return {"PutWarmPool": put, "DescribeWarmPool": describe, "DeleteWarmPool": delete}
