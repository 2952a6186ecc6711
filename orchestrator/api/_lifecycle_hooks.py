"""EC2 Auto Scaling's lifecycle hook actions: parse, call ``AutoScaling``, render.

PutLifecycleHook, DescribeLifecycleHooks, DeleteLifecycleHook, CompleteLifecycleAction,
RecordLifecycleActionHeartbeat and DescribeLifecycleHookTypes, in botocore's shapes. The rules
(defaults, ranges, which action is active) live in ``orchestrator.asg``; this module only
translates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pydantic import Field

from orchestrator.api import Action, Params
from orchestrator.api._requests import Request, parse
from orchestrator.asg.hooks import LifecycleHook, LifecycleTransition
from orchestrator.asg.operations import AutoScaling

HookName = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9\-_\/]+$")
GroupName = Field(min_length=1, max_length=255)


class PutLifecycleHook(Request):
    lifecycle_hook_name: str = HookName
    auto_scaling_group_name: str = GroupName
    lifecycle_transition: str | None = None
    role_arn: str | None = Field(default=None, min_length=1, max_length=255, alias="RoleARN")
    notification_target_arn: str | None = Field(
        default=None, max_length=255, alias="NotificationTargetARN"
    )
    notification_metadata: str | None = Field(default=None, min_length=1, max_length=4000)
    heartbeat_timeout: int | None = None
    default_result: str | None = None


class DescribeLifecycleHooks(Request):
    auto_scaling_group_name: str = GroupName
    lifecycle_hook_names: list[str] = Field(default_factory=list, max_length=50)


class DeleteLifecycleHook(Request):
    lifecycle_hook_name: str = HookName
    auto_scaling_group_name: str = GroupName


class RecordLifecycleActionHeartbeat(Request):
    lifecycle_hook_name: str = HookName
    auto_scaling_group_name: str = Field(min_length=1, max_length=1600)
    lifecycle_action_token: str | None = Field(default=None, min_length=36, max_length=36)
    instance_id: str | None = Field(default=None, min_length=1, max_length=19)


class CompleteLifecycleAction(RecordLifecycleActionHeartbeat):
    lifecycle_action_result: str


def describe_hook(hook: LifecycleHook) -> dict[str, Any]:
    """One entry of DescribeLifecycleHooks' ``LifecycleHooks``."""
    described: dict[str, Any] = {
        "LifecycleHookName": hook.lifecycle_hook_name,
        "AutoScalingGroupName": hook.auto_scaling_group_name,
        "LifecycleTransition": hook.lifecycle_transition.value,
        "HeartbeatTimeout": hook.heartbeat_timeout,
        "GlobalTimeout": hook.global_timeout,
        "DefaultResult": hook.default_result.value,
    }
    for key, value in (
        ("NotificationTargetARN", hook.notification_target_arn),
        ("RoleARN", hook.role_arn),
        ("NotificationMetadata", hook.notification_metadata),
    ):
        if value is not None:
            described[key] = value
    return described


def hook_actions(
    operations: Callable[[], AbstractContextManager[AutoScaling]],
) -> dict[str, Action]:
    """The lifecycle hook actions over ``operations`` (autoscaling.py's store context)."""

    def put(params: Params) -> Mapping[str, Any]:
        request = parse(PutLifecycleHook, params)
        with operations() as ops:
            ops.put_lifecycle_hook(
                request.auto_scaling_group_name,
                request.lifecycle_hook_name,
                lifecycle_transition=request.lifecycle_transition,
                heartbeat_timeout=request.heartbeat_timeout,
                default_result=request.default_result,
                notification_target_arn=request.notification_target_arn,
                role_arn=request.role_arn,
                notification_metadata=request.notification_metadata,
            )
        return {}

    def describe(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeLifecycleHooks, params)
        with operations() as ops:
            hooks = ops.describe_lifecycle_hooks(
                request.auto_scaling_group_name, request.lifecycle_hook_names
            )
        return {"LifecycleHooks": [describe_hook(h) for h in hooks]}

    def delete(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteLifecycleHook, params)
        with operations() as ops:
            ops.delete_lifecycle_hook(request.auto_scaling_group_name, request.lifecycle_hook_name)
        return {}

    def complete(params: Params) -> Mapping[str, Any]:
        request = parse(CompleteLifecycleAction, params)
        with operations() as ops:
            ops.complete_lifecycle_action(
                request.auto_scaling_group_name,
                request.lifecycle_hook_name,
                request.lifecycle_action_result,
                instance_id=request.instance_id,
                token=request.lifecycle_action_token,
            )
        return {}

    def heartbeat(params: Params) -> Mapping[str, Any]:
        request = parse(RecordLifecycleActionHeartbeat, params)
        with operations() as ops:
            ops.record_lifecycle_action_heartbeat(
                request.auto_scaling_group_name,
                request.lifecycle_hook_name,
                instance_id=request.instance_id,
                token=request.lifecycle_action_token,
            )
        return {}

    def types(params: Params) -> Mapping[str, Any]:
        parse(Request, params)
        return {"LifecycleHookTypes": [t.value for t in LifecycleTransition]}

    return {
        "PutLifecycleHook": put,
        "DescribeLifecycleHooks": describe,
        "DeleteLifecycleHook": delete,
        "CompleteLifecycleAction": complete,
        "RecordLifecycleActionHeartbeat": heartbeat,
        "DescribeLifecycleHookTypes": types,
    }
