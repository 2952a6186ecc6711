"""EC2 Auto Scaling's actions on the store and the runtime, with AWS's rules and errors.

The HTTP API parses requests into these calls and renders what they return; everything AWS
decides lives here. Definitions go to the store and the controller acts on them on its next
pass; the only actions that touch instances themselves are the two AWS performs at once,
TerminateInstanceInAutoScalingGroup and DeleteAutoScalingGroup with ForceDelete, and both go
through the controller's own :class:`~orchestrator.asg.terminator.Terminator`, so the load
balancer drains an instance before it stops, whoever asked.

Choices where AWS leaves room:

* DeleteAutoScalingGroup refuses a group that still has instances (``ResourceInUse``, AWS's
  words) unless ForceDelete; with ForceDelete the group is removed from the store first (so
  the controller stops replacing), then its instances are drained and terminated one by one,
  and last its target group attachments go.
* LifecycleState: an instance's persisted lifecycle record when it has one
  (``orchestrator.asg.lifecycle``); otherwise, for instances launched before records
  existed, a starting container is ``Pending``, a running one ``InService``, a stopped one
  ``Terminating``. HealthStatus is ``Unhealthy`` for a stopped instance and for an unhealthy
  one past the group's grace period, as the controller judges.
* TerminateInstanceInAutoScalingGroup answers at once, as AWS does: the instance enters
  ``Terminating`` with its activity (``InProgress``), desired capacity drops at once when
  asked to decrement, and the controller drains, runs the terminate hooks and stops it on its
  own passes. A terminating instance is no longer capacity, so no pass picks a second
  instance to scale in meanwhile; without the decrement, the replacement launches at once.
* Lifecycle hooks: PutLifecycleHook, DescribeLifecycleHooks, DeleteLifecycleHook; an
  instance's actions are completed (CompleteLifecycleAction) or extended
  (RecordLifecycleActionHeartbeat) by instance id or by LifecycleActionToken, as AWS allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from orchestrator.asg import paging
from orchestrator.asg.controller import begin_termination
from orchestrator.asg.group import (
    AutoScalingGroup,
    Tag,
    create_auto_scaling_group,
    group_named,
    resume_processes,
    set_desired_capacity,
    set_instance_protection,
    suspend_processes,
    update_auto_scaling_group,
    validate,
    with_tags,
    without_tags,
)
from orchestrator.asg.hooks import LifecycleHook, action_result, put_lifecycle_hook
from orchestrator.asg.lifecycle import InstanceLifecycle, complete, heartbeat
from orchestrator.asg.mixed import MixedInstancesPolicy
from orchestrator.asg.paging import Page
from orchestrator.asg.store import Store
from orchestrator.asg.terminator import Terminator
from orchestrator.asg.warm_pool import WarmPool
from orchestrator.asg.zones import zones_of
from orchestrator.elb.controller import ElbController
from orchestrator.elb.operations import Elbv2
from orchestrator.elb.state import ElbStore
from orchestrator.errors import AwsError, ValidationError
from orchestrator.instances import Health, Instance
from orchestrator.launch_templates import DEFAULT, LaunchTemplate, find_template
from orchestrator.runtime import Runtime
from orchestrator.scaling.activity import Activity, ActivityStatusCode, activity_id, timestamp
from orchestrator.scaling.alarms import MetricAlarm
from orchestrator.scaling.policy import ScalingPolicy
from orchestrator.scaling.predictive import Forecast, PredictiveScalingConfiguration
from orchestrator.scaling.scheduled import ScheduledAction

_SETTLE_ATTEMPTS = 5  # compare-and-swap retries against the controller's own writes
RESOURCE_TYPE = "auto-scaling-group"  # the only ResourceType Auto Scaling tags
TAG_FILTERS = ("auto-scaling-group", "key", "value", "propagate-at-launch")
MAX_FORECAST_RANGE = 30 * 24 * 3600  # GetPredictiveScalingForecast: EndTime - StartTime


def lifecycle_state(instance: Instance, record: InstanceLifecycle | None = None) -> str:
    """The instance's persisted lifecycle state, else what its health implies; a container
    that died is ``Terminating`` already (the next pass replaces it)."""
    if record is not None and (
        record.state.leaving or record.state.warmed or instance.health is not Health.STOPPED
    ):
        return record.state.value
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


@dataclass(frozen=True)
class LaunchTemplateSpecification:
    launch_template_id: str | None = None
    launch_template_name: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class ResourceTag:
    """A tag as CreateOrUpdateTags, DeleteTags and DescribeTags name it: with its group."""

    resource_id: str
    tag: Tag
    resource_type: str = RESOURCE_TYPE


@dataclass(frozen=True)
class GroupDescription:
    """What DescribeAutoScalingGroups answers for one group."""

    group: AutoScalingGroup
    instances: list[Instance]
    target_group_arns: list[str]
    lifecycles: Mapping[str, InstanceLifecycle] = field(default_factory=dict)
    warm_pool: WarmPool | None = None
    warm_pool_size: int = 0


@dataclass(frozen=True)
class InstanceDescription:
    group: AutoScalingGroup
    instance: Instance
    lifecycle: InstanceLifecycle | None = None


def resource_type(value: str | None) -> None:
    if value is not None and value != RESOURCE_TYPE:
        raise ValidationError(
            f"Invalid value '{value}' for ResourceType; must be '{RESOURCE_TYPE}'."
        )


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


class AutoScaling:
    """EC2 Auto Scaling's actions over one store, the runtime and the load balancer's store.

    ``elb`` is the load balancer controller when one runs (HAProxy configured): terminations
    drain through its ``before_terminate``, and detaching target groups drains the group's
    instances. Without it those steps touch only the store.
    """

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        elb_store: ElbStore,
        elb: ElbController | None = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.elb_store = elb_store
        self.elb = elb
        self.terminate = Terminator(runtime, elb.before_terminate if elb is not None else None)

    # Lookups.

    def group(self, name: str) -> AutoScalingGroup:
        return group_named(self.store.groups(), name)

    def launch_templates(self) -> dict[str, LaunchTemplate]:
        return self.store.launch_templates()

    def _zones(
        self, availability_zones: Sequence[str] | None, vpc_zone_identifier: str | None
    ) -> tuple[str, ...] | None:
        """The zones a request names, by AvailabilityZones or by VPCZoneIdentifier's subnets
        (which, given both, must lie in those zones, as AWS requires)."""
        if vpc_zone_identifier is None:
            return None if availability_zones is None else tuple(availability_zones)
        known = [z for g in self.store.groups().values() for z in g.availability_zones]
        zones = zones_of(vpc_zone_identifier, known)
        if availability_zones and not set(zones) <= set(availability_zones):
            raise ValidationError(
                "The availability zones of the specified subnets and the Auto Scaling group do "
                "not match"
            )
        return zones

    # Groups.

    def create_group(  # noqa: PLR0913 - mirrors CreateAutoScalingGroup's parameters
        self,
        name: str,
        launch_template: LaunchTemplateSpecification,
        *,
        min_size: int,
        max_size: int,
        desired_capacity: int | None = None,
        availability_zones: Sequence[str] = (),
        vpc_zone_identifier: str | None = None,
        health_check_type: str = "EC2",
        health_check_grace_period: int = 0,
        default_cooldown: int = 300,
        termination_policies: Sequence[str] = ("Default",),
        new_instances_protected_from_scale_in: bool = False,
        capacity_rebalance: bool = False,
        default_instance_warmup: int | None = None,
        max_instance_lifetime: int | None = None,
        target_group_arns: Sequence[str] = (),
        tags: Sequence[ResourceTag] = (),
        mixed_instances_policy: MixedInstancesPolicy | None = None,
    ) -> AutoScalingGroup:
        if name in self.store.groups():
            raise AwsError(
                "AlreadyExists",
                f"AutoScalingGroup by this name already exists - A group with the name "
                f"{name} already exists",
            )
        template, version = _template_version(self.store.launch_templates(), launch_template)
        for tag in tags:
            resource_type(tag.resource_type)
        group = create_auto_scaling_group(
            name,
            template.launch_template_name,
            min_size=min_size,
            max_size=max_size,
            desired_capacity=desired_capacity,
            availability_zones=self._zones(availability_zones, vpc_zone_identifier) or (),
            launch_template_version=version,
            health_check_type=health_check_type,
            health_check_grace_period=health_check_grace_period,
            default_cooldown=default_cooldown,
            termination_policies=termination_policies,
            new_instances_protected_from_scale_in=new_instances_protected_from_scale_in,
            capacity_rebalance=capacity_rebalance,
            default_instance_warmup=default_instance_warmup,
            max_instance_lifetime=max_instance_lifetime,
            tags=[t.tag for t in tags],
            mixed_instances_policy=mixed_instances_policy,
        )
        if target_group_arns:
            Elbv2(self.elb_store).attach_target_groups(name, target_group_arns)
        created = replace(group, created_time=self.runtime.now())
        self.store.put_group(created)
        return created

    def update_group(  # noqa: PLR0913 - mirrors UpdateAutoScalingGroup's parameters
        self,
        name: str,
        *,
        launch_template: LaunchTemplateSpecification | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
        desired_capacity: int | None = None,
        availability_zones: Sequence[str] | None = None,
        vpc_zone_identifier: str | None = None,
        health_check_type: str | None = None,
        health_check_grace_period: int | None = None,
        default_cooldown: int | None = None,
        termination_policies: Sequence[str] | None = None,
        new_instances_protected_from_scale_in: bool | None = None,
        capacity_rebalance: bool | None = None,
        default_instance_warmup: int | None = None,
        max_instance_lifetime: int | None = None,
        mixed_instances_policy: MixedInstancesPolicy | None = None,
    ) -> AutoScalingGroup:
        group = self.group(name)
        version = None
        if launch_template is not None:
            template, version = _template_version(self.store.launch_templates(), launch_template)
            group = replace(group, launch_template_name=template.launch_template_name)
        desired = desired_capacity
        if desired is None and (min_size is not None or max_size is not None):
            # AWS: a new MinSize above (MaxSize below) the current desired capacity moves
            # desired with it when DesiredCapacity is not given.
            low = group.min_size if min_size is None else min_size
            high = group.max_size if max_size is None else max_size
            if low <= high:
                desired = min(max(group.desired_capacity, low), high)
        updated = update_auto_scaling_group(
            group,
            min_size=min_size,
            max_size=max_size,
            desired_capacity=desired,
            availability_zones=self._zones(availability_zones, vpc_zone_identifier),
            launch_template_version=version,
            health_check_type=health_check_type,
            health_check_grace_period=health_check_grace_period,
            termination_policies=termination_policies,
            new_instances_protected_from_scale_in=new_instances_protected_from_scale_in,
            default_cooldown=default_cooldown,
            capacity_rebalance=capacity_rebalance,
            default_instance_warmup=default_instance_warmup,
            max_instance_lifetime=max_instance_lifetime,
            mixed_instances_policy=mixed_instances_policy,
        )
        if updated.desired_capacity != group.desired_capacity:
            # Quote the change in the launches and terminations that follow, as for a user's
            # SetDesiredCapacity (min or max moving desired is still the user's doing).
            updated = set_desired_capacity(
                replace(updated, desired_capacity=group.desired_capacity),
                updated.desired_capacity,
                now=self.runtime.now(),
            )
        self.store.put_group(validate(updated))
        return updated

    def delete_group(self, name: str, *, force_delete: bool = False) -> None:
        self.group(name)
        instances = self.runtime.instances(name)
        if instances and not force_delete:
            raise AwsError(
                "ResourceInUse",
                "You cannot delete an AutoScalingGroup while there are instances or pending "
                "Spot instance request(s) still in the group.",
            )
        self.store.delete_group(name)
        for instance in instances:
            self.terminate(name, instance.instance_id)
        attached = self.elb_store.attachments().get(name, [])
        if attached:
            self.elb_store.detach_target_groups(name, list(attached))

    def describe_groups(
        self, names: Sequence[str], max_records: int, next_token: str | None
    ) -> Page[GroupDescription]:
        groups = self.store.groups()
        wanted = sorted(n for n in (names or groups) if n in groups)
        page = paging.paginate("groups", wanted, lambda n: [n], max_records, next_token)
        attached = self.elb_store.attachments()
        lifecycles = self.store.instance_lifecycles()
        # A warm pool's instances are no members (DescribeWarmPool lists them).
        warm = {i for i, r in lifecycles.items() if r.state.warmed}
        pools = self.store.warm_pools()
        return Page(
            [
                GroupDescription(
                    groups[n],
                    [i for i in self.runtime.instances(n) if i.instance_id not in warm],
                    list(attached.get(n, ())),
                    lifecycles,
                    pools.get(n),
                    sum(1 for i in self.runtime.instances(n) if i.instance_id in warm),
                )
                for n in page.items
            ],
            page.next_token,
        )

    def describe_instances(
        self, instance_ids: Sequence[str], max_records: int, next_token: str | None
    ) -> Page[InstanceDescription]:
        groups = self.store.groups()
        wanted = set(instance_ids)
        lifecycles = self.store.instance_lifecycles()
        found = [
            InstanceDescription(groups[i.group], i, lifecycles.get(i.instance_id))
            for i in sorted(self.runtime.instances(), key=lambda i: i.instance_id)
            if i.group in groups and (not wanted or i.instance_id in wanted)
        ]
        return paging.paginate(
            "instances", found, lambda d: [d.instance.instance_id], max_records, next_token
        )

    def set_desired_capacity(
        self, name: str, desired_capacity: int, *, honor_cooldown: bool = False
    ) -> None:
        """SetDesiredCapacity. With ``honor_cooldown`` (AWS's HonorCooldown; off by default, as
        manual scaling ignores cooldowns) the change is refused while a scaling activity of the
        group is in progress or its DefaultCooldown since the last one has not passed."""
        group = self.group(name)
        now = self.runtime.now()
        if honor_cooldown:
            self._refuse_within_cooldown(group, now)
        self.store.put_group(set_desired_capacity(group, desired_capacity, now=now))

    def _refuse_within_cooldown(self, group: AutoScalingGroup, now: float) -> None:
        for activity in self.store.activities(group.auto_scaling_group_name, max_records=20):
            ended = activity.end_time
            if ended is None or ended + group.default_cooldown > now:
                raise AwsError(
                    "ScalingActivityInProgress",
                    f"Scaling activity {activity.activity_id} is in progress and blocks this "
                    "action",
                )

    def set_instance_protection(
        self, name: str, instance_ids: Sequence[str], *, protected_from_scale_in: bool
    ) -> None:
        group = self.group(name)
        members = [i.instance_id for i in self.runtime.instances(name)]
        self.store.put_group(
            set_instance_protection(
                group,
                instance_ids,
                protected_from_scale_in=protected_from_scale_in,
                member_ids=members,
            )
        )

    def suspend_processes(self, name: str, processes: Sequence[str]) -> None:
        self.store.put_group(suspend_processes(self.group(name), processes))

    def resume_processes(self, name: str, processes: Sequence[str]) -> None:
        self.store.put_group(resume_processes(self.group(name), processes))

    def terminate_instance(self, instance_id: str, *, should_decrement: bool) -> Activity:
        """TerminateInstanceInAutoScalingGroup: the termination begins and the call returns
        its activity at once (``InProgress``); the controller drains, runs the terminate
        hooks and stops the instance on its own passes."""
        instance = next((i for i in self.runtime.instances() if i.instance_id == instance_id), None)
        group = self.store.groups().get(instance.group) if instance is not None else None
        if instance is None or group is None:
            raise ValidationError(
                f"Instance Id not found - No managed instance found for instance ID: {instance_id}"
            )
        name = group.auto_scaling_group_name
        current = self.store.instance_lifecycles(name).get(instance_id)
        if current is not None and current.state.leaving and current.activity is not None:
            return current.activity  # already on its way out: the same termination
        now = self.runtime.now()
        cause = (
            f"At {timestamp(now)} instance {instance_id} was taken out of service in response "
            "to a user request"
        )
        if should_decrement:
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
            activity_id=activity_id(name, now, instance_id),
            resource_id=name,
            description=f"Terminating EC2 instance: {instance_id}",
            cause=f"{cause}.",
            start_time=now,
            status_code=ActivityStatusCode.IN_PROGRESS,
            availability_zone=instance.availability_zone,
        )
        # The instance leaves capacity as it enters Terminating, so lowering desired now
        # cannot make a pass scale in a second instance.
        begin_termination(self.store, name, instance_id, activity)
        current_group = self.group(name)
        # A protected instance can be terminated by request; its protection goes with it.
        changed = replace(
            current_group,
            protected_instance_ids=current_group.protected_instance_ids - {instance_id},
        )
        if should_decrement:
            changed = replace(
                changed,
                desired_capacity=max(current_group.desired_capacity - 1, current_group.min_size),
                desired_capacity_cause=f"{cause}.",
            )
        self.store.put_group(changed)
        return activity

    # Lifecycle hooks.

    def put_lifecycle_hook(
        self,
        group_name: str,
        hook_name: str,
        *,
        lifecycle_transition: str | None = None,
        heartbeat_timeout: int | None = None,
        default_result: str | None = None,
        notification_target_arn: str | None = None,
        role_arn: str | None = None,
        notification_metadata: str | None = None,
    ) -> LifecycleHook:
        self.group(group_name)
        hooks = {h.lifecycle_hook_name: h for h in self.store.lifecycle_hooks(group_name)}
        hook = put_lifecycle_hook(
            hooks.get(hook_name),
            lifecycle_hook_name=hook_name,
            auto_scaling_group_name=group_name,
            hooks_in_group=len(hooks),
            lifecycle_transition=lifecycle_transition,
            heartbeat_timeout=heartbeat_timeout,
            default_result=default_result,
            notification_target_arn=notification_target_arn,
            role_arn=role_arn,
            notification_metadata=notification_metadata,
        )
        self.store.put_lifecycle_hook(hook)
        return hook

    def describe_lifecycle_hooks(
        self, group_name: str, hook_names: Sequence[str] = ()
    ) -> list[LifecycleHook]:
        """AWS answers an unknown group here with ValidationError, unlike the other describes."""
        self.group(group_name)
        return [
            h
            for h in self.store.lifecycle_hooks(group_name)
            if not hook_names or h.lifecycle_hook_name in hook_names
        ]

    def delete_lifecycle_hook(self, group_name: str, hook_name: str) -> None:
        """Actions already under way keep their deadlines, as in AWS (they time out or are
        completed); new transitions no longer wait for the hook."""
        self.group(group_name)
        if not self.store.delete_lifecycle_hook(group_name, hook_name):
            raise ValidationError(
                f"No Lifecycle Hook named '{hook_name}' found for Auto Scaling group '{group_name}'"
            )

    def complete_lifecycle_action(
        self,
        group_name: str,
        hook_name: str,
        result: str,
        *,
        instance_id: str | None = None,
        token: str | None = None,
    ) -> None:
        """CompleteLifecycleAction: the action's result; the controller proceeds next pass."""
        chosen = action_result(result)
        self._settle(
            group_name,
            hook_name,
            instance_id,
            token,
            lambda record, index: complete(record, index, chosen),
        )

    def record_lifecycle_action_heartbeat(
        self,
        group_name: str,
        hook_name: str,
        *,
        instance_id: str | None = None,
        token: str | None = None,
    ) -> None:
        """RecordLifecycleActionHeartbeat: the heartbeat timeout starts again."""
        now = self.runtime.now()
        self._settle(
            group_name,
            hook_name,
            instance_id,
            token,
            lambda record, index: heartbeat(record, index, now),
        )

    def _settle(
        self,
        group_name: str,
        hook_name: str,
        instance_id: str | None,
        token: str | None,
        change: Callable[[InstanceLifecycle, int], InstanceLifecycle],
    ) -> None:
        self.group(group_name)
        if instance_id is None and token is None:
            raise ValidationError("Either LifecycleActionToken or InstanceId must be specified.")
        for _ in range(_SETTLE_ATTEMPTS):
            now = self.runtime.now()
            found = None
            for record in self.store.instance_lifecycles(group_name).values():
                if instance_id is not None and record.instance_id != instance_id:
                    continue
                if not record.state.waiting:
                    continue
                match = record.open_action(hook_name, token)
                if match is not None and now < min(
                    match[1].heartbeat_deadline, match[1].global_deadline
                ):
                    found = (record, match[0])
                    break
            if found is None:
                what = f"token {token}" if token is not None else f"instance ID {instance_id}"
                raise ValidationError(f"No active Lifecycle Action found with {what}")
            record, index = found
            if self.store.replace_instance_lifecycle(record, change(record, index)):
                return
        raise AwsError(
            "ResourceContention",
            "You already have a pending update to an Auto Scaling resource (for example, a "
            "group, instance, or load balancer).",
            status=500,
        )

    # Load balancer target groups.

    def attach_target_groups(self, name: str, target_group_arns: Sequence[str]) -> None:
        """The group's instances become targets; the load balancer controller registers them
        (and each later instance) on its next pass."""
        self.group(name)
        Elbv2(self.elb_store).attach_target_groups(name, target_group_arns)

    def detach_target_groups(self, name: str, target_group_arns: Sequence[str]) -> None:
        """With a load balancer running, the group's instances are deregistered first, so they
        drain as in AWS; without one, only the attachment goes."""
        self.group(name)
        if self.elb is not None:
            self.elb.detach_target_groups(name, list(target_group_arns))
        else:
            Elbv2(self.elb_store).detach_target_groups(name, target_group_arns)

    # Tags.

    def create_or_update_tags(self, tags: Sequence[ResourceTag]) -> None:
        by_group = self._tags_by_group(tags)
        groups = {name: self.group(name) for name in by_group}
        for name, group in groups.items():
            self.store.put_group(with_tags(group, by_group[name]))

    def delete_tags(self, tags: Sequence[ResourceTag]) -> None:
        by_group = self._tags_by_group(tags)
        groups = {name: self.group(name) for name in by_group}
        for name, group in groups.items():
            self.store.put_group(without_tags(group, [t.key for t in by_group[name]]))

    @staticmethod
    def _tags_by_group(tags: Iterable[ResourceTag]) -> dict[str, list[Tag]]:
        by_group: dict[str, list[Tag]] = {}
        for tag in tags:
            resource_type(tag.resource_type)
            by_group.setdefault(tag.resource_id, []).append(tag.tag)
        return by_group

    def describe_tags(
        self, filters: Mapping[str, Sequence[str]], max_records: int, next_token: str | None
    ) -> Page[ResourceTag]:
        """DescribeTags: values of one filter are alternatives; filters must all match."""
        unknown = sorted(set(filters) - set(TAG_FILTERS))
        if unknown:
            raise ValidationError(
                f"Filter type {unknown[0]} is not correct. Allowed Filter types are: "
                + " ".join(TAG_FILTERS)
            )

        def matches(item: ResourceTag) -> bool:
            values = {
                "auto-scaling-group": item.resource_id,
                "key": item.tag.key,
                "value": item.tag.value,
                "propagate-at-launch": str(item.tag.propagate_at_launch).lower(),
            }
            return all(values[name] in wanted for name, wanted in filters.items())

        every = [
            ResourceTag(name, tag)
            for name, group in sorted(self.store.groups().items())
            for tag in group.tags
        ]
        return paging.paginate(
            "tags",
            [t for t in every if matches(t)],
            lambda t: [t.resource_id, t.tag.key],
            max_records,
            next_token,
        )

    # Policies and scheduled actions.

    def put_policy(self, policy: ScalingPolicy) -> list[MetricAlarm]:
        """Store the policy; returns the alarms, for the ones that invoke it."""
        self.group(policy.auto_scaling_group_name)
        self.store.put_policy(policy)
        return self.store.alarms()

    def describe_policies(
        self,
        group: str | None,
        policy_names: Sequence[str],
        policy_types: Sequence[str],
        max_records: int,
        next_token: str | None,
    ) -> tuple[Page[ScalingPolicy], list[MetricAlarm]]:
        chosen = [
            p
            for p in self.store.policies(group)
            if (not policy_names or p.policy_name in policy_names)
            and (not policy_types or p.policy_type.value in policy_types)
        ]
        chosen.sort(key=lambda p: (p.auto_scaling_group_name, p.policy_name))
        page = paging.paginate(
            "policies",
            chosen,
            lambda p: [p.auto_scaling_group_name, p.policy_name],
            max_records,
            next_token,
        )
        return page, self.store.alarms()

    def predictive_forecast(
        self, group: str, policy_name: str, start: float, end: float
    ) -> tuple[ScalingPolicy, float | None, Forecast | None]:
        """GetPredictiveScalingForecast: the policy, when it last forecast, and its forecast
        (``None`` until its load metric has 24 hours of history)."""
        if end <= start:
            raise ValidationError("The StartTime must be before the EndTime.")
        if end - start > MAX_FORECAST_RANGE:
            raise ValidationError(
                "The time range between StartTime and EndTime can't exceed 30 days."
            )
        self.group(group)
        found = [
            p
            for p in self.store.policies(group)
            if p.policy_name == policy_name
            and isinstance(p.definition, PredictiveScalingConfiguration)
        ]
        if not found:
            raise ValidationError(
                f"No predictive scaling policy {policy_name} in Auto Scaling group {group}."
            )
        attempted, forecast = self.store.forecast(group, policy_name)
        return found[0], attempted, forecast

    def delete_policy(self, group: str | None, policy_name: str) -> None:
        policies = self.store.policies(group)
        match = [p for p in policies if policy_name in (p.policy_name, p.policy_arn)]
        if not match:
            raise ValidationError(f"Policy {policy_name} does not exist.")
        for policy in match:
            self.store.delete_policy(policy.auto_scaling_group_name, policy.policy_name)

    def put_scheduled_action(self, action: ScheduledAction) -> None:
        now = self.runtime.now()
        if action.start_time is not None and action.start_time < now and not action.recurrence:
            raise ValidationError("Given start time is in the past")
        self.group(action.auto_scaling_group_name)
        self.store.put_scheduled_action(action, created_at=now)

    def describe_scheduled_actions(
        self,
        group: str | None,
        names: Sequence[str],
        max_records: int,
        next_token: str | None,
    ) -> Page[tuple[ScheduledAction, float]]:
        """Each action with when the scaling controller last checked it."""
        found = [
            (action, checked)
            for action, checked in self.store.scheduled_actions(group)
            if not names or action.scheduled_action_name in names
        ]
        found.sort(key=lambda f: (f[0].auto_scaling_group_name, f[0].scheduled_action_name))
        return paging.paginate(
            "scheduled",
            found,
            lambda f: [f[0].auto_scaling_group_name, f[0].scheduled_action_name],
            max_records,
            next_token,
        )

    def delete_scheduled_action(self, group: str, name: str) -> None:
        self.group(group)
        if not self.store.delete_scheduled_action(group, name):
            raise ValidationError(
                f"Scheduled action name not found - Could not find scheduled action {name} "
                f"for group {group}"
            )

    # Activities.

    def describe_activities(
        self,
        group: str | None,
        activity_ids: Sequence[str],
        max_records: int,
        next_token: str | None,
    ) -> Page[Activity]:
        """Newest first; a page continues after the (start time, id) of the last one."""

        def key(activity: Activity) -> paging.Key:
            return [-activity.start_time, activity.activity_id]

        if activity_ids:
            # Ids may be older than any page; look through the whole history for them.
            wanted = set(activity_ids)
            every = [a for a in self.store.activities(group, 1_000_000) if a.activity_id in wanted]
            return paging.paginate("activities", every, key, max_records, next_token)
        after = None
        if next_token is not None:
            decoded = paging.decode("activities", next_token)
            if len(decoded) != 2 or not isinstance(decoded[0], int | float):
                raise paging.invalid_next_token()
            after = (-float(decoded[0]), str(decoded[1]))
        found = self.store.activities(group, max_records + 1, after)
        if len(found) > max_records:
            found = found[:max_records]
            return Page(found, paging.encode("activities", key(found[-1])))
        return Page(found)

    def group_exists(self, name: str) -> bool:
        return name in self.store.groups()
