"""ECS tasks on a Swarm: the service a container becomes and the container read back, on the
shapes the Docker API returns."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.instances import Health
from orchestrator.runtime.hosts import Host, TaskHosts
from orchestrator.runtime.swarm_tasks import (
    NoHostInZone,
    SwarmTaskRuntime,
    container_service_spec,
    host_of,
    observed_container,
    pick_host,
    task_service_name,
)
from orchestrator.runtime.tasks import (
    ContainerSpec,
    DockerHealthCheck,
    TaskRuntime,
    TaskSpec,
    task_labels,
)

APP = ContainerSpec(
    name="app",
    image="barista/service:latest",
    command=("serve", "health"),
    environment={"A": "1"},
    cpus=0.25,
    memory_mib=256,
    stop_timeout=12.5,
)
CHECKED = ContainerSpec(
    name="side_car",
    image="barista/service:latest",
    entry_point=("/bin/sh", "-c"),
    health_check=DockerHealthCheck(("CMD", "true"), 1.5, 5.0, 3, 0.0),
)
SPEC = TaskSpec(
    task_id="0123456789abcdef0123456789abcdef",
    cluster="shop",
    task_definition="web:3",
    group="service:web",
    containers=(APP, CHECKED),
    created_at=100.0,
    service="web",
    availability_zone="az-b",
    container_instance="ci-node2",
    host="node2",
)


def host(host_id: str, zone: str | None, *, ready: bool = True, schedulable: bool = True):
    return Host(host_id, f"h-{host_id}", zone, "default", 2.0, 4096, ready, schedulable)


def test_each_container_is_a_one_replica_service_pinned_to_the_placed_node_never_restarted():
    spec = container_service_spec(
        SPEC, APP, task_labels({}, SPEC, APP), node_id="node2", network="barista-overlay"
    )
    assert spec["name"] == "barista-ecs-0123456789ab-app"
    assert spec["mode"] == {"Replicated": {"Replicas": 1}}
    template = spec["task_template"]
    assert template["Placement"] == {"Constraints": ["node.id==node2"]}
    assert template["RestartPolicy"]["Condition"] == "none"
    assert template["Resources"]["Limits"] == {"NanoCPUs": 250_000_000, "MemoryBytes": 256 << 20}
    assert template["Networks"] == [{"Target": "barista-overlay"}]
    container = template["ContainerSpec"]
    assert container["Args"] == ["serve", "health"]  # the command, as docker run's
    assert "Command" not in container
    assert container["Env"] == ["A=1"]
    assert container["StopGracePeriod"] == 13 * 10**9  # rounded up: never kills early
    assert container["Healthcheck"] == {"Test": ["NONE"]}, "the image's own check is ignored"
    labels = container["Labels"]
    assert labels == spec["labels"]
    assert (labels["barista.ecs.task-id"], labels["barista.ecs.container-name"]) == (
        SPEC.task_id,
        "app",
    )
    assert labels["barista.ecs.container-instance"] == "ci-node2"


def test_a_definition_s_health_check_and_entry_point_and_a_task_network_without_an_overlay():
    on_network = TaskSpec(**{**SPEC.__dict__, "network": "tasks-overlay"})
    spec = container_service_spec(
        on_network, CHECKED, task_labels({}, SPEC, CHECKED), node_id="n", network=None
    )
    container = spec["task_template"]["ContainerSpec"]
    assert container["Command"] == ["/bin/sh", "-c"]
    assert container["Healthcheck"] == {
        "Test": ["CMD", "true"],
        "Interval": 1_500_000_000,
        "Timeout": 5_000_000_000,
        "Retries": 3,
        "StartPeriod": 0,
    }
    assert spec["task_template"]["Networks"] == [{"Target": "tasks-overlay"}]
    assert spec["name"] == "barista-ecs-0123456789ab-side-car"
    # With the Swarm's overlay, a task network meant for one engine's bridge is not used.
    overlaid = container_service_spec(
        on_network, CHECKED, task_labels({}, SPEC, CHECKED), node_id="n", network="overlay"
    )
    assert overlaid["task_template"]["Networks"] == [{"Target": "overlay"}]


def test_service_names_stay_dns_labels():
    name = task_service_name("f" * 32, "a_very/long:name" * 8)
    assert len(name) <= 63
    assert not name.endswith("-")
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def swarm_node(zone: str | None, state: str = "ready", availability: str = "active"):
    labels = {"barista.az": zone} if zone else {}
    return {
        "ID": "node2",
        "Spec": {"Labels": labels, "Availability": availability},
        "Status": {"State": state},
        "Description": {
            "Hostname": "swarm-2",
            "Resources": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 4 << 30},
        },
    }


def test_a_node_is_a_host_of_its_zone_in_the_default_ecs_cluster():
    assert host_of(swarm_node("az-b")) == Host(
        "node2", "swarm-2", "az-b", "default", 2.0, 4096, ready=True, schedulable=True
    )
    drained = host_of(swarm_node("az-b", availability="drain"))
    assert (drained.ready, drained.schedulable) == (True, False)
    lost = host_of(swarm_node("az-b", state="down"))
    assert (lost.ready, lost.schedulable) == (False, False)
    named = swarm_node(None)
    named["Spec"]["Labels"]["barista.ecs-cluster"] = "shop"
    assert (host_of(named).ecs_cluster, host_of(named).availability_zone) == ("shop", None)


def test_a_task_with_no_node_goes_to_the_least_busy_schedulable_node_of_its_zone():
    hosts = [
        host("a1", "az-a"),
        host("b1", "az-b"),
        host("b2", "az-b"),
        host("b3", "az-b", schedulable=False),
    ]
    assert pick_host("az-b", hosts, {"b1": 2, "b2": 1}).host_id == "b2"
    assert pick_host("az-b", hosts, {}).host_id == "b1"  # a tie goes by hostname
    with pytest.raises(NoHostInZone, match="az-c"):
        pick_host("az-c", hosts, {})


def service(checked: bool = False) -> dict[str, Any]:
    container = CHECKED if checked else APP
    labels = task_labels({"barista.ecs": "true"}, SPEC, container)
    health = {"Test": ["CMD", "true"]} if checked else {"Test": ["NONE"]}
    return {
        "ID": "svc",
        "Spec": {"Labels": labels, "TaskTemplate": {"ContainerSpec": {"Healthcheck": health}}},
    }


def swarm_task(state: str, exit_code: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"ContainerID": "c1"}
    if exit_code is not None:
        container["ExitCode"] = exit_code
    return {
        "ID": "t",
        "NodeID": "node2",
        "Status": {"State": state, "ContainerStatus": container},
        "NetworksAttachments": [
            {"Network": {"Spec": {"Name": "barista-overlay"}}, "Addresses": ["10.0.1.7/24"]}
        ],
    }


def test_a_running_container_reads_back_with_its_task_record_and_overlay_address():
    seen = observed_container(
        service(), swarm_task("running"), swarm_node("az-b"), "barista-overlay"
    )
    assert (seen.task_id, seen.name, seen.service, seen.container_instance) == (
        SPEC.task_id,
        "app",
        "web",
        "ci-node2",
    )
    assert (seen.running, seen.exited, seen.health, seen.address) == (
        True,
        False,
        None,
        "10.0.1.7",
    )
    assert seen.container_id == "c1"


def test_a_checked_container_is_starting_until_the_swarm_calls_it_running():
    starting = observed_container(
        service(checked=True), swarm_task("starting"), swarm_node("az-b"), None
    )
    assert (starting.running, starting.health) == (True, Health.STARTING)
    running = observed_container(
        service(checked=True), swarm_task("running"), swarm_node("az-b"), None
    )
    assert running.health is Health.HEALTHY
    unchecked = observed_container(service(), swarm_task("starting"), swarm_node("az-b"), None)
    assert (unchecked.running, unchecked.exited) == (False, False)


def test_an_ended_container_keeps_its_exit_code_and_one_on_a_lost_node_has_exited():
    ended = observed_container(service(), swarm_task("failed", 3), swarm_node("az-b"), None)
    assert (ended.running, ended.exited, ended.exit_code) == (False, True, 3)
    lost = observed_container(
        service(), swarm_task("running"), swarm_node("az-b", state="down"), None
    )
    assert (lost.running, lost.exited, lost.exit_code, lost.address) == (
        False,
        True,
        None,
        None,
    )
    pending = observed_container(service(), None, None, None)
    assert (pending.running, pending.exited) == (False, False)


def test_the_swarm_task_runtime_offers_both_protocols():
    class Client:
        api = object()

    runtime = SwarmTaskRuntime(Client(), network="barista-overlay")  # type: ignore[arg-type]
    assert isinstance(runtime, TaskRuntime)
    assert isinstance(runtime, TaskHosts)
