"""Warm pools against the fake runtime: the pool's size as AWS computes it, its instances
parked in the pool's state, scale-out taking them first (and the pool refilling), scale-in
returning them under ReuseOnScaleIn, and DeleteWarmPool emptying the pool before it goes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from orchestrator.api import ApiContext
from orchestrator.api.instance_metadata import Tokens, routes
from orchestrator.asg import create_auto_scaling_group, set_desired_capacity
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.hooks import LifecycleTransition, put_lifecycle_hook
from orchestrator.asg.launch_holds import LaunchHolds
from orchestrator.asg.lifecycle import InstanceLifecycle, LifecycleState
from orchestrator.asg.mixed import MixedInstancesPolicy, Override
from orchestrator.asg.operations import AutoScaling
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool import (
    WarmPool,
    WarmPoolState,
    put_warm_pool,
    target_lifecycle_state,
)
from orchestrator.asg.warm_pool_operations import WarmPools
from orchestrator.elb.state import ElbStore
from orchestrator.errors import AwsError
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime

START = 1_800_000_000.0


@pytest.fixture
def runtime() -> FakeRuntime:
    # Instances start unhealthy-until-checked, so Warmed:Pending is observable.
    return FakeRuntime(start=START, initial_health=Health.STARTING)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "barista.db") as opened:
        opened.put_launch_template(
            create_launch_template("baristas", LaunchTemplateData(image="barista/service:latest"))
        )
        opened.put_group(
            create_auto_scaling_group(
                "baristas",
                "baristas",
                min_size=0,
                max_size=4,
                desired_capacity=1,
                availability_zones=("az-a", "az-b"),
            )
        )
        yield opened


def states(store: Store) -> dict[str, LifecycleState]:
    return {i: r.state for i, r in store.instance_lifecycles().items()}


def warm_ids(store: Store) -> set[str]:
    return {i for i, state in states(store).items() if state.warmed}


def settle(controller: AutoScalingController, runtime: FakeRuntime, passes: int = 3) -> None:
    """Passes with every started instance passing its health check in between."""
    for _ in range(passes):
        controller.reconcile_once()
        for instance in runtime.instances():
            if instance.health is Health.STARTING:
                runtime.set_health(instance.instance_id, Health.HEALTHY)
        runtime.advance(1)


def put_pool(store: Store, **changes: object) -> WarmPool:
    pool = replace(WarmPool("baristas"), **changes)  # type: ignore[arg-type]
    store.put_warm_pool(pool)
    return pool


def test_the_pool_size_is_max_prepared_capacity_less_desired_and_never_under_min_size():
    group = create_auto_scaling_group(
        "g", "t", min_size=0, max_size=10, desired_capacity=4, availability_zones=("az-a",)
    )
    assert WarmPool("g").size(group) == 6  # MaxSize 10 - desired 4
    assert WarmPool("g", max_group_prepared_capacity=5).size(group) == 1
    assert WarmPool("g", max_group_prepared_capacity=3, min_size=2).size(group) == 2
    assert WarmPool("g", min_size=2, pending_delete=True).size(group) == 0


def test_put_warm_pool_keeps_aws_defaults_and_refuses_what_aws_refuses():
    group = create_auto_scaling_group(
        "g", "t", min_size=0, max_size=4, desired_capacity=1, availability_zones=("az-a",)
    )
    pool = put_warm_pool(group, None)
    assert (pool.pool_state, pool.min_size, pool.max_group_prepared_capacity) == (
        WarmPoolState.STOPPED,
        0,
        None,
    )
    assert (
        put_warm_pool(group, None, max_group_prepared_capacity=-1).max_group_prepared_capacity
        is None
    )
    with pytest.raises(AwsError, match="Invalid PoolState: Frozen"):
        put_warm_pool(group, None, pool_state="Frozen")
    with pytest.raises(AwsError, match="cannot be greater than the group's MaxSize"):
        put_warm_pool(group, None, max_group_prepared_capacity=5)
    mixed = replace(
        group,
        mixed_instances_policy=MixedInstancesPolicy((Override("t3.micro"), Override("t3.small"))),
    )
    with pytest.raises(AwsError, match="mixed instances policy"):
        put_warm_pool(mixed, None)
    with pytest.raises(AwsError) as deleting:
        put_warm_pool(group, WarmPool("g", pending_delete=True))
    assert deleting.value.code == "ResourceContention"


def test_the_pool_fills_beside_the_group_and_its_instances_are_stopped_not_capacity(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    put_pool(store, max_group_prepared_capacity=3)
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    assert len(warm_ids(store)) == 2  # prepared 3 - desired 1
    assert {states(store)[i] for i in warm_ids(store)} == {LifecycleState.WARMED_PENDING}
    assert LaunchHolds(tmp_path / "barista.db")() >= warm_ids(store)  # never a target
    settle(controller, runtime)
    assert {states(store)[i] for i in warm_ids(store)} == {LifecycleState.WARMED_STOPPED}
    for instance_id in warm_ids(store):
        assert next(i for i in runtime.instances() if i.instance_id == instance_id).health is (
            Health.STOPPED
        )
    # The group's own instance is untouched, and the stopped ones are not replaced.
    assert len(runtime.launched) == 3
    described = AutoScaling(store, runtime, ElbStore(tmp_path / "barista.db")).describe_groups(
        ["baristas"], 10, None
    )
    (group,) = described.items
    assert len(group.instances) == 1
    assert group.instances[0].instance_id not in warm_ids(store)
    assert group.warm_pool_size == 2
    # The zones of the pool are balanced like a group's.
    zones = sorted(
        i.availability_zone for i in runtime.instances() if i.instance_id in warm_ids(store)
    )
    assert zones == ["az-a", "az-b"]


def test_a_scale_out_takes_warm_instances_first_and_the_pool_refills(
    store: Store, runtime: FakeRuntime
):
    put_pool(store, min_size=2, max_group_prepared_capacity=1)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    stopped = warm_ids(store)
    assert len(stopped) == 2
    launched_before = list(runtime.launched)
    group = store.groups()["baristas"]
    store.put_group(set_desired_capacity(group, 3, now=runtime.now()))
    controller.reconcile_once()
    started = [c.instance_id for c in runtime.calls if c.action == "start"]
    assert sorted(started) == sorted(stopped)  # both came from the pool...
    assert all(states(store)[i] is LifecycleState.PENDING for i in stopped)
    activities = [a.description for a in store.activities("baristas")]
    assert sum("from warm pool" in d for d in activities) == 2
    # ...and the pool refills to its MinSize with new instances, in the same pass.
    new = set(runtime.launched) - set(launched_before)
    assert len(new) == 2
    assert new.isdisjoint(stopped)
    settle(controller, runtime)
    assert all(states(store)[i] is LifecycleState.IN_SERVICE for i in stopped)
    assert len(warm_ids(store)) == 2


@pytest.mark.parametrize(
    ("pool_state", "ready", "health"),
    [
        (WarmPoolState.RUNNING, LifecycleState.WARMED_RUNNING, Health.HEALTHY),
        (WarmPoolState.HIBERNATED, LifecycleState.WARMED_HIBERNATED, Health.UNHEALTHY),
    ],
)
def test_running_and_hibernated_pools_keep_their_instances_so(
    store: Store,
    runtime: FakeRuntime,
    pool_state: WarmPoolState,
    ready: LifecycleState,
    health: Health,
):
    put_pool(store, min_size=1, max_group_prepared_capacity=1, pool_state=pool_state)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    assert states(store)[warm] is ready
    assert next(i for i in runtime.instances() if i.instance_id == warm).health is health
    store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
    settle(controller, runtime)
    assert states(store)[warm] is LifecycleState.IN_SERVICE


def test_a_thawed_instance_s_grace_period_counts_from_when_it_left_the_pool(
    store: Store, runtime: FakeRuntime
):
    """Hibernated for longer than the grace period, then taken: it comes out of its pause with
    the unhealthy status recorded while it was frozen, and is judged only once the grace
    period has passed since it left the pool (not since the launch that put it there)."""
    store.put_group(replace(store.groups()["baristas"], health_check_grace_period=60))
    put_pool(store, min_size=1, max_group_prepared_capacity=1, pool_state=WarmPoolState.HIBERNATED)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    runtime.advance(600)  # frozen ten minutes: far past the grace period since its launch
    store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
    controller.reconcile_once()
    assert states(store)[warm] in (LifecycleState.PENDING, LifecycleState.IN_SERVICE)
    runtime.set_health(warm, Health.UNHEALTHY)  # Docker's health from before the thaw
    runtime.advance(59)
    controller.reconcile_once()
    assert states(store)[warm] is LifecycleState.IN_SERVICE, "judged within its grace period"
    runtime.advance(2)
    controller.reconcile_once()
    # Still unhealthy after the grace period: terminated (and replaced).
    assert warm not in states(store) or states(store)[warm].leaving
    assert any(
        warm in a.description and "status check failure" in a.cause
        for a in store.activities("baristas")
    )


def put_launch_hook(store: Store, default_result: str = "ABANDON") -> None:
    """A launch hook on the group: heartbeat timeout 60 s."""
    store.put_lifecycle_hook(
        put_lifecycle_hook(
            None,
            lifecycle_hook_name="prepare",
            auto_scaling_group_name="baristas",
            hooks_in_group=0,
            lifecycle_transition=LifecycleTransition.LAUNCHING.value,
            heartbeat_timeout=60,
            default_result=default_result,
        )
    )


def test_a_launch_hook_holds_an_instance_launched_into_the_pool_in_warmed_pending_wait(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    put_launch_hook(store)
    put_pool(store, min_size=1, max_group_prepared_capacity=1)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    assert states(store)[warm] is LifecycleState.WARMED_PENDING_WAIT
    (activity,) = [a for a in store.activities("baristas") if warm in a.description]
    assert activity.status_code.value == "MidLifecycleAction"
    operations = AutoScaling(store, runtime, ElbStore(tmp_path / "barista.db"))
    operations.complete_lifecycle_action("baristas", "prepare", "CONTINUE", instance_id=warm)
    settle(controller, runtime)
    assert states(store)[warm] is LifecycleState.WARMED_STOPPED
    (activity,) = [a for a in store.activities("baristas") if warm in a.description]
    assert activity.status_code.value == "Successful"
    # Leaving the pool for the group, it goes through the launch hook again (Pending:Wait).
    store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
    settle(controller, runtime)
    assert states(store)[warm] is LifecycleState.PENDING_WAIT


def test_an_abandoned_warm_launch_is_terminated_after_the_heartbeat_timeout(
    store: Store, runtime: FakeRuntime
):
    put_launch_hook(store, default_result="ABANDON")
    put_pool(store, min_size=1, max_group_prepared_capacity=1)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    assert states(store)[warm] is LifecycleState.WARMED_PENDING_WAIT
    runtime.advance(61)
    settle(controller, runtime, passes=2)
    assert warm not in {i.instance_id for i in runtime.instances()}
    cancelled = [
        a
        for a in store.activities("baristas")
        if warm in a.description and a.status_code.value == "Cancelled"
    ]
    assert len(cancelled) == 1
    assert "ABANDON" in cancelled[0].status_message
    # The pool refills with a new instance, held by the hook in its turn.
    (again,) = warm_ids(store)
    assert again != warm
    assert states(store)[again] is LifecycleState.WARMED_PENDING_WAIT


def test_reuse_on_scale_in_returns_the_instance_to_the_pool(store: Store, runtime: FakeRuntime):
    put_pool(store, max_group_prepared_capacity=2, reuse_on_scale_in=True)
    controller = AutoScalingController(store, runtime)
    store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
    settle(controller, runtime)
    members = {i for i, s in states(store).items() if s is LifecycleState.IN_SERVICE}
    assert len(members) == 2
    assert not warm_ids(store)  # prepared 2 - desired 2
    store.put_group(set_desired_capacity(store.groups()["baristas"], 1, now=runtime.now()))
    settle(controller, runtime)
    (returned,) = warm_ids(store)
    assert returned in members
    assert states(store)[returned] is LifecycleState.WARMED_STOPPED
    assert runtime.terminated == []  # nothing was terminated: it waits stopped
    assert len(runtime.launched) == 2  # and no new warm instance was launched beside it


def test_without_reuse_a_scale_in_terminates(store: Store, runtime: FakeRuntime):
    put_pool(store, max_group_prepared_capacity=2)
    controller = AutoScalingController(store, runtime)
    store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
    settle(controller, runtime)
    store.put_group(set_desired_capacity(store.groups()["baristas"], 1, now=runtime.now()))
    settle(controller, runtime)
    assert len(runtime.terminated) == 1
    (new,) = warm_ids(store)  # the pool grew by a new instance instead
    assert new not in runtime.terminated


def test_delete_warm_pool_terminates_its_instances_then_the_pool_goes(
    store: Store, runtime: FakeRuntime
):
    pools = WarmPools(store, runtime)
    pools.put("baristas", min_size=2, max_group_prepared_capacity=1)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    warm = warm_ids(store)
    pools.delete("baristas")
    described = pools.describe("baristas", None, None)
    assert described.pool is not None
    assert described.pool.pending_delete
    assert {w.instance.instance_id for w in described.instances.items} == warm
    with pytest.raises(AwsError) as busy:
        pools.put("baristas", min_size=1)
    assert busy.value.code == "ResourceContention"
    settle(controller, runtime)
    assert set(runtime.terminated) == warm
    assert store.warm_pools() == {}
    assert pools.describe("baristas", None, None).instances.items == []
    with pytest.raises(AwsError, match="No warm pool found"):
        pools.delete("baristas")
    # The group's own instance stays.
    assert len(runtime.instances("baristas")) == 1


def test_force_delete_removes_the_pool_at_once(store: Store, runtime: FakeRuntime):
    pools = WarmPools(store, runtime)
    pools.put("baristas", min_size=1, max_group_prepared_capacity=1)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    pools.delete("baristas", force_delete=True)
    assert pools.describe("baristas", None, None).pool is None
    settle(controller, runtime)
    assert runtime.terminated == [warm]
    assert warm_ids(store) == set()


def test_a_warm_instance_killed_behind_the_pool_is_replaced(store: Store, runtime: FakeRuntime):
    put_pool(store, min_size=1, max_group_prepared_capacity=1, pool_state=WarmPoolState.RUNNING)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    runtime.terminate(warm)  # removed by hand
    settle(controller, runtime)
    (replacement,) = warm_ids(store)
    assert replacement != warm


def test_a_restarted_controller_parks_a_stop_it_lost(store: Store, runtime: FakeRuntime):
    put_pool(store, min_size=1, max_group_prepared_capacity=1)
    settle(AutoScalingController(store, runtime), runtime)
    (warm,) = warm_ids(store)
    runtime.start_instance(warm)  # as if the stop never happened before the crash
    runtime.set_health(warm, Health.HEALTHY)
    AutoScalingController(store, runtime).reconcile_once()
    assert next(i for i in runtime.instances() if i.instance_id == warm).health is Health.STOPPED
    assert states(store)[warm] is LifecycleState.WARMED_STOPPED


def test_target_lifecycle_state_names_where_each_instance_is_headed():
    pool = WarmPool("baristas", pool_state=WarmPoolState.HIBERNATED)

    def record(state: LifecycleState, **changes: bool) -> InstanceLifecycle:
        return InstanceLifecycle("i-1", "baristas", state, START, **changes)  # type: ignore[arg-type]

    assert target_lifecycle_state(None, None) == "InService"
    assert target_lifecycle_state(record(LifecycleState.PENDING), pool) == "InService"
    assert target_lifecycle_state(record(LifecycleState.TERMINATING_WAIT), pool) == "Terminated"
    assert target_lifecycle_state(record(LifecycleState.WARMED_PENDING), pool) == (
        "Warmed:Hibernated"
    )
    returning = record(LifecycleState.TERMINATING_WAIT, to_warm_pool=True)
    assert target_lifecycle_state(returning, pool) == "Warmed:Hibernated"
    assert target_lifecycle_state(record(LifecycleState.WARMED_PENDING), None) == "Terminated"
    assert target_lifecycle_state(record(LifecycleState.WARMED_TERMINATING), pool) == "Terminated"


def test_the_metadata_service_tells_a_warm_instance_its_target_state(
    store: Store, runtime: FakeRuntime
):
    put_pool(store, min_size=1, max_group_prepared_capacity=1, pool_state=WarmPoolState.RUNNING)
    controller = AutoScalingController(store, runtime)
    settle(controller, runtime)
    (warm,) = warm_ids(store)
    app = Starlette(routes=routes(ApiContext(store.path, runtime), Tokens(wall=lambda: START)))
    base = f"/metadata/{warm}/latest"
    with TestClient(app) as client:
        token = client.put(
            f"{base}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
        ).text
        headers = {"X-aws-ec2-metadata-token": token}

        def target() -> str:
            path = f"{base}/meta-data/autoscaling/target-lifecycle-state"
            return client.get(path, headers=headers).text

        assert target() == "Warmed:Running"
        store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
        controller.reconcile_once()
        assert target() == "InService"
