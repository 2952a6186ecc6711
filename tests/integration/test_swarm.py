"""Auto Scaling over a Docker Swarm of three nodes, one per Availability Zone.

The cluster is images/cluster.sh's (three engines in containers on this host); the runtime
only talks to its manager's API, as it would to a Swarm of separate machines. Losing a node is
``docker kill`` of its container: its engine and everything on it vanish at once, like a host
losing power, and it comes back with ``docker start``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.instances import Health, Instance
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.swarm import SwarmRuntime, swarm_client
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

CLUSTER_SCRIPT = Path(__file__).resolve().parents[2] / "images" / "cluster.sh"
ZONES = ("az-a", "az-b", "az-c")


@dataclass(frozen=True)
class Cluster:
    name: str
    url: str
    network: str

    def node(self, number: int) -> str:
        return f"{self.name}-{number}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    name = f"barista-swarm-{uuid.uuid4().hex[:6]}"
    port = _free_port()
    environ = {
        **os.environ,
        "CLUSTER_NAME": name,
        "CLUSTER_PORT": str(port),
        "CLUSTER_IMAGES": stable_image("service"),
        "CLUSTER_NETWORK": "barista-overlay",
    }
    try:
        subprocess.run([str(CLUSTER_SCRIPT), "up", "3"], env=environ, check=True)
        yield Cluster(name, f"tcp://127.0.0.1:{port}", "barista-overlay")
    finally:
        subprocess.run([str(CLUSTER_SCRIPT), "down"], env=environ, check=False)


@pytest.fixture(scope="module")
def controller(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AutoScalingController]:
    runtime = SwarmRuntime(
        swarm_client(cluster.url), network=cluster.network, labels={SESSION_LABEL: SESSION_ID}
    )
    with Store(tmp_path_factory.mktemp("swarm") / "barista.db") as store:
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
                max_size=9,
                desired_capacity=6,
                availability_zones=ZONES,
            )
        )
        yield AutoScalingController(store, runtime)


def converge(controller: AutoScalingController, done: Any, timeout: float) -> list[Instance]:
    """Reconcile pass after pass until ``done(instances)`` holds; the instances then."""
    deadline = time.monotonic() + timeout
    while True:
        controller.reconcile_once()
        instances = controller.runtime.instances("web")
        if done(instances):
            return instances
        if time.monotonic() > deadline:
            summary = sorted(
                (i.instance_id, i.availability_zone, i.health.value) for i in instances
            )
            pytest.fail(f"no convergence within {timeout}s: {summary}")
        time.sleep(1.0)  # one reconcile interval, as the orchestrator's loop runs them


def healthy_per_zone(instances: list[Instance]) -> Counter[str]:
    return Counter(i.availability_zone for i in instances if i.health is Health.HEALTHY)


def hosts_of(cluster: Cluster, instances: list[Instance]) -> dict[str, str]:
    """instance id -> the hostname of the node its task runs on, from the manager."""
    api: Any = docker.DockerClient(base_url=cluster.url).api
    hostnames = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}
    by_service: dict[str, str] = {}
    for task in api.tasks(filters={"desired-state": "running"}):
        by_service[task["ServiceID"]] = hostnames.get(task.get("NodeID", ""), "")
    found = {}
    for service in api.services(filters={"label": f"{SESSION_LABEL}={SESSION_ID}"}):
        found[service["Spec"]["Labels"]["barista.instance-id"]] = by_service.get(service["ID"], "")
    return {i.instance_id: found.get(i.instance_id, "") for i in instances}


def test_a_group_of_six_across_three_zones_lands_two_on_each_zones_node(
    cluster: Cluster, controller: AutoScalingController
):
    started = time.monotonic()
    instances = converge(
        controller, lambda found: healthy_per_zone(found) == dict.fromkeys(ZONES, 2), 180
    )
    print(f"\nsix instances healthy, two per zone, after {time.monotonic() - started:.1f}s")
    hosts = hosts_of(cluster, instances)
    assert Counter(hosts.values()) == {cluster.node(n): 2 for n in (1, 2, 3)}
    zone_of_node = {cluster.node(n): zone for n, zone in zip((1, 2, 3), ZONES, strict=True)}
    assert all(zone_of_node[hosts[i.instance_id]] == i.availability_zone for i in instances)
    assert all(i.address and i.address.startswith("10.") for i in instances), (
        "each instance has an address on the overlay network"
    )


@pytest.mark.timeout(600)
def test_a_lost_node_s_instances_are_replaced_in_the_other_zones_then_rebalanced_back(
    cluster: Cluster, controller: AutoScalingController
):
    before = converge(controller, lambda found: len(found) == 6, 180)
    lost = {i.instance_id for i in before if i.availability_zone == "az-c"}
    assert len(lost) == 2
    node = docker.from_env().containers.get(cluster.node(3))
    started = time.monotonic()
    node.kill()  # the host loses power: its engine and instances vanish at once

    runtime = controller.runtime
    assert isinstance(runtime, SwarmRuntime)
    converge(controller, lambda _: runtime.unavailable_zones(ZONES) == {"az-c"}, 120)
    noticed = time.monotonic() - started
    print(f"\nnode killed -> its zone unavailable after {noticed:.1f}s")
    replaced = converge(
        controller,
        lambda found: (
            healthy_per_zone(found) == {"az-a": 3, "az-b": 3}
            and not lost & {i.instance_id for i in found}
        ),
        240,
    )
    replaced_after = time.monotonic() - started
    print(f"node killed -> its instances replaced in the other zones after {replaced_after:.1f}s")
    assert len(replaced) == 6
    causes = [a.cause for a in controller.store.activities("web")]
    assert sum("EC2 instance status check failure" in c for c in causes) == 2

    node.start()
    returned = time.monotonic()
    rebalanced = converge(
        controller,
        lambda found: healthy_per_zone(found) == dict.fromkeys(ZONES, 2) and len(found) == 6,
        300,
    )
    rebalanced_after = time.monotonic() - returned
    print(f"node started -> group rebalanced over three zones after {rebalanced_after:.1f}s")
    assert {h for h in hosts_of(cluster, rebalanced).values()} == {
        cluster.node(n) for n in (1, 2, 3)
    }
    causes = [a.cause for a in controller.store.activities("web")]
    assert any("to balance instances in zones" in c for c in causes)
