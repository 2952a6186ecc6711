"""Instance refresh against the fake runtime: batches that keep MinHealthyPercentage of the
group healthy, MaxHealthyPercentage launching first, SkipMatching, checkpoints, cancelling,
rolling back by hand and by AutoRollback, and AWS's refusals."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.instance_refresh import RefreshStatus, preferences
from orchestrator.asg.lifecycle import LifecycleState
from orchestrator.asg.refresh_operations import InstanceRefreshes
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool_operations import WarmPools
from orchestrator.errors import AwsError
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime

START = 1_800_000_000.0


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(start=START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "barista.db") as opened:
        template = create_launch_template("web", LaunchTemplateData(image="web:1"))
        opened.put_launch_template(template.create_version(LaunchTemplateData(image="web:2")))
        opened.put_group(
            create_auto_scaling_group(
                "web",
                "web",
                min_size=1,
                max_size=8,
                desired_capacity=4,
                availability_zones=("az-a", "az-b"),
                launch_template_version="1",
            )
        )
        yield opened


def serving(store: Store, runtime: FakeRuntime) -> list[int]:
    """Template versions of the group's healthy InService instances."""
    records = store.instance_lifecycles("web")
    return sorted(
        i.template_version
        for i in runtime.instances("web")
        if i.health is Health.HEALTHY
        and records.get(i.instance_id) is not None
        and records[i.instance_id].state is LifecycleState.IN_SERVICE
    )


def run(
    controller: AutoScalingController,
    store: Store,
    runtime: FakeRuntime,
    until: set[RefreshStatus],
    *,
    passes: int = 60,
    step: float = 10.0,
) -> list[list[int]]:
    """Passes until the refresh reaches one of ``until``; what served after each pass."""
    seen = []
    for _ in range(passes):
        controller.reconcile_once()
        seen.append(serving(store, runtime))
        (latest, *_) = store.instance_refreshes("web")
        if latest.status in until:
            return seen
        runtime.advance(step)
    raise AssertionError(f"the refresh stayed {latest.status}: {latest}")


def started(store: Store, runtime: FakeRuntime) -> AutoScalingController:
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    assert serving(store, runtime) == [1, 1, 1, 1]
    return controller


def test_preferences_keep_aws_defaults_and_ranges():
    defaults = preferences()
    assert (defaults.min_healthy_percentage, defaults.max_healthy_percentage) == (90, 100)
    assert (defaults.checkpoint_delay, defaults.skip_matching, defaults.auto_rollback) == (
        3600,
        False,
        False,
    )
    for bad, field in (
        ({"min_healthy_percentage": 101}, "MinHealthyPercentage"),
        ({"max_healthy_percentage": 99}, "MaxHealthyPercentage"),
        ({"max_healthy_percentage": 201}, "MaxHealthyPercentage"),
        ({"min_healthy_percentage": 10, "max_healthy_percentage": 150}, "difference"),
        ({"min_healthy_percentage": 100}, "greater than 100 when MinHealthyPercentage is 100"),
        ({"checkpoint_percentages": [50, 20]}, "CheckpointPercentages"),
        ({"checkpoint_delay": 172_801}, "CheckpointDelay"),
        ({"instance_warmup": -1}, "InstanceWarmup"),
    ):
        with pytest.raises(AwsError, match=field):
            preferences(**bad)  # type: ignore[arg-type]


def test_a_refresh_replaces_every_instance_keeping_min_healthy_in_service(
    store: Store, runtime: FakeRuntime
):
    controller = started(store, runtime)
    refreshes = InstanceRefreshes(store, runtime)
    refresh = refreshes.start(
        "web", preferences(min_healthy_percentage=75), launch_template_name="web", version="2"
    )
    assert (refresh.status, refresh.instances_to_update) == (RefreshStatus.PENDING, 4)
    seen = run(controller, store, runtime, {RefreshStatus.SUCCESSFUL})
    assert seen[-1] == [2, 2, 2, 2]
    floor = math.ceil(4 * 0.75)
    assert min(len(s) for s in seen) >= floor  # never fewer than 75 % healthy in service
    (done,) = store.instance_refreshes("web")
    assert (done.percentage_complete, done.instances_to_update) == (100, 0)
    assert done.end_time is not None
    assert store.groups()["web"].launch_template_version == "2"
    causes = [a.cause for a in store.activities("web") if "Terminating" in a.description]
    assert len(causes) == 4
    assert all("in response to an instance refresh" in c for c in causes)


def test_max_healthy_over_100_launches_first_and_never_dips_below_desired(
    store: Store, runtime: FakeRuntime
):
    controller = started(store, runtime)
    InstanceRefreshes(store, runtime).start(
        "web",
        preferences(min_healthy_percentage=100, max_healthy_percentage=150),
        launch_template_name="web",
        version="2",
    )
    seen = run(controller, store, runtime, {RefreshStatus.SUCCESSFUL})
    assert min(len(s) for s in seen) >= 4
    assert max(len(s) for s in seen) <= 6  # 150 % of 4
    assert seen[-1] == [2, 2, 2, 2]


def test_skip_matching_keeps_instances_already_on_the_version(store: Store, runtime: FakeRuntime):
    controller = started(store, runtime)
    refreshes = InstanceRefreshes(store, runtime)
    refreshes.start("web", preferences(skip_matching=True), launch_template_name="web", version="1")
    (refresh,) = store.instance_refreshes("web")
    assert refresh.instances_to_update == 0
    launched = list(runtime.launched)
    run(controller, store, runtime, {RefreshStatus.SUCCESSFUL})
    assert runtime.launched == launched  # nothing replaced


def test_a_checkpoint_waits_its_delay(store: Store, runtime: FakeRuntime):
    controller = started(store, runtime)
    InstanceRefreshes(store, runtime).start(
        "web",
        preferences(min_healthy_percentage=50, checkpoint_percentages=[50], checkpoint_delay=600),
        launch_template_name="web",
        version="2",
    )
    run(controller, store, runtime, {RefreshStatus.IN_PROGRESS}, passes=1)
    for _ in range(10):
        controller.reconcile_once()
        runtime.advance(10)
    (waiting,) = store.instance_refreshes("web")
    assert waiting.percentage_complete == 50
    assert waiting.status_reason.startswith("Waiting for checkpoint: 50%")
    assert serving(store, runtime) == [1, 1, 2, 2]
    runtime.advance(600)
    run(controller, store, runtime, {RefreshStatus.SUCCESSFUL})
    assert serving(store, runtime) == [2, 2, 2, 2]


def test_cancel_stops_the_refresh_after_the_replacements_under_way(
    store: Store, runtime: FakeRuntime
):
    controller = started(store, runtime)
    refreshes = InstanceRefreshes(store, runtime)
    refreshes.start(
        "web", preferences(min_healthy_percentage=75), launch_template_name="web", version="2"
    )
    controller.reconcile_once()  # the first batch begins
    cancelled = refreshes.cancel("web")
    assert cancelled.status is RefreshStatus.CANCELLING
    run(controller, store, runtime, {RefreshStatus.CANCELLED})
    assert serving(store, runtime).count(1) == 3  # the rest were never replaced
    with pytest.raises(AwsError) as none:
        refreshes.cancel("web")
    assert none.value.code == "ActiveInstanceRefreshNotFound"


def test_rollback_restores_the_previous_version(store: Store, runtime: FakeRuntime):
    controller = started(store, runtime)
    refreshes = InstanceRefreshes(store, runtime)
    refreshes.start(
        "web", preferences(min_healthy_percentage=50), launch_template_name="web", version="2"
    )
    with pytest.raises(AwsError) as busy:
        refreshes.start("web", preferences())
    assert busy.value.code == "InstanceRefreshInProgress"
    with pytest.raises(AwsError) as no_pool:
        WarmPools(store, runtime).put("web", min_size=1)
    assert no_pool.value.code == "InstanceRefreshInProgress"
    controller.reconcile_once()
    controller.reconcile_once()
    assert 2 in serving(store, runtime)
    rolled = refreshes.rollback("web")
    assert rolled.status is RefreshStatus.ROLLBACK_IN_PROGRESS
    assert store.groups()["web"].launch_template_version == "1"
    seen = run(controller, store, runtime, {RefreshStatus.ROLLBACK_SUCCESSFUL})
    assert seen[-1] == [1, 1, 1, 1]
    (done,) = store.instance_refreshes("web")
    assert done.rollback_reason == "Rollback requested."
    with pytest.raises(AwsError) as none:
        refreshes.rollback("web")
    assert none.value.code == "ActiveInstanceRefreshNotFound"


def test_a_refresh_without_a_desired_configuration_cannot_be_rolled_back(
    store: Store, runtime: FakeRuntime
):
    started(store, runtime)
    refreshes = InstanceRefreshes(store, runtime)
    refreshes.start("web", preferences())
    with pytest.raises(AwsError) as irreversible:
        refreshes.rollback("web")
    assert irreversible.value.code == "IrreversibleInstanceRefresh"


def test_auto_rollback_after_new_instances_fail_their_health_check(
    store: Store, runtime: FakeRuntime
):
    controller = started(store, runtime)
    InstanceRefreshes(store, runtime).start(
        "web",
        preferences(min_healthy_percentage=75, auto_rollback=True),
        launch_template_name="web",
        version="2",
    )
    for _ in range(5):
        controller.reconcile_once()
        (refresh,) = store.instance_refreshes("web")
        if refresh.status is not RefreshStatus.IN_PROGRESS:
            break
        for instance in runtime.instances("web"):
            if instance.template_version == 2:
                runtime.set_health(instance.instance_id, Health.UNHEALTHY)
        runtime.advance(10)
    assert refresh.status is RefreshStatus.ROLLBACK_IN_PROGRESS
    assert refresh.rollback_reason is not None
    assert refresh.rollback_reason.startswith("AutoRollback: Instance")
    assert store.groups()["web"].launch_template_version == "1"
    run(controller, store, runtime, {RefreshStatus.ROLLBACK_SUCCESSFUL})
    assert serving(store, runtime) == [1, 1, 1, 1]
