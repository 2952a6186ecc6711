"""The controller launching a plan's instances several at once: bounded, each launch's outcome
recorded as it would be one by one, in plan order, and one failure isolated."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.lifecycle import InstanceLifecycle
from orchestrator.asg.store import Store
from orchestrator.instances import Instance
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.runtime.images import ImagePolicy
from orchestrator.scaling.activity import Activity

WORKERS = 4
SIZE = 13  # 1 launch alone (the image's first), then 12 in parallel


class GatedRuntime(FakeRuntime):
    """A fake whose launches wait until ``width`` are in flight together (or all have begun),
    so the test sees how many the controller runs at once; ``failing`` ids raise."""

    def __init__(self, width: int, total: int, failing: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.width, self.total, self.failing = width, total, failing
        self.in_flight = self.most = self.begun = 0
        self.first_alone = False
        self._cond = threading.Condition()
        self._fake = threading.Lock()

    def launch(self, group: str, instance_id: str, **kwargs: Any) -> Instance:
        with self._cond:
            self.in_flight += 1
            self.begun += 1
            self.most = max(self.most, self.in_flight)
            if self.begun == 1:
                self.first_alone = self.in_flight == 1
            else:
                self._cond.notify_all()
                opened = self._cond.wait_for(
                    lambda: self.in_flight >= self.width or self.begun >= self.total, timeout=10
                )
                assert opened, f"{self.in_flight} launches in flight, {self.begun} begun"
        try:
            if instance_id in self.failing:
                raise RuntimeError(f"the engine refused {instance_id}")
            with self._fake:  # the fake's own bookkeeping is not thread-safe
                return super().launch(group, instance_id, **kwargs)
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()


class RecordingStore(Store):
    """Remembers the order the controller wrote launch records in."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.written: list[str] = []

    def put_instance_lifecycle(self, record: InstanceLifecycle) -> None:
        self.written.append(record.instance_id)
        super().put_instance_lifecycle(record)

    def record_activities(self, activities: Any) -> None:
        activities = list(activities)
        self.written += [f"activity {a.description}" for a in activities]
        super().record_activities(activities)


def group_store(path: Path, image: str = "barista/service:latest") -> RecordingStore:
    store = RecordingStore(path)
    store.put_launch_template(create_launch_template("baristas", LaunchTemplateData(image=image)))
    store.put_group(
        create_auto_scaling_group(
            "baristas",
            "baristas",
            min_size=0,
            max_size=SIZE,
            desired_capacity=SIZE,
            availability_zones=("az-a", "az-b", "az-c"),
        )
    )
    return store


def by_id(activities: list[Activity]) -> dict[str, Activity]:
    return {a.description.rsplit(" ", 1)[-1]: a for a in activities}


def test_launches_run_at_most_start_workers_at_once_recorded_in_plan_order(tmp_path: Path):
    sequential = FakeRuntime()
    with group_store(tmp_path / "one.db") as one_by_one:
        AutoScalingController(one_by_one, sequential).reconcile_once()
        expected = one_by_one.written
        expected_activities = one_by_one.activities("baristas")
    assert len(sequential.launched) == SIZE

    runtime = GatedRuntime(WORKERS, SIZE)
    with group_store(tmp_path / "many.db") as store:
        AutoScalingController(store, runtime, start_workers=WORKERS).reconcile_once()
        assert runtime.first_alone
        assert runtime.most == WORKERS  # parallel, and bounded
        assert sorted(runtime.launched) == sorted(sequential.launched)
        # The same records, written in the same (plan) order as one launch at a time.
        assert store.written == expected
        assert by_id(store.activities("baristas")) == by_id(expected_activities)


def test_one_failing_launch_is_one_failed_activity_and_the_others_go_on(tmp_path: Path):
    with group_store(tmp_path / "plan.db") as planned:
        AutoScalingController(planned, FakeRuntime()).reconcile_once()
        ids = [i for i in planned.written if not i.startswith("activity")]
    victim = ids[5]
    runtime = GatedRuntime(WORKERS, SIZE, failing=frozenset({victim}))
    with group_store(tmp_path / "b.db") as store:
        controller = AutoScalingController(store, runtime, start_workers=WORKERS)
        controller.reconcile_once()
        assert sorted(runtime.launched) == sorted(set(ids) - {victim})
        activities = by_id(store.activities("baristas"))
        assert activities[victim].status_code == "Failed"
        assert activities[victim].status_message == (
            f"RuntimeError: the engine refused {victim} Launching EC2 instance failed."
        )
        others = [a for i, a in activities.items() if i != victim]
        assert len(others) == SIZE - 1
        assert all(a.status_code == "Successful" for a in others)
        assert sorted(store.instance_lifecycles("baristas")) == sorted(set(ids) - {victim})
        # The group backs off before it launches again, as after a refused image.
        controller.reconcile_once()
        assert len(store.activities("baristas")) == SIZE


def test_a_refused_image_is_one_failed_activity_however_many_may_launch_at_once(
    tmp_path: Path,
):
    runtime = FakeRuntime(images=ImagePolicy())
    with group_store(tmp_path / "b.db", image="someone/miner:latest") as store:
        AutoScalingController(store, runtime, start_workers=WORKERS).reconcile_once()
        assert runtime.launched == []
        [failed] = store.activities("baristas")
        assert failed.status_code == "Failed"
        assert failed.status_message.startswith("InvalidAMIID.NotFound: The image 'someone/miner")
