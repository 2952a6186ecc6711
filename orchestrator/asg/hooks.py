"""Lifecycle hooks: the definition PutLifecycleHook stores, with AWS's defaults and limits.

A hook names a transition (``autoscaling:EC2_INSTANCE_LAUNCHING`` or
``autoscaling:EC2_INSTANCE_TERMINATING``) at which each instance of the group waits for a
*lifecycle action* (``orchestrator.asg.lifecycle``). ``HeartbeatTimeout`` is 3600 s unless
given, within 30-7200 s; ``DefaultResult`` is ``ABANDON`` unless given; the global timeout,
which no heartbeat extends, is 100 x HeartbeatTimeout or 48 hours, whichever is smaller.
Durations are in AWS seconds: the control plane's clock applies the time scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from orchestrator.errors import AwsError, ValidationError

DEFAULT_HEARTBEAT_TIMEOUT = 3600
MIN_HEARTBEAT_TIMEOUT = 30
MAX_HEARTBEAT_TIMEOUT = 7200
MAX_GLOBAL_TIMEOUT = 48 * 3600
GLOBAL_TIMEOUT_FACTOR = 100
MAX_HOOKS_PER_GROUP = 50  # AWS's quota of lifecycle hooks per Auto Scaling group


class LifecycleTransition(StrEnum):
    LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
    TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"


class LifecycleActionResult(StrEnum):
    CONTINUE = "CONTINUE"
    ABANDON = "ABANDON"


@dataclass(frozen=True)
class LifecycleHook:
    """What DescribeLifecycleHooks answers; ``role_arn`` is kept and answered, never assumed
    (Barista has no IAM)."""

    lifecycle_hook_name: str
    auto_scaling_group_name: str
    lifecycle_transition: LifecycleTransition
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT
    default_result: LifecycleActionResult = LifecycleActionResult.ABANDON
    notification_target_arn: str | None = None
    role_arn: str | None = None
    notification_metadata: str | None = None

    @property
    def global_timeout(self) -> int:
        return min(GLOBAL_TIMEOUT_FACTOR * self.heartbeat_timeout, MAX_GLOBAL_TIMEOUT)


def _transition(value: str) -> LifecycleTransition:
    try:
        return LifecycleTransition(value)
    except ValueError:
        known = ", ".join(t.value for t in LifecycleTransition)
        raise ValidationError(
            f"Invalid Lifecycle Transition: {value}. Valid transitions are: {known}."
        ) from None


def action_result(value: str) -> LifecycleActionResult:
    """CONTINUE or ABANDON, else AWS's ValidationError."""
    try:
        return LifecycleActionResult(value)
    except ValueError:
        raise ValidationError(
            f"Valid values for LifecycleActionResult and DefaultResult are CONTINUE and "
            f"ABANDON, got {value}."
        ) from None


def put_lifecycle_hook(  # noqa: PLR0913 - mirrors PutLifecycleHook's parameters
    existing: LifecycleHook | None,
    *,
    lifecycle_hook_name: str,
    auto_scaling_group_name: str,
    hooks_in_group: int,
    lifecycle_transition: str | None = None,
    heartbeat_timeout: int | None = None,
    default_result: str | None = None,
    notification_target_arn: str | None = None,
    role_arn: str | None = None,
    notification_metadata: str | None = None,
) -> LifecycleHook:
    """PutLifecycleHook: creates the hook, or changes only the given fields of ``existing``.

    LifecycleTransition is required for a new hook, optional on an update (as AWS documents);
    a NotificationTargetARN of "" removes the target.
    """
    if heartbeat_timeout is not None and not (
        MIN_HEARTBEAT_TIMEOUT <= heartbeat_timeout <= MAX_HEARTBEAT_TIMEOUT
    ):
        raise ValidationError(
            f"HeartbeatTimeout must be between {MIN_HEARTBEAT_TIMEOUT} and "
            f"{MAX_HEARTBEAT_TIMEOUT} seconds, got {heartbeat_timeout}."
        )
    result = action_result(default_result) if default_result is not None else None
    transition = _transition(lifecycle_transition) if lifecycle_transition is not None else None
    if existing is None:
        if transition is None:
            raise ValidationError("A Lifecycle Transition is required for new Lifecycle Hooks.")
        if hooks_in_group >= MAX_HOOKS_PER_GROUP:
            raise AwsError(
                "LimitExceeded",
                f"Lifecycle hooks limit of {MAX_HOOKS_PER_GROUP} for Auto Scaling group "
                f"{auto_scaling_group_name} reached.",
            )
        existing = LifecycleHook(lifecycle_hook_name, auto_scaling_group_name, transition)
    changes: dict[str, object] = {}
    if transition is not None:
        changes["lifecycle_transition"] = transition
    if heartbeat_timeout is not None:
        changes["heartbeat_timeout"] = heartbeat_timeout
    if result is not None:
        changes["default_result"] = result
    if notification_target_arn is not None:
        changes["notification_target_arn"] = notification_target_arn or None
    if role_arn is not None:
        changes["role_arn"] = role_arn
    if notification_metadata is not None:
        changes["notification_metadata"] = notification_metadata
    return replace(existing, **changes)  # type: ignore[arg-type]
