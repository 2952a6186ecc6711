"""Auto Scaling over a Docker Swarm of three nodes, one per Availability Zone.

The cluster is images/cluster.sh's (three engines in containers on this host); the runtime
only talks to its manager's API, as it would to a Swarm of separate machines. Losing a node is
``docker kill`` of its container: its engine and everything on it vanish at once, like a host
losing power, and it comes back with ``docker start``.
"""

from __future__ import annotations

import dataclasses
import json
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
from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import PlacementStrategy, Task, TaskStatus
from orchestrator.ecs.state import EcsStore
from orchestrator.instances import Health, Instance
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.swarm import SwarmRuntime, swarm_client
from orchestrator.runtime.swarm_tasks import SwarmTaskRuntime
from services.ledger import OrderState
from tests.support.brokers import INTERNAL_PORTS
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for
from tests.support.shop import Counter as ShopCounter
from tests.support.shop import OrderFlow, Shop, open_shop, service_environment

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

CLUSTER_SCRIPT = Path(__file__).resolve().parents[2] / "images" / "cluster.sh"
ZONES = ("az-a", "az-b", "az-c")
BARISTAS = "baristas"
ORDERS_PER_TICK = 2
TICK = 0.5  # wall seconds: 4 orders a second, what two baristas brew at half a second a cup


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
    """Reconcile pass after pass, one reconcile interval (1 s) apart as the orchestrator's loop
    runs them, until ``done(instances)`` holds; the instances then."""
    seen: list[Instance] = []

    def converged() -> bool:
        controller.reconcile_once()
        seen[:] = controller.runtime.instances("web")
        return bool(done(seen))

    if not wait_for(converged, timeout=timeout, interval=1.0):
        summary = sorted((i.instance_id, i.availability_zone, i.health.value) for i in seen)
        pytest.fail(f"no convergence within {timeout}s: {summary}")
    return seen


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


# ECS on the Swarm, and the shop's ledger through a node's loss. These share the cluster
# above; the "web" group is retired first so its instances do not take the CPU they need.


@pytest.fixture(scope="module")
def quiet(controller: AutoScalingController) -> None:
    group = controller.store.groups()["web"]
    controller.store.put_group(dataclasses.replace(group, min_size=0, desired_capacity=0))
    converge(controller, lambda found: not found, 120)


def node_of(cluster: Cluster, label: str, value: str) -> str:
    """The hostname of the node running the service labelled ``label=value``."""
    api: Any = docker.DockerClient(base_url=cluster.url).api
    hostnames = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}
    (service,) = api.services(filters={"label": f"{label}={value}"})
    tasks = api.tasks(filters={"service": service["ID"], "desired-state": "running"})
    return str(hostnames.get(tasks[0].get("NodeID", ""), "")) if tasks else ""


def restart(cluster: Cluster, node: Any, hosts: SwarmTaskRuntime) -> None:
    """Start a killed node again and wait until the Swarm has it back, for the next test."""
    node.start()
    hostname = node.name
    deadline = time.monotonic() + 120
    while not any(h.hostname == hostname and h.schedulable for h in hosts.hosts()):
        assert time.monotonic() < deadline, f"{hostname} did not rejoin the Swarm"
        time.sleep(1.0)  # polling the manager: Swarm has no event for a node's return


@pytest.fixture
def ecs(
    cluster: Cluster, quiet: None, tmp_path: Path
) -> Iterator[tuple[EcsController, EcsStore, SwarmTaskRuntime]]:
    tasks = SwarmTaskRuntime(
        swarm_client(cluster.url), network=cluster.network, labels={SESSION_LABEL: SESSION_ID}
    )
    state = tmp_path / "ecs.db"
    controller = EcsController(state, tasks)
    store = EcsStore(state)
    operations.create_cluster(store, "default")  # where the nodes register (no label names one)
    operations.register_task_definition(
        store,
        {
            "family": "counter",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": stable_image("service"),
                    "command": ["serve", "health"],
                    "cpu": 128,
                    "memory": 128,
                    "stopTimeout": 5,
                }
            ],
        },
        time.time(),
    )
    try:
        yield controller, store, tasks
    finally:
        for task in store.tasks():
            tasks.stop_task(task.task_id)
        store.close()
        controller.close()


def running_tasks(store: EcsStore) -> list[Task]:
    return [
        t
        for t in store.tasks(stopped=False)
        if t.last_status is TaskStatus.RUNNING and t.desired_status is TaskStatus.RUNNING
    ]


def converge_ecs(controller: EcsController, store: EcsStore, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done(store):
        if time.monotonic() > deadline:
            summary = sorted(
                (t.availability_zone, t.last_status.value, t.stopped_reason) for t in store.tasks()
            )
            pytest.fail(f"no convergence within {timeout}s: {summary}")
        controller.reconcile_once()
        time.sleep(1.0)  # one reconcile interval, as the orchestrator's loop runs them


@pytest.mark.timeout(400)
def test_an_ecs_service_spread_over_zones_runs_one_task_per_node_and_re_places_a_lost_one_s(
    cluster: Cluster, ecs: tuple[EcsController, EcsStore, SwarmTaskRuntime]
):
    controller, store, tasks = ecs
    spread = PlacementStrategy("spread", "attribute:ecs.availability-zone")
    operations.create_service(
        store, "default", "counter", "counter", 3, placement_strategy=[spread], now=time.time()
    )
    started = time.monotonic()
    converge_ecs(
        controller,
        store,
        lambda s: Counter(t.availability_zone for t in running_tasks(s)) == dict.fromkeys(ZONES, 1),
        180,
    )
    print(f"\nthree tasks running, one per zone, after {time.monotonic() - started:.1f}s")
    instances = store.container_instances("default")
    assert sorted(i.availability_zone for i in instances) == list(ZONES)
    zone_of_node = {cluster.node(n): zone for n, zone in enumerate(ZONES, 1)}
    for task in running_tasks(store):
        node = node_of(cluster, "barista.ecs.task-id", task.task_id)
        assert zone_of_node[node] == task.availability_zone, (node, task.availability_zone)
        assert (task.address or "").startswith("10."), "an address on the overlay"
    lost = next(t for t in running_tasks(store) if t.availability_zone == "az-b")

    node = docker.from_env().containers.get(cluster.node(2))
    killed = time.monotonic()
    node.kill()  # the host loses power
    try:
        converge_ecs(
            controller,
            store,
            lambda s: (
                len(running_tasks(s)) == 3
                and "az-b" not in {t.availability_zone for t in running_tasks(s)}
            ),
            240,
        )
        print(f"node killed -> its task re-placed after {time.monotonic() - killed:.1f}s")
        stopped = store.task(lost.task_id)
        assert stopped is not None
        assert stopped.last_status is TaskStatus.STOPPED
        assert stopped.stopped_reason == f"Host {cluster.node(2)} is down."
        assert sorted(Counter(t.availability_zone for t in running_tasks(store)).values()) == [
            1,
            2,
        ]
        assert len(store.container_instances("default")) == 2
    finally:
        restart(cluster, node, tasks)
    converge_ecs(controller, store, lambda s: len(s.container_instances("default")) == 3, 60)


@pytest.fixture
def shop_on_cluster(cluster: Cluster) -> Iterator[tuple[Shop, str]]:
    """The shop's Redis (broker and ledger) on the nodes' own network, outside the Swarm like
    a managed broker outside an EC2 cluster: every node's containers reach it (through their
    node), and losing a node does not lose it. Its address there comes with it."""
    with open_shop("redis") as shop:
        network = docker.from_env().networks.get(cluster.name)
        container_id = str(shop.broker.container.get_wrapped_container().id)
        network.connect(container_id)
        try:
            attrs = docker.from_env().containers.get(container_id).attrs
            address = attrs["NetworkSettings"]["Networks"][cluster.name]["IPAddress"]
            yield shop, str(address)
        finally:
            network.disconnect(container_id, force=True)


@pytest.fixture
def baristas(
    cluster: Cluster,
    quiet: None,
    shop_on_cluster: tuple[Shop, str],
    tmp_path: Path,
) -> Iterator[tuple[AutoScalingController, ShopCounter, Shop]]:
    shop, address = shop_on_cluster
    counter = ShopCounter.fresh()
    port = INTERNAL_PORTS["redis"]
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BROKER_URL": shop.broker.internal_url(host=address, port=port),
        "BARISTA_LEDGER_URL": shop.ledger.internal_url(host=address, port=port),
        # Half a second a cup: three baristas are busy two thirds of the time, so the lost
        # node's barista most likely holds an order when it dies.
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.5",
        "BARISTA_STOP_GRACE": "1",
    }
    runtime = SwarmRuntime(
        swarm_client(cluster.url), network=cluster.network, labels={SESSION_LABEL: SESSION_ID}
    )
    with Store(tmp_path / "baristas.db") as store:
        store.put_launch_template(
            create_launch_template(
                "barista",
                LaunchTemplateData(
                    image=stable_image("service"),
                    command=("serve", "barista"),
                    environment=environment,
                    stop_timeout=5,
                ),
            )
        )
        store.put_group(
            create_auto_scaling_group(
                BARISTAS,
                "barista",
                min_size=0,
                max_size=6,
                desired_capacity=3,
                availability_zones=ZONES,
            )
        )
        controller = AutoScalingController(store, runtime)
        try:
            yield controller, counter, shop
        finally:
            for instance in runtime.instances(BARISTAS):
                runtime.terminate(instance.instance_id)


def converge_group(
    controller: AutoScalingController, group: str, done: Any, timeout: float
) -> list[Instance]:
    deadline = time.monotonic() + timeout
    while True:
        controller.reconcile_once()
        instances = controller.runtime.instances(group)
        if done(instances):
            return instances
        if time.monotonic() > deadline:
            summary = sorted((i.availability_zone, i.health.value) for i in instances)
            pytest.fail(f"no convergence within {timeout}s: {summary}")
        time.sleep(1.0)  # one reconcile interval, as the orchestrator's loop runs them


@pytest.mark.timeout(500)
def test_a_lost_node_under_load_loses_no_order(
    cluster: Cluster, baristas: tuple[AutoScalingController, ShopCounter, Shop]
):
    controller, counter, shop = baristas
    before = converge_group(
        controller,
        BARISTAS,
        lambda found: healthy_per_zone(found) == dict.fromkeys(ZONES, 1) and len(found) == 3,
        180,
    )
    lost = {i.instance_id for i in before if i.availability_zone == "az-c"}
    ledger = counter.ledger(shop)
    flow = OrderFlow(shop, counter, ORDERS_PER_TICK, TICK)
    flow.start()
    node = docker.from_env().containers.get(cluster.node(3))
    try:
        assert wait_for(lambda: ledger.summary().brewed >= 20, timeout=60), ledger.summary()
        killed = time.monotonic()
        placed_at_kill = len(flow.placed)
        node.kill()  # the host loses power, cups half brewed on it
        converge_group(
            controller,
            BARISTAS,
            lambda found: (
                sum(healthy_per_zone(found).values()) == 3
                and "az-c" not in healthy_per_zone(found)
                and not lost & {i.instance_id for i in found}
            ),
            240,
        )
        replaced_after = time.monotonic() - killed
        brewed_at_replacement = ledger.summary().brewed
        # Orders keep coming and being brewed on the replacements.
        assert wait_for(
            lambda: ledger.summary().brewed >= brewed_at_replacement + 20, timeout=60
        ), ledger.summary()
    finally:
        flow.done.set()
        flow.join(timeout=30)
        node.start()
    assert flow.error is None, repr(flow.error)
    placed = list(flow.placed)
    assert len(placed) > placed_at_kill > 0

    def settled() -> bool:
        summary = ledger.summary()
        return summary.in_flight == 0 and summary.accepted == len(placed)

    assert wait_for(settled, timeout=120, interval=0.5), ledger.summary()
    summary = ledger.summary()
    assert summary.brewed == len(placed), "every accepted order brewed"
    assert summary.dead_lettered == 0
    assert all(ledger.state(order_id) is OrderState.BREWED for order_id in placed)
    causes = [a.cause for a in controller.store.activities(BARISTAS)]
    assert sum("EC2 instance status check failure" in c for c in causes) == len(lost)
    print(
        f"\n{len(placed)} orders, node 3 killed after {placed_at_kill}: its baristas replaced "
        f"after {replaced_after:.1f}s; brewed {summary.brewed}, lost 0, "
        f"duplicates {summary.duplicates}, brews of a redelivery {redeliveries(cluster)}"
    )


def redeliveries(cluster: Cluster) -> int:
    """How many brews the running baristas started on a second or later delivery (their
    "brewing" log lines, through the manager): the orders the lost node's barista held."""
    api: Any = docker.DockerClient(base_url=cluster.url).api
    count = 0
    for service in api.services(filters={"label": f"barista.group={BARISTAS}"}):
        text = b"".join(api.service_logs(service["ID"], stdout=True, stderr=True))
        for line in text.decode(errors="replace").splitlines():
            start = line.find("{")
            if start < 0 or '"brewing"' not in line:
                continue
            try:
                entry = json.loads(line[start:])
            except ValueError:
                continue
            count += int(entry.get("attempt", 1)) > 1
    return count
