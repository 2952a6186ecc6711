"""Warm pools: pre-initialised instances a group takes before launching new ones.

PutWarmPool stores a :class:`WarmPool`; the controller keeps that many instances beside the
group, launched from the group's launch template, in ``Warmed:Pending`` until they have
started (their health check passed), then in the pool's state:

* ``Stopped``: the container is stopped and kept (``docker stop``): its image, its
  filesystem and its network identity stay, nothing runs; starting it again skips pulling,
  creating and the first start of a cold launch;
* ``Running``: the container keeps running but is no capacity: the load balancer does not
  register it and target tracking does not count it;
* ``Hibernated``: the container is frozen with its memory (``docker pause``).

The pool's size, as AWS computes it: ``MaxGroupPreparedCapacity`` (the group's MaxSize unless
set) minus the group's desired capacity, and never under the pool's ``MinSize``. When the group
scales out it takes ready warm instances first (``orchestrator.asg.plan``), so the pool shrinks
by what it gave and refills on later passes. With ``InstanceReusePolicy``'s ``ReuseOnScaleIn``
a scale-in returns instances to the pool instead of terminating them. Everything here is pure:
the controller carries the decisions out.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.asg.group import AutoScalingGroup
from orchestrator.asg.lifecycle import WARMED_READY, InstanceLifecycle, LifecycleState
from orchestrator.errors import AwsError, ValidationError
from orchestrator.instances import Health, Instance


class WarmPoolState(StrEnum):
    STOPPED = "Stopped"
    RUNNING = "Running"
    HIBERNATED = "Hibernated"

    @property
    def lifecycle_state(self) -> LifecycleState:
        """The ``Warmed:*`` state a ready instance of this pool is in."""
        return LifecycleState(f"Warmed:{self.value}")

    @property
    def health(self) -> Health:
        """What the runtime reports for an instance that has reached this state."""
        return {
            WarmPoolState.STOPPED: Health.STOPPED,
            WarmPoolState.RUNNING: Health.HEALTHY,
            WarmPoolState.HIBERNATED: Health.UNHEALTHY,  # paused: it answers nothing
        }[self]


@dataclass(frozen=True)
class WarmPool:
    """What DescribeWarmPool answers as ``WarmPoolConfiguration``.

    ``max_group_prepared_capacity`` None is AWS's -1 (or absent): the group's MaxSize.
    ``pending_delete`` is AWS's ``Status: PendingDelete``: DeleteWarmPool was called and the
    pool's instances are being terminated; the pool goes once none is left.
    """

    auto_scaling_group_name: str
    min_size: int = 0
    max_group_prepared_capacity: int | None = None
    pool_state: WarmPoolState = WarmPoolState.STOPPED
    reuse_on_scale_in: bool = False
    pending_delete: bool = False

    def size(self, group: AutoScalingGroup) -> int:
        """How many instances the pool keeps now (0 while it is being deleted)."""
        if self.pending_delete:
            return 0
        prepared = (
            group.max_size
            if self.max_group_prepared_capacity is None
            else self.max_group_prepared_capacity
        )
        return max(self.min_size, prepared - group.desired_capacity)

    @property
    def ready_state(self) -> LifecycleState | None:
        """Where a Warmed:Pending instance goes next; None once the pool is being deleted."""
        return None if self.pending_delete else self.pool_state.lifecycle_state


def put_warm_pool(
    group: AutoScalingGroup,
    existing: WarmPool | None,
    *,
    max_group_prepared_capacity: int | None = None,
    min_size: int | None = None,
    pool_state: str | None = None,
    reuse_on_scale_in: bool | None = None,
) -> WarmPool:
    """PutWarmPool: creates the group's pool, or replaces its configuration (parameters left
    out take their defaults again, as the call's documentation describes a new configuration).
    """
    if group.mixed_instances_policy is not None:
        raise ValidationError(
            "You can't add a warm pool to an Auto Scaling group that has a mixed instances "
            "policy or a launch template or launch configuration that requests Spot Instances."
        )
    if existing is not None and existing.pending_delete:
        raise AwsError(
            "ResourceContention",
            f"The warm pool of {group.auto_scaling_group_name} is being deleted; put it again "
            "once DescribeWarmPool no longer answers it.",
            status=500,
        )
    if min_size is not None and min_size < 0:
        raise ValidationError(f"MinSize must be 0 or more, got {min_size}.")
    if max_group_prepared_capacity is not None and max_group_prepared_capacity < -1:
        raise ValidationError(
            "MaxGroupPreparedCapacity must be -1 (the group's MaxSize) or 0 or more, got "
            f"{max_group_prepared_capacity}."
        )
    prepared = None if max_group_prepared_capacity in (None, -1) else max_group_prepared_capacity
    if prepared is not None and prepared > group.max_size:
        raise ValidationError(
            f"MaxGroupPreparedCapacity ({prepared}) cannot be greater than the group's MaxSize "
            f"({group.max_size})."
        )
    try:
        state = WarmPoolState(pool_state) if pool_state is not None else WarmPoolState.STOPPED
    except ValueError:
        known = ", ".join(s.value for s in WarmPoolState)
        raise ValidationError(
            f"Invalid PoolState: {pool_state}. Valid values are: {known}."
        ) from None
    return WarmPool(
        auto_scaling_group_name=group.auto_scaling_group_name,
        min_size=min_size or 0,
        max_group_prepared_capacity=prepared,
        pool_state=state,
        reuse_on_scale_in=bool(reuse_on_scale_in),
    )


@dataclass(frozen=True)
class WarmPoolPlan:
    """One pass's changes to a pool: zones to launch new warm instances in, ids to
    terminate (the pool is over its size, or being deleted)."""

    launch_zones: tuple[str, ...] = ()
    terminate: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.launch_zones and not self.terminate


def plan_warm_pool(
    group: AutoScalingGroup,
    pool: WarmPool,
    records: Iterable[InstanceLifecycle],
    instances: Sequence[Instance],
) -> WarmPoolPlan:
    """Bring the pool to its size: launch into the zones with fewest warm instances, or
    terminate the surplus, those still ``Warmed:Pending`` first, then the newest. Instances
    a scale-in is returning to the pool (ReuseOnScaleIn) take their places in advance."""
    present = {i.instance_id: i for i in instances}
    warm = [
        r
        for r in records
        if r.auto_scaling_group_name == group.auto_scaling_group_name
        and r.state.warmed
        and not r.state.leaving
    ]
    # Instances on their way back under ReuseOnScaleIn count already: no new one for them.
    incoming = sum(
        1
        for r in records
        if r.auto_scaling_group_name == group.auto_scaling_group_name
        and r.to_warm_pool
        and r.state.leaving
        and not r.state.warmed
    )
    target = max(0, pool.size(group) - incoming)
    if len(warm) > target:
        ordered = sorted(
            warm,
            key=lambda r: (
                r.state in WARMED_READY,
                -(present[r.instance_id].launched_at if r.instance_id in present else 0.0),
                r.instance_id,
            ),
        )
        return WarmPoolPlan(terminate=tuple(r.instance_id for r in ordered[: len(warm) - target]))
    counts: Counter[str] = Counter(dict.fromkeys(group.availability_zones, 0))
    counts.update(
        present[r.instance_id].availability_zone for r in warm if r.instance_id in present
    )
    zones = []
    for _ in range(target - len(warm)):
        zone = min(group.availability_zones, key=lambda z: counts[z])
        counts[zone] += 1
        zones.append(zone)
    return WarmPoolPlan(launch_zones=tuple(zones))


def ready_instances(
    pool: WarmPool | None,
    records: Iterable[InstanceLifecycle],
    instances: Sequence[Instance],
) -> list[Instance]:
    """The warm instances a scale-out may take now, fastest to serve first (running, then
    hibernated, then stopped), oldest first within each: ready means in a ready state *and*
    reported so by the runtime (a stop still under way is not ready)."""
    if pool is None or pool.pending_delete:
        return []
    by_id = {i.instance_id: i for i in instances}
    order = {WarmPoolState.RUNNING: 0, WarmPoolState.HIBERNATED: 1, WarmPoolState.STOPPED: 2}
    ready = []
    for record in records:
        instance = by_id.get(record.instance_id)
        if instance is None or not record.state.warmed:
            continue
        for state in WarmPoolState:
            if record.state is state.lifecycle_state and instance.health is state.health:
                ready.append((order[state], instance.launched_at, instance.instance_id, instance))
    return [item[-1] for item in sorted(ready)]


def target_lifecycle_state(record: InstanceLifecycle | None, pool: WarmPool | None) -> str:
    """What the instance metadata path ``autoscaling/target-lifecycle-state`` answers: the
    state the instance is headed for. ``InService`` for a member (and an instance without a
    record), ``Terminated`` for one leaving, the pool's ``Warmed:*`` state for a warm one or
    one a scale-in returns to the pool (ReuseOnScaleIn)."""
    if record is None:
        return LifecycleState.IN_SERVICE.value
    state = record.state
    ready = pool.ready_state if pool is not None else None
    if state.warmed:
        if state.leaving or ready is None:
            return LifecycleState.TERMINATED.value
        return state.value if state in WARMED_READY else ready.value
    if state.leaving:
        if record.to_warm_pool and ready is not None:
            return ready.value
        return LifecycleState.TERMINATED.value
    return LifecycleState.IN_SERVICE.value


def warm_instance_id(group: str, now: float, taken: set[str]) -> str:
    """A new warm instance's id, derived like the group's own launches (``plan``) so a pass
    repeated after a crash asks for the same id and the runtime refuses the duplicate."""
    ordinal = 0
    while True:
        seed = f"{group}:warm:{now!r}:{ordinal}"
        candidate = "i-" + hashlib.sha256(seed.encode()).hexdigest()[:17]
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        ordinal += 1
