"""The group reconciler: compare desired with actual and decide what to launch and terminate.

``plan`` is a pure function of the group, its launch templates, the instances the runtime
reports, which of them are protected, and the time. It never talks to Docker, so the
controller loop can run it again after a crash and get the same answer; applying a plan and
planning again yields nothing to do. Each decision carries the Activity that records why.

Order of business in one pass, as EC2 Auto Scaling does it:
1. health: STOPPED instances, and UNHEALTHY ones past the grace period, are terminated to be
   replaced (HealthCheck and ReplaceUnhealthy, which also needs Launch and Terminate); then,
   with a MaxInstanceLifetime, the oldest instance in service past it, one at a time;
2. capacity: non-STOPPED instances count; launch into the zone with fewest instances, or
   terminate by the termination policies from the zone with most, never a protected instance.
   With a ``MixedInstancesPolicy`` capacity counts in units (``WeightedCapacity``), each
   launch is On-Demand or Spot by the policy's split and gets its instance type from the
   policy's allocation strategies over the Spot market's pools (``orchestrator.asg.mixed``),
   and scale-in first takes from the market that is over its share;
3. AZRebalance: move instances, launch first then terminate, until zones differ by at most one.

Zones the runtime reports unavailable (a Swarm zone whose hosts are all down or drained) get
no launches: the group launches in its other zones, and rebalances over the available ones,
so when the zone returns AZRebalance moves instances back, as AWS documents.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from orchestrator.asg.group import AutoScalingGroup, HealthCheckType, ScalingProcess
from orchestrator.asg.mixed import (
    MixedInstancesPolicy,
    SpotAllocationStrategy,
    choose_spot_pool,
    on_demand_type,
    split,
    spot_pools,
)
from orchestrator.asg.termination import Filter, select_for_termination
from orchestrator.instance_types import limits
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.launch_templates import LaunchTemplate, LaunchTemplateData, find
from orchestrator.scaling.activity import Activity, ActivityStatusCode, activity_id, timestamp
from orchestrator.spot.model import Pool, PoolState


@dataclass(frozen=True)
class Launch:
    """Start one instance: everything ``Runtime.launch`` needs, plus the activity for it."""

    instance_id: str
    availability_zone: str
    launch_template_name: str
    template_version: int
    data: LaunchTemplateData
    lifecycle: Lifecycle
    protected: bool
    activity: Activity
    # The type a mixed instances policy chose (``data`` has its limits); None otherwise.
    instance_type: str | None = None
    # A warm pool instance taken into the group (started again, not launched): its id, zone
    # and template version are its own.
    from_warm_pool: bool = False


@dataclass(frozen=True)
class Termination:
    """Stop one instance, with the reason a reader of the activity history will see."""

    instance_id: str
    reason: str
    activity: Activity
    # Chosen because desired capacity is below actual: with a warm pool's ReuseOnScaleIn the
    # instance goes back to the pool instead (other terminations never do).
    scale_in: bool = False


@dataclass(frozen=True)
class Plan:
    """What one reconcile pass decided; ``notes`` explain what it wanted to do but could not."""

    launches: tuple[Launch, ...] = ()
    terminations: tuple[Termination, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.launches and not self.terminations

    @property
    def activities(self) -> tuple[Activity, ...]:
        """Terminations first: a replacement's history reads 'out, then in', as in AWS."""
        return tuple(t.activity for t in self.terminations) + tuple(
            launch.activity for launch in self.launches
        )

    def protected_instance_ids(self, before: Iterable[str]) -> frozenset[str]:
        """The group's protected ids once this plan is applied: new protected in, gone out."""
        gone = {t.instance_id for t in self.terminations}
        new = {launch.instance_id for launch in self.launches if launch.protected}
        return frozenset((set(before) | new) - gone)


@dataclass
class _Pass:
    """Working state of one plan() call; kept private so plan() itself stays a pure function."""

    group: AutoScalingGroup
    now: float
    template_name: str
    template_version: int
    data: LaunchTemplateData
    protected_ids: frozenset[str]
    taken_ids: set[str]
    capacity: list[Instance]
    launches: list[Launch]
    terminations: list[Termination]
    notes: list[str]
    market: Mapping[Pool, PoolState]
    # The group's warm pool instances a scale-out may take, best first (warm_pool.py).
    warm: list[Instance]
    unavailable: frozenset[str] = frozenset()
    # Instance id -> when its grace period began, where not at its launch (warm pool).
    grace_from: Mapping[str, float] = field(default_factory=dict)

    @property
    def available_zones(self) -> list[str]:
        return [z for z in self.group.availability_zones if z not in self.unavailable]

    @property
    def at(self) -> str:
        return timestamp(self.now)

    def suspended(self, *processes: ScalingProcess) -> bool:
        return any(self.group.is_suspended(p) for p in processes)

    def zone_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter(dict.fromkeys(self.group.availability_zones, 0))
        counts.update(i.availability_zone for i in self.capacity)
        counts.update(launch.availability_zone for launch in self.launches)
        return counts

    def new_instance_id(self) -> str:
        ordinal = 0
        while True:
            seed = f"{self.group.auto_scaling_group_name}:{self.now!r}:{ordinal}"
            candidate = "i-" + hashlib.sha256(seed.encode()).hexdigest()[:17]
            if candidate not in self.taken_ids:
                self.taken_ids.add(candidate)
                return candidate
            ordinal += 1

    def weight(self, instance_type: str | None) -> int:
        policy = self.group.mixed_instances_policy
        return 1 if policy is None else policy.weight_of(instance_type)

    def largest_weight(self) -> int:
        policy = self.group.mixed_instances_policy
        return 1 if policy is None else max(o.weight for o in policy.overrides)

    def units(self, lifecycle: Lifecycle | None = None) -> int:
        """Capacity in units (instances, or their weights), launches of this pass included."""
        kept = [
            self.weight(i.instance_type)
            for i in self.capacity
            if lifecycle is None or i.lifecycle is lifecycle
        ]
        new = [
            self.weight(launch.instance_type)
            for launch in self.launches
            if lifecycle is None or launch.lifecycle is lifecycle
        ]
        return sum(kept) + sum(new)

    def launch(self, cause: str, zone: str | None = None) -> bool:
        """Add a launch; False when a mixed group finds no market with room for it."""
        # A zone the caller chose (rebalancing) is kept; otherwise Spot may go elsewhere.
        anywhere = zone is None
        if anywhere and self.warm and self.group.mixed_instances_policy is None:
            self.take_warm(cause)
            return True
        if zone is None:
            counts = self.zone_counts()
            available = self.available_zones
            if not available:
                self.notes.append(
                    "No Availability Zone of the group can launch an instance now "
                    f"({', '.join(self.group.availability_zones)} unavailable): the launch waits."
                )
                return False
            zone = min(available, key=lambda z: counts[z])
        lifecycle, instance_type, data = Lifecycle.ON_DEMAND, None, self.data
        policy = self.group.mixed_instances_policy
        if policy is not None:
            chosen = self._mixed_choice(policy, zone, anywhere)
            if chosen is None:
                self.notes.append(
                    "No Spot pool of the group's instance types has capacity at or under the "
                    "maximum price: the Spot launch waits."
                )
                return False
            lifecycle, instance_type, zone = chosen
            cpus, memory = limits(instance_type)
            data = replace(self.data, cpus=cpus, memory_mib=memory)
        instance_id = self.new_instance_id()
        self.launches.append(
            Launch(
                instance_id=instance_id,
                availability_zone=zone,
                launch_template_name=self.template_name,
                template_version=self.template_version,
                data=data,
                lifecycle=lifecycle,
                protected=self.group.new_instances_protected_from_scale_in,
                activity=self.activity(f"Launching a new EC2 instance: {instance_id}", cause, zone),
                instance_type=instance_type,
            )
        )
        return True

    def take_warm(self, cause: str) -> None:
        """Scale out from the warm pool: its best ready instance joins the group."""
        warm = self.warm.pop(0)
        self.launches.append(
            Launch(
                instance_id=warm.instance_id,
                availability_zone=warm.availability_zone,
                launch_template_name=warm.launch_template,
                template_version=warm.template_version,
                data=self.data,
                lifecycle=warm.lifecycle,
                protected=self.group.new_instances_protected_from_scale_in,
                activity=self.activity(
                    f"Launching a new EC2 instance from warm pool: {warm.instance_id}",
                    cause,
                    warm.availability_zone,
                ),
                instance_type=warm.instance_type,
                from_warm_pool=True,
            )
        )

    def _mixed_choice(
        self, policy: MixedInstancesPolicy, zone: str, anywhere: bool
    ) -> tuple[Lifecycle, str, str] | None:
        """(market, instance type, zone) of the next launch by the policy's split: On-Demand
        while On-Demand is under its share, else Spot from the zone's pools, or another
        zone's when this one has none with room."""
        on_demand, _ = split(policy.instances_distribution, self.group.desired_capacity)
        if self.units(Lifecycle.ON_DEMAND) < on_demand:
            return Lifecycle.ON_DEMAND, on_demand_type(policy), zone
        counts = self.zone_counts()
        others = sorted(
            (z for z in self.available_zones if z != zone and anywhere),
            key=lambda z: counts[z],
        )
        launched = Counter(
            Pool(launch.instance_type, launch.availability_zone)
            for launch in self.launches
            if launch.lifecycle is Lifecycle.SPOT and launch.instance_type is not None
        )
        for candidate_zone in (zone, *others):
            members = Counter(
                i.instance_type or ""
                for i in self.capacity
                if i.lifecycle is Lifecycle.SPOT and i.availability_zone == candidate_zone
            )
            members.update(
                p.instance_type
                for p in launched.elements()
                if p.availability_zone == candidate_zone
            )
            pool = choose_spot_pool(
                policy, spot_pools(policy, candidate_zone, self.market, members, launched)
            )
            if pool is not None:
                return Lifecycle.SPOT, pool.override.instance_type, candidate_zone
        return None

    def terminate(self, instance: Instance, reason: str, *, scale_in: bool = False) -> None:
        if instance in self.capacity:
            self.capacity.remove(instance)
        self.terminations.append(
            Termination(
                instance_id=instance.instance_id,
                reason=reason,
                scale_in=scale_in,
                activity=self.activity(
                    f"Terminating EC2 instance: {instance.instance_id}",
                    f"{reason} At {self.at} instance {instance.instance_id} was selected for "
                    "termination.",
                    instance.availability_zone,
                ),
            )
        )

    def activity(self, description: str, cause: str, zone: str) -> Activity:
        return Activity(
            activity_id=activity_id(self.group.auto_scaling_group_name, self.now, description),
            resource_id=self.group.auto_scaling_group_name,
            description=description,
            cause=cause,
            start_time=self.now,
            status_code=ActivityStatusCode.IN_PROGRESS,
            availability_zone=zone,
        )

    def busiest_zone_candidates(self) -> tuple[str, list[Instance]] | None:
        """AWS's first step for every policy: the zone with most instances and one unprotected.

        Zones the group no longer uses come first, since rebalancing wants them empty.
        """
        counts = self.zone_counts()
        zones = sorted(
            counts,
            key=lambda z: (z in self.group.availability_zones, -counts[z], z),
        )
        for zone in zones:
            candidates = [
                i
                for i in self.capacity
                if i.availability_zone == zone and i.instance_id not in self.protected_ids
            ]
            if candidates:
                return zone, candidates
        return None

    def choose(self, candidates: Sequence[Instance]) -> Instance:
        return select_for_termination(
            candidates,
            self.group.termination_policies,
            template_name=self.template_name,
            now=self.now,
            allocation=self.allocation_filter(),
        )

    def allocation_filter(self) -> Filter | None:
        """For a mixed group, AWS's first step of Default and the AllocationStrategy policy:
        keep the instances of the market over its share, then, among Spot ones, those in the
        pool the allocation strategy likes least (the dearest per unit for lowest-price, the
        one with least room for the capacity strategies); among On-Demand ones, the type
        furthest down the priority list."""
        policy = self.group.mixed_instances_policy
        if policy is None:
            return None
        on_demand, spot = split(policy.instances_distribution, self.group.desired_capacity)
        excess = {
            Lifecycle.ON_DEMAND: self.units(Lifecycle.ON_DEMAND) - on_demand,
            Lifecycle.SPOT: self.units(Lifecycle.SPOT) - spot,
        }
        priority = {o.instance_type: n for n, o in enumerate(policy.overrides)}
        market = self.market

        def disliked(instance: Instance) -> tuple[float, ...]:
            pool = market.get(Pool(instance.instance_type or "", instance.availability_zone))
            if instance.lifecycle is Lifecycle.ON_DEMAND or pool is None:
                return (-priority.get(instance.instance_type or "", -1),)
            strategy = policy.instances_distribution.spot_allocation_strategy
            if strategy is SpotAllocationStrategy.LOWEST_PRICE:
                return (-pool.price / policy.weight_of(instance.instance_type),)
            return (float(pool.available),)

        def allocation(candidates: Sequence[Instance]) -> list[Instance]:
            over = max(excess, key=lambda m: excess[m])
            kept = [i for i in candidates if i.lifecycle is over] or list(candidates)
            keys = [disliked(i) for i in kept]
            best = min(keys)
            return [i for i, k in zip(kept, keys, strict=True) if k == best]

        return allocation


def _health_reason(
    group: AutoScalingGroup, instance: Instance, now: float, grace_from: float | None = None
) -> str | None:
    """Why the health check marks this instance unhealthy, or None if it passes.

    A stopped instance fails at once (AWS does not wait out the grace period for an instance
    that is not running); a running but unhealthy one only after the grace period, counted
    from its launch, or from ``grace_from`` (when it left the warm pool: a thawed instance
    may still show the health Docker recorded while it was frozen).
    """
    at = timestamp(now)
    if instance.health is Health.STOPPED:
        return (
            f"At {at} an instance was taken out of service in response to an EC2 health check "
            "indicating it has been terminated or stopped."
        )
    if instance.health is Health.UNHEALTHY:
        began = (
            instance.launched_at if grace_from is None else max(grace_from, instance.launched_at)
        )
        if now - began < group.health_check_grace_period:
            return None
        if group.health_check_type is HealthCheckType.ELB:
            return (
                f"At {at} an instance was taken out of service in response to an ELB system "
                "health check failure."
            )
        return (
            f"At {at} an instance was taken out of service in response to an EC2 instance "
            "status check failure."
        )
    return None


def plan(  # noqa: PLR0913 - what the world looks like this pass, one argument per source
    group: AutoScalingGroup,
    template_versions: Mapping[str, LaunchTemplate],
    instances: Sequence[Instance],
    protected_ids: Iterable[str],
    now: float,
    leaving: Iterable[str] = (),
    *,
    market: Mapping[Pool, PoolState] | None = None,
    at_risk: Iterable[str] = (),
    unavailable_zones: Iterable[str] = (),
    warm: Iterable[str] = (),
    warm_ready: Sequence[Instance] = (),
    grace_from: Mapping[str, float] | None = None,
) -> Plan:
    """Decide the launches and terminations that bring ``group`` to its desired capacity.

    ``template_versions`` maps template names to templates (the store's); the group's template
    version is resolved on every pass, so ``$Latest`` follows new versions. ``instances`` may
    include other groups' instances; only this group's are considered. Instances ``leaving``
    (already terminating) are neither capacity nor candidates, but their ids stay taken.
    ``market`` is the Spot market's pools now (price, room), for mixed groups; a pool it does
    not list counts as roomy at the On-Demand price. ``at_risk`` names instances the Spot
    market has warned (a rebalance recommendation or an interruption notice): with
    CapacityRebalance they are replaced first, then terminated. ``unavailable_zones`` (the
    runtime's ``ZoneHealth``) get no launches until they return. ``warm`` names the group's
    warm pool instances (no capacity, never candidates, ids taken); ``warm_ready`` those a
    scale-out takes before it launches anything, best first. ``grace_from`` says when the
    health check grace period of an instance taken from the warm pool began (when it left).
    """
    template = find(template_versions, group.launch_template_name)
    version, data = template.resolve(group.launch_template_version)
    gone = frozenset(leaving)
    pooled = frozenset(warm)
    mine = sorted(
        (
            i
            for i in instances
            if i.group == group.auto_scaling_group_name
            and i.instance_id not in gone
            and i.instance_id not in pooled
        ),
        key=lambda i: i.instance_id,
    )
    state = _Pass(
        group=group,
        now=now,
        template_name=template.launch_template_name,
        template_version=version,
        data=data,
        protected_ids=frozenset(protected_ids),
        taken_ids={i.instance_id for i in instances},
        capacity=[i for i in mine if i.health is not Health.STOPPED],
        launches=[],
        terminations=[],
        notes=[],
        market=market or {},
        warm=[i for i in warm_ready if i.instance_id in pooled],
        unavailable=frozenset(unavailable_zones),
        grace_from=grace_from or {},
    )
    _replace_unhealthy(state, mine)
    _capacity_rebalance(state, frozenset(at_risk))
    name = group.auto_scaling_group_name
    _replace_expired(
        state, replacing=any(i.group == name and i.instance_id in gone for i in instances)
    )
    _reach_desired_capacity(state)
    _rebalance(state)
    return Plan(tuple(state.launches), tuple(state.terminations), tuple(state.notes))


def _replace_unhealthy(state: _Pass, mine: Sequence[Instance]) -> None:
    if state.suspended(ScalingProcess.HEALTH_CHECK):
        return
    for instance in mine:
        reason = _health_reason(
            state.group, instance, state.now, state.grace_from.get(instance.instance_id)
        )
        if reason is None:
            continue
        if state.suspended(
            ScalingProcess.REPLACE_UNHEALTHY, ScalingProcess.LAUNCH, ScalingProcess.TERMINATE
        ):
            state.notes.append(
                f"Instance {instance.instance_id} is unhealthy but is not replaced: "
                "ReplaceUnhealthy, Launch or Terminate is suspended."
            )
            continue
        state.terminate(instance, reason)


# MaxInstanceLifetime replaces at most a tenth of desired capacity at a time (at least one).
LIFETIME_BATCH_DIVISOR = 10


def _replace_expired(state: _Pass, replacing: bool) -> None:
    """MaxInstanceLifetime: the oldest instances in service for at least the lifetime are
    terminated and replaced, one at a time, or up to 10 % of desired capacity at a time in a
    group of 20 or more (AWS replaces at most 10 % of the group at once). AWS pauses between
    replacements for an interval it does not state; here the next batch waits until the group
    is back at its desired capacity with every instance healthy and none still leaving
    (``replacing``). An instance protected from scale-in is kept, as AWS's advice for holding
    one back relies on."""
    lifetime = state.group.max_instance_lifetime
    if lifetime is None or replacing or state.terminations:
        return
    if state.suspended(ScalingProcess.LAUNCH, ScalingProcess.TERMINATE):
        return
    capacity = state.capacity
    if len(capacity) != state.group.desired_capacity:
        return
    if any(i.health is not Health.HEALTHY for i in capacity):
        return
    expired = [
        i
        for i in capacity
        if state.now - i.launched_at >= lifetime and i.instance_id not in state.protected_ids
    ]
    batch = max(1, state.group.desired_capacity // LIFETIME_BATCH_DIVISOR)
    for oldest in sorted(expired, key=lambda i: (i.launched_at, i.instance_id))[:batch]:
        state.terminate(
            oldest,
            f"At {state.at} an instance was taken out of service in response to a maximum "
            "instance lifetime check.",
        )


def _capacity_rebalance(state: _Pass, at_risk: frozenset[str]) -> None:
    """CapacityRebalance, as AWS documents it: an instance at elevated risk of interruption no
    longer counts as capacity, a replacement is launched, and the instance is terminated once
    the group's other instances are healthy at its desired capacity. (A protected instance is
    replaced too but kept; AWS leaves it to its owner.)"""
    if not state.group.capacity_rebalance or not at_risk:
        return
    risky = [i for i in state.capacity if i.instance_id in at_risk]
    if not risky or state.suspended(ScalingProcess.LAUNCH):
        return
    for instance in risky:
        state.capacity.remove(instance)
    cause = (
        f"At {state.at} an instance was launched in response to an EC2 instance rebalance "
        "recommendation."
    )
    while state.units() < state.group.desired_capacity:
        if not state.launch(cause):
            break
    replaced = not state.launches and all(i.health is Health.HEALTHY for i in state.capacity)
    if not replaced or state.suspended(ScalingProcess.TERMINATE):
        return
    for instance in risky:
        if instance.instance_id in state.protected_ids:
            continue
        state.terminate(
            instance,
            f"At {state.at} an instance was taken out of service in response to an EC2 "
            "instance rebalance recommendation.",
        )


def _quoting(group: AutoScalingGroup, cause: str) -> str:
    """AWS prefixes a capacity change's activity with what changed desired capacity."""
    return f"{group.desired_capacity_cause} {cause}" if group.desired_capacity_cause else cause


def _reach_desired_capacity(state: _Pass) -> None:
    actual, desired = state.units(), state.group.desired_capacity
    if actual < desired:
        if state.suspended(ScalingProcess.LAUNCH):
            state.notes.append(f"Launch is suspended: capacity stays at {actual} of {desired}.")
            return
        cause = _quoting(
            state.group,
            f"At {state.at} an instance was started in response to a difference between "
            f"desired and actual capacity, increasing the capacity from {actual} to {desired}.",
        )
        while state.units() < desired:
            if not state.launch(cause):
                return
    elif actual - desired >= state.largest_weight():
        # With weights a launch may overshoot desired; AWS keeps an excess smaller than the
        # largest weight (without weights: any excess goes).
        if state.suspended(ScalingProcess.TERMINATE):
            state.notes.append(f"Terminate is suspended: capacity stays at {actual} of {desired}.")
            return
        reason = _quoting(
            state.group,
            f"At {state.at} an instance was taken out of service in response to a difference "
            f"between desired and actual capacity, shrinking the capacity from {actual} to "
            f"{desired}.",
        )
        while state.units() - desired >= state.largest_weight():
            found = state.busiest_zone_candidates()
            if found is None:
                state.notes.append(
                    f"Could not scale in to {desired}: the {len(state.capacity)} remaining "
                    "instances are protected from scale-in."
                )
                return
            chosen = state.choose(found[1])
            if state.units() - state.weight(chosen.instance_type) < desired:
                return  # with weights, one fewer would fall below desired: keep it
            state.terminate(chosen, reason, scale_in=True)


def _rebalance(state: _Pass) -> None:
    """AZRebalance: launch in the emptiest zone first, then terminate from the fullest."""
    if state.suspended(
        ScalingProcess.AZ_REBALANCE, ScalingProcess.LAUNCH, ScalingProcess.TERMINATE
    ):
        return
    zones = state.available_zones
    if not zones:
        return
    while True:
        counts = state.zone_counts()
        emptiest = min(zones, key=lambda z: counts[z])
        found = state.busiest_zone_candidates()
        if found is None:
            return
        busiest, candidates = found
        if busiest in state.unavailable:
            return  # its instances are being replaced by the health check, not moved
        stray = busiest not in zones
        if not stray and counts[busiest] - counts[emptiest] < 2:
            return
        launched = state.launch(
            f"At {state.at} instances were launched to balance instances in zones {busiest} "
            f"with other zones {emptiest}.",
            zone=emptiest,
        )
        if not launched:
            return
        state.terminate(
            state.choose(candidates),
            f"At {state.at} an instance was taken out of service to balance instances in "
            f"zones {busiest} with other zones {emptiest}.",
        )
