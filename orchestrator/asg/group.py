"""The Auto Scaling group definition and the rules AWS enforces when it changes.

Every change goes through a function that validates the *whole* result and returns a new value,
so an invalid group can never be stored: desired capacity always lies within [min, max],
termination policies and process names are ones AWS knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from orchestrator.asg.mixed import MixedInstancesPolicy
from orchestrator.errors import AwsError, ValidationError
from orchestrator.launch_templates import DEFAULT
from orchestrator.scaling.activity import timestamp
from orchestrator.scaling.decision import DEFAULT_COOLDOWN

MAX_PROTECTION_IDS_PER_CALL = 50  # SetInstanceProtection's documented limit
MAX_DEFAULT_INSTANCE_WARMUP = 3600  # seconds; AWS's documented range is 0-3600
MIN_MAX_INSTANCE_LIFETIME = 86_400  # seconds; MaxInstanceLifetime is 0 (off) or at least a day
MAX_TAGS = 50  # tags per Auto Scaling group, AWS's quota


class HealthCheckType(StrEnum):
    EC2 = "EC2"
    ELB = "ELB"


class TerminationPolicy(StrEnum):
    """AWS's named policies; a group applies them in order, then Default as the last word."""

    DEFAULT = "Default"
    OLDEST_INSTANCE = "OldestInstance"
    NEWEST_INSTANCE = "NewestInstance"
    OLDEST_LAUNCH_CONFIGURATION = "OldestLaunchConfiguration"
    OLDEST_LAUNCH_TEMPLATE = "OldestLaunchTemplate"
    CLOSEST_TO_NEXT_INSTANCE_HOUR = "ClosestToNextInstanceHour"
    ALLOCATION_STRATEGY = "AllocationStrategy"


class ScalingProcess(StrEnum):
    """Processes SuspendProcesses accepts; the reconciler honours the first five."""

    LAUNCH = "Launch"
    TERMINATE = "Terminate"
    HEALTH_CHECK = "HealthCheck"
    REPLACE_UNHEALTHY = "ReplaceUnhealthy"
    AZ_REBALANCE = "AZRebalance"
    ALARM_NOTIFICATION = "AlarmNotification"
    SCHEDULED_ACTIONS = "ScheduledActions"
    ADD_TO_LOAD_BALANCER = "AddToLoadBalancer"
    INSTANCE_REFRESH = "InstanceRefresh"


@dataclass(frozen=True)
class Tag:
    """A group's tag; ``propagate_at_launch`` is kept and answered (Barista's instances are
    containers, which carry no tags)."""

    key: str
    value: str = ""
    propagate_at_launch: bool = False


@dataclass(frozen=True)
class AutoScalingGroup:
    """What CreateAutoScalingGroup stores, plus per-instance scale-in protection.

    Protection lives here rather than on container labels because SetInstanceProtection changes
    it after launch and labels on a running container cannot change.
    """

    auto_scaling_group_name: str
    launch_template_name: str
    min_size: int
    max_size: int
    desired_capacity: int
    availability_zones: tuple[str, ...]
    launch_template_version: str = DEFAULT
    health_check_type: HealthCheckType = HealthCheckType.EC2
    health_check_grace_period: int = 0  # the API default (the console uses 300)
    default_cooldown: int = DEFAULT_COOLDOWN
    termination_policies: tuple[TerminationPolicy, ...] = (TerminationPolicy.DEFAULT,)
    new_instances_protected_from_scale_in: bool = False
    suspended_processes: frozenset[ScalingProcess] = frozenset()
    protected_instance_ids: frozenset[str] = field(default_factory=frozenset)
    # Why desired capacity last changed (a policy's alarm, a scheduled action, a user): the
    # launches and terminations that follow quote it first, as AWS's activity causes do.
    desired_capacity_cause: str = ""
    # When CreateAutoScalingGroup stored it (seconds since the epoch); None for groups stored
    # before this field existed. DescribeAutoScalingGroups answers it as CreatedTime.
    created_time: float | None = None
    capacity_rebalance: bool = False
    # DefaultInstanceWarmup: None means not enabled (AWS's default); policies without their
    # own EstimatedInstanceWarmup fall back to it, then to DefaultCooldown.
    default_instance_warmup: int | None = None
    tags: tuple[Tag, ...] = ()
    # MaxInstanceLifetime in seconds: an instance in service this long is replaced. None: not
    # set (AWS's default; 0 in a request clears it).
    max_instance_lifetime: int | None = None
    # Several instance types, On-Demand and Spot (orchestrator.asg.mixed); None: every
    # instance On-Demand from the launch template as it is.
    mixed_instances_policy: MixedInstancesPolicy | None = None

    def is_suspended(self, process: ScalingProcess) -> bool:
        return process in self.suspended_processes


def _termination_policies(names: Iterable[str]) -> tuple[TerminationPolicy, ...]:
    policies: list[TerminationPolicy] = []
    for name in names:
        try:
            policies.append(TerminationPolicy(name))
        except ValueError:
            known = ", ".join(p.value for p in TerminationPolicy)
            raise ValidationError(
                f"Termination policy {name} is not valid. Valid policies are: {known}."
            ) from None
    return tuple(policies) or (TerminationPolicy.DEFAULT,)


def _health_check_type(name: str) -> HealthCheckType:
    try:
        return HealthCheckType(name)
    except ValueError:
        raise ValidationError(f"Invalid HealthCheckType: {name}") from None


def _processes(names: Iterable[str]) -> frozenset[ScalingProcess]:
    processes: set[ScalingProcess] = set()
    for name in names:
        try:
            processes.add(ScalingProcess(name))
        except ValueError:
            raise ValidationError(f"Invalid value for ScalingProcesses: {name}") from None
    return frozenset(processes)


def validate(group: AutoScalingGroup) -> AutoScalingGroup:
    """Refuse a group AWS would refuse, with AWS's ValidationError messages."""
    if not group.availability_zones:
        raise ValidationError("At least one Availability Zone or VPC Subnet is required.")
    if group.min_size < 0 or group.max_size < 0 or group.desired_capacity < 0:
        raise ValidationError("MinSize, MaxSize and DesiredCapacity must be non-negative.")
    if group.min_size > group.max_size:
        raise ValidationError(
            f"Max bound, {group.max_size}, must be greater than or equal to min bound, "
            f"{group.min_size}"
        )
    if not group.min_size <= group.desired_capacity <= group.max_size:
        raise ValidationError(
            f"Desired capacity:{group.desired_capacity} must be between the specified min "
            f"size:{group.min_size} and max size:{group.max_size}"
        )
    if group.health_check_grace_period < 0 or group.default_cooldown < 0:
        raise ValidationError("HealthCheckGracePeriod and DefaultCooldown must be non-negative.")
    warmup = group.default_instance_warmup
    if warmup is not None and not 0 <= warmup <= MAX_DEFAULT_INSTANCE_WARMUP:
        raise ValidationError(
            f"DefaultInstanceWarmup must be between 0 and {MAX_DEFAULT_INSTANCE_WARMUP} seconds."
        )
    lifetime = group.max_instance_lifetime
    if lifetime is not None and lifetime < MIN_MAX_INSTANCE_LIFETIME:
        raise ValidationError(
            f"MaxInstanceLifetime must be either 0 or a number equal to or greater than "
            f"{MIN_MAX_INSTANCE_LIFETIME} seconds, got {lifetime}."
        )
    return group


def _lifetime(seconds: int | None) -> int | None:
    """A request's MaxInstanceLifetime as stored: 0 clears it, as in AWS."""
    return None if seconds == 0 else seconds


def with_tags(group: AutoScalingGroup, tags: Iterable[Tag]) -> AutoScalingGroup:
    """CreateOrUpdateTags: a tag with an existing key replaces it; at most 50 per group."""
    by_key = {tag.key: tag for tag in group.tags}
    for tag in tags:
        by_key[tag.key] = tag
    if len(by_key) > MAX_TAGS:
        raise AwsError(
            "LimitExceeded",
            f"The number of tags for Auto Scaling group {group.auto_scaling_group_name} "
            f"would exceed the limit of {MAX_TAGS}.",
        )
    return replace(group, tags=tuple(sorted(by_key.values(), key=lambda t: t.key)))


def without_tags(group: AutoScalingGroup, keys: Iterable[str]) -> AutoScalingGroup:
    """DeleteTags: removing a key the group does not have is not an error, as in AWS."""
    gone = set(keys)
    return replace(group, tags=tuple(t for t in group.tags if t.key not in gone))


def create_auto_scaling_group(  # noqa: PLR0913 - mirrors CreateAutoScalingGroup's parameters
    auto_scaling_group_name: str,
    launch_template_name: str,
    *,
    min_size: int,
    max_size: int,
    availability_zones: Iterable[str],
    desired_capacity: int | None = None,
    launch_template_version: str = DEFAULT,
    health_check_type: str = "EC2",
    health_check_grace_period: int = 0,
    default_cooldown: int = DEFAULT_COOLDOWN,
    termination_policies: Iterable[str] = ("Default",),
    new_instances_protected_from_scale_in: bool = False,
    capacity_rebalance: bool = False,
    default_instance_warmup: int | None = None,
    max_instance_lifetime: int | None = None,
    tags: Iterable[Tag] = (),
    mixed_instances_policy: MixedInstancesPolicy | None = None,
) -> AutoScalingGroup:
    """CreateAutoScalingGroup: desired defaults to min, as in AWS."""
    group = validate(
        AutoScalingGroup(
            auto_scaling_group_name=auto_scaling_group_name,
            launch_template_name=launch_template_name,
            launch_template_version=launch_template_version,
            min_size=min_size,
            max_size=max_size,
            desired_capacity=min_size if desired_capacity is None else desired_capacity,
            availability_zones=tuple(dict.fromkeys(availability_zones)),
            health_check_type=_health_check_type(health_check_type),
            health_check_grace_period=health_check_grace_period,
            default_cooldown=default_cooldown,
            termination_policies=_termination_policies(termination_policies),
            new_instances_protected_from_scale_in=new_instances_protected_from_scale_in,
            capacity_rebalance=capacity_rebalance,
            default_instance_warmup=default_instance_warmup,
            max_instance_lifetime=_lifetime(max_instance_lifetime),
            mixed_instances_policy=mixed_instances_policy,
        )
    )
    return with_tags(group, tags)


def update_auto_scaling_group(  # noqa: PLR0913 - mirrors UpdateAutoScalingGroup's parameters
    group: AutoScalingGroup,
    *,
    min_size: int | None = None,
    max_size: int | None = None,
    desired_capacity: int | None = None,
    availability_zones: Iterable[str] | None = None,
    launch_template_version: str | None = None,
    health_check_type: str | None = None,
    health_check_grace_period: int | None = None,
    termination_policies: Iterable[str] | None = None,
    new_instances_protected_from_scale_in: bool | None = None,
    default_cooldown: int | None = None,
    capacity_rebalance: bool | None = None,
    default_instance_warmup: int | None = None,
    max_instance_lifetime: int | None = None,
    mixed_instances_policy: MixedInstancesPolicy | None = None,
) -> AutoScalingGroup:
    """UpdateAutoScalingGroup: only the given fields change, and the whole result is validated.

    Unlike SetDesiredCapacity, AWS checks the *new* min, max and desired together, so raising
    min and desired in one call is fine; new bounds without a desired capacity pull the
    current one inside them. A DefaultInstanceWarmup of -1 turns the warm-up off, as in AWS.
    """
    given: dict[str, object | None] = {
        "min_size": min_size,
        "max_size": max_size,
        "desired_capacity": desired_capacity,
        "availability_zones": (
            None if availability_zones is None else tuple(dict.fromkeys(availability_zones))
        ),
        "launch_template_version": launch_template_version,
        "health_check_type": (
            None if health_check_type is None else _health_check_type(health_check_type)
        ),
        "health_check_grace_period": health_check_grace_period,
        "termination_policies": (
            None if termination_policies is None else _termination_policies(termination_policies)
        ),
        "new_instances_protected_from_scale_in": new_instances_protected_from_scale_in,
        "default_cooldown": default_cooldown,
        "capacity_rebalance": capacity_rebalance,
        "default_instance_warmup": default_instance_warmup,
        "max_instance_lifetime": max_instance_lifetime,
        "mixed_instances_policy": mixed_instances_policy,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if default_instance_warmup == -1:
        changes["default_instance_warmup"] = None
    if max_instance_lifetime == 0:
        changes["max_instance_lifetime"] = None
    if desired_capacity is None:
        # AWS: a new MinSize above the group's size raises DesiredCapacity to it, and a new
        # MaxSize below it lowers DesiredCapacity to it.
        low = min_size if min_size is not None else group.min_size
        high = max_size if max_size is not None else group.max_size
        if low <= high:
            changes["desired_capacity"] = max(low, min(high, group.desired_capacity))
    return validate(replace(group, **changes))  # type: ignore[arg-type]


def set_desired_capacity(
    group: AutoScalingGroup, desired_capacity: int, *, now: float | None = None
) -> AutoScalingGroup:
    """SetDesiredCapacity: unlike Update, it never moves min or max, so out of range fails.

    With ``now`` the change is recorded as a user request, in AWS's words.
    """
    if desired_capacity > group.max_size:
        raise ValidationError(
            f"New SetDesiredCapacity value {desired_capacity} is above max value "
            f"{group.max_size} for the AutoScalingGroup."
        )
    if desired_capacity < group.min_size:
        raise ValidationError(
            f"New SetDesiredCapacity value {desired_capacity} is below min value "
            f"{group.min_size} for the AutoScalingGroup."
        )
    cause = group.desired_capacity_cause
    if now is not None and desired_capacity != group.desired_capacity:
        cause = (
            f"At {timestamp(now)} a user request explicitly set group desired capacity changing "
            f"the desired capacity from {group.desired_capacity} to {desired_capacity}."
        )
    return replace(group, desired_capacity=desired_capacity, desired_capacity_cause=cause)


def set_instance_protection(
    group: AutoScalingGroup,
    instance_ids: Iterable[str],
    *,
    protected_from_scale_in: bool,
    member_ids: Iterable[str] | None = None,
) -> AutoScalingGroup:
    """SetInstanceProtection: at most 50 ids per call, each one a member of the group.

    ``member_ids`` is the group's current instances when the caller knows them; without it the
    membership check is skipped (a pure function cannot see Docker).
    """
    ids = list(dict.fromkeys(instance_ids))
    if len(ids) > MAX_PROTECTION_IDS_PER_CALL:
        raise ValidationError(
            f"1 validation error detected: Value '{ids}' at 'instanceIds' failed to satisfy "
            f"constraint: Member must have length less than or equal to "
            f"{MAX_PROTECTION_IDS_PER_CALL}"
        )
    if member_ids is not None:
        members = set(member_ids)
        for instance_id in ids:
            if instance_id not in members:
                raise ValidationError(
                    f"The instance {instance_id} is not part of Auto Scaling group "
                    f"{group.auto_scaling_group_name}."
                )
    if protected_from_scale_in:
        protected = group.protected_instance_ids | set(ids)
    else:
        protected = group.protected_instance_ids - set(ids)
    return replace(group, protected_instance_ids=frozenset(protected))


def suspend_processes(group: AutoScalingGroup, names: Iterable[str] = ()) -> AutoScalingGroup:
    """SuspendProcesses: no names means every process, as in AWS."""
    processes = _processes(names) or frozenset(ScalingProcess)
    return replace(group, suspended_processes=group.suspended_processes | processes)


def resume_processes(group: AutoScalingGroup, names: Iterable[str] = ()) -> AutoScalingGroup:
    """ResumeProcesses: no names means every process, as in AWS."""
    processes = _processes(names) or frozenset(ScalingProcess)
    return replace(group, suspended_processes=group.suspended_processes - processes)


def group_named(groups: Mapping[str, AutoScalingGroup], name: str) -> AutoScalingGroup:
    """The group ``name``, or AWS's answer for an unknown group in every action but the
    describes (a ValidationError, not a not-found code)."""
    group = groups.get(name)
    if group is None:
        raise ValidationError(
            f"AutoScalingGroup name not found - AutoScalingGroup {name} not found"
        )
    return group
