"""Every termination drains through the load balancer first, whoever asked for it."""

from __future__ import annotations

from pathlib import Path

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.operations import AutoScaling
from orchestrator.asg.store import Store
from orchestrator.elb.state import ElbStore
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime


class Drains:
    """Stands in for the ElbController: records each drain and when the stop came; a drain
    is over at once (``before_terminate``) or on the pass after it began (``drained``)."""

    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime
        self.events: list[tuple[str, str]] = []
        self.begun: set[str] = set()

    def before_terminate(self, group: str, instance_id: str) -> None:
        assert instance_id in {i.instance_id for i in self.runtime.instances()}, "stopped first"
        self.events.append(("drain", instance_id))

    def begin_drain(self, group: str, instance_id: str) -> None:
        if instance_id not in self.begun:
            self.before_terminate(group, instance_id)
            self.begun.add(instance_id)

    def drained(self, group: str, instance_id: str) -> bool:
        return instance_id in self.begun


def _setup(tmp_path: Path, desired: int = 3) -> tuple[Store, FakeRuntime, Drains, ElbStore]:
    store = Store(tmp_path / "barista.db")
    runtime = FakeRuntime()
    store.put_launch_template(create_launch_template("web", LaunchTemplateData(image="x")))
    store.put_group(
        create_auto_scaling_group(
            "web",
            "web",
            min_size=0,
            max_size=4,
            desired_capacity=desired,
            availability_zones=["az-a", "az-b"],
        )
    )
    drains = Drains(runtime)
    AutoScalingController(store, runtime, drain=drains).reconcile_once()
    return store, runtime, drains, ElbStore(tmp_path / "barista.db")


def test_scale_in_terminate_and_force_delete_all_drain_first(tmp_path: Path):
    store, runtime, drains, elb_store = _setup(tmp_path)
    operations = AutoScaling(store, runtime, elb_store, drains)  # type: ignore[arg-type]
    ids = sorted(i.instance_id for i in runtime.instances("web"))

    operations.terminate_instance(ids[0], should_decrement=True)
    assert drains.events == []  # the call only begins the termination
    controller = AutoScalingController(store, runtime, drain=drains)
    controller.reconcile_once()
    assert drains.events == [("drain", ids[0])]
    assert runtime.terminated == [ids[0]]

    operations.set_desired_capacity("web", 1)
    controller.reconcile_once()
    (scaled_in,) = [i for i in ids[1:] if i in runtime.terminated]
    assert drains.events[-1] == ("drain", scaled_in)

    (last,) = runtime.instances("web")
    operations.delete_group("web", force_delete=True)
    assert drains.events[-1] == ("drain", last.instance_id)
    assert runtime.instances("web") == []
    assert [event for event, _ in drains.events] == ["drain"] * 3


def test_force_delete_removes_the_target_group_attachments(tmp_path: Path):
    store, runtime, _, elb_store = _setup(tmp_path, desired=0)
    elb_store.attach_target_groups("web", ["arn:tg"])
    AutoScaling(store, runtime, elb_store).delete_group("web", force_delete=True)
    assert elb_store.attachments().get("web", []) == []
