"""The controller against the fake runtime: level-triggered, idempotent, restartable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.asg import (
    create_auto_scaling_group,
    set_desired_capacity,
    set_instance_protection,
)
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime import ZoneUnavailable
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.runtime.images import ImagePolicy


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "barista.db") as opened:
        opened.put_launch_template(
            create_launch_template("baristas", LaunchTemplateData(image="barista/service:latest"))
        )
        opened.put_group(
            create_auto_scaling_group(
                "baristas",
                "baristas",
                min_size=0,
                max_size=6,
                desired_capacity=3,
                availability_zones=("az-a", "az-b"),
            )
        )
        yield opened


def live(runtime: FakeRuntime) -> list[str]:
    return sorted(
        i.instance_id for i in runtime.instances("baristas") if i.health is not Health.STOPPED
    )


def test_a_group_converges_to_desired_and_then_does_nothing(store: Store):
    runtime = FakeRuntime()
    controller = AutoScalingController(store, runtime)
    assert controller.reconcile_once().changed
    assert len(live(runtime)) == 3
    zones = sorted(i.availability_zone for i in runtime.instances("baristas"))
    assert zones in (["az-a", "az-a", "az-b"], ["az-a", "az-b", "az-b"])
    assert not controller.reconcile_once().changed
    activities = store.activities("baristas")
    assert len(activities) == 3
    assert all(a.status_code == "Successful" for a in activities)
    assert all("increasing the capacity from 0 to 3" in a.cause for a in activities)


def test_a_dead_instance_is_replaced(store: Store):
    runtime = FakeRuntime()
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    victim = live(runtime)[0]
    runtime.set_health(victim, Health.STOPPED)
    controller.reconcile_once()
    assert victim not in live(runtime)
    assert len(live(runtime)) == 3


def test_a_restarted_controller_converges_without_duplicates(store: Store, tmp_path: Path):
    runtime = FakeRuntime()
    AutoScalingController(store, runtime).reconcile_once()
    before = live(runtime)
    with Store(tmp_path / "barista.db") as reopened:
        again = AutoScalingController(reopened, runtime)
        assert not again.reconcile_once().changed
    assert live(runtime) == before


def test_scale_in_spares_protected_instances(store: Store):
    runtime = FakeRuntime()
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    keep = live(runtime)[:2]
    group = store.groups()["baristas"]
    group = set_instance_protection(group, keep, protected_from_scale_in=True)
    store.put_group(set_desired_capacity(group, 1))
    controller.reconcile_once()
    assert live(runtime) == keep, "only unprotected instances may go; two protected stay"


def test_an_image_barista_does_not_run_fails_the_launch_and_is_retried_with_backoff(store: Store):
    store.put_launch_template(
        create_launch_template("miner", LaunchTemplateData(image="someone/miner:latest"))
    )
    store.put_group(
        create_auto_scaling_group(
            "miner",
            "miner",
            min_size=0,
            max_size=2,
            desired_capacity=1,
            availability_zones=("az-a",),
        )
    )
    runtime = FakeRuntime(images=ImagePolicy())
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    assert runtime.instances("miner") == []
    assert len(live(runtime)) == 3, "a refused group does not hold the others back"
    [failed] = store.activities("miner")
    assert failed.status_code == "Failed"
    assert failed.status_message.startswith("InvalidAMIID.NotFound: The image 'someone/miner")
    assert "BARISTA_ALLOWED_IMAGES" in failed.status_message

    controller.reconcile_once()
    runtime.advance(5)
    controller.reconcile_once()
    assert len(store.activities("miner")) == 1, "no new attempt within the first 10 s"
    runtime.advance(6)
    controller.reconcile_once()
    assert len(store.activities("miner")) == 2
    runtime.advance(11)
    controller.reconcile_once()
    assert len(store.activities("miner")) == 2, "the second wait is 20 s"
    runtime.advance(10)
    controller.reconcile_once()
    assert len(store.activities("miner")) == 3


def test_an_image_the_setting_allows_is_launched(store: Store):
    store.put_launch_template(create_launch_template("web", LaunchTemplateData(image="nginx:1.27")))
    store.put_group(
        create_auto_scaling_group(
            "web", "web", min_size=0, max_size=1, desired_capacity=1, availability_zones=("az-a",)
        )
    )
    runtime = FakeRuntime(images=ImagePolicy.from_environ({"BARISTA_ALLOWED_IMAGES": "nginx"}))
    AutoScalingController(store, runtime).reconcile_once()
    assert len(runtime.instances("web")) == 1


def test_instances_past_the_max_lifetime_are_replaced_one_at_a_time_oldest_first(store: Store):
    runtime = FakeRuntime()
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    first = live(runtime)
    runtime.advance(3600)
    store.put_group(
        set_desired_capacity(
            replace(store.groups()["baristas"], max_instance_lifetime=86_400),
            4,
        )
    )
    controller.reconcile_once()  # a fourth, an hour younger than the first three
    [younger] = sorted(set(live(runtime)) - set(first))
    runtime.advance(86_400 - 3600)
    replaced: list[str] = []

    def replace_until(count: int) -> None:
        for _ in range(20):
            before = set(live(runtime))
            controller.reconcile_once()
            replaced.extend(sorted(before - set(live(runtime))))
            leaving = [r for r in store.instance_lifecycles().values() if r.state.leaving]
            assert sum(r.state.value != "Terminated" for r in leaving) <= 1  # one at a time
            assert len(before - set(live(runtime))) <= 1
            if len(replaced) == count:
                return
            runtime.advance(1)
        raise AssertionError(f"replaced only {replaced}")

    replace_until(3)
    assert set(replaced) == set(first)
    assert younger in live(runtime)
    assert not controller.reconcile_once().changed  # the fourth is an hour short of a day
    runtime.advance(3600)
    replace_until(4)
    assert replaced[3] == younger
    assert len(live(runtime)) == 4
    assert not set(live(runtime)) & set(replaced)
    causes = [a.cause for a in store.activities("baristas") if a.description.startswith("Term")]
    assert len(causes) == 4
    assert all("in response to a maximum instance lifetime check" in c for c in causes)


class ZonedRuntime(FakeRuntime):
    """A fake with hosts per zone (``ZoneHealth``): ``down`` zones launch nothing, and
    ``lie`` makes ``unavailable_zones`` miss one (a zone lost between plan and launch)."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()
        self.lie = False

    def unavailable_zones(self, zones):
        return frozenset() if self.lie else frozenset(z for z in zones if z in self.down)

    def launch(self, group, instance_id, **kwargs):
        if kwargs["availability_zone"] in self.down:
            raise ZoneUnavailable(kwargs["availability_zone"])
        return super().launch(group, instance_id, **kwargs)


def test_a_zone_without_hosts_gets_no_launches_and_a_lost_launch_is_a_failed_activity(
    store: Store,
):
    runtime = ZonedRuntime()
    runtime.down = {"az-b"}
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    assert [i.availability_zone for i in runtime.instances("baristas")] == ["az-a"] * 3

    runtime.down, runtime.lie = {"az-a"}, True
    store.put_group(set_desired_capacity(store.groups()["baristas"], 4))
    controller.reconcile_once()  # planned for az-b: it is up now, so the launch succeeds
    runtime.down = {"az-a", "az-b"}
    store.put_group(set_desired_capacity(store.groups()["baristas"], 5))
    controller.reconcile_once()
    failed = [a for a in store.activities("baristas") if a.status_code == "Failed"]
    assert len(failed) == 1
    assert failed[0].status_message.startswith("InsufficientInstanceCapacity: no host of")
    assert len(live(runtime)) == 4
