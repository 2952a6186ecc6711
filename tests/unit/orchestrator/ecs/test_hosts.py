"""Machines as container instances: registration, a lost machine, and ECS's spread over
zones on them, on a fake runtime with hosts (no Docker)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.hosts import HOST_ATTRIBUTE, container_instance_of, host_changes
from orchestrator.ecs.model import ContainerInstance, PlacementStrategy, TaskStatus
from orchestrator.ecs.placement import Load, place, with_task
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.hosts import Host
from orchestrator.runtime.tasks import FakeTaskRuntime

ZONES = ("az-a", "az-b", "az-c")
SPREAD = PlacementStrategy("spread", "attribute:ecs.availability-zone")


def machine(number: int, zone: str, **changes: object) -> Host:
    host = Host(f"node{number}", f"swarm-{number}", zone, "default", 2.0, 4096, True, True)
    return dataclasses.replace(host, **changes)  # type: ignore[arg-type]


class HostsRuntime(FakeTaskRuntime):
    """The fake task runtime plus machines, as a Swarm's runtime offers them."""

    def __init__(self, machines: list[Host]) -> None:
        super().__init__()
        self.machines = machines

    def hosts(self) -> list[Host]:
        return list(self.machines)


def test_ready_machines_register_drained_ones_drain_lost_ones_deregister():
    registered = [
        container_instance_of(machine(1, "az-a"), 1.0),
        container_instance_of(machine(2, "az-b"), 1.0),
        ContainerInstance("ci-by-hand", "default", 1024, 1024),
    ]
    hosts = [
        machine(1, "az-a"),  # unchanged: nothing to write
        machine(2, "az-b", ready=False, schedulable=False),  # lost
        machine(3, "az-c", schedulable=False),  # new and drained
        machine(4, None),  # no zone: not a container instance
        machine(5, "az-a", ecs_cluster="elsewhere"),  # its cluster does not exist
    ]
    changes = host_changes(hosts, registered, ["default"], now=5.0)
    assert [(i.instance_id, i.status, i.cpu, i.memory) for i in changes.put] == [
        ("ci-node3", "DRAINING", 2048, 4096)
    ]
    assert changes.put[0].attribute(HOST_ATTRIBUTE) == "node3"
    assert changes.put[0].attribute("ecs.availability-zone") == "az-c"
    assert [i.instance_id for i in changes.deregister] == ["ci-node2"]


def test_spread_over_zones_puts_one_task_per_machine_then_fills_the_zones_left():
    instances = [container_instance_of(machine(n, z), 0.0) for n, z in enumerate(ZONES, 1)]
    loads: dict[str, Load] = {}
    for task_number in range(3):
        placed = place(256, 256, "service:web", instances, loads, strategies=[SPREAD])
        assert placed.instance is not None, task_number
        key = placed.instance.instance_id
        loads[key] = with_task(loads.get(key, Load()), 256, 256, "service:web")
    assert sorted(len(load.groups) for load in loads.values()) == [1, 1, 1]
    # az-b's machine is lost: its task goes to whichever zone has fewest, never to az-b.
    del loads["ci-node2"]
    left = [i for i in instances if i.availability_zone != "az-b"]
    placed = place(256, 256, "service:web", left, loads, strategies=[SPREAD])
    assert placed.instance is not None
    assert placed.instance.availability_zone in {"az-a", "az-c"}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[EcsController, HostsRuntime, EcsStore]]:
    runtime = HostsRuntime([machine(n, z) for n, z in enumerate(ZONES, 1)])
    controller = EcsController(tmp_path / "b.db", runtime, clock=lambda: 1000.0)
    store = EcsStore(tmp_path / "b.db")
    operations.create_cluster(store, "default")
    operations.register_task_definition(
        store,
        {
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "barista/service:latest", "memory": 256, "cpu": 256}
            ],
        },
        0.0,
    )
    yield controller, runtime, store
    store.close()
    controller.close()


def running_zones(store: EcsStore) -> Counter[str]:
    return Counter(
        t.availability_zone or ""
        for t in store.tasks(stopped=False)
        if t.desired_status is TaskStatus.RUNNING and t.launched
    )


def test_a_service_spreads_one_task_per_zone_on_the_machines_and_replaces_a_lost_one_s(world):
    controller, runtime, store = world
    operations.create_service(store, "default", "web", "web", 3, now=0.0)  # spread by default
    controller.reconcile_once()
    controller.reconcile_once()
    assert running_zones(store) == dict.fromkeys(ZONES, 1)
    # Each task runs on its container instance's machine.
    assert sorted(spec.host or "" for spec in runtime.specs.values()) == [
        "node1",
        "node2",
        "node3",
    ]
    lost = next(t for t in store.tasks(stopped=False) if t.availability_zone == "az-b")

    runtime.machines[1] = machine(2, "az-b", ready=False, schedulable=False)
    controller.reconcile_once()
    controller.reconcile_once()
    stopped = store.task(lost.task_id)
    assert stopped is not None
    assert (stopped.last_status, stopped.stopped_reason) == (
        TaskStatus.STOPPED,
        "Host swarm-2 is down.",
    )
    assert "ci-node2" not in {i.instance_id for i in store.container_instances("default")}
    zones = running_zones(store)
    assert sum(zones.values()) == 3
    assert zones["az-b"] == 0
    assert sorted(zones.values()) == [1, 2]

    runtime.machines[1] = machine(2, "az-b")  # back: registered again, ACTIVE
    controller.reconcile_once()
    assert "ci-node2" in {i.instance_id for i in store.container_instances("default")}


def test_fargate_tasks_go_only_to_zones_with_a_machine_that_takes_tasks(world):
    controller, runtime, store = world
    runtime.machines[0] = machine(1, "az-a", schedulable=False)
    operations.register_task_definition(
        store,
        {
            "family": "fargate",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "barista/service:latest"}],
        },
        0.0,
    )
    operations.create_service(store, "default", "f", "fargate", 4, launch_type="FARGATE", now=0.0)
    controller.reconcile_once()
    assert running_zones(store) == {"az-b": 2, "az-c": 2}
    assert all(spec.host is None for spec in runtime.specs.values())
