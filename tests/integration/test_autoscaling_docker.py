"""An Auto Scaling group of real containers: the controller over the Docker runtime."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from orchestrator.asg import (
    AutoScalingGroup,
    create_auto_scaling_group,
    set_desired_capacity,
    set_instance_protection,
)
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.clock import ScaledClock
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.time_scale import TimeScale
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[AutoScalingController]:
    runtime = DockerRuntime(labels={SESSION_LABEL: SESSION_ID})
    with Store(tmp_path / "barista.db") as store:
        store.put_launch_template(
            create_launch_template(
                "health",
                LaunchTemplateData(
                    image=stable_image("service"), command=("serve", "health"), stop_timeout=5
                ),
            )
        )
        store.put_group(
            create_auto_scaling_group(
                "web",
                "health",
                min_size=0,
                max_size=4,
                desired_capacity=2,
                availability_zones=("az-a", "az-b"),
            )
        )
        yield AutoScalingController(store, runtime)
        for instance in runtime.instances("web"):
            runtime.terminate(instance.instance_id, stop_timeout=1)


def running(controller: AutoScalingController) -> list[str]:
    return sorted(
        i.instance_id for i in controller.runtime.instances("web") if i.health is not Health.STOPPED
    )


def test_a_group_of_containers_converges_and_a_killed_one_is_replaced(
    controller: AutoScalingController,
):
    controller.reconcile_once()
    first = running(controller)
    assert len(first) == 2
    assert {i.availability_zone for i in controller.runtime.instances("web")} == {"az-a", "az-b"}
    assert not controller.reconcile_once().changed, "a second pass must do nothing"

    victim = controller.runtime.instances("web")[0]
    # Killed behind the orchestrator's back, as a crash would.
    docker.from_env().containers.get(victim.container_id).kill()
    assert wait_for(lambda: victim.instance_id not in running(controller), timeout=30), (
        "the runtime should see the killed container as stopped"
    )
    controller.reconcile_once()
    after = running(controller)
    assert len(after) == 2
    assert victim.instance_id not in after


def test_scale_in_terminates_down_to_the_new_desired_capacity(controller: AutoScalingController):
    controller.reconcile_once()
    group = controller.store.groups()["web"]
    controller.store.put_group(set_desired_capacity(group, 1))
    controller.reconcile_once()
    assert len(running(controller)) == 1
    causes = [a.description for a in controller.store.activities("web")]
    assert sum(c.startswith("Terminating") for c in causes) == 1


def _one_zone_group(store: Store, name: str, desired: int, **options: object) -> AutoScalingGroup:
    group = create_auto_scaling_group(
        name,
        "health",
        min_size=0,
        max_size=6,
        desired_capacity=desired,
        availability_zones=("az-a",),
        **options,  # type: ignore[arg-type]
    )
    store.put_group(group)
    return group


@pytest.fixture
def scaled(tmp_path: Path) -> Iterator[AutoScalingController]:
    """A controller whose clock runs 60x (one AWS minute per second), so grace periods and
    launch ages are AWS-sized while the test stays short."""
    runtime = DockerRuntime(
        labels={SESSION_LABEL: SESSION_ID}, clock=ScaledClock(time.time(), TimeScale(60))
    )
    with Store(tmp_path / "barista.db") as store:
        store.put_launch_template(
            create_launch_template(
                "health",
                LaunchTemplateData(
                    image=stable_image("service"), command=("serve", "health"), stop_timeout=2
                ),
            )
        )
        yield AutoScalingController(store, runtime)
        for instance in runtime.instances():
            runtime.terminate(instance.instance_id, stop_timeout=1)


def test_an_unhealthy_instance_is_replaced_only_after_the_grace_period(
    scaled: AutoScalingController,
):
    _one_zone_group(scaled.store, "graceful", 1, health_check_grace_period=120)
    scaled.reconcile_once()
    (instance,) = scaled.runtime.instances("graceful")
    # Paused: it cannot answer, like an impaired EC2 status check.
    docker.from_env().containers.get(instance.container_id).pause()
    assert not scaled.reconcile_once().changed, "inside the grace period nothing is replaced"
    assert wait_for(lambda: scaled.runtime.now() - instance.launched_at > 120, timeout=30), (
        "2 AWS minutes pass in 2 wall seconds"
    )
    scaled.reconcile_once()
    live = [i for i in scaled.runtime.instances("graceful") if i.health is not Health.STOPPED]
    assert [i.instance_id for i in live] != [instance.instance_id]
    assert len(live) == 1
    causes = [a.cause for a in scaled.store.activities("graceful")]
    assert any("in response to an EC2 instance status check failure" in c for c in causes)


def test_protected_instances_survive_scale_in(scaled: AutoScalingController):
    _one_zone_group(scaled.store, "guarded", 3)
    scaled.reconcile_once()
    kept = sorted(i.instance_id for i in scaled.runtime.instances("guarded"))[:2]
    group = scaled.store.groups()["guarded"]
    group = set_instance_protection(group, kept, protected_from_scale_in=True)
    scaled.store.put_group(set_desired_capacity(group, 0))
    scaled.reconcile_once()
    assert sorted(i.instance_id for i in scaled.runtime.instances("guarded")) == kept


def _grow(controller: AutoScalingController, name: str, desired: int) -> str:
    """One pass up to ``desired``; returns the one new instance. Passes run one after another,
    so launch times (on the 60x clock) differ by whole AWS seconds."""
    before = {i.instance_id for i in controller.runtime.instances(name)}
    controller.store.put_group(set_desired_capacity(controller.store.groups()[name], desired))
    controller.reconcile_once()
    (new,) = {i.instance_id for i in controller.runtime.instances(name)} - before
    return new


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("OldestInstance", "first"),
        ("NewestInstance", "third"),
        # the two instances of version 1 are not on the group's version ($Default is now 2);
        # the oldest of them goes
        ("OldestLaunchTemplate", "first"),
        # Default: oldest launch template first (both v1), then closest to the next billing
        # hour: the first has run longest, so its next hour comes soonest
        ("Default", "first"),
        # all three started within the same hour: the longest-running is closest to its next
        ("ClosestToNextInstanceHour", "first"),
    ],
)
def test_each_termination_policy_picks_its_instance(
    scaled: AutoScalingController, policy: str, expected: str
):
    name = f"policy-{policy.lower()}"
    _one_zone_group(scaled.store, name, 0, termination_policies=[policy])
    launched = {"first": _grow(scaled, name, 1), "second": _grow(scaled, name, 2)}
    template = scaled.store.launch_templates()["health"]
    scaled.store.put_launch_template(
        template.create_version(template.versions[1]).with_default_version(2)
    )
    launched["third"] = _grow(scaled, name, 3)
    assert {i.instance_id: i.template_version for i in scaled.runtime.instances(name)} == {
        launched["first"]: 1,
        launched["second"]: 1,
        launched["third"]: 2,
    }
    scaled.store.put_group(set_desired_capacity(scaled.store.groups()[name], 2))
    scaled.reconcile_once()
    left = {i.instance_id for i in scaled.runtime.instances(name)}
    assert set(launched.values()) - left == {launched[expected]}
