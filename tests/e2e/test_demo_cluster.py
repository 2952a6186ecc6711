"""`make up CLUSTER=3` from the checkout, as a user runs it (marker swarm: `make test-swarm`).

The demo stack runs on the manager of a local three-node Docker Swarm and the orchestrator runs
the baristas as Swarm services in the nodes' zones (docs/swarm.md). The test scales the baristas
to three and checks what only works across hosts: one barista lands on each node (each zone's
host), every one of them brews orders that came in through the ALB (the brokers are reached over
the overlay network from every node), the dashboard shows the instances per host and zone, and
`make down` removes the cluster with everything on it.

Its own compose project, ports, cluster name and manager port, so it never touches a demo
someone else runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.e2e.test_demo_stack import (
    BASELINE,
    PORT_VARIABLES,
    DashboardSession,
    Demo,
    make,
    running,
    wait_until,
)
from tests.support.aws_auth import ENVIRON as ACCESS_KEY_ENVIRON
from tests.support.brokers import http_get
from tests.support.containers import SESSION_ID, Credentials, free_loopback_port
from tests.support.tools import run_tool

pytestmark = [pytest.mark.docker, pytest.mark.swarm, pytest.mark.timeout(1200)]

NODES = 3
ZONES = ("az-a", "az-b", "az-c")


def demo_cluster_env(project: str) -> dict[str, str]:
    env: dict[str, str] = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        "CLUSTER": str(NODES),
        "CLUSTER_NAME": f"{project}-cluster",
        "BACKEND": "rabbitmq",
        "TIME_SCALE": "60",
        "LOADGEN_PATTERN": str(BASELINE["pattern"]),
        "LOADGEN_RATE": "1",
    }
    for name in ("COMPOSE_PROFILES", "BARISTA_ENDPOINT_URL", "DOCKER_HOST", "COMPOSE_FILE"):
        env.pop(name, None)
    env |= ACCESS_KEY_ENVIRON
    for name in ("KAFKA", "RABBITMQ", "REDIS", "HAPROXY_STATS"):
        credentials = Credentials.generate(name)
        env[f"{name}_USER"] = credentials.user
        env[f"{name}_PASSWORD"] = credentials.password
    ports: set[int] = set()
    while len(ports) < len(PORT_VARIABLES) + 1:
        ports.add(free_loopback_port())
    *stack_ports, manager_port = sorted(ports)
    env |= dict(zip(PORT_VARIABLES, map(str, stack_ports), strict=True))
    env["CLUSTER_PORT"] = str(manager_port)
    return env


def cluster_nodes(project: str) -> list[str]:
    return run_tool(
        ["docker", "ps", "-aq", "--filter", f"label=barista.cluster.demo={project}"]
    ).split()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    project = f"barista-cluster-{SESSION_ID}"
    env = demo_cluster_env(project)
    try:
        started = time.monotonic()
        up = make(env, "up", timeout=900)
        assert up.returncode == 0, f"make up CLUSTER=3 failed:\n{up.stdout}\n{up.stderr}"
        print(f"make up CLUSTER={NODES} took {time.monotonic() - started:.0f} s")
        print(*(line for line in up.stderr.splitlines() if line.startswith("cluster:")), sep="\n")
        yield Demo(project, env, Credentials("", ""), up.stdout)
    finally:
        down = make(env, "down", timeout=300)
        assert down.returncode == 0, f"make down failed:\n{down.stdout}\n{down.stderr}"
        assert not cluster_nodes(project), "make down removes the cluster's nodes"


def manager(demo: Demo) -> docker.APIClient:
    return docker.APIClient(base_url=f"tcp://127.0.0.1:{demo.env['CLUSTER_PORT']}", version="auto")


def barista_hosts(demo: Demo) -> dict[str, str]:
    """Instance id -> the node its running task is on, as the Swarm's manager says."""
    api = manager(demo)
    try:
        nodes = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}
        hosts = {}
        for service in api.services(filters={"label": "barista.group=baristas"}):
            for task in api.tasks(filters={"service": service["ID"], "desired-state": "running"}):
                if task["Status"]["State"] == "running":
                    hosts[service["Spec"]["Labels"]["barista.instance-id"]] = nodes[task["NodeID"]]
        return hosts
    finally:
        api.close()


def dashboard_state(session: DashboardSession) -> dict[str, Any]:
    with session.opener.open(session.base + "/dashboard/state", timeout=30) as response:
        state: dict[str, Any] = json.load(response)
    return state


def test_make_up_cluster_runs_the_demo_on_the_swarm_and_the_alb_reaches_it(demo: Demo):
    assert len(cluster_nodes(demo.project)) == NODES
    api = manager(demo)
    try:
        zones = sorted(n["Spec"]["Labels"]["barista.az"] for n in api.nodes())
    finally:
        api.close()
    assert zones == list(ZONES)
    assert running(demo.group("baristas")) >= 1
    assert sorted(demo.group("baristas")["AvailabilityZones"]) == list(ZONES)
    assert demo.service("order-api")["runningCount"] == 2
    status, body = http_get(f"http://127.0.0.1:{demo.port('ALB_PORT')}/menu")
    assert status == 200, body
    assert wait_until(lambda: demo.loadgen_accepted() > 0, timeout=60)


def test_baristas_on_three_nodes_each_brew_and_the_dashboard_shows_them_per_host(demo: Demo):
    # A minimum of three: the backlog policy would otherwise scale the quiet group back in.
    demo.api.call(
        "autoscaling",
        "UpdateAutoScalingGroup",
        {"AutoScalingGroupName": "baristas", "MinSize": NODES, "DesiredCapacity": NODES},
    )

    def in_service() -> bool:
        group = demo.group("baristas")
        live = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
        return len(live) == NODES and len(barista_hosts(demo)) == NODES

    assert wait_until(in_service, timeout=180), demo.activities("baristas")[:5]
    hosts = barista_hosts(demo)
    assert len(set(hosts.values())) == NODES, f"one barista per node: {hosts}"

    session = DashboardSession(f"http://127.0.0.1:{demo.port('ORCHESTRATOR_PORT')}")
    brewed: dict[str, int] = {}

    def every_barista_brewed() -> bool:
        state = dashboard_state(session)
        brewed.clear()
        brewed.update(
            {row["instance_id"]: row["orders"] for row in state["fanout"]["queue"]["baristas"]}
        )
        return all(brewed.get(instance, 0) > 0 for instance in hosts)

    # Orders come in through the ALB at 1/s; each barista takes from the broker on the manager.
    assert wait_until(every_barista_brewed, timeout=180), (brewed, hosts)

    (group,) = [g for g in dashboard_state(session)["groups"] if g["name"] == "baristas"]
    shown = {row["instance_id"]: row["host"] for row in group["instances"]}
    assert {i: shown.get(i) for i in hosts} == hosts, "each row names its node"
    placement = {(p["availability_zone"], p["host"]): p["instances"] for p in group["placement"]}
    assert sorted(placement.values()) == [1] * NODES, placement
    assert {zone for zone, _ in placement} == set(ZONES)
