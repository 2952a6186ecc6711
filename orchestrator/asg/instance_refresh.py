"""Instance refresh: replace a group's instances onto its launch template version, in batches
that keep enough of the group healthy, as StartInstanceRefresh does.

:class:`InstanceRefresh` is what the store keeps and DescribeInstanceRefreshes answers;
:func:`advance` is a pure function of it, the group, its instances (with their lifecycle
states) and the time, called by the controller once per pass: it says which instances to
terminate now and how many extra instances the group may run meanwhile
(``MaxHealthyPercentage`` above 100). The group itself replaces what a refresh terminates
(desired capacity does not change), from its current launch template version, so a refresh
is a series of ordinary replacements that never waits inside a pass.

The batch rule, as AWS describes it: at least ``MinHealthyPercentage`` of desired capacity
stays healthy and in service (rounded up), instances counting as healthy only once they have
been in service for the ``InstanceWarmup``; with ``MaxHealthyPercentage`` above 100 new
instances are launched first, up to that share of desired capacity. At least one instance is
replaced at a time, as AWS does when the minimum would allow none. Durations are AWS seconds
on the control plane's clock.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from orchestrator.asg.group import AutoScalingGroup
from orchestrator.asg.lifecycle import InstanceLifecycle, LifecycleState
from orchestrator.errors import ValidationError
from orchestrator.instances import Health, Instance

DEFAULT_MIN_HEALTHY = 90
DEFAULT_CHECKPOINT_DELAY = 3600


class RefreshStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    ROLLBACK_IN_PROGRESS = "RollbackInProgress"
    ROLLBACK_FAILED = "RollbackFailed"
    ROLLBACK_SUCCESSFUL = "RollbackSuccessful"

    @property
    def active(self) -> bool:
        """A refresh the group is still working on (one at a time per group)."""
        return self in (
            RefreshStatus.PENDING,
            RefreshStatus.IN_PROGRESS,
            RefreshStatus.CANCELLING,
            RefreshStatus.ROLLBACK_IN_PROGRESS,
        )


@dataclass(frozen=True)
class Preferences:
    """StartInstanceRefresh's ``Preferences`` with AWS's defaults. ``instance_warmup`` None
    falls back to the group's DefaultInstanceWarmup, then its HealthCheckGracePeriod."""

    min_healthy_percentage: int = DEFAULT_MIN_HEALTHY
    max_healthy_percentage: int = 100
    instance_warmup: int | None = None
    checkpoint_percentages: tuple[int, ...] = ()
    checkpoint_delay: int = DEFAULT_CHECKPOINT_DELAY
    skip_matching: bool = False
    auto_rollback: bool = False


def preferences(
    *,
    min_healthy_percentage: int | None = None,
    max_healthy_percentage: int | None = None,
    instance_warmup: int | None = None,
    checkpoint_percentages: Sequence[int] | None = None,
    checkpoint_delay: int | None = None,
    skip_matching: bool | None = None,
    auto_rollback: bool | None = None,
) -> Preferences:
    """Preferences with AWS's ranges checked, each failure naming its field."""
    low = DEFAULT_MIN_HEALTHY if min_healthy_percentage is None else min_healthy_percentage
    high = 100 if max_healthy_percentage is None else max_healthy_percentage
    if not 0 <= low <= 100:
        raise ValidationError(f"MinHealthyPercentage must be between 0 and 100, got {low}.")
    if not 100 <= high <= 200:
        raise ValidationError(f"MaxHealthyPercentage must be between 100 and 200, got {high}.")
    if high - low > 100:
        raise ValidationError(
            "The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be "
            f"greater than 100, got {high} - {low}."
        )
    if low == 100 and high == 100:
        raise ValidationError(
            "MaxHealthyPercentage must be greater than 100 when MinHealthyPercentage is 100: "
            "otherwise no instance can be replaced."
        )
    if instance_warmup is not None and instance_warmup < 0:
        raise ValidationError(f"InstanceWarmup must be 0 or more, got {instance_warmup}.")
    points = tuple(checkpoint_percentages or ())
    if any(not 1 <= p <= 100 for p in points) or list(points) != sorted(set(points)):
        raise ValidationError(
            f"CheckpointPercentages must be ascending values between 1 and 100, got {list(points)}."
        )
    delay = DEFAULT_CHECKPOINT_DELAY if checkpoint_delay is None else checkpoint_delay
    if not 0 <= delay <= 172_800:
        raise ValidationError(f"CheckpointDelay must be between 0 and 172800, got {delay}.")
    return Preferences(
        min_healthy_percentage=low,
        max_healthy_percentage=high,
        instance_warmup=instance_warmup,
        checkpoint_percentages=points,
        checkpoint_delay=delay,
        skip_matching=bool(skip_matching),
        auto_rollback=bool(auto_rollback),
    )


@dataclass(frozen=True)
class LaunchTemplateChoice:
    """A group's launch template and version as a refresh changes or restores it."""

    launch_template_name: str
    version: str


@dataclass(frozen=True)
class InstanceRefresh:
    """One refresh of one group, as the store keeps it.

    ``to_replace`` are the instances the refresh (or its rollback) still has to replace, fixed
    when it starts (SkipMatching: those not already on the target version); ``total`` how many
    it had at the start, for PercentageComplete. ``previous`` is the group's template before a
    DesiredConfiguration changed it: what RollbackInstanceRefresh restores.
    """

    instance_refresh_id: str
    auto_scaling_group_name: str
    status: RefreshStatus
    start_time: float
    preferences: Preferences
    to_replace: tuple[str, ...]
    total: int
    desired: LaunchTemplateChoice | None = None
    previous: LaunchTemplateChoice | None = None
    status_reason: str = ""
    end_time: float | None = None
    percentage_complete: int = 0
    # Checkpoints: the index of the next one, and when the refresh began waiting at one.
    next_checkpoint: int = 0
    waiting_since: float | None = None
    rollback_reason: str | None = None
    rollback_start_time: float | None = None
    rollback_total: int = 0
    terminated: tuple[str, ...] = field(default=())

    @property
    def instances_to_update(self) -> int:
        return len(self.to_replace)


def new_refresh_id() -> str:
    return str(uuid.uuid4())


def to_replace(
    group: AutoScalingGroup,
    instances: Sequence[Instance],
    records: Mapping[str, InstanceLifecycle],
    version: int,
    template_name: str,
    *,
    skip_matching: bool,
) -> tuple[str, ...]:
    """The group's members a refresh replaces: all of them, or with SkipMatching those not on
    ``template_name`` version ``version``. Leaving and warm instances are not members."""
    members = [
        i
        for i in instances
        if i.group == group.auto_scaling_group_name
        and not _outside(records.get(i.instance_id))
        and i.health is not Health.STOPPED
    ]
    return tuple(
        sorted(
            i.instance_id
            for i in members
            if not skip_matching
            or i.template_version != version
            or i.launch_template != template_name
        )
    )


def _outside(record: InstanceLifecycle | None) -> bool:
    return record is not None and (record.state.leaving or record.state.warmed)


@dataclass(frozen=True)
class RefreshStep:
    """What one pass does for a refresh: its new record, the instances to terminate now,
    and how many instances the group may run beyond desired capacity meanwhile."""

    refresh: InstanceRefresh
    terminate: tuple[str, ...] = ()
    surge: int = 0


def warmup(group: AutoScalingGroup, prefs: Preferences) -> int:
    if prefs.instance_warmup is not None:
        return prefs.instance_warmup
    if group.default_instance_warmup is not None:
        return group.default_instance_warmup
    return group.health_check_grace_period


def advance(  # noqa: PLR0911, PLR0912 - one return per outcome
    refresh: InstanceRefresh,
    group: AutoScalingGroup,
    instances: Sequence[Instance],
    records: Mapping[str, InstanceLifecycle],
    target_version: int,
    now: float,
) -> RefreshStep:
    """One pass of an active refresh (see the module's docstring)."""
    if not refresh.status.active:
        return RefreshStep(refresh)
    name = group.auto_scaling_group_name
    mine = {i.instance_id: i for i in instances if i.group == name}
    remaining = tuple(
        i
        for i in refresh.to_replace
        if i in mine and not _outside(records.get(i)) and mine[i].health is not Health.STOPPED
    )
    in_flight = any(
        records.get(i) is not None and records[i].state.leaving and not records[i].state.warmed
        for i in mine
    )
    total = refresh.total if not _rolling_back(refresh) else refresh.rollback_total
    done = total - len(remaining)
    percentage = 100 if total == 0 else math.floor(100 * done / total)
    refresh = replace(refresh, to_replace=remaining, percentage_complete=percentage)
    if refresh.status is RefreshStatus.PENDING:
        refresh = replace(refresh, status=RefreshStatus.IN_PROGRESS)
    # New instances (on the target version) that fail their health check fail the refresh.
    failing = [
        i
        for i in mine.values()
        if i.instance_id not in refresh.to_replace
        and i.template_version == target_version
        and i.health is Health.UNHEALTHY
        and now - i.launched_at >= group.health_check_grace_period
        and not _outside(records.get(i.instance_id))
    ]
    if failing and refresh.status is RefreshStatus.IN_PROGRESS:
        reason = f"Instance {failing[0].instance_id} failed its health check during the refresh."
        return RefreshStep(_failed(refresh, reason, now))
    warm_for = warmup(group, refresh.preferences)
    healthy = [
        i
        for i in mine.values()
        if not _outside(records.get(i.instance_id))
        and i.health is Health.HEALTHY
        and _in_service(records.get(i.instance_id))
        and (
            i.instance_id in refresh.to_replace
            or now - _in_service_since(records.get(i.instance_id), i) >= warm_for
        )
    ]
    desired = group.desired_capacity
    prefs = refresh.preferences
    if refresh.status is RefreshStatus.CANCELLING:
        if in_flight:
            return RefreshStep(refresh)
        return RefreshStep(
            replace(
                refresh,
                status=RefreshStatus.CANCELLED,
                status_reason="The instance refresh was cancelled.",
                end_time=now,
            )
        )
    if not remaining:
        if in_flight or len(healthy) < desired:
            return RefreshStep(refresh)  # the last replacements are still warming up
        final = (
            RefreshStatus.ROLLBACK_SUCCESSFUL
            if _rolling_back(refresh)
            else RefreshStatus.SUCCESSFUL
        )
        return RefreshStep(
            replace(refresh, status=final, percentage_complete=100, end_time=now, status_reason="")
        )
    # Checkpoints: once the percentage reaches the next one, wait CheckpointDelay.
    points = prefs.checkpoint_percentages if not _rolling_back(refresh) else ()
    if refresh.next_checkpoint < len(points) and percentage >= points[refresh.next_checkpoint]:
        if in_flight or len(healthy) < desired:
            return RefreshStep(refresh)
        if refresh.waiting_since is None:
            return RefreshStep(
                replace(
                    refresh,
                    waiting_since=now,
                    status_reason=(
                        f"Waiting for checkpoint: {points[refresh.next_checkpoint]}% complete."
                    ),
                )
            )
        if now - refresh.waiting_since < prefs.checkpoint_delay:
            return RefreshStep(refresh)
        refresh = replace(
            refresh,
            next_checkpoint=refresh.next_checkpoint + 1,
            waiting_since=None,
            status_reason="",
        )
    surge_room = max(0, math.floor(desired * prefs.max_healthy_percentage / 100) - desired)
    surge = min(surge_room, len(remaining))
    min_healthy = math.ceil(desired * prefs.min_healthy_percentage / 100)
    if in_flight:
        return RefreshStep(refresh, surge=surge)
    # Healthy capacity beyond the minimum may go now; with no surge at least one at a time.
    room = len(healthy) - min_healthy
    if surge == 0:
        room = max(room, 1) if len(healthy) >= desired else room
    if room <= 0:
        return RefreshStep(refresh, surge=surge)
    oldest = sorted(remaining, key=lambda i: (mine[i].launched_at, i))
    batch = tuple(oldest[:room])
    return RefreshStep(
        replace(refresh, terminated=refresh.terminated + batch), terminate=batch, surge=surge
    )


def begin_rollback(
    refresh: InstanceRefresh, replacing: tuple[str, ...], now: float, reason: str
) -> InstanceRefresh:
    """RollbackInstanceRefresh (or AutoRollback after a failure): the instances already on
    the new configuration are replaced in turn, onto the one the group had before."""
    return replace(
        refresh,
        status=RefreshStatus.ROLLBACK_IN_PROGRESS,
        status_reason=reason,
        rollback_reason=reason,
        rollback_start_time=now,
        rollback_total=len(replacing),
        to_replace=replacing,
        percentage_complete=0,
        waiting_since=None,
        end_time=None,
    )


def refresh_to_document(refresh: InstanceRefresh) -> dict[str, object]:
    return asdict(refresh)


def refresh_from_document(raw: dict[str, Any]) -> InstanceRefresh:
    prefs = dict(raw["preferences"])
    prefs["checkpoint_percentages"] = tuple(prefs["checkpoint_percentages"])
    return InstanceRefresh(
        **{
            **raw,
            "status": RefreshStatus(raw["status"]),
            "preferences": Preferences(**prefs),
            "to_replace": tuple(raw["to_replace"]),
            "terminated": tuple(raw["terminated"]),
            "desired": LaunchTemplateChoice(**raw["desired"]) if raw["desired"] else None,
            "previous": LaunchTemplateChoice(**raw["previous"]) if raw["previous"] else None,
        }
    )


def _in_service(record: InstanceLifecycle | None) -> bool:
    return record is None or record.state is LifecycleState.IN_SERVICE


def _in_service_since(record: InstanceLifecycle | None, instance: Instance) -> float:
    if record is not None and record.state is LifecycleState.IN_SERVICE:
        return record.since
    return instance.launched_at


def _rolling_back(refresh: InstanceRefresh) -> bool:
    return refresh.status is RefreshStatus.ROLLBACK_IN_PROGRESS


def _failed(refresh: InstanceRefresh, reason: str, now: float) -> InstanceRefresh:
    return replace(refresh, status=RefreshStatus.FAILED, status_reason=reason, end_time=now)
