"""The ELB controller against a fake HAProxy: differences, draining, ELB health hooks."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.elb.controller import CONFIG_FILE, DifferenceKind, ElbController
from orchestrator.elb.haproxy_runtime import ServerStatus
from orchestrator.elb.model import Action, HealthCheck, Protocol, Target
from orchestrator.elb.operations import Elbv2
from orchestrator.elb.state import ElbStore
from orchestrator.instances import Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.time_scale import TimeScale

_SERVER = re.compile(r"^\s+server (\S+) ([\d.]+):(\d+)", re.MULTILINE)
_BACKEND = re.compile(r"^backend (\S+)$", re.MULTILINE)


class FakeHaproxy:
    """What the controller asks of HAProxy, kept in memory: a reload re-reads the file."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.version: str | None = None
        self.statuses: dict[tuple[str, str], ServerStatus] = {}
        self.reloads = 0

    def config_version(self) -> str | None:
        return self.version

    def servers(self) -> list[ServerStatus]:
        return list(self.statuses.values())

    def server_state(self) -> str:
        return "1\n"

    def reload(self) -> None:
        text = (self.config_dir / CONFIG_FILE).read_text()
        self.version = re.search(r"proc.barista_config str\((\w+)\)", text).group(1)  # type: ignore[union-attr]
        kept = dict(self.statuses)
        self.statuses = {}
        for block in text.split("\nbackend ")[1:]:
            backend = block.split("\n", 1)[0]
            for name, address, port in _SERVER.findall(block):
                old = kept.get((backend, name))
                self.statuses[(backend, name)] = old or self._status(
                    backend, name, address, port, "MAINT"
                )
        self.reloads += 1

    def _status(
        self, backend: str, name: str, address: str, port: object, state: str
    ) -> ServerStatus:
        return ServerStatus(backend, name, address, int(port), state, "L7OK", "200", 0, 1, 1)  # type: ignore[call-overload]

    def add_server(
        self, backend: str, name: str, address: str, port: int, arguments: list[str]
    ) -> None:
        self.statuses[(backend, name)] = self._status(backend, name, address, port, "DOWN")

    def activate(self, backend: str, name: str, *, checked: bool = True) -> None:
        self.statuses[(backend, name)] = replace(self.statuses[(backend, name)], status="DOWN")

    def set_address(self, backend: str, name: str, address: str, port: int) -> None:
        self.statuses[(backend, name)] = replace(
            self.statuses[(backend, name)], address=address, port=port
        )

    def execute(self, command: str) -> str:
        backend, name = command.split()[2].split("/")
        assert command.endswith("state maint")
        self.statuses[(backend, name)] = replace(self.statuses[(backend, name)], status="MAINT")
        return ""

    def remove_server(self, backend: str, name: str) -> None:
        self.statuses.pop((backend, name), None)

    def pass_checks(self) -> None:
        for key, status in self.statuses.items():
            if status.status == "DOWN":
                self.statuses[key] = replace(status, status="UP")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[ElbController, FakeHaproxy, FakeRuntime, Elbv2, Clock]]:
    runtime = FakeRuntime()
    haproxy = FakeHaproxy(tmp_path)
    clock = Clock()
    controller = ElbController(
        tmp_path / "barista.db",
        runtime,
        haproxy,
        tmp_path,  # type: ignore[arg-type]
        time_scale=TimeScale(10),
        clock=clock,
        poll_interval=0.001,
    )
    with ElbStore(tmp_path / "barista.db") as store:
        elbv2 = Elbv2(store, clock)
        target_group = elbv2.create_target_group(
            "web",
            Protocol.HTTP,
            8000,
            health_check=HealthCheck(interval_seconds=5, timeout_seconds=2),
        )
        load_balancer = elbv2.create_load_balancer("web")
        elbv2.create_listener(
            load_balancer.load_balancer_arn,
            Protocol.HTTP,
            9080,
            [Action.forward(target_group.target_group_arn)],
        )
        elbv2.attach_target_groups("asg", [target_group.target_group_arn])
        yield controller, haproxy, runtime, elbv2, clock
    controller.close()


def launch(runtime: FakeRuntime, instance_id: str) -> None:
    runtime.launch(
        "asg",
        instance_id,
        template_name="t",
        template_version=1,
        data=LaunchTemplateData(image="x"),
        availability_zone="a",
        lifecycle=Lifecycle.ON_DEMAND,
        protected=False,
    )


def kinds(controller: ElbController) -> list[DifferenceKind]:
    return [d.kind for d in controller.differences()]


def test_a_fresh_haproxy_is_reloaded_then_instances_of_attached_groups_become_targets(parts):
    controller, haproxy, runtime, elbv2, _ = parts
    assert kinds(controller) == [DifferenceKind.WRITE_CONFIG, DifferenceKind.RELOAD]
    controller.reconcile_once()
    assert haproxy.reloads == 1
    assert controller.differences() == []

    launch(runtime, "i-1")
    assert kinds(controller) == [DifferenceKind.WRITE_CONFIG, DifferenceKind.ADD_SERVER]
    controller.reconcile_once()
    assert haproxy.reloads == 1, "a new target needs no reload"
    arn = elbv2.store.target_groups()[0].target_group_arn
    assert [d.target_health.reason for d in controller.describe_target_health(arn)] == [
        "Elb.InitialHealthChecking"
    ]
    haproxy.pass_checks()
    assert [d.target_health.state for d in controller.describe_target_health(arn)] == ["healthy"]
    assert controller.differences() == []


def test_a_deregistered_target_drains_until_idle_or_its_delay(parts):
    controller, haproxy, runtime, elbv2, clock = parts
    launch(runtime, "i-1")
    controller.reconcile_once()
    haproxy.pass_checks()
    arn = elbv2.store.target_groups()[0].target_group_arn
    elbv2.modify_target_group_attributes(arn, {"deregistration_delay.timeout_seconds": "100"})
    controller.reconcile_once()  # the reload for the changed structure keeps the server's state
    key = ("tg_web", "i-1_8000")
    haproxy.statuses[key] = replace(haproxy.statuses[key], current_sessions=1)

    elbv2.store.deregister_targets(arn, [Target("i-1", 8000)], clock.now)
    assert kinds(controller) == [DifferenceKind.DRAIN]
    controller.reconcile_once()
    assert haproxy.statuses[key].status == "MAINT"
    assert [d.target_health.state for d in controller.describe_target_health(arn)] == ["draining"]
    clock.now += 9.9  # 100 s AWS at time scale 10 is 10 s: not yet
    assert controller.differences() == []
    clock.now += 0.2
    assert kinds(controller) == [DifferenceKind.FINISH_DRAIN]
    controller.reconcile_once()
    assert key not in haproxy.statuses
    # The instance still runs: its drained deregistration keeps it out until it is gone.
    assert [d.kind for d in controller.differences() if d.kind is DifferenceKind.ADD_SERVER] == []
    runtime.terminate("i-1")
    controller.reconcile_once()
    assert elbv2.store.deregistrations() == []


def test_before_terminate_returns_once_the_target_is_idle_and_elb_unhealthy_names_failures(parts):
    controller, haproxy, runtime, elbv2, _ = parts
    launch(runtime, "i-1")
    launch(runtime, "i-2")
    controller.reconcile_once()
    haproxy.pass_checks()
    failing = ("tg_web", "i-2_8000")
    haproxy.statuses[failing] = replace(
        haproxy.statuses[failing], status="DOWN", check_status="L7STS", check_code="500"
    )
    assert controller.elb_unhealthy("asg") == {"i-2"}

    controller.before_terminate("asg", "i-1")  # idle: over at once
    assert ("tg_web", "i-1_8000") not in haproxy.statuses
    (drained,) = elbv2.store.deregistrations()
    assert (drained.target.id, drained.drained) == ("i-1", True)


class Unreachable(FakeHaproxy):
    def config_version(self) -> str | None:
        raise ConnectionRefusedError("haproxy is down")

    def servers(self) -> list[ServerStatus]:
        raise ConnectionRefusedError("haproxy is down")


def test_with_haproxy_down_nothing_is_unhealthy_and_scale_in_waits_only_the_delay(tmp_path: Path):
    runtime = FakeRuntime()
    launch(runtime, "i-1")
    controller = ElbController(
        tmp_path / "barista.db",
        runtime,
        Unreachable(tmp_path),
        tmp_path,  # type: ignore[arg-type]
        time_scale=TimeScale(10),
        poll_interval=0.01,
    )
    with ElbStore(tmp_path / "barista.db") as store:
        elbv2 = Elbv2(store)
        arn = elbv2.create_target_group("web", Protocol.HTTP, 8000).target_group_arn
        elbv2.modify_target_group_attributes(arn, {"deregistration_delay.timeout_seconds": "0"})
        elbv2.attach_target_groups("asg", [arn])
    assert controller.elb_unhealthy("asg") == set()
    started = time.monotonic()
    controller.before_terminate("asg", "i-1")
    assert time.monotonic() - started < 3
    controller.close()


def test_detaching_a_group_drains_its_running_instances(parts):
    controller, haproxy, runtime, elbv2, _ = parts
    launch(runtime, "i-1")
    controller.reconcile_once()
    haproxy.pass_checks()
    arn = elbv2.store.target_groups()[0].target_group_arn
    controller.detach_target_groups("asg", [arn])
    assert kinds(controller) == [DifferenceKind.DRAIN]
    controller.reconcile_once()  # drains: the server is idle, so the next pass removes it
    controller.reconcile_once()
    assert haproxy.statuses == {}
    controller.reconcile_once()
    assert elbv2.store.deregistrations() == []
    assert elbv2.store.attachments() == {}


def test_an_instance_held_by_a_launch_hook_becomes_a_target_only_once_in_service(
    parts, tmp_path: Path
):
    from orchestrator.asg.launch_holds import LaunchHolds  # noqa: PLC0415
    from orchestrator.asg.lifecycle import InstanceLifecycle, LifecycleState  # noqa: PLC0415
    from orchestrator.asg.store import Store  # noqa: PLC0415

    controller, _, runtime, _, _ = parts
    # Auto Scaling tells the load balancers which instances its launch hooks hold.
    controller.launch_holds = LaunchHolds(tmp_path / "barista.db")
    controller.reconcile_once()
    launch(runtime, "i-1")
    waiting = InstanceLifecycle("i-1", "asg", LifecycleState.PENDING_WAIT, 0.0)
    with Store(tmp_path / "barista.db") as store:
        store.put_instance_lifecycle(waiting)
        assert DifferenceKind.ADD_SERVER not in kinds(controller)
        store.put_instance_lifecycle(replace(waiting, state=LifecycleState.IN_SERVICE))
    assert DifferenceKind.ADD_SERVER in kinds(controller)
