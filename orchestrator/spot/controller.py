"""The Spot market's controller: each pass moves every pool to the current step, records the
prices that changed, gives notices, and stops the instances whose notice has run out.

It runs on the orchestrator's clock (the runtime's ``now``: AWS time, compressed by
``time_scale``), so a two-minute notice lasts two AWS minutes. Like every controller here it
is level-triggered: the pools are recomputed from the seed and the instances Docker reports,
the notices are records, and a restarted orchestrator carries on where its predecessor was.

What a pass does, in order:
1. Barista's Spot instances are counted per pool (``instance_type`` x zone, from labels);
2. each pool's state at this step (``orchestrator.spot.model``); a price that differs from
   the last one recorded is recorded at the step's start;
3. a pool with more of Barista's instances than it has free interrupts the newest of them
   (those not already interrupted): an interruption notice, the stop two minutes later;
4. instances in a pool at risk (free capacity at or under the headroom) get a rebalance
   recommendation, once;
5. interrupted instances past their notice are stopped as EC2 stops them: SIGTERM, then a
   kill after the launch template's stop timeout (``stop``, on a thread of its own);
6. notices of instances that no longer exist are forgotten, and runs that ended before Cost
   Explorer's horizon (``orchestrator.billing.RETENTION_MONTHS``) too.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.billing import PurchaseOption, Run, retention_horizon
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.loop import run_passes
from orchestrator.runtime import Runtime
from orchestrator.spot.model import (
    MarketSettings,
    Pool,
    PoolState,
    at_risk,
    pool_state,
    step_of,
    step_start,
)
from orchestrator.spot.notices import INTERRUPTION_NOTICE_SECONDS, Notice, NoticeKind
from orchestrator.spot.operations import backfill, known_pools
from orchestrator.spot.store import SpotStore

log = logging.getLogger(__name__)

Stop = Callable[[str], None]


def pool_of(instance: Instance) -> Pool | None:
    """The pool a Spot instance runs in; None for On-Demand or an instance of no type."""
    if instance.lifecycle is not Lifecycle.SPOT or instance.instance_type is None:
        return None
    return Pool(instance.instance_type, instance.availability_zone)


@dataclass(frozen=True)
class MarketPass:
    """What one pass saw and did."""

    states: dict[Pool, PoolState]
    interrupted: tuple[str, ...] = ()
    recommended: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()


class SpotMarketController:
    """Runs the market over the store at ``store_path`` and the instances of ``runtime``.

    ``stop`` stops one instance (SIGTERM, then kill); the orchestrator passes one that runs on
    a thread of its own so no pass waits, tests may pass ``runtime.terminate``. ``zones`` names
    the zones whose pools should exist besides the settings' (the groups' zones).
    """

    def __init__(
        self,
        store_path: str | Path,
        runtime: Runtime,
        settings: MarketSettings,
        *,
        stop: Stop | None = None,
        zones: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.store_path = Path(store_path)
        self.runtime = runtime
        self.settings = settings
        self.stop = stop if stop is not None else runtime.terminate
        self.zones = zones
        self._backfilled: set[Pool] = set()

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        """A pass every ``interval`` wall seconds until ``stopping`` is set."""
        run_passes(self.reconcile_once, stopping, interval, "spot market")

    def quotes(self) -> dict[Pool, PoolState]:
        """Every pool now, as the next pass will see it (no record is written): what Auto
        Scaling plans Spot launches over."""
        now = self.runtime.now()
        running = [
            i
            for i in self.runtime.instances()
            if pool_of(i) is not None and i.health is not Health.STOPPED
        ]
        pools = known_pools(self.settings, [*self.zones(), *(i.availability_zone for i in running)])
        used = Counter(pool_of(i) for i in running)
        with SpotStore(self.store_path) as store:
            reclaimed = store.reclaimed(now)
        step = step_of(self.settings, now)
        return {
            pool: pool_state(self.settings, pool, step, used[pool], pool in reclaimed)
            for pool in pools
        }

    def reconcile_once(self) -> MarketPass:
        with SpotStore(self.store_path) as store:
            return self._pass(store, self.runtime.now())

    def _pass(self, store: SpotStore, now: float) -> MarketPass:
        settings = self.settings
        instances = [i for i in self.runtime.instances() if pool_of(i) is not None]
        running = [i for i in instances if i.health is not Health.STOPPED]
        pools = known_pools(settings, [*self.zones(), *(i.availability_zone for i in instances)])
        if set(pools) - self._backfilled:
            backfill(store, settings, pools, now)
            self._backfilled.update(pools)
        used = Counter(pool_of(i) for i in running)
        reclaimed = store.reclaimed(now)
        step = step_of(settings, now)
        states = {
            pool: pool_state(settings, pool, step, used[pool], pool in reclaimed) for pool in pools
        }
        self._record_prices(store, states, step)
        notices = store.notices()
        interrupted = self._interrupt(store, states, running, notices, now)
        recommended = self._recommend(store, states, running, store.notices(), now)
        stopped = self._stop_due(store, store.notices(), {i.instance_id for i in instances}, now)
        present = {i.instance_id for i in self.runtime.instances()}
        _record_runs(store, self.runtime.instances(), now)
        store.prune_runs(retention_horizon(now))
        # An instance gone (stopped here, or terminated by its group first) needs no notice;
        # an interruption's is kept until its stop time has passed.
        store.forget_notices(
            i
            for i, n in store.notices().items()
            if i not in present and (n.stopped or not n.interrupted)
        )
        return MarketPass(states, interrupted, recommended, stopped)

    def _record_prices(self, store: SpotStore, states: dict[Pool, PoolState], step: int) -> None:
        latest = store.latest_prices()
        at = step_start(self.settings, step)
        changed = [
            (pool, at, state.price)
            for pool, state in states.items()
            if pool not in latest or (latest[pool][1] != state.price and latest[pool][0] < at)
        ]
        if changed:
            store.record_prices(changed)

    def _interrupt(
        self,
        store: SpotStore,
        states: dict[Pool, PoolState],
        running: list[Instance],
        notices: dict[str, Notice],
        now: float,
    ) -> tuple[str, ...]:
        chosen: list[str] = []
        for pool, state in states.items():
            members = [i for i in running if pool_of(i) == pool]
            already = sum(1 for i in members if _interrupted(notices, i.instance_id))
            excess = state.over - already
            if excess <= 0:
                continue
            # The newest go first: they have done the least work.
            candidates = sorted(
                (i for i in members if not _interrupted(notices, i.instance_id)),
                key=lambda i: (-i.launched_at, i.instance_id),
            )
            for instance in candidates[:excess]:
                earlier = notices.get(instance.instance_id)
                reason = "capacity reclaimed" if state.reclaimed else "no capacity left in the pool"
                store.put_notice(
                    _notice(
                        instance,
                        pool,
                        NoticeKind.INTERRUPTION,
                        now,
                        reason,
                        action_time=now + INTERRUPTION_NOTICE_SECONDS,
                        rebalance_at=earlier.rebalance_at if earlier is not None else None,
                    )
                )
                chosen.append(instance.instance_id)
                log.info(
                    "spot interruption notice",
                    extra={"instance_id": instance.instance_id, "reason": reason},
                )
        return tuple(chosen)

    def _recommend(
        self,
        store: SpotStore,
        states: dict[Pool, PoolState],
        running: list[Instance],
        notices: dict[str, Notice],
        now: float,
    ) -> tuple[str, ...]:
        chosen: list[str] = []
        for instance in running:
            pool = pool_of(instance)
            if pool is None or instance.instance_id in notices:
                continue
            if not at_risk(self.settings, states[pool]):
                continue
            store.put_notice(
                _notice(
                    instance,
                    pool,
                    NoticeKind.REBALANCE,
                    now,
                    "elevated risk of interruption",
                    rebalance_at=now,
                )
            )
            chosen.append(instance.instance_id)
        return tuple(chosen)

    def _stop_due(
        self, store: SpotStore, notices: dict[str, Notice], present: set[str], now: float
    ) -> tuple[str, ...]:
        stopped: list[str] = []
        for notice in notices.values():
            due = notice.action_time is not None and notice.action_time <= now
            if not notice.interrupted or notice.stopped or not due:
                continue
            store.put_notice(replace(notice, stopped=True))
            if notice.instance_id in present:
                self.stop(notice.instance_id)
                stopped.append(notice.instance_id)
        return tuple(stopped)


def _record_runs(store: SpotStore, instances: list[Instance], now: float) -> None:
    """Billing's view: a run starts at an instance's launch and ends when it stops or goes."""
    runs = {r.instance_id: r for r in store.runs()}
    changed: list[Run] = []
    running = {i.instance_id: i for i in instances if i.health is not Health.STOPPED}
    for instance in running.values():
        if instance.instance_id not in runs and instance.instance_type is not None:
            option = (
                PurchaseOption.SPOT
                if instance.lifecycle is Lifecycle.SPOT
                else PurchaseOption.ON_DEMAND
            )
            changed.append(
                Run(
                    instance.instance_id,
                    instance.instance_type,
                    instance.availability_zone,
                    option,
                    instance.launched_at,
                )
            )
    for run in runs.values():
        if run.end is None and run.instance_id not in running:
            changed.append(replace(run, end=now))
    if changed:
        store.put_runs(changed)


def _notice(
    instance: Instance,
    pool: Pool,
    kind: NoticeKind,
    now: float,
    reason: str,
    *,
    action_time: float | None = None,
    rebalance_at: float | None = None,
) -> Notice:
    """The notice EC2 gives ``instance`` of ``pool`` at ``now``."""
    return Notice(
        instance_id=instance.instance_id,
        group=instance.group,
        instance_type=pool.instance_type,
        availability_zone=pool.availability_zone,
        kind=kind,
        noticed_at=now,
        action_time=action_time,
        rebalance_at=rebalance_at,
        reason=reason,
    )


def _interrupted(notices: dict[str, Notice], instance_id: str) -> bool:
    notice = notices.get(instance_id)
    return notice is not None and notice.interrupted
