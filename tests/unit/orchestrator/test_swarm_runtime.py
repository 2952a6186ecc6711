"""The Swarm runtime's placement and health logic, on the shapes the Docker API returns."""

from __future__ import annotations

from typing import Any

from orchestrator.instances import LABEL_AZ, LABEL_GROUP, Health, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime import ZoneHealth
from orchestrator.runtime.swarm import (
    SwarmRuntime,
    instance_of,
    latest_task,
    node_host,
    service_spec,
    task_health,
    unavailable_zones_of,
)

DATA = LaunchTemplateData(
    image="barista/service:latest",
    command=("serve", "health"),
    cpus=0.5,
    memory_mib=256,
    stop_timeout=12.5,
)


def node(zone: str, state: str = "ready", availability: str = "active", node_id: str = "n1"):
    return {
        "ID": node_id,
        "Spec": {"Labels": {"barista.az": zone}, "Availability": availability},
        "Status": {"State": state},
    }


def task(state: str, node_id: str = "n1", err: str | None = None, created: str = "1"):
    status: dict[str, Any] = {"State": state, "ContainerStatus": {"ContainerID": "c1"}}
    if err:
        status["Err"] = err
    return {"ID": "t", "NodeID": node_id, "Status": status, "CreatedAt": created}


def test_an_instance_is_one_service_pinned_to_its_zone_that_the_swarm_never_restarts():
    spec = service_spec(
        "i-0123456789abcdef0",
        {LABEL_GROUP: "baristas", LABEL_AZ: "az-b"},
        DATA,
        availability_zone="az-b",
        environment={"BARISTA_INSTANCE_ID": "i-0123456789abcdef0"},
        network="barista-overlay",
    )
    assert spec.name == "barista-i-0123456789abcdef0"
    assert spec.mode == {"Replicated": {"Replicas": 1}}
    template = spec.task_template
    assert template["Placement"] == {"Constraints": ["node.labels.barista.az==az-b"]}
    assert template["RestartPolicy"]["Condition"] == "none"
    assert template["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20}
    assert template["Networks"] == [{"Target": "barista-overlay"}]
    container = template["ContainerSpec"]
    # The template's command replaces CMD, as docker run does: Args, not Command.
    assert container["Args"] == ["serve", "health"]
    assert "Command" not in container
    assert container["StopSignal"] == "SIGTERM"
    assert container["StopGracePeriod"] == 13 * 10**9  # rounded up: never killed early
    assert container["Env"] == ["BARISTA_INSTANCE_ID=i-0123456789abcdef0"]
    assert spec.labels == container["Labels"] == {LABEL_GROUP: "baristas", LABEL_AZ: "az-b"}


def test_a_zone_is_unavailable_when_none_of_its_nodes_is_ready_and_active():
    nodes = [
        node("az-a"),
        node("az-b", state="down"),
        node("az-c", availability="drain"),
        node("az-c", state="down"),
    ]
    assert unavailable_zones_of(["az-a", "az-b", "az-c", "az-d"], nodes) == {
        "az-b",
        "az-c",
        "az-d",
    }


def test_health_follows_the_task_and_its_node():
    ready, down = node("az-a"), node("az-a", state="down")
    assert task_health(None, None) is Health.STARTING
    assert task_health(task("preparing"), ready) is Health.STARTING
    assert task_health(task("running"), ready) is Health.HEALTHY
    assert task_health(task("running"), down) is Health.UNHEALTHY
    assert task_health(task("pending", node_id="", err="no suitable node"), None) is (
        Health.UNHEALTHY
    )
    for ended in ("complete", "failed", "shutdown", "rejected", "orphaned"):
        assert task_health(task(ended), ready) is Health.STOPPED


def test_the_newest_task_speaks_for_the_instance():
    old, new = (
        task("failed", created="2026-12-04T10:00:00Z"),
        task("running", created="2026-12-04T11:00:00Z"),
    )
    assert latest_task([new, old]) is new
    assert latest_task([]) is None


def test_an_instance_is_rebuilt_from_the_service_labels_and_its_task_address():
    labels = {
        "barista.instance-id": "i-1",
        "barista.group": "g",
        "barista.launch-template": "lt",
        "barista.template-version": "3",
        "barista.az": "az-c",
        "barista.lifecycle": "spot",
        "barista.protected": "true",
        "barista.launched-at": "1000.5",
    }
    running = task("running") | {
        "NetworksAttachments": [
            {"Network": {"Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.9/24"]},
            {"Network": {"Spec": {"Name": "barista-overlay"}}, "Addresses": ["10.0.1.7/24"]},
        ]
    }
    found = instance_of(
        {"ID": "s1", "Spec": {"Labels": labels}}, running, node("az-c"), "barista-overlay"
    )
    assert (found.instance_id, found.group, found.availability_zone) == ("i-1", "g", "az-c")
    assert found.lifecycle is Lifecycle.SPOT
    assert found.protected_at_launch
    assert (found.template_version, found.launched_at) == (3, 1000.5)
    assert found.health is Health.HEALTHY
    assert found.address == "10.0.1.7"
    assert found.container_id == "c1"


def test_the_swarm_runtime_tells_auto_scaling_which_zones_are_down():
    class Api:
        def nodes(self):
            return [node("az-a"), node("az-b", state="down")]

    class Client:
        api = Api()

    runtime = SwarmRuntime(Client())  # type: ignore[arg-type]
    assert isinstance(runtime, ZoneHealth)
    assert runtime.unavailable_zones(["az-a", "az-b"]) == {"az-b"}


def test_each_instance_carries_the_node_its_task_runs_on():
    labels = {
        "barista.managed": "true",
        "barista.instance-id": "i-1",
        "barista.group": "g",
        "barista.launch-template": "lt",
        "barista.template-version": "1",
        "barista.az": "az-b",
        "barista.lifecycle": "on-demand",
        "barista.protected": "false",
        "barista.launched-at": "1",
    }
    placed = node("az-b", node_id="n2") | {"Description": {"Hostname": "barista-cluster-2"}}

    class Api:
        def services(self, filters):
            return [{"ID": "s1", "Spec": {"Labels": labels}}]

        def tasks(self):
            return [task("running", node_id="n2") | {"ServiceID": "s1"}]

        def nodes(self):
            return [node("az-a"), placed]

    class Client:
        api = Api()

    (found,) = SwarmRuntime(Client()).instances()  # type: ignore[arg-type]
    assert (found.instance_id, found.availability_zone, found.host) == (
        "i-1",
        "az-b",
        "barista-cluster-2",
    )


def test_a_node_is_named_by_its_hostname_else_its_id_and_an_unplaced_task_by_nothing():
    assert node_host(node("az-a") | {"Description": {"Hostname": "h1"}}) == "h1"
    assert node_host(node("az-a", node_id="n7")) == "n7"
    assert node_host(None) is None
