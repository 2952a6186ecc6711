"""EC2 Auto Scaling's actions: ``POST /api/autoscaling/{Action}``, AWS's shapes and errors.

This module parses each request into AWS-named fields, calls
:class:`orchestrator.asg.operations.AutoScaling`, which holds every rule AWS enforces, and
renders the answer in AWS's output shapes (botocore's ``autoscaling`` model). Instances are
read from the runtime on every describe, because Docker is the truth about what runs.

With ``BARISTA_HAPROXY_RUNTIME_API`` set, the actions that stop instances or detach target
groups reach the load balancer through an ``ElbController`` built from the same settings the
orchestrator's own uses, so an instance drains before it stops whoever asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._instance_refreshes import refresh_actions
from orchestrator.api._lifecycle_hooks import hook_actions
from orchestrator.api._mixed import MixedInstancesPolicyRequest, describe_mixed, one_launch_template
from orchestrator.api._policies import (
    PutScalingPolicy,
    describe_policy,
    policy_alarms,
    policy_from_request,
)
from orchestrator.api._predictive import describe_forecast
from orchestrator.api._requests import Request, iso, parse, parse_time
from orchestrator.api._warm_pools import describe_warm_pool_configuration, warm_pool_actions
from orchestrator.arns import arn
from orchestrator.asg import Activity, AutoScalingGroup, ScalingProcess, TerminationPolicy
from orchestrator.asg.group import Tag
from orchestrator.asg.launch_holds import LaunchHolds
from orchestrator.asg.lifecycle import InstanceLifecycle
from orchestrator.asg.operations import (
    AutoScaling,
    GroupDescription,
    LaunchTemplateSpecification,
    ResourceTag,
    healthy,
    lifecycle_state,
)
from orchestrator.asg.paging import Page
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool import WarmPool
from orchestrator.asg.zones import subnet_id, vpc_zone_identifier
from orchestrator.elb.settings import ElbSettings
from orchestrator.elb.state import ElbStore
from orchestrator.instance_types import instance_type_of
from orchestrator.instances import Instance
from orchestrator.launch_templates import LaunchTemplate
from orchestrator.scaling.activity import activity_id
from orchestrator.scaling.policy import PolicyType
from orchestrator.scaling.scheduled import UTC_ZONE, ScheduledAction

SERVICE = "autoscaling"

GroupName = Field(min_length=1, max_length=255)
MAX_RECORDS = 100


class LaunchTemplateRequest(Request):
    launch_template_id: str | None = None
    launch_template_name: str | None = Field(default=None, min_length=3, max_length=128)
    version: str | None = None

    def specification(self) -> LaunchTemplateSpecification:
        return LaunchTemplateSpecification(
            self.launch_template_id, self.launch_template_name, self.version
        )


class TagRequest(Request):
    resource_id: str | None = None
    resource_type: str | None = None
    key: str = Field(min_length=1, max_length=128)
    value: str | None = Field(default=None, max_length=256)
    propagate_at_launch: bool | None = None

    def resource_tag(self, group: str | None = None) -> ResourceTag:
        return ResourceTag(
            resource_id=group or self.resource_id or "",
            tag=Tag(self.key, self.value or "", bool(self.propagate_at_launch)),
            resource_type=self.resource_type or "auto-scaling-group",
        )


class CreateAutoScalingGroup(Request):
    auto_scaling_group_name: str = GroupName
    launch_template: LaunchTemplateRequest | None = None
    mixed_instances_policy: MixedInstancesPolicyRequest | None = None
    min_size: int = Field(ge=0)
    max_size: int = Field(ge=0)
    desired_capacity: int | None = Field(default=None, ge=0)
    availability_zones: list[str] = Field(default_factory=list)
    vpc_zone_identifier: str | None = Field(
        default=None, min_length=1, max_length=5000, alias="VPCZoneIdentifier"
    )
    health_check_type: str = "EC2"
    health_check_grace_period: int = Field(default=0, ge=0)
    default_cooldown: int = Field(default=300, ge=0)
    termination_policies: list[str] = Field(default_factory=lambda: ["Default"])
    new_instances_protected_from_scale_in: bool = False
    capacity_rebalance: bool = False
    default_instance_warmup: int | None = Field(default=None, ge=0)
    max_instance_lifetime: int | None = Field(default=None, ge=0)
    target_group_arns: list[str] = Field(default_factory=list, alias="TargetGroupARNs")
    tags: list[TagRequest] = Field(default_factory=list)


class UpdateAutoScalingGroup(Request):
    auto_scaling_group_name: str = GroupName
    launch_template: LaunchTemplateRequest | None = None
    mixed_instances_policy: MixedInstancesPolicyRequest | None = None
    min_size: int | None = Field(default=None, ge=0)
    max_size: int | None = Field(default=None, ge=0)
    desired_capacity: int | None = Field(default=None, ge=0)
    availability_zones: list[str] | None = None
    vpc_zone_identifier: str | None = Field(
        default=None, min_length=1, max_length=5000, alias="VPCZoneIdentifier"
    )
    health_check_type: str | None = None
    health_check_grace_period: int | None = Field(default=None, ge=0)
    default_cooldown: int | None = Field(default=None, ge=0)
    termination_policies: list[str] | None = None
    new_instances_protected_from_scale_in: bool | None = None
    capacity_rebalance: bool | None = None
    # -1 turns the warm-up off, as AWS documents.
    default_instance_warmup: int | None = Field(default=None, ge=-1)
    max_instance_lifetime: int | None = Field(default=None, ge=0)


class GroupRequest(Request):
    auto_scaling_group_name: str = GroupName


class TargetGroupsRequest(GroupRequest):
    target_group_arns: list[str] = Field(min_length=1, max_length=10, alias="TargetGroupARNs")


class DeleteAutoScalingGroup(GroupRequest):
    force_delete: bool = False


class Paged(Request):
    next_token: str | None = None


class DescribeAutoScalingGroups(Paged):
    auto_scaling_group_names: list[str] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=100)


class DescribeAutoScalingInstances(Paged):
    instance_ids: list[str] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=50)


class SetDesiredCapacity(GroupRequest):
    desired_capacity: int = Field(ge=0)
    honor_cooldown: bool | None = None


class SetInstanceProtection(GroupRequest):
    instance_ids: list[str]
    protected_from_scale_in: bool


class ScalingProcessQuery(GroupRequest):
    scaling_processes: list[str] = Field(default_factory=list)


class TerminateInstanceInAutoScalingGroup(Request):
    instance_id: str = Field(min_length=1, max_length=19)
    should_decrement_desired_capacity: bool


class DescribePolicies(Paged):
    auto_scaling_group_name: str | None = None
    policy_names: list[str] = Field(default_factory=list)
    policy_types: list[
        Literal["SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling"]
    ] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=100)


class GetPredictiveScalingForecast(GroupRequest):
    policy_name: str = Field(min_length=1, max_length=255)
    start_time: str
    end_time: str


class DeletePolicy(Request):
    auto_scaling_group_name: str | None = None
    policy_name: str = Field(min_length=1, max_length=1600)


class PutScheduledUpdateGroupAction(GroupRequest):
    scheduled_action_name: str = GroupName
    start_time: str | None = None
    end_time: str | None = None
    recurrence: str | None = Field(default=None, min_length=1, max_length=255)
    min_size: int | None = Field(default=None, ge=0)
    max_size: int | None = Field(default=None, ge=0)
    desired_capacity: int | None = Field(default=None, ge=0)
    time_zone: str | None = None


class DescribeScheduledActions(Paged):
    auto_scaling_group_name: str | None = None
    scheduled_action_names: list[str] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=100)


class DeleteScheduledAction(GroupRequest):
    scheduled_action_name: str = GroupName


class DescribeScalingActivities(Paged):
    auto_scaling_group_name: str | None = None
    activity_ids: list[str] = Field(default_factory=list)
    include_deleted_groups: bool | None = None
    max_records: int = Field(default=MAX_RECORDS, ge=1, le=MAX_RECORDS)


class TagsRequest(Request):
    tags: list[TagRequest] = Field(min_length=1)


class FilterRequest(Request):
    name: str
    values: list[str] = Field(default_factory=list)


class DescribeTags(Paged):
    filters: list[FilterRequest] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=100)


# Rendering.


def group_arn(name: str) -> str:
    return arn(
        "autoscaling",
        f"autoScalingGroup:{activity_id('group', name)}:autoScalingGroupName/{name}",
    )


def scheduled_action_arn(action: ScheduledAction) -> str:
    uuid = activity_id("scheduled", action.auto_scaling_group_name, action.scheduled_action_name)
    return arn(
        "autoscaling",
        f"scheduledUpdateGroupAction:{uuid}:"
        f"autoScalingGroupName/{action.auto_scaling_group_name}:"
        f"scheduledActionName/{action.scheduled_action_name}",
    )


def _paged(key: str, page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    answer: dict[str, Any] = {key: items}
    if page.next_token is not None:
        answer["NextToken"] = page.next_token
    return answer


def _instance_template(
    instance: Instance, templates: Mapping[str, LaunchTemplate]
) -> dict[str, Any]:
    template = templates.get(instance.launch_template)
    described: dict[str, Any] = {
        "LaunchTemplateName": instance.launch_template,
        "Version": str(instance.template_version),
    }
    if template is not None:
        described["LaunchTemplateId"] = template.launch_template_id
    return described


def _instance_type(instance: Instance, templates: Mapping[str, LaunchTemplate]) -> str | None:
    template = templates.get(instance.launch_template)
    if template is None or instance.template_version not in template.versions:
        return None
    return instance_type_of(template.versions[instance.template_version])


def describe_instance(
    group: AutoScalingGroup,
    instance: Instance,
    templates: Mapping[str, LaunchTemplate],
    now: float,
    lifecycle: InstanceLifecycle | None = None,
) -> dict[str, Any]:
    """One entry of a group's ``Instances``, as DescribeAutoScalingGroups answers it."""
    described: dict[str, Any] = {
        "InstanceId": instance.instance_id,
        "AvailabilityZone": instance.availability_zone,
        "LifecycleState": lifecycle_state(instance, lifecycle),
        "HealthStatus": "Healthy" if healthy(group, instance, now) else "Unhealthy",
        "LaunchTemplate": _instance_template(instance, templates),
        "ProtectedFromScaleIn": instance.instance_id in group.protected_instance_ids,
    }
    instance_type = instance.instance_type or _instance_type(instance, templates)
    if instance_type is not None:
        described["InstanceType"] = instance_type
    policy = group.mixed_instances_policy
    if policy is not None and policy.weighted:
        described["WeightedCapacity"] = str(policy.weight_of(instance_type))
    return described


def describe_tag(group_name: str, tag: Tag) -> dict[str, Any]:
    return {
        "ResourceId": group_name,
        "ResourceType": "auto-scaling-group",
        "Key": tag.key,
        "Value": tag.value,
        "PropagateAtLaunch": tag.propagate_at_launch,
    }


def describe_group(
    group: AutoScalingGroup,
    instances: list[Instance],
    templates: Mapping[str, LaunchTemplate],
    now: float,
    target_group_arns: Sequence[str] = (),
    lifecycles: Mapping[str, InstanceLifecycle] | None = None,
    *,
    warm_pool: WarmPool | None = None,
    warm_pool_size: int = 0,
) -> dict[str, Any]:
    """One entry of DescribeAutoScalingGroups' ``AutoScalingGroups``."""
    template = templates.get(group.launch_template_name)
    launch_template: dict[str, Any] = {
        "LaunchTemplateName": group.launch_template_name,
        "Version": group.launch_template_version,
    }
    if template is not None:
        launch_template["LaunchTemplateId"] = template.launch_template_id
    described: dict[str, Any] = {
        "AutoScalingGroupName": group.auto_scaling_group_name,
        "AutoScalingGroupARN": group_arn(group.auto_scaling_group_name),
        "LaunchTemplate": launch_template,
        "MinSize": group.min_size,
        "MaxSize": group.max_size,
        "DesiredCapacity": group.desired_capacity,
        "DefaultCooldown": group.default_cooldown,
        "AvailabilityZones": list(group.availability_zones),
        "VPCZoneIdentifier": vpc_zone_identifier(group.availability_zones),
        "LoadBalancerNames": [],
        "TargetGroupARNs": list(target_group_arns),
        "TrafficSources": [{"Identifier": arn, "Type": "elbv2"} for arn in target_group_arns],
        "HealthCheckType": group.health_check_type.value,
        "HealthCheckGracePeriod": group.health_check_grace_period,
        "Instances": [
            describe_instance(group, i, templates, now, (lifecycles or {}).get(i.instance_id))
            for i in sorted(instances, key=lambda i: (i.launched_at, i.instance_id))
        ],
        "SuspendedProcesses": [
            {"ProcessName": p.value, "SuspensionReason": "User suspended at an unknown time"}
            for p in sorted(group.suspended_processes)
        ],
        "EnabledMetrics": [],
        "Tags": [describe_tag(group.auto_scaling_group_name, t) for t in group.tags],
        "TerminationPolicies": [p.value for p in group.termination_policies],
        "NewInstancesProtectedFromScaleIn": group.new_instances_protected_from_scale_in,
        "CapacityRebalance": group.capacity_rebalance,
    }
    if group.mixed_instances_policy is not None:
        # AWS answers the template inside the policy, not beside it.
        described["MixedInstancesPolicy"] = describe_mixed(
            group.mixed_instances_policy, described.pop("LaunchTemplate")
        )
    if group.default_instance_warmup is not None:
        described["DefaultInstanceWarmup"] = group.default_instance_warmup
    if group.max_instance_lifetime is not None:
        described["MaxInstanceLifetime"] = group.max_instance_lifetime
    if group.created_time is not None:
        described["CreatedTime"] = iso(group.created_time)
    if warm_pool is not None:
        described["WarmPoolConfiguration"] = describe_warm_pool_configuration(warm_pool)
        described["WarmPoolSize"] = warm_pool_size
    return described


def activity_details(activity: Activity) -> str:
    """AWS's ``Details``: a JSON document; for an instance, its subnet and zone."""
    if activity.availability_zone is None:
        return "{}"
    zone = activity.availability_zone
    return json.dumps({"Subnet ID": subnet_id(zone), "Availability Zone": zone})


def describe_activity(activity: Activity, group_state: str = "InService") -> dict[str, Any]:
    """One entry of DescribeScalingActivities' ``Activities``, with ISO 8601 times."""
    described: dict[str, Any] = {
        "ActivityId": activity.activity_id,
        "AutoScalingGroupName": activity.resource_id,
        "AutoScalingGroupARN": group_arn(activity.resource_id),
        "AutoScalingGroupState": group_state,
        "Description": activity.description,
        "Cause": activity.cause,
        "StartTime": iso(activity.start_time),
        "StatusCode": activity.status_code.value,
        "Progress": activity.progress,
        "Details": activity_details(activity),
    }
    if activity.end_time is not None:
        described["EndTime"] = iso(activity.end_time)
    if activity.status_message:
        described["StatusMessage"] = activity.status_message
    return described


def describe_scheduled_action(
    action: ScheduledAction, last_checked: float, now: float
) -> dict[str, Any]:
    """AWS shows a recurring action's StartTime as its next run; so does Barista."""
    described: dict[str, Any] = {
        "AutoScalingGroupName": action.auto_scaling_group_name,
        "ScheduledActionName": action.scheduled_action_name,
        "ScheduledActionARN": scheduled_action_arn(action),
        "TimeZone": action.time_zone,
    }
    upcoming = action.next_run_after(max(now, last_checked))
    start = upcoming if upcoming is not None else action.start_time
    if start is not None:
        described["StartTime"] = iso(start)
        described["Time"] = iso(start)
    if action.end_time is not None:
        described["EndTime"] = iso(action.end_time)
    if action.recurrence is not None:
        described["Recurrence"] = action.recurrence
    for key, value in (
        ("MinSize", action.min_size),
        ("MaxSize", action.max_size),
        ("DesiredCapacity", action.desired_capacity),
    ):
        if value is not None:
            described[key] = value
    return described


def actions(context: ApiContext) -> dict[str, Action]:  # noqa: PLR0915 - one closure per action
    """EC2 Auto Scaling's actions: parse, call :class:`AutoScaling`, render."""
    runtime = context.runtime

    @contextmanager
    def operations() -> Iterator[AutoScaling]:
        with Store(context.store_path) as store, ElbStore(context.store_path) as elb_store:
            elb = (
                ElbSettings.from_environ(context.environ).controller(
                    context.store_path, runtime, LaunchHolds(context.store_path)
                )
                if context.environ.get("BARISTA_HAPROXY_RUNTIME_API")
                else None
            )
            try:
                yield AutoScaling(store, runtime, elb_store, elb)
            finally:
                if elb is not None:
                    elb.close()

    def create_group(params: Params) -> Mapping[str, Any]:
        request = parse(CreateAutoScalingGroup, params)
        name = request.auto_scaling_group_name
        template, mixed = one_launch_template(
            request.launch_template.specification() if request.launch_template else None,
            request.mixed_instances_policy,
        )
        with operations() as ops:
            ops.create_group(
                name,
                template,
                mixed_instances_policy=mixed,
                min_size=request.min_size,
                max_size=request.max_size,
                desired_capacity=request.desired_capacity,
                availability_zones=request.availability_zones,
                vpc_zone_identifier=request.vpc_zone_identifier,
                health_check_type=request.health_check_type,
                health_check_grace_period=request.health_check_grace_period,
                default_cooldown=request.default_cooldown,
                termination_policies=request.termination_policies,
                new_instances_protected_from_scale_in=request.new_instances_protected_from_scale_in,
                capacity_rebalance=request.capacity_rebalance,
                default_instance_warmup=request.default_instance_warmup,
                max_instance_lifetime=request.max_instance_lifetime,
                target_group_arns=request.target_group_arns,
                tags=[t.resource_tag(name) for t in request.tags],
            )
        return {}

    def update_group(params: Params) -> Mapping[str, Any]:
        request = parse(UpdateAutoScalingGroup, params)
        mixed = request.mixed_instances_policy
        with operations() as ops:
            ops.update_group(
                request.auto_scaling_group_name,
                launch_template=(
                    request.launch_template.specification()
                    if request.launch_template is not None
                    else mixed.specification()
                    if mixed is not None and mixed.launch_template is not None
                    else None
                ),
                mixed_instances_policy=mixed.policy() if mixed is not None else None,
                min_size=request.min_size,
                max_size=request.max_size,
                desired_capacity=request.desired_capacity,
                availability_zones=request.availability_zones,
                vpc_zone_identifier=request.vpc_zone_identifier,
                health_check_type=request.health_check_type,
                health_check_grace_period=request.health_check_grace_period,
                default_cooldown=request.default_cooldown,
                termination_policies=request.termination_policies,
                new_instances_protected_from_scale_in=request.new_instances_protected_from_scale_in,
                capacity_rebalance=request.capacity_rebalance,
                default_instance_warmup=request.default_instance_warmup,
                max_instance_lifetime=request.max_instance_lifetime,
            )
        return {}

    def delete_group(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteAutoScalingGroup, params)
        with operations() as ops:
            ops.delete_group(request.auto_scaling_group_name, force_delete=request.force_delete)
        return {}

    def describe_groups(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeAutoScalingGroups, params)
        with operations() as ops:
            page = ops.describe_groups(
                request.auto_scaling_group_names, request.max_records, request.next_token
            )
            templates = ops.launch_templates()
        now = runtime.now()
        return _paged(
            "AutoScalingGroups",
            page,
            [_describe(d, templates, now) for d in page.items],
        )

    def describe_instances(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeAutoScalingInstances, params)
        with operations() as ops:
            page = ops.describe_instances(
                request.instance_ids, request.max_records, request.next_token
            )
            templates = ops.launch_templates()
        now = runtime.now()
        found = []
        for item in page.items:
            described = describe_instance(item.group, item.instance, templates, now, item.lifecycle)
            # This action spells health in capitals, unlike DescribeAutoScalingGroups.
            described["HealthStatus"] = described["HealthStatus"].upper()
            found.append({"AutoScalingGroupName": item.group.auto_scaling_group_name, **described})
        return _paged("AutoScalingInstances", page, found)

    def set_desired(params: Params) -> Mapping[str, Any]:
        request = parse(SetDesiredCapacity, params)
        with operations() as ops:
            ops.set_desired_capacity(
                request.auto_scaling_group_name,
                request.desired_capacity,
                honor_cooldown=bool(request.honor_cooldown),
            )
        return {}

    def set_protection(params: Params) -> Mapping[str, Any]:
        request = parse(SetInstanceProtection, params)
        with operations() as ops:
            ops.set_instance_protection(
                request.auto_scaling_group_name,
                request.instance_ids,
                protected_from_scale_in=request.protected_from_scale_in,
            )
        return {}

    def processes(suspend: bool) -> Action:
        def change(params: Params) -> Mapping[str, Any]:
            request = parse(ScalingProcessQuery, params)
            with operations() as ops:
                apply = ops.suspend_processes if suspend else ops.resume_processes
                apply(request.auto_scaling_group_name, request.scaling_processes)
            return {}

        return change

    def terminate_instance(params: Params) -> Mapping[str, Any]:
        request = parse(TerminateInstanceInAutoScalingGroup, params)
        with operations() as ops:
            done = ops.terminate_instance(
                request.instance_id,
                should_decrement=request.should_decrement_desired_capacity,
            )
        return {"Activity": describe_activity(done)}

    def attach_target_groups(params: Params) -> Mapping[str, Any]:
        request = parse(TargetGroupsRequest, params)
        with operations() as ops:
            ops.attach_target_groups(request.auto_scaling_group_name, request.target_group_arns)
        return {}

    def detach_target_groups(params: Params) -> Mapping[str, Any]:
        request = parse(TargetGroupsRequest, params)
        with operations() as ops:
            ops.detach_target_groups(request.auto_scaling_group_name, request.target_group_arns)
        return {}

    def create_or_update_tags(params: Params) -> Mapping[str, Any]:
        request = parse(TagsRequest, params)
        with operations() as ops:
            ops.create_or_update_tags([t.resource_tag() for t in request.tags])
        return {}

    def delete_tags(params: Params) -> Mapping[str, Any]:
        request = parse(TagsRequest, params)
        with operations() as ops:
            ops.delete_tags([t.resource_tag() for t in request.tags])
        return {}

    def describe_tags(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeTags, params)
        filters: dict[str, list[str]] = {}
        for item in request.filters:
            filters.setdefault(item.name, []).extend(item.values)
        with operations() as ops:
            page = ops.describe_tags(filters, request.max_records, request.next_token)
        return _paged("Tags", page, [describe_tag(t.resource_id, t.tag) for t in page.items])

    def put_policy(params: Params) -> Mapping[str, Any]:
        request = parse(PutScalingPolicy, params)
        with operations() as ops:
            ops.group(request.auto_scaling_group_name)
            policy = policy_from_request(request)
            alarms = ops.put_policy(policy)
        response: dict[str, Any] = {"PolicyARN": policy.policy_arn}
        if policy.policy_type is PolicyType.TARGET_TRACKING_SCALING:
            response["Alarms"] = policy_alarms(policy, alarms)
        return response

    def describe_policies(params: Params) -> Mapping[str, Any]:
        request = parse(DescribePolicies, params)
        with operations() as ops:
            page, alarms = ops.describe_policies(
                request.auto_scaling_group_name,
                request.policy_names,
                request.policy_types,
                request.max_records,
                request.next_token,
            )
        return _paged("ScalingPolicies", page, [describe_policy(p, alarms) for p in page.items])

    def predictive_forecast(params: Params) -> Mapping[str, Any]:
        request = parse(GetPredictiveScalingForecast, params)
        start = parse_time(request.start_time, "startTime")
        end = parse_time(request.end_time, "endTime")
        with operations() as ops:
            policy, attempted, forecast = ops.predictive_forecast(
                request.auto_scaling_group_name, request.policy_name, start, end
            )
        return describe_forecast(policy, forecast, attempted, start, end, runtime.now())

    def delete_policy(params: Params) -> Mapping[str, Any]:
        request = parse(DeletePolicy, params)
        with operations() as ops:
            ops.delete_policy(request.auto_scaling_group_name, request.policy_name)
        return {}

    def put_scheduled(params: Params) -> Mapping[str, Any]:
        request = parse(PutScheduledUpdateGroupAction, params)
        action = ScheduledAction(
            auto_scaling_group_name=request.auto_scaling_group_name,
            scheduled_action_name=request.scheduled_action_name,
            recurrence=request.recurrence,
            start_time=parse_time(request.start_time, "startTime") if request.start_time else None,
            end_time=parse_time(request.end_time, "endTime") if request.end_time else None,
            time_zone=request.time_zone or UTC_ZONE,
            min_size=request.min_size,
            max_size=request.max_size,
            desired_capacity=request.desired_capacity,
        )
        with operations() as ops:
            ops.put_scheduled_action(action)
        return {}

    def describe_scheduled(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScheduledActions, params)
        with operations() as ops:
            page = ops.describe_scheduled_actions(
                request.auto_scaling_group_name,
                request.scheduled_action_names,
                request.max_records,
                request.next_token,
            )
        now = runtime.now()
        return _paged(
            "ScheduledUpdateGroupActions",
            page,
            [describe_scheduled_action(a, checked, now) for a, checked in page.items],
        )

    def delete_scheduled(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteScheduledAction, params)
        with operations() as ops:
            ops.delete_scheduled_action(
                request.auto_scaling_group_name, request.scheduled_action_name
            )
        return {}

    def describe_activities(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScalingActivities, params)
        with operations() as ops:
            page = ops.describe_activities(
                request.auto_scaling_group_name,
                request.activity_ids,
                request.max_records,
                request.next_token,
            )
            live = {a.resource_id for a in page.items if ops.group_exists(a.resource_id)}
        return _paged(
            "Activities",
            page,
            [
                describe_activity(a, "InService" if a.resource_id in live else "Deleted")
                for a in page.items
            ],
        )

    def termination_policy_types(params: Params) -> Mapping[str, Any]:
        parse(Request, params)
        return {"TerminationPolicyTypes": [p.value for p in TerminationPolicy]}

    def scaling_process_types(params: Params) -> Mapping[str, Any]:
        parse(Request, params)
        return {"Processes": [{"ProcessName": p.value} for p in ScalingProcess]}

    return {
        "CreateAutoScalingGroup": create_group,
        "UpdateAutoScalingGroup": update_group,
        "DeleteAutoScalingGroup": delete_group,
        "DescribeAutoScalingGroups": describe_groups,
        "DescribeAutoScalingInstances": describe_instances,
        "SetDesiredCapacity": set_desired,
        "SetInstanceProtection": set_protection,
        "SuspendProcesses": processes(suspend=True),
        "ResumeProcesses": processes(suspend=False),
        "TerminateInstanceInAutoScalingGroup": terminate_instance,
        "PutScalingPolicy": put_policy,
        "DescribePolicies": describe_policies,
        "DeletePolicy": delete_policy,
        "GetPredictiveScalingForecast": predictive_forecast,
        "PutScheduledUpdateGroupAction": put_scheduled,
        "DescribeScheduledActions": describe_scheduled,
        "DeleteScheduledAction": delete_scheduled,
        "DescribeScalingActivities": describe_activities,
        "DescribeTerminationPolicyTypes": termination_policy_types,
        "DescribeScalingProcessTypes": scaling_process_types,
        "AttachLoadBalancerTargetGroups": attach_target_groups,
        "DetachLoadBalancerTargetGroups": detach_target_groups,
        "CreateOrUpdateTags": create_or_update_tags,
        "DeleteTags": delete_tags,
        "DescribeTags": describe_tags,
        **hook_actions(operations),
        **warm_pool_actions(operations),
        **refresh_actions(operations),
    }


def _describe(
    item: GroupDescription, templates: Mapping[str, LaunchTemplate], now: float
) -> dict[str, Any]:
    return describe_group(
        item.group,
        item.instances,
        templates,
        now,
        item.target_group_arns,
        item.lifecycles,
        warm_pool=item.warm_pool,
        warm_pool_size=item.warm_pool_size,
    )
