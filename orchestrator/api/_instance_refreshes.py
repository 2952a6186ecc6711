"""EC2 Auto Scaling's instance refresh actions: parse, call ``InstanceRefreshes``, render.

StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh and
RollbackInstanceRefresh in botocore's shapes; the refresh's rules live in
``orchestrator.asg.instance_refresh``, this module only translates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pydantic import Field

from orchestrator.api import Action, Params
from orchestrator.api._requests import Request, iso, parse
from orchestrator.asg.instance_refresh import InstanceRefresh, preferences
from orchestrator.asg.operations import AutoScaling
from orchestrator.asg.refresh_operations import InstanceRefreshes
from orchestrator.errors import ValidationError

GroupName = Field(min_length=1, max_length=255)


class RefreshPreferences(Request):
    min_healthy_percentage: int | None = Field(default=None, ge=0, le=100)
    max_healthy_percentage: int | None = Field(default=None, ge=100, le=200)
    instance_warmup: int | None = Field(default=None, ge=0)
    checkpoint_percentages: list[int] | None = None
    checkpoint_delay: int | None = Field(default=None, ge=0, le=172_800)
    skip_matching: bool | None = None
    auto_rollback: bool | None = None


class LaunchTemplateSpecification(Request):
    launch_template_id: str | None = None
    launch_template_name: str | None = None
    version: str | None = None


class DesiredConfiguration(Request):
    launch_template: LaunchTemplateSpecification | None = None


class StartInstanceRefresh(Request):
    auto_scaling_group_name: str = GroupName
    strategy: str | None = None
    desired_configuration: DesiredConfiguration | None = None
    preferences: RefreshPreferences | None = None


class DescribeInstanceRefreshes(Request):
    auto_scaling_group_name: str = GroupName
    instance_refresh_ids: list[str] = Field(default_factory=list)
    max_records: int | None = None
    next_token: str | None = None


class CancelInstanceRefresh(Request):
    auto_scaling_group_name: str = GroupName
    wait_for_transitioning_instances: bool | None = None


class RollbackInstanceRefresh(Request):
    auto_scaling_group_name: str = GroupName


def describe_refresh(refresh: InstanceRefresh) -> dict[str, Any]:
    """One entry of DescribeInstanceRefreshes' ``InstanceRefreshes``."""
    prefs = refresh.preferences
    progress = {
        "LivePoolProgress": {
            "PercentageComplete": refresh.percentage_complete,
            "InstancesToUpdate": refresh.instances_to_update,
        }
    }
    described: dict[str, Any] = {
        "InstanceRefreshId": refresh.instance_refresh_id,
        "AutoScalingGroupName": refresh.auto_scaling_group_name,
        "Status": refresh.status.value,
        "StartTime": iso(refresh.start_time),
        "PercentageComplete": refresh.percentage_complete,
        "InstancesToUpdate": refresh.instances_to_update,
        "ProgressDetails": progress,
        "Strategy": "Rolling",
        "Preferences": {
            "MinHealthyPercentage": prefs.min_healthy_percentage,
            "MaxHealthyPercentage": prefs.max_healthy_percentage,
            "CheckpointPercentages": list(prefs.checkpoint_percentages),
            "CheckpointDelay": prefs.checkpoint_delay,
            "SkipMatching": prefs.skip_matching,
            "AutoRollback": prefs.auto_rollback,
        },
    }
    if prefs.instance_warmup is not None:
        described["Preferences"]["InstanceWarmup"] = prefs.instance_warmup
    if refresh.status_reason:
        described["StatusReason"] = refresh.status_reason
    if refresh.end_time is not None:
        described["EndTime"] = iso(refresh.end_time)
    if refresh.desired is not None:
        described["DesiredConfiguration"] = {
            "LaunchTemplate": {
                "LaunchTemplateName": refresh.desired.launch_template_name,
                "Version": refresh.desired.version,
            }
        }
    if refresh.rollback_start_time is not None:
        described["RollbackDetails"] = {
            "RollbackReason": refresh.rollback_reason or "",
            "RollbackStartTime": iso(refresh.rollback_start_time),
            "PercentageCompleteOnRollback": refresh.percentage_complete,
            "InstancesToUpdateOnRollback": refresh.instances_to_update,
            "ProgressDetailsOnRollback": progress,
        }
    return described


def refresh_actions(
    operations: Callable[[], AbstractContextManager[AutoScaling]],
) -> dict[str, Action]:
    """The instance refresh actions over ``operations`` (autoscaling.py's store context)."""

    def start(params: Params) -> Mapping[str, Any]:
        request = parse(StartInstanceRefresh, params)
        if request.strategy not in (None, "Rolling"):
            raise ValidationError(
                f"Invalid Strategy: {request.strategy}. The only valid value is Rolling."
            )
        raw = request.preferences or RefreshPreferences()
        prefs = preferences(
            min_healthy_percentage=raw.min_healthy_percentage,
            max_healthy_percentage=raw.max_healthy_percentage,
            instance_warmup=raw.instance_warmup,
            checkpoint_percentages=raw.checkpoint_percentages,
            checkpoint_delay=raw.checkpoint_delay,
            skip_matching=raw.skip_matching,
            auto_rollback=raw.auto_rollback,
        )
        spec = (
            request.desired_configuration.launch_template
            if request.desired_configuration is not None
            else None
        )
        with operations() as ops:
            refresh = InstanceRefreshes(ops.store, ops.runtime).start(
                request.auto_scaling_group_name,
                prefs,
                launch_template_name=spec.launch_template_name if spec else None,
                launch_template_id=spec.launch_template_id if spec else None,
                version=spec.version if spec else None,
            )
        return {"InstanceRefreshId": refresh.instance_refresh_id}

    def describe(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeInstanceRefreshes, params)
        with operations() as ops:
            page = InstanceRefreshes(ops.store, ops.runtime).describe(
                request.auto_scaling_group_name,
                request.instance_refresh_ids,
                request.max_records,
                request.next_token,
            )
        answer: dict[str, Any] = {"InstanceRefreshes": [describe_refresh(r) for r in page.items]}
        if page.next_token is not None:
            answer["NextToken"] = page.next_token
        return answer

    def cancel(params: Params) -> Mapping[str, Any]:
        request = parse(CancelInstanceRefresh, params)
        with operations() as ops:
            refresh = InstanceRefreshes(ops.store, ops.runtime).cancel(
                request.auto_scaling_group_name
            )
        return {"InstanceRefreshId": refresh.instance_refresh_id}

    def rollback(params: Params) -> Mapping[str, Any]:
        request = parse(RollbackInstanceRefresh, params)
        with operations() as ops:
            refresh = InstanceRefreshes(ops.store, ops.runtime).rollback(
                request.auto_scaling_group_name
            )
        return {"InstanceRefreshId": refresh.instance_refresh_id}

    return {
        "StartInstanceRefresh": start,
        "DescribeInstanceRefreshes": describe,
        "CancelInstanceRefresh": cancel,
        "RollbackInstanceRefresh": rollback,
    }
