"""The Auto Scaling controller: a level-triggered loop that closes the gap each pass.

Each pass reads desired state from the store and actual state from the runtime (Docker
labels), asks the pure ``plan`` what to do, carries it out, and records the activities; then
it moves every instance's lifecycle (``orchestrator.asg.lifecycle``) one or more steps along:
lifecycle hooks waited on, draining checked, stops begun, activities finished. Nothing in a
pass waits: the load balancer drains on its own loop and stops run on threads of their own
(``orchestrator.asg.terminator``), so one group's long deregistration delay holds up no other
group. Groups with a mixed instances policy plan over the Spot market's pools (``market``). A
group's warm pool (``orchestrator.asg.warm_pool``) is kept at its size after the group's own
plan, which takes ready warm instances before it launches any. Instance ids are derived
deterministically by ``plan``, the runtime refuses a second container with an id already in
use, and each instance's lifecycle is persisted, so killing the orchestrator at any point and
starting it again resumes every instance where it was.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass

from orchestrator.asg import (
    Activity,
    AutoScalingGroup,
    HealthCheckType,
    Launch,
    Plan,
    ScalingProcess,
    plan,
)
from orchestrator.asg.hooks import LifecycleHook, LifecycleTransition
from orchestrator.asg.instance_refresh import RefreshStatus, advance
from orchestrator.asg.lifecycle import (
    WARMED_READY,
    InstanceLifecycle,
    LifecycleAction,
    LifecycleState,
    Observed,
    step,
)
from orchestrator.asg.refresh_operations import restore_previous
from orchestrator.asg.store import Store
from orchestrator.asg.terminator import Drain, InlineStops, Stops
from orchestrator.asg.warm_pool import (
    WarmPool,
    WarmPoolState,
    plan_warm_pool,
    ready_instances,
    warm_instance_id,
)
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.launch_templates import LaunchTemplate, find
from orchestrator.loop import in_order, run_passes
from orchestrator.runtime import InstanceIdInUse, Runtime, ZoneHealth, ZoneUnavailable
from orchestrator.runtime.images import ImageNotAllowed
from orchestrator.scaling.activity import ActivityStatusCode, activity_id, timestamp
from orchestrator.spot.model import Pool, PoolState
from orchestrator.spot.notices import Notice
from orchestrator.spot.store import SpotStore

__all__ = ["AutoScalingController", "ElbUnhealthy", "Market", "Notify", "PassResult"]

log = logging.getLogger(__name__)

# How long a group waits to launch again after a refused launch (doubling each time).
LAUNCH_RETRY_FIRST = 10.0
LAUNCH_RETRY_MAX = 300.0

# A record moves at most this many states in one pass (Terminating → … → Terminated is four).
MAX_STEPS_PER_PASS = 8


@dataclass(frozen=True)
class _Launched:
    """How one launch went: done (no error), failed with ``error``, or ``skipped`` (not
    tried: an earlier launch of the group had its image refused)."""

    error: Exception | None = None
    skipped: bool = False


@dataclass(frozen=True)
class PassResult:
    """What one reconcile pass did, per group."""

    plans: dict[str, Plan]

    @property
    def changed(self) -> bool:
        return any(not p.is_empty for p in self.plans.values())


# group name -> ids of its instances some attached target group reports unhealthy.
ElbUnhealthy = Callable[[str], Set[str]]
# Sends a hook's notification (orchestrator.asg.notifications) when an action starts.
Notify = Callable[[LifecycleHook, InstanceLifecycle, LifecycleAction], None]
# The Spot market's pools now (orchestrator.spot.controller.SpotMarketController.quotes).
Market = Callable[[], Mapping[Pool, PoolState]]


class AutoScalingController:
    """Runs the group reconciler and advances instance lifecycles.

    ``drain`` and ``elb_unhealthy`` connect the load balancer (EC2 Auto Scaling deregisters an
    instance from its target groups and waits for the deregistration delay before terminating
    it; with HealthCheckType ELB it also replaces the instances the target groups find
    unhealthy). ``stops`` stops instances: on the calling thread unless given (the
    orchestrator passes ``BackgroundStops``). ``notify`` sends lifecycle hook notifications.
    ``start_workers`` bounds the launches a pass runs at once (``orchestrator.loop.in_order``).
    """

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        *,
        drain: Drain | None = None,
        elb_unhealthy: ElbUnhealthy | None = None,
        stops: Stops | None = None,
        notify: Notify | None = None,
        market: Market | None = None,
        start_workers: int = 1,
    ) -> None:
        self.store = store
        self.market = market
        # Launches of one plan run this many at once (the orchestrator: START_CONCURRENCY);
        # one, the default, launches on the calling thread in plan order, as tests want.
        self.start_workers = start_workers
        self.runtime = runtime
        self.drain = drain
        self.elb_unhealthy = elb_unhealthy
        self.stops = stops if stops is not None else InlineStops(runtime)
        self.notify = notify
        # Groups whose last launch was refused: (retry after, current backoff), in the
        # runtime's clock. AWS retries failed launches with a growing delay, not every pass.
        self._launch_backoff: dict[str, tuple[float, float]] = {}
        # Interruption notices already in the activity history (instance id, notice time).
        self._noticed: set[tuple[str, float]] = set()

    def reconcile_once(self) -> PassResult:
        """One pass over every group, then every instance lifecycle; safe to repeat and to
        interrupt."""
        templates = self.store.launch_templates()
        plans: dict[str, Plan] = {}
        records = self.store.instance_lifecycles()
        hooks = self._hooks_by_group()
        groups = self.store.groups()
        mixed = any(g.mixed_instances_policy is not None for g in groups.values())
        market = self.market() if self.market is not None and mixed else None
        notices = self._spot_notices()
        pools = self.store.warm_pools()
        for name, stored in groups.items():
            instances = self._with_elb_health(name, stored, self.runtime.instances(name))
            group = stored
            surge = self._advance_refresh(stored, instances, records, templates)
            if surge is not None:
                # The refresh may have begun terminations and changed the group's template;
                # with MaxHealthyPercentage over 100 the group runs more than desired awhile.
                records = self.store.instance_lifecycles()
                changed = self.store.groups().get(name, stored)
                group = dataclasses.replace(
                    changed, desired_capacity=changed.desired_capacity + surge
                )
            # Instances on their way out are no longer capacity and never chosen again; nor
            # are the warm pool's, which a scale-out takes (ready ones) before launching.
            leaving = {i for i, r in records.items() if r.state.leaving and not r.state.warmed}
            warm = {
                i: r
                for i, r in records.items()
                if r.state.warmed and r.auto_scaling_group_name == name
            }
            decided = plan(
                group,
                templates,
                instances,
                set(group.protected_instance_ids),
                self.runtime.now(),
                leaving,
                market=market,
                at_risk={i for i, n in notices.items() if n.group == name},
                unavailable_zones=self._unavailable_zones(group),
                warm=warm,
                warm_ready=ready_instances(pools.get(name), warm.values(), instances),
                grace_from={
                    i: r.left_warm_pool_at
                    for i, r in records.items()
                    if r.left_warm_pool_at is not None and r.auto_scaling_group_name == name
                },
            )
            plans[name] = decided
            if decided.is_empty:
                continue
            self._apply(decided, hooks.get(name, ()), pools.get(name))
            # Re-read the group: an API call may have changed it while the pass ran.
            current = self.store.groups().get(name)
            if current is not None:
                protected = decided.protected_instance_ids(current.protected_instance_ids)
                self.store.put_group(dataclasses.replace(current, protected_instance_ids=protected))
        self.reconcile_warm_pools(templates)
        self.advance_lifecycles(hooks)
        return PassResult(plans)

    def _spot_notices(self) -> dict[str, Notice]:
        """The Spot market's notices; each interruption notice also goes into its group's
        activity history once (the activity id is derived from it, so a repeat replaces)."""
        with SpotStore(self.store.path) as spot:
            notices = spot.notices()
        fresh = [
            n
            for n in notices.values()
            if n.interrupted and (n.instance_id, n.noticed_at) not in self._noticed
        ]
        for notice in fresh:
            self.store.record_activities([_interruption_activity(notice)])
            self._noticed.add((notice.instance_id, notice.noticed_at))
        return notices

    def _unavailable_zones(self, group: AutoScalingGroup) -> frozenset[str]:
        """The group's zones the runtime cannot launch in now (hosts down): only a runtime
        with hosts per zone (``ZoneHealth``, the Swarm's) knows; on one engine, none."""
        if not isinstance(self.runtime, ZoneHealth):
            return frozenset()
        return self.runtime.unavailable_zones(group.availability_zones)

    def _hooks_by_group(self) -> dict[str, list[LifecycleHook]]:
        by_group: dict[str, list[LifecycleHook]] = {}
        for hook in self.store.lifecycle_hooks():
            by_group.setdefault(hook.auto_scaling_group_name, []).append(hook)
        return by_group

    def _with_elb_health(
        self, name: str, group: AutoScalingGroup, instances: list[Instance]
    ) -> list[Instance]:
        """With HealthCheckType ELB, a running instance its target groups fail is unhealthy."""
        if self.elb_unhealthy is None or group.health_check_type is not HealthCheckType.ELB:
            return instances
        failing = self.elb_unhealthy(name)
        return [
            dataclasses.replace(i, health=Health.UNHEALTHY)
            if i.instance_id in failing and i.health is not Health.STOPPED
            else i
            for i in instances
        ]

    def _apply(
        self, decided: Plan, hooks: Sequence[LifecycleHook], pool: WarmPool | None = None
    ) -> None:
        """Carry out a plan: a termination only *begins* here (its lifecycle advances it), a
        launch starts its container (or a warm pool's). Launches run up to ``start_workers``
        at once; each one's activity and record are written in plan order as soon as it and
        those before it are done, so a controller killed mid-plan leaves a history that
        matches what Docker has, but for at most ``start_workers`` containers started and not
        yet recorded (the next pass counts them as the group's instances, as it counts one
        launched just before a kill when launches went one by one)."""
        reuse = pool is not None and pool.reuse_on_scale_in and not pool.pending_delete
        for termination in decided.terminations:
            begin_termination(
                self.store,
                termination.activity.resource_id,
                termination.instance_id,
                termination.activity,
                to_warm_pool=reuse and termination.scale_in,
            )
        launch_hooks = any(h.lifecycle_transition is LifecycleTransition.LAUNCHING for h in hooks)
        if not decided.launches:
            return
        group = decided.launches[0].activity.resource_id
        retry_at, _ = self._launch_backoff.get(group, (0.0, 0.0))
        cold = (
            [launch for launch in decided.launches if not launch.from_warm_pool]
            if self.runtime.now() >= retry_at
            else []
        )
        outcomes = iter(self._launch_all(cold))
        for launch in decided.launches:
            if launch.from_warm_pool:
                self._take_from_warm_pool(launch, launch_hooks)
                continue
            if not cold:
                continue  # the group waits out a refused launch's backoff
            outcome = next(outcomes)
            self._record_launch(launch, outcome, launch_hooks)

    def _launch_all(self, launches: Sequence[Launch]) -> Iterator[_Launched]:
        """Each launch's outcome, in plan order, as soon as it and those before it are done;
        up to ``start_workers`` at once.

        A refused image (``ImageNotAllowed``) stops the group's later launches, as it did when
        they went one by one: the policy looks at the image alone, so the first launch of each
        image goes first, one at a time, and only the launches before a refusal follow, in
        parallel. One launch failing any other way fails that launch alone.
        """
        first_of_image: dict[str, int] = {}
        for index, launch in enumerate(launches):
            first_of_image.setdefault(launch.data.image, index)
        outcomes: dict[int, _Launched] = {}
        stop_at = len(launches)
        for index in sorted(first_of_image.values()):
            outcomes[index] = self._launch_one(launches[index])
            if isinstance(outcomes[index].error, ImageNotAllowed):
                stop_at = index + 1
                break
        rest = [i for i in range(stop_at) if i not in outcomes]
        # ``rest`` ascends and ``in_order`` keeps its order: its next result is this index's.
        parallel = in_order(lambda i: self._launch_one(launches[i]), rest, self.start_workers)
        for index in range(len(launches)):
            if index >= stop_at:
                yield _Launched(skipped=True)
            elif index in outcomes:
                yield outcomes[index]
            else:
                yield next(parallel)

    def _launch_one(self, launch: Launch) -> _Launched:
        """One ``Runtime.launch`` (on a worker thread: no store here), and how it went."""
        try:
            self.runtime.launch(
                launch.activity.resource_id,
                launch.instance_id,
                template_name=launch.launch_template_name,
                template_version=launch.template_version,
                data=launch.data,
                availability_zone=launch.availability_zone,
                lifecycle=launch.lifecycle,
                protected=launch.protected,
            )
        except Exception as error:  # each kind is recorded by _record_launch
            return _Launched(error=error)
        return _Launched()

    def _record_launch(self, launch: Launch, outcome: _Launched, launch_hooks: bool) -> None:
        """What a launch's outcome leaves in the store: its activity and a Pending record, or
        a failed activity with the reason AWS would give."""
        group = launch.activity.resource_id
        error = outcome.error
        if outcome.skipped or isinstance(error, InstanceIdInUse):
            # Skipped: the group's image was refused just now. In use: a pass before a
            # restart launched it already; the next pass will see it.
            return
        if isinstance(error, ImageNotAllowed):
            self._launch_refused(launch.activity, error)
            return
        if isinstance(error, ZoneUnavailable):
            # The zone's hosts went away since the plan was made: the next pass plans
            # without it, so no backoff, only the failed activity AWS would record.
            self._launch_failed(launch.activity, f"{error} Launching EC2 instance failed.")
            return
        if error is not None:
            # Anything else the engine refused fails this launch alone, and the group backs
            # off as after a refusal, so a broken engine is not asked again every pass.
            log.error("launch of %s failed", launch.instance_id, exc_info=error)
            self._back_off(group)
            self._launch_failed(
                launch.activity,
                f"{type(error).__name__}: {error} Launching EC2 instance failed.",
            )
            return
        self._launch_backoff.pop(group, None)
        now = self.runtime.now()
        # With launch hooks the launch activity stays open until the hooks let it in.
        activity = launch.activity if launch_hooks else _finished(launch.activity, now)
        self.store.record_activities([activity])
        self.store.put_instance_lifecycle(
            InstanceLifecycle(
                instance_id=launch.instance_id,
                auto_scaling_group_name=group,
                state=LifecycleState.PENDING,
                since=now,
                activity=activity if launch_hooks else None,
            )
        )
        log.info("launched", extra={"instance_id": launch.instance_id})

    def _advance_refresh(
        self,
        group: AutoScalingGroup,
        instances: Sequence[Instance],
        records: Mapping[str, InstanceLifecycle],
        templates: Mapping[str, LaunchTemplate],
    ) -> int | None:
        """One pass of the group's active instance refresh, if any: begins the batch's
        terminations, and returns how many instances beyond desired capacity the group may
        run meanwhile (None: no refresh moved)."""
        name = group.auto_scaling_group_name
        refresh = self.store.active_instance_refresh(name)
        if refresh is None or group.is_suspended(ScalingProcess.INSTANCE_REFRESH):
            return None
        now = self.runtime.now()
        version, _ = find(templates, group.launch_template_name).resolve(
            group.launch_template_version
        )
        moved = advance(refresh, group, instances, records, version, now)
        for instance_id in moved.terminate:
            description = f"Terminating EC2 instance: {instance_id}"
            zone = next(
                (i.availability_zone for i in instances if i.instance_id == instance_id), ""
            )
            begin_termination(
                self.store,
                name,
                instance_id,
                Activity(
                    activity_id=activity_id(name, now, description),
                    resource_id=name,
                    description=description,
                    cause=(
                        f"At {timestamp(now)} an instance was taken out of service in response "
                        f"to an instance refresh. At {timestamp(now)} instance {instance_id} "
                        "was selected for termination."
                    ),
                    start_time=now,
                    status_code=ActivityStatusCode.IN_PROGRESS,
                    availability_zone=zone,
                ),
            )
        updated = moved.refresh
        if (
            updated.status is RefreshStatus.FAILED
            and updated.preferences.auto_rollback
            and updated.previous is not None
        ):
            self.store.put_instance_refresh(updated)
            restore_previous(
                self.store, self.runtime, group, updated, f"AutoRollback: {updated.status_reason}"
            )
            return 0
        if updated != refresh:
            self.store.put_instance_refresh(updated)
        return moved.surge

    def _take_from_warm_pool(self, launch: Launch, launch_hooks: bool) -> None:
        """A warm instance joins the group: started again (or thawed), then ``Pending`` like
        a new launch, so launch hooks and the health check apply to it as AWS applies them."""
        group, instance_id = launch.activity.resource_id, launch.instance_id
        current = self.store.instance_lifecycles(group).get(instance_id)
        if current is None or not current.state.warmed or current.state.leaving:
            return  # left the pool meanwhile; the next pass plans again
        try:
            self.runtime.start_instance(instance_id)
        except LookupError:
            return  # gone: its lifecycle ends it on this pass
        now = self.runtime.now()
        activity = launch.activity if launch_hooks else _finished(launch.activity, now)
        self.store.record_activities([activity])
        self.store.replace_instance_lifecycle(
            current,
            InstanceLifecycle(
                instance_id=instance_id,
                auto_scaling_group_name=group,
                state=LifecycleState.PENDING,
                since=now,
                activity=activity if launch_hooks else None,
                left_warm_pool_at=now,
            ),
        )
        log.info("taken from the warm pool", extra={"instance_id": instance_id})

    # Warm pools.

    def reconcile_warm_pools(self, templates: Mapping[str, LaunchTemplate]) -> None:
        """Keep each warm pool at its size: launch new warm instances, or begin terminating
        the surplus; a pool being deleted goes once its last instance has."""
        groups = self.store.groups()
        records = self.store.instance_lifecycles()
        instances = self.runtime.instances()
        for name, pool in self.store.warm_pools().items():
            group = groups.get(name)
            if group is None:
                self.store.delete_warm_pool(name)  # DeleteAutoScalingGroup took its instances
                continue
            warm = [r for r in records.values() if r.auto_scaling_group_name == name]
            if pool.pending_delete and not any(r.state.warmed for r in warm):
                self.store.delete_warm_pool(name)
                continue
            try:
                self._reconcile_warm_pool(group, pool, warm, instances, templates)
            except Exception:
                log.exception("warm pool of %s failed; retrying next pass", name)

    def _reconcile_warm_pool(
        self,
        group: AutoScalingGroup,
        pool: WarmPool,
        records: Sequence[InstanceLifecycle],
        instances: Sequence[Instance],
        templates: Mapping[str, LaunchTemplate],
    ) -> None:
        decided = plan_warm_pool(group, pool, records, instances)
        now = self.runtime.now()
        name = group.auto_scaling_group_name
        by_id = {r.instance_id: r for r in records}
        for instance_id in decided.terminate:
            record = by_id[instance_id]
            leaving = dataclasses.replace(
                record, state=LifecycleState.WARMED_TERMINATING, since=now
            )
            if self.store.replace_instance_lifecycle(record, leaving):
                self.stops.stop(instance_id)
        if not decided.launch_zones:
            return
        if group.is_suspended(ScalingProcess.LAUNCH):
            return
        retry_at, _ = self._launch_backoff.get(name, (0.0, 0.0))
        if now < retry_at:
            return
        template = find(templates, group.launch_template_name)
        version, data = template.resolve(group.launch_template_version)
        taken = {i.instance_id for i in instances}
        for zone in decided.launch_zones:
            instance_id = warm_instance_id(name, now, taken)
            description = f"Launching a new EC2 instance into warm pool: {instance_id}"
            activity = Activity(
                activity_id=activity_id(name, now, description),
                resource_id=name,
                description=description,
                cause=(
                    f"At {timestamp(now)} an instance was launched in response to a warm pool "
                    f"of {pool.size(group)} instances with pool state {pool.pool_state.value}."
                ),
                start_time=now,
                status_code=ActivityStatusCode.IN_PROGRESS,
                availability_zone=zone,
            )
            try:
                self.runtime.launch(
                    name,
                    instance_id,
                    template_name=template.launch_template_name,
                    template_version=version,
                    data=data,
                    availability_zone=zone,
                    lifecycle=Lifecycle.ON_DEMAND,
                    protected=False,
                )
            except InstanceIdInUse:
                continue
            except ImageNotAllowed as refused:
                self._launch_refused(activity, refused)
                return
            self.store.record_activities([activity])
            self.store.put_instance_lifecycle(
                InstanceLifecycle(
                    instance_id=instance_id,
                    auto_scaling_group_name=name,
                    state=LifecycleState.WARMED_PENDING,
                    since=now,
                    activity=activity,
                )
            )
            log.info("launched into the warm pool", extra={"instance_id": instance_id})

    # Lifecycles.

    def advance_lifecycles(self, hooks: Mapping[str, Sequence[LifecycleHook]]) -> None:
        """Move every instance's lifecycle as far as it can go now, without waiting."""
        present = {i.instance_id: i for i in self.runtime.instances()}
        pools = self.store.warm_pools()
        for record in self.store.instance_lifecycles().values():
            try:
                self._advance(record, present.get(record.instance_id), hooks, pools)
            except Exception:
                # One instance's trouble (Docker, the load balancer) must not stall the rest.
                log.exception("advancing %s failed; retrying next pass", record.instance_id)

    def _advance(
        self,
        record: InstanceLifecycle,
        instance: Instance | None,
        hooks: Mapping[str, Sequence[LifecycleHook]],
        pools: Mapping[str, WarmPool],
    ) -> None:
        group_hooks = hooks.get(record.auto_scaling_group_name, ())
        pool = pools.get(record.auto_scaling_group_name)
        for _ in range(MAX_STEPS_PER_PASS):
            now = self.runtime.now()
            observed = Observed(
                exists=instance is not None,
                starting=instance is not None and instance.health is Health.STARTING,
                drained=self._drained(record),
                warm_pool=pool.ready_state if pool is not None else None,
            )
            moved = step(record, observed, group_hooks, now)
            if moved == record:
                self._keep_warm(record, instance)
                return
            if moved.state is not record.state:
                moved = self._entered(record, moved, group_hooks, now)
            stored = None if moved.state.gone else moved
            if not self.store.replace_instance_lifecycle(record, stored):
                return  # the API moved it meanwhile (a completion): the next pass goes on
            if moved.state in (
                LifecycleState.TERMINATING_PROCEED,
                LifecycleState.WARMED_TERMINATING,
            ):
                self.stops.stop(moved.instance_id)
                instance = next(
                    (i for i in self.runtime.instances() if i.instance_id == moved.instance_id),
                    None,
                )
            record = moved

    def _keep_warm(self, record: InstanceLifecycle, instance: Instance | None) -> None:
        """A warm instance not yet as its state says (the stop or pause is under way, or was
        lost with a restarted orchestrator) is parked again; a terminating one is stopped
        again. Both are idempotent, so asking each pass is safe."""
        if instance is None:
            return
        if record.state is LifecycleState.WARMED_TERMINATING:
            self.stops.stop(record.instance_id)
            return
        for pool_state in (WarmPoolState.STOPPED, WarmPoolState.HIBERNATED):
            if record.state is pool_state.lifecycle_state and instance.health is not (
                pool_state.health
            ):
                self.stops.park(
                    record.instance_id, hibernate=pool_state is WarmPoolState.HIBERNATED
                )

    def _drained(self, record: InstanceLifecycle) -> bool:
        if self.drain is None or not record.drain_started:
            return True
        return self.drain.drained(record.auto_scaling_group_name, record.instance_id)

    def _entered(
        self,
        before: InstanceLifecycle,
        record: InstanceLifecycle,
        hooks: Sequence[LifecycleHook],
        now: float,
    ) -> InstanceLifecycle:
        """Act on the state ``record`` just entered; returns it with its activity moved on."""
        group, instance_id = record.auto_scaling_group_name, record.instance_id
        state = record.state
        activity = record.activity
        log.info(
            "lifecycle",
            extra={"instance_id": instance_id, "from": before.state.value, "to": state.value},
        )
        if state.waiting:
            by_name = {h.lifecycle_hook_name: h for h in hooks}
            for action in record.actions:
                hook = by_name.get(action.lifecycle_hook_name)
                if self.notify is not None and hook is not None and hook.notification_target_arn:
                    try:
                        self.notify(hook, record, action)
                    except Exception:
                        log.exception(
                            "lifecycle notification to %s failed", hook.lifecycle_hook_name
                        )
        if state is LifecycleState.TERMINATING_WAIT and self.drain is not None:
            self.drain.begin_drain(group, instance_id)
        if state in (LifecycleState.WARMED_STOPPED, LifecycleState.WARMED_HIBERNATED):
            self.stops.park(instance_id, hibernate=state is LifecycleState.WARMED_HIBERNATED)
        abandoning = state in (LifecycleState.TERMINATING, LifecycleState.WARMED_TERMINATING)
        if abandoning and record.abandoned and activity is not None:
            # A launch hook abandoned the instance (launched for the group or into its warm
            # pool): the launch failed, a termination begins.
            self.store.record_activities([_abandoned_launch(activity, record, now)])
            activity = _abandon_termination(record, activity, now)
        if activity is not None:
            activity = _activity_in(activity, record, bool(self.drain), now)
            self.store.record_activities([activity])
        return dataclasses.replace(record, activity=activity)

    def _launch_refused(self, activity: Activity, refused: Exception) -> None:
        """A failed activity with EC2's reason, as AWS records a launch RunInstances refused;
        the group's next launch waits 10 s, then twice as long each time, up to 5 minutes."""
        self._back_off(activity.resource_id)
        self._launch_failed(
            activity, f"InvalidAMIID.NotFound: {refused} Launching EC2 instance failed."
        )

    def _back_off(self, group: str) -> None:
        """The group's next launch waits 10 s, then twice as long each time, up to 5 min."""
        _, backoff = self._launch_backoff.get(group, (0.0, 0.0))
        backoff = min(max(backoff * 2, LAUNCH_RETRY_FIRST), LAUNCH_RETRY_MAX)
        self._launch_backoff[group] = (self.runtime.now() + backoff, backoff)

    def _launch_failed(self, activity: Activity, message: str) -> None:
        now = self.runtime.now()
        self.store.record_activities(
            [
                dataclasses.replace(
                    activity,
                    status_code=ActivityStatusCode.FAILED,
                    status_message=message,
                    end_time=now,
                    progress=100,
                )
            ]
        )
        log.warning("launch failed", extra={"group": activity.resource_id, "reason": message})

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        """Reconcile every ``interval`` seconds until ``stopping`` is set."""
        run_passes(self.reconcile_once, stopping, interval, "auto scaling reconcile")


def begin_termination(
    store: Store,
    group: str,
    instance_id: str,
    activity: Activity,
    *,
    to_warm_pool: bool = False,
) -> InstanceLifecycle:
    """Put an instance in ``Terminating`` with the activity that says why; the controller's
    next pass takes it on. An instance already leaving keeps its first termination. With
    ``to_warm_pool`` (ReuseOnScaleIn) it returns to the warm pool after Terminating:Wait."""
    current = store.instance_lifecycles(group).get(instance_id)
    if current is not None and current.state.leaving:
        return current
    record = InstanceLifecycle(
        instance_id=instance_id,
        auto_scaling_group_name=group,
        state=LifecycleState.TERMINATING,
        since=activity.start_time,
        activity=activity,
        to_warm_pool=to_warm_pool,
    )
    store.record_activities([activity])
    store.put_instance_lifecycle(record)
    return record


def _activity_in(
    activity: Activity, record: InstanceLifecycle, draining: bool, now: float
) -> Activity:
    """The activity's status for the state the instance is in (AWS's status codes)."""
    state = record.state
    if state in (LifecycleState.IN_SERVICE, *WARMED_READY) or state.gone:
        if activity.status_code in (ActivityStatusCode.FAILED, ActivityStatusCode.CANCELLED):
            return activity
        return _finished(activity, now)
    if state.waiting and any(a.open for a in record.actions):
        return dataclasses.replace(activity, status_code=ActivityStatusCode.MID_LIFECYCLE_ACTION)
    if state is LifecycleState.TERMINATING_WAIT and draining:
        return dataclasses.replace(
            activity, status_code=ActivityStatusCode.WAITING_FOR_ELB_CONNECTION_DRAINING
        )
    return dataclasses.replace(activity, status_code=ActivityStatusCode.IN_PROGRESS)


def _abandoned_launch(activity: Activity, record: InstanceLifecycle, now: float) -> Activity:
    abandoned = next(
        (a for a in record.actions if a.result is not None and a.result.value == "ABANDON"),
        None,
    )
    token = abandoned.lifecycle_action_token if abandoned is not None else "unknown"
    return dataclasses.replace(
        activity,
        status_code=ActivityStatusCode.CANCELLED,
        end_time=now,
        progress=100,
        status_message=(
            f"Instance failed to complete user's Lifecycle Action: Lifecycle Action with token "
            f"{token} was abandoned with Lifecycle Action Result: ABANDON"
        ),
    )


def _abandon_termination(record: InstanceLifecycle, launch: Activity, now: float) -> Activity:
    description = f"Terminating EC2 instance: {record.instance_id}"
    return Activity(
        activity_id=activity_id(record.auto_scaling_group_name, now, description),
        resource_id=record.auto_scaling_group_name,
        description=description,
        cause=(
            f"At {timestamp(now)} an instance was taken out of service in response to a "
            f"launch lifecycle action that was abandoned. At {timestamp(now)} instance "
            f"{record.instance_id} was selected for termination."
        ),
        start_time=now,
        availability_zone=launch.availability_zone,
    )


def _interruption_activity(notice: Notice) -> Activity:
    """The group's record of a Spot interruption notice: the two minutes have begun."""
    description = f"Spot interruption notice for EC2 instance: {notice.instance_id}"
    stop_at = notice.action_time if notice.action_time is not None else notice.noticed_at
    return Activity(
        activity_id=activity_id(notice.group, notice.noticed_at, description),
        resource_id=notice.group,
        description=description,
        cause=(
            f"At {timestamp(notice.noticed_at)} EC2 gave Spot instance {notice.instance_id} "
            f"({notice.instance_type}, {notice.availability_zone}) an interruption notice: "
            f"{notice.reason}. It is stopped at {timestamp(stop_at)}."
        ),
        start_time=notice.noticed_at,
        end_time=notice.noticed_at,
        status_code=ActivityStatusCode.SUCCESSFUL,
        progress=100,
        availability_zone=notice.availability_zone,
    )


def _finished(activity: Activity, end_time: float) -> Activity:
    return dataclasses.replace(
        activity, status_code=ActivityStatusCode.SUCCESSFUL, end_time=end_time, progress=100
    )
