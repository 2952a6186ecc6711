"""EC2 Auto Scaling's actions: ``POST /api/autoscaling/{Action}``, AWS's shapes and errors.

Definitions live in the store; instances are read from the runtime (``context.runtime``) on
every describe, because Docker is the truth about what runs. The controller acts on what these
actions store; the only actions that touch instances themselves are the two AWS performs
immediately: TerminateInstanceInAutoScalingGroup and DeleteAutoScalingGroup with ForceDelete.

Choices where AWS leaves room:

* DeleteAutoScalingGroup refuses a group that still has instances (``ResourceInUse``, AWS's
  words) unless ForceDelete; with ForceDelete the group is removed from the store first (so
  the controller stops replacing) and then its instances are terminated, one by one.
* LifecycleState: a starting container is ``Pending``, a running one ``InService``, a stopped
  one (about to be replaced) ``Terminating``. HealthStatus is ``Unhealthy`` for a stopped
  instance and for an unhealthy one past the group's grace period, as the controller judges.
* TerminateInstanceInAutoScalingGroup stops the instance (SIGTERM, drain) and then lowers
  desired capacity when asked to decrement, so no controller pass during the drain picks a
  second instance to scale in; it records an Activity with AWS's cause text. A pass that runs
  in the instant between the instance's removal and the decrement may launch a replacement,
  which the next pass scales in again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._launch_data import find_template, instance_type_of
from orchestrator.api._policies import (
    PutScalingPolicy,
    describe_policy,
    policy_alarms,
    policy_from_request,
)
from orchestrator.api._requests import Request, iso, parse, parse_time
from orchestrator.asg import (
    Activity,
    ActivityStatusCode,
    AutoScalingGroup,
    ScalingProcess,
    TerminationPolicy,
    create_auto_scaling_group,
    resume_processes,
    set_desired_capacity,
    set_instance_protection,
    suspend_processes,
    update_auto_scaling_group,
)
from orchestrator.asg.activity import activity_id, timestamp
from orchestrator.asg.group import validate
from orchestrator.asg.instance import Health, Instance
from orchestrator.asg.store import Store
from orchestrator.elb.operations import Elbv2
from orchestrator.elb.settings import ElbSettings
from orchestrator.elb.state import ElbStore
from orchestrator.errors import AwsError, ValidationError
from orchestrator.launch_templates import DEFAULT, LaunchTemplate
from orchestrator.scaling.policy import ACCOUNT, REGION, PolicyType
from orchestrator.scaling.scheduled import UTC_ZONE, ScheduledAction

SERVICE = "autoscaling"

GroupName = Field(min_length=1, max_length=255)
MAX_RECORDS = 100


class LaunchTemplateSpecification(Request):
    launch_template_id: str | None = None
    launch_template_name: str | None = Field(default=None, min_length=3, max_length=128)
    version: str | None = None


class CreateAutoScalingGroup(Request):
    auto_scaling_group_name: str = GroupName
    launch_template: LaunchTemplateSpecification
    min_size: int = Field(ge=0)
    max_size: int = Field(ge=0)
    desired_capacity: int | None = Field(default=None, ge=0)
    availability_zones: list[str] = Field(default_factory=list)
    health_check_type: str = "EC2"
    health_check_grace_period: int = Field(default=0, ge=0)
    default_cooldown: int = Field(default=300, ge=0)
    termination_policies: list[str] = Field(default_factory=lambda: ["Default"])
    new_instances_protected_from_scale_in: bool = False
    target_group_arns: list[str] = Field(default_factory=list, alias="TargetGroupARNs")


class UpdateAutoScalingGroup(Request):
    auto_scaling_group_name: str = GroupName
    launch_template: LaunchTemplateSpecification | None = None
    min_size: int | None = Field(default=None, ge=0)
    max_size: int | None = Field(default=None, ge=0)
    desired_capacity: int | None = Field(default=None, ge=0)
    availability_zones: list[str] | None = None
    health_check_type: str | None = None
    health_check_grace_period: int | None = Field(default=None, ge=0)
    default_cooldown: int | None = Field(default=None, ge=0)
    termination_policies: list[str] | None = None
    new_instances_protected_from_scale_in: bool | None = None


class GroupRequest(Request):
    auto_scaling_group_name: str = GroupName


class TargetGroupsRequest(GroupRequest):
    target_group_arns: list[str] = Field(min_length=1, max_length=10, alias="TargetGroupARNs")


class DeleteAutoScalingGroup(GroupRequest):
    force_delete: bool = False


class DescribeAutoScalingGroups(Request):
    auto_scaling_group_names: list[str] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=100)


class DescribeAutoScalingInstances(Request):
    instance_ids: list[str] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=50)


class SetDesiredCapacity(GroupRequest):
    desired_capacity: int = Field(ge=0)


class SetInstanceProtection(GroupRequest):
    instance_ids: list[str]
    protected_from_scale_in: bool


class ScalingProcessQuery(GroupRequest):
    scaling_processes: list[str] = Field(default_factory=list)


class TerminateInstanceInAutoScalingGroup(Request):
    instance_id: str = Field(min_length=1, max_length=19)
    should_decrement_desired_capacity: bool


class DescribePolicies(Request):
    auto_scaling_group_name: str | None = None
    policy_names: list[str] = Field(default_factory=list)
    policy_types: list[Literal["SimpleScaling", "StepScaling", "TargetTrackingScaling"]] = Field(
        default_factory=list
    )
    max_records: int = Field(default=50, ge=1, le=100)


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


class DescribeScheduledActions(Request):
    auto_scaling_group_name: str | None = None
    scheduled_action_names: list[str] = Field(default_factory=list)
    max_records: int = Field(default=50, ge=1, le=100)


class DeleteScheduledAction(GroupRequest):
    scheduled_action_name: str = GroupName


class DescribeScalingActivities(Request):
    auto_scaling_group_name: str | None = None
    activity_ids: list[str] = Field(default_factory=list)
    max_records: int = Field(default=MAX_RECORDS, ge=1, le=MAX_RECORDS)


def group_arn(name: str) -> str:
    return (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
        f"{activity_id('group', name)}:autoScalingGroupName/{name}"
    )


def scheduled_action_arn(action: ScheduledAction) -> str:
    uuid = activity_id("scheduled", action.auto_scaling_group_name, action.scheduled_action_name)
    return (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scheduledUpdateGroupAction:{uuid}:"
        f"autoScalingGroupName/{action.auto_scaling_group_name}:"
        f"scheduledActionName/{action.scheduled_action_name}"
    )


def not_found(name: str) -> ValidationError:
    """AWS's answer for an unknown group in every action but the describes."""
    return ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup {name} not found")


def _group(store: Store, name: str) -> AutoScalingGroup:
    group = store.groups().get(name)
    if group is None:
        raise not_found(name)
    return group


def _template_version(
    templates: Mapping[str, LaunchTemplate], spec: LaunchTemplateSpecification
) -> tuple[LaunchTemplate, str]:
    """The template a LaunchTemplate specification names, with its version checked to exist."""
    try:
        template = find_template(templates, spec.launch_template_name, spec.launch_template_id)
        version = spec.version or DEFAULT
        template.resolve(version)
    except AwsError as error:
        raise ValidationError(
            f"You must use a valid fully-formed launch template. {error.message}"
        ) from None
    return template, version


def lifecycle_state(instance: Instance) -> str:
    if instance.health is Health.STARTING:
        return "Pending"
    if instance.health is Health.STOPPED:
        return "Terminating"
    return "InService"


def healthy(group: AutoScalingGroup, instance: Instance, now: float) -> bool:
    """As the controller judges: stopped fails at once, unhealthy only past the grace period."""
    if instance.health is Health.STOPPED:
        return False
    if instance.health is Health.UNHEALTHY:
        return now - instance.launched_at < group.health_check_grace_period
    return True


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
) -> dict[str, Any]:
    """One entry of a group's ``Instances``, as DescribeAutoScalingGroups answers it."""
    described: dict[str, Any] = {
        "InstanceId": instance.instance_id,
        "AvailabilityZone": instance.availability_zone,
        "LifecycleState": lifecycle_state(instance),
        "HealthStatus": "Healthy" if healthy(group, instance, now) else "Unhealthy",
        "LaunchTemplate": _instance_template(instance, templates),
        "ProtectedFromScaleIn": instance.instance_id in group.protected_instance_ids,
    }
    instance_type = _instance_type(instance, templates)
    if instance_type is not None:
        described["InstanceType"] = instance_type
    return described


def describe_group(
    group: AutoScalingGroup,
    instances: list[Instance],
    templates: Mapping[str, LaunchTemplate],
    now: float,
    target_group_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """One entry of DescribeAutoScalingGroups' ``AutoScalingGroups``."""
    template = templates.get(group.launch_template_name)
    launch_template: dict[str, Any] = {
        "LaunchTemplateName": group.launch_template_name,
        "Version": group.launch_template_version,
    }
    if template is not None:
        launch_template["LaunchTemplateId"] = template.launch_template_id
    return {
        "AutoScalingGroupName": group.auto_scaling_group_name,
        "AutoScalingGroupARN": group_arn(group.auto_scaling_group_name),
        "LaunchTemplate": launch_template,
        "MinSize": group.min_size,
        "MaxSize": group.max_size,
        "DesiredCapacity": group.desired_capacity,
        "DefaultCooldown": group.default_cooldown,
        "AvailabilityZones": list(group.availability_zones),
        "LoadBalancerNames": [],
        "TargetGroupARNs": list(target_group_arns),
        "HealthCheckType": group.health_check_type.value,
        "HealthCheckGracePeriod": group.health_check_grace_period,
        "Instances": [
            describe_instance(group, i, templates, now)
            for i in sorted(instances, key=lambda i: (i.launched_at, i.instance_id))
        ],
        "SuspendedProcesses": [
            {"ProcessName": p.value, "SuspensionReason": "User suspended at an unknown time"}
            for p in sorted(group.suspended_processes)
        ],
        "EnabledMetrics": [],
        "Tags": [],
        "TerminationPolicies": [p.value for p in group.termination_policies],
        "NewInstancesProtectedFromScaleIn": group.new_instances_protected_from_scale_in,
        **({"CreatedTime": iso(group.created_time)} if group.created_time is not None else {}),
    }


def describe_activity(activity: Activity) -> dict[str, Any]:
    """One entry of DescribeScalingActivities' ``Activities``, with ISO 8601 times."""
    described: dict[str, Any] = {
        "ActivityId": activity.activity_id,
        "AutoScalingGroupName": activity.auto_scaling_group_name,
        "AutoScalingGroupARN": group_arn(activity.auto_scaling_group_name),
        "Description": activity.description,
        "Cause": activity.cause,
        "StartTime": iso(activity.start_time),
        "StatusCode": activity.status_code.value,
        "Progress": activity.progress,
        "Details": "{}",
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
    """EC2 Auto Scaling's actions over the store and ``context.runtime``."""
    runtime = context.runtime

    def create_group(params: Params) -> Mapping[str, Any]:
        request = parse(CreateAutoScalingGroup, params)
        name = request.auto_scaling_group_name
        with Store(context.store_path) as store:
            if name in store.groups():
                raise AwsError(
                    "AlreadyExists",
                    f"AutoScalingGroup by this name already exists - A group with the name "
                    f"{name} already exists",
                )
            template, version = _template_version(store.launch_templates(), request.launch_template)
            group = create_auto_scaling_group(
                name,
                template.launch_template_name,
                min_size=request.min_size,
                max_size=request.max_size,
                desired_capacity=request.desired_capacity,
                availability_zones=request.availability_zones,
                launch_template_version=version,
                health_check_type=request.health_check_type,
                health_check_grace_period=request.health_check_grace_period,
                default_cooldown=request.default_cooldown,
                termination_policies=request.termination_policies,
                new_instances_protected_from_scale_in=request.new_instances_protected_from_scale_in,
            )
            if request.target_group_arns:
                with ElbStore(context.store_path) as elb_store:
                    Elbv2(elb_store).attach_target_groups(name, request.target_group_arns)
            store.put_group(replace(group, created_time=runtime.now()))
        return {}

    def attach_target_groups(params: Params) -> Mapping[str, Any]:
        """AttachLoadBalancerTargetGroups: the group's instances become targets; the load
        balancer controller registers them (and each later instance) on its next pass."""
        request = parse(TargetGroupsRequest, params)
        with Store(context.store_path) as store:
            _group(store, request.auto_scaling_group_name)
        with ElbStore(context.store_path) as elb_store:
            Elbv2(elb_store).attach_target_groups(
                request.auto_scaling_group_name, request.target_group_arns
            )
        return {}

    def detach_target_groups(params: Params) -> Mapping[str, Any]:
        """DetachLoadBalancerTargetGroups: with a load balancer running, the group's instances
        are deregistered first, so they drain as in AWS; without one, only the attachment goes."""
        request = parse(TargetGroupsRequest, params)
        with Store(context.store_path) as store:
            _group(store, request.auto_scaling_group_name)
        if context.environ.get("BARISTA_HAPROXY_RUNTIME_API"):
            controller = ElbSettings.from_environ(context.environ).controller(
                context.store_path, runtime
            )
            try:
                controller.detach_target_groups(
                    request.auto_scaling_group_name, request.target_group_arns
                )
            finally:
                controller.close()
        else:
            with ElbStore(context.store_path) as elb_store:
                Elbv2(elb_store).detach_target_groups(
                    request.auto_scaling_group_name, request.target_group_arns
                )
        return {}

    def update_group(params: Params) -> Mapping[str, Any]:
        request = parse(UpdateAutoScalingGroup, params)
        with Store(context.store_path) as store:
            group = _group(store, request.auto_scaling_group_name)
            version = None
            if request.launch_template is not None:
                template, version = _template_version(
                    store.launch_templates(), request.launch_template
                )
                group = replace(group, launch_template_name=template.launch_template_name)
            if request.default_cooldown is not None:
                group = replace(group, default_cooldown=request.default_cooldown)
            desired = request.desired_capacity
            if desired is None and (request.min_size is not None or request.max_size is not None):
                # AWS: a new MinSize above (MaxSize below) the current desired capacity moves
                # desired with it when DesiredCapacity is not given.
                low = group.min_size if request.min_size is None else request.min_size
                high = group.max_size if request.max_size is None else request.max_size
                if low <= high:
                    desired = min(max(group.desired_capacity, low), high)
            updated = update_auto_scaling_group(
                group,
                min_size=request.min_size,
                max_size=request.max_size,
                desired_capacity=desired,
                availability_zones=request.availability_zones,
                launch_template_version=version,
                health_check_type=request.health_check_type,
                health_check_grace_period=request.health_check_grace_period,
                termination_policies=request.termination_policies,
                new_instances_protected_from_scale_in=request.new_instances_protected_from_scale_in,
            )
            if updated.desired_capacity != group.desired_capacity:
                # Quote the change in the launches and terminations that follow, as for a user's
                # SetDesiredCapacity (min or max moving desired is still the user's doing).
                updated = set_desired_capacity(
                    replace(updated, desired_capacity=group.desired_capacity),
                    updated.desired_capacity,
                    now=runtime.now(),
                )
            store.put_group(validate(updated))
        return {}

    def delete_group(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteAutoScalingGroup, params)
        name = request.auto_scaling_group_name
        with Store(context.store_path) as store:
            _group(store, name)
            instances = runtime.instances(name)
            if instances and not request.force_delete:
                raise AwsError(
                    "ResourceInUse",
                    "You cannot delete an AutoScalingGroup while there are instances or pending "
                    "Spot instance request(s) still in the group.",
                )
            store.delete_group(name)
        for instance in instances:
            runtime.terminate(instance.instance_id)
        return {}

    def describe_groups(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeAutoScalingGroups, params)
        with Store(context.store_path) as store:
            groups = store.groups()
            templates = store.launch_templates()
        wanted = request.auto_scaling_group_names or list(groups)
        now = runtime.now()
        with ElbStore(context.store_path) as elb_store:
            attached = elb_store.attachments()
        described = [
            describe_group(
                groups[name], runtime.instances(name), templates, now, attached.get(name, ())
            )
            for name in wanted
            if name in groups
        ]
        return {"AutoScalingGroups": described[: request.max_records]}

    def describe_instances(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeAutoScalingInstances, params)
        with Store(context.store_path) as store:
            groups = store.groups()
            templates = store.launch_templates()
        now = runtime.now()
        wanted = set(request.instance_ids)
        found = []
        for instance in sorted(runtime.instances(), key=lambda i: i.instance_id):
            group = groups.get(instance.group)
            if group is None or (wanted and instance.instance_id not in wanted):
                continue
            described = describe_instance(group, instance, templates, now)
            # This action spells health in capitals, unlike DescribeAutoScalingGroups.
            described["HealthStatus"] = described["HealthStatus"].upper()
            found.append({"AutoScalingGroupName": group.auto_scaling_group_name, **described})
        return {"AutoScalingInstances": found[: request.max_records]}

    def set_desired(params: Params) -> Mapping[str, Any]:
        request = parse(SetDesiredCapacity, params)
        with Store(context.store_path) as store:
            group = _group(store, request.auto_scaling_group_name)
            store.put_group(
                set_desired_capacity(group, request.desired_capacity, now=runtime.now())
            )
        return {}

    def set_protection(params: Params) -> Mapping[str, Any]:
        request = parse(SetInstanceProtection, params)
        name = request.auto_scaling_group_name
        with Store(context.store_path) as store:
            group = _group(store, name)
            members = [i.instance_id for i in runtime.instances(name)]
            store.put_group(
                set_instance_protection(
                    group,
                    request.instance_ids,
                    protected_from_scale_in=request.protected_from_scale_in,
                    member_ids=members,
                )
            )
        return {}

    def processes(suspend: bool) -> Action:
        def change(params: Params) -> Mapping[str, Any]:
            request = parse(ScalingProcessQuery, params)
            with Store(context.store_path) as store:
                group = _group(store, request.auto_scaling_group_name)
                apply = suspend_processes if suspend else resume_processes
                store.put_group(apply(group, request.scaling_processes))
            return {}

        return change

    def terminate_instance(params: Params) -> Mapping[str, Any]:
        request = parse(TerminateInstanceInAutoScalingGroup, params)
        instance = next(
            (i for i in runtime.instances() if i.instance_id == request.instance_id), None
        )
        with Store(context.store_path) as store:
            group = store.groups().get(instance.group) if instance is not None else None
            if instance is None or group is None:
                raise ValidationError(
                    f"Instance Id not found - No managed instance found for instance ID: "
                    f"{request.instance_id}"
                )
            now = runtime.now()
            cause = (
                f"At {timestamp(now)} instance {instance.instance_id} was taken out of service "
                "in response to a user request"
            )
            if request.should_decrement_desired_capacity:
                desired = group.desired_capacity
                if desired - 1 < group.min_size:
                    raise ValidationError(
                        f"Currently, desiredSize equals minSize ({group.min_size}). Terminating "
                        "instance without replacement will violate group's min size constraint. "
                        "Either set shouldDecrementDesiredCapacity flag to false or lower group's "
                        "min size."
                    )
                cause += f", shrinking the capacity from {desired} to {desired - 1}"
            activity = Activity(
                activity_id=activity_id(group.auto_scaling_group_name, now, instance.instance_id),
                auto_scaling_group_name=group.auto_scaling_group_name,
                description=f"Terminating EC2 instance: {instance.instance_id}",
                cause=f"{cause}.",
                start_time=now,
                status_code=ActivityStatusCode.IN_PROGRESS,
            )
            store.record_activities([activity])
            # Stop the instance first, then lower desired: while it drains the controller sees
            # desired == actual and does nothing. Lowering first would let a pass during the
            # drain scale in a *different* instance by the termination policies.
            runtime.terminate(instance.instance_id)
            if request.should_decrement_desired_capacity:
                current = _group(store, group.auto_scaling_group_name)
                store.put_group(
                    replace(
                        current,
                        desired_capacity=max(current.desired_capacity - 1, current.min_size),
                        desired_capacity_cause=f"{cause}.",
                    )
                )
            done = replace(
                activity,
                status_code=ActivityStatusCode.SUCCESSFUL,
                end_time=runtime.now(),
                progress=100,
            )
            store.record_activities([done])
        return {"Activity": describe_activity(done)}

    def put_policy(params: Params) -> Mapping[str, Any]:
        request = parse(PutScalingPolicy, params)
        with Store(context.store_path) as store:
            _group(store, request.auto_scaling_group_name)
            policy = policy_from_request(request)
            store.put_policy(policy)
            alarms = store.alarms()
        response: dict[str, Any] = {"PolicyARN": policy.policy_arn}
        if policy.policy_type is PolicyType.TARGET_TRACKING_SCALING:
            response["Alarms"] = policy_alarms(policy, alarms)
        return response

    def describe_policies(params: Params) -> Mapping[str, Any]:
        request = parse(DescribePolicies, params)
        with Store(context.store_path) as store:
            policies = store.policies(request.auto_scaling_group_name)
            alarms = store.alarms()
        chosen = [
            p
            for p in policies
            if (not request.policy_names or p.policy_name in request.policy_names)
            and (not request.policy_types or p.policy_type.value in request.policy_types)
        ]
        return {
            "ScalingPolicies": [describe_policy(p, alarms) for p in chosen][: request.max_records]
        }

    def delete_policy(params: Params) -> Mapping[str, Any]:
        request = parse(DeletePolicy, params)
        with Store(context.store_path) as store:
            policies = store.policies(request.auto_scaling_group_name)
            match = [p for p in policies if request.policy_name in (p.policy_name, p.policy_arn)]
            if not match:
                raise ValidationError(f"Policy {request.policy_name} does not exist.")
            for policy in match:
                store.delete_policy(policy.auto_scaling_group_name, policy.policy_name)
        return {}

    def put_scheduled(params: Params) -> Mapping[str, Any]:
        request = parse(PutScheduledUpdateGroupAction, params)
        now = runtime.now()
        start = parse_time(request.start_time, "startTime") if request.start_time else None
        end = parse_time(request.end_time, "endTime") if request.end_time else None
        if start is not None and start < now and request.recurrence is None:
            raise ValidationError("Given start time is in the past")
        action = ScheduledAction(
            auto_scaling_group_name=request.auto_scaling_group_name,
            scheduled_action_name=request.scheduled_action_name,
            recurrence=request.recurrence,
            start_time=start,
            end_time=end,
            time_zone=request.time_zone or UTC_ZONE,
            min_size=request.min_size,
            max_size=request.max_size,
            desired_capacity=request.desired_capacity,
        )
        with Store(context.store_path) as store:
            _group(store, request.auto_scaling_group_name)
            store.put_scheduled_action(action, created_at=now)
        return {}

    def describe_scheduled(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScheduledActions, params)
        with Store(context.store_path) as store:
            found = store.scheduled_actions(request.auto_scaling_group_name)
        now = runtime.now()
        described = [
            describe_scheduled_action(action, checked, now)
            for action, checked in found
            if not request.scheduled_action_names
            or action.scheduled_action_name in request.scheduled_action_names
        ]
        return {"ScheduledUpdateGroupActions": described[: request.max_records]}

    def delete_scheduled(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteScheduledAction, params)
        with Store(context.store_path) as store:
            _group(store, request.auto_scaling_group_name)
            if not store.delete_scheduled_action(
                request.auto_scaling_group_name, request.scheduled_action_name
            ):
                raise ValidationError(
                    f"Scheduled action name not found - Could not find scheduled action "
                    f"{request.scheduled_action_name} for group "
                    f"{request.auto_scaling_group_name}"
                )
        return {}

    def describe_activities(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScalingActivities, params)
        with Store(context.store_path) as store:
            found = store.activities(request.auto_scaling_group_name, request.max_records)
            if request.activity_ids:
                # Ids may be older than the newest page; look further back for them.
                wanted = set(request.activity_ids)
                found = [
                    a
                    for a in store.activities(request.auto_scaling_group_name, 1_000_000)
                    if a.activity_id in wanted
                ][: request.max_records]
        return {"Activities": [describe_activity(a) for a in found]}

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
        "PutScheduledUpdateGroupAction": put_scheduled,
        "DescribeScheduledActions": describe_scheduled,
        "DeleteScheduledAction": delete_scheduled,
        "DescribeScalingActivities": describe_activities,
        "DescribeTerminationPolicyTypes": termination_policy_types,
        "DescribeScalingProcessTypes": scaling_process_types,
        "AttachLoadBalancerTargetGroups": attach_target_groups,
        "DetachLoadBalancerTargetGroups": detach_target_groups,
    }
