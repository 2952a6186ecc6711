"""``SwarmTaskRuntime``: ECS tasks on the machines of a Docker Swarm.

The Swarm's nodes are the cluster's container instances (``hosts()``: CPU and memory as each
node reports them, the zone from its ``barista.az`` label, the ECS cluster from its
``barista.ecs-cluster`` label, else ``default`` as the ECS agent's ``ECS_CLUSTER``). ECS places
each task on one of them with its own placement code (``ecs/placement.py``), and every
container of the task runs as a Swarm service of one replica pinned to that node with the
constraint ``node.id==<node>``. A task with no node chosen (Fargate, or a container instance
that is an Auto Scaling instance) is pinned to a node of its zone that the runtime picks, the
one running fewest tasks, so the containers of one task share a machine.

Why ECS places and the Swarm only runs, rather than one Swarm service per ECS service with
the Swarm's ``spread`` placement preference over ``node.labels.barista.az``:

- ECS's ``spread`` counts the tasks of a task group over every container instance (an empty
  zone whose hosts are full is still the emptiest), then narrows with the next strategy;
  Swarm's preference balances one service's replicas and knows no ``binpack``, ``memberOf``
  expression, ``distinctInstance`` or chain of strategies, so only ECS's own code keeps
  those exact;
- a Swarm service of N replicas replaces and re-places its tasks by itself: ECS's task ids,
  rolling deployments, circuit breaker, stop codes and reasons would no longer be the ECS
  controller's. Restart condition ``none`` leaves every stop to ECS, which starts the
  replacement (placed again over the nodes still there) as the ECS service scheduler does.

Differences from ECS on EC2 (docs/swarm.md):

- the containers of a task do not share a network namespace (Swarm has no pods): each has its
  own address on the overlay network, and the task's address is its first container's;
- a container health check that fails ends the container (the Swarm stops an unhealthy task),
  so the task stops as "Essential container in task exited";
- ``memoryReservation`` is not applied (a Swarm reservation is a scheduling reservation, not a
  soft limit), and ``cpu_percent`` answers None (the stats live on each node's engine).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import docker
from docker.errors import APIError, NotFound

from orchestrator.instances import Health
from orchestrator.runtime.hosts import DEFAULT_ECS_CLUSTER, Host
from orchestrator.runtime.images import ImagePolicy
from orchestrator.runtime.swarm import (
    STOPPED_STATES,
    labelled_services,
    node_ready,
    node_zone,
    run_once_template,
    task_address,
    task_still_running,
    with_latest_tasks,
)
from orchestrator.runtime.tasks import (
    LABEL_CLUSTER,
    LABEL_ECS,
    LABEL_TASK_ID,
    ContainerSpec,
    TaskContainer,
    TaskIdInUse,
    TaskSpec,
    nanoseconds,
    task_container_of,
    task_labels,
)

# The node label that names the ECS cluster a node registers with (the agent's ECS_CLUSTER).
NODE_CLUSTER_LABEL = "barista.ecs-cluster"
_CONFLICT = 409
_REMOVAL_MARGIN = 30.0  # past the longest grace period, how long stop_task waits
_POLL = 0.25
_SERVICE_NAME_LIMIT = 63  # Swarm service names are DNS labels


class NoHostInZone(Exception):
    """A task was asked for a zone where no node can take it now."""

    def __init__(self, zone: str) -> None:
        super().__init__(f"no Swarm node of Availability Zone {zone!r} is ready to run a task")
        self.zone = zone


def task_service_name(task_id: str, container: str) -> str:
    """``barista-ecs-<task>-<container>``, cut to a DNS label of letters, digits and dashes."""
    name = f"barista-ecs-{task_id[:12]}-{re.sub(r'[^A-Za-z0-9]+', '-', container)}"
    return name[:_SERVICE_NAME_LIMIT].rstrip("-")


def host_constraint(node_id: str) -> str:
    return f"node.id=={node_id}"


def host_of(node: Mapping[str, Any]) -> Host:
    """A Swarm node (the manager's ``/nodes`` answer) as a host for ECS."""
    spec: Mapping[str, Any] = node.get("Spec") or {}
    labels: Mapping[str, str] = spec.get("Labels") or {}
    description: Mapping[str, Any] = node.get("Description") or {}
    resources: Mapping[str, Any] = description.get("Resources") or {}
    return Host(
        host_id=str(node["ID"]),
        hostname=str(description.get("Hostname") or node["ID"]),
        availability_zone=node_zone(node),
        ecs_cluster=labels.get(NODE_CLUSTER_LABEL) or DEFAULT_ECS_CLUSTER,
        cpus=float(resources.get("NanoCPUs", 0)) / 1e9,
        memory_mib=int(resources.get("MemoryBytes", 0)) // (1024 * 1024),
        ready=(node.get("Status") or {}).get("State") == "ready",
        schedulable=node_ready(node),
    )


def pick_host(zone: str, hosts: Sequence[Host], tasks_per_host: Mapping[str, int]) -> Host:
    """The ready, schedulable host of ``zone`` running fewest tasks (then by hostname)."""
    candidates = [h for h in hosts if h.schedulable and h.availability_zone == zone]
    if not candidates:
        raise NoHostInZone(zone)
    return min(candidates, key=lambda h: (tasks_per_host.get(h.host_id, 0), h.hostname))


def container_service_spec(
    spec: TaskSpec,
    container: ContainerSpec,
    labels: Mapping[str, str],
    *,
    node_id: str,
    network: str | None,
) -> dict[str, Any]:
    """``create_service``'s arguments for one container of a task, on node ``node_id``."""
    container_spec: dict[str, Any] = {
        "Image": container.image,
        "Labels": dict(labels),
        "Env": [f"{key}={value}" for key, value in container.environment.items()],
        "StopSignal": "SIGTERM",
        "StopGracePeriod": math.ceil(container.stop_timeout) * 1_000_000_000,
        # ECS ignores an image's own HEALTHCHECK: only the definition's check counts.
        "Healthcheck": {"Test": ["NONE"]},
    }
    if container.entry_point:
        container_spec["Command"] = list(container.entry_point)  # docker run's --entrypoint
    if container.command:
        container_spec["Args"] = list(container.command)  # docker run's command
    if container.working_dir:
        container_spec["Dir"] = container.working_dir
    if container.user:
        container_spec["User"] = container.user
    if container.health_check is not None:
        check = container.health_check
        container_spec["Healthcheck"] = {
            "Test": list(check.test),
            "Interval": nanoseconds(check.interval),
            "Timeout": nanoseconds(check.timeout),
            "Retries": check.retries,
            "StartPeriod": nanoseconds(check.start_period),
        }
    return {
        "task_template": run_once_template(
            container_spec,
            cpus=container.cpus,
            memory_mib=container.memory_mib,
            constraint=host_constraint(node_id),
            # The Swarm's overlay first, as for instances: a task network named for one
            # engine (BARISTA_TASK_NETWORK) is a bridge no Swarm service can join.
            network=network if network is not None else spec.network,
        ),
        "name": task_service_name(spec.task_id, container.name),
        "labels": dict(labels),
        "mode": {"Replicated": {"Replicas": 1}},
    }


def _has_health_check(service: Mapping[str, Any]) -> bool:
    check = service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Healthcheck") or {}
    test = check.get("Test") or ["NONE"]
    return bool(test) and test[0] != "NONE"


def observed_container(
    service: Mapping[str, Any],
    task: Mapping[str, Any] | None,
    node: Mapping[str, Any] | None,
    network: str | None,
) -> TaskContainer:
    """One task container from its service's labels, its latest Swarm task and that task's
    node. A container whose node is lost has exited: nothing runs it any more, and the node
    removes it when it returns (its service is gone by then)."""
    labels: Mapping[str, str] = service["Spec"].get("Labels") or {}
    status: Mapping[str, Any] = (task or {}).get("Status") or {}
    state = status.get("State", "new")
    container_status: Mapping[str, Any] = status.get("ContainerStatus") or {}
    checked = _has_health_check(service)
    node_lost = bool((task or {}).get("NodeID")) and (
        node is None or (node.get("Status") or {}).get("State") != "ready"
    )
    exited = task is not None and (state in STOPPED_STATES or node_lost)
    running = not exited and (state == "running" or (state == "starting" and checked))
    health: Health | None = None
    if checked and running:
        health = Health.HEALTHY if state == "running" else Health.STARTING
    exit_code = container_status.get("ExitCode") if state in STOPPED_STATES else None
    return task_container_of(
        labels,
        container_id=str(container_status.get("ContainerID") or service["ID"]),
        running=running,
        exited=exited,
        exit_code=int(exit_code) if exit_code is not None else None,
        health=health,
        address=task_address(task, network) if running else None,
    )


class SwarmTaskRuntime:
    """``TaskRuntime`` and ``TaskHosts`` on a Docker Swarm's manager.

    ``client`` talks to a manager; ``network`` is the attachable overlay network every task
    joins (the spec's network only when it is None); ``labels`` are added to, and scope,
    everything (as for ``DockerTaskRuntime``).
    """

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        network: str | None = None,
        labels: Mapping[str, str] | None = None,
        images: ImagePolicy | None = None,
    ) -> None:
        # The SDK's Swarm calls are untyped (decorated); Any keeps mypy --strict honest about it.
        self._api: Any = client.api
        self._network = network
        self._images = images if images is not None else ImagePolicy.from_environ()
        self._scope = {LABEL_ECS: "true", **(labels or {})}

    def hosts(self) -> list[Host]:
        return [host_of(node) for node in self._api.nodes()]

    def start_task(self, spec: TaskSpec) -> None:
        if self._services({LABEL_TASK_ID: spec.task_id}):
            raise TaskIdInUse(spec.task_id)
        for container in spec.containers:  # before any starts: none or all may run
            self._images.check(container.image)
        node_id = spec.host or self._host_in_zone(spec.availability_zone)
        for container in spec.containers:
            arguments = container_service_spec(
                spec,
                container,
                task_labels(self._scope, spec, container),
                node_id=node_id,
                network=self._network,
            )
            try:
                self._api.create_service(**arguments)
            except APIError as error:
                if error.status_code == _CONFLICT:
                    raise TaskIdInUse(spec.task_id) from error
                raise

    def _host_in_zone(self, zone: str) -> str:
        per_node: dict[str, int] = {}
        for task in self._api.tasks(filters={"desired-state": "running"}):
            labels = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
            if labels.get(LABEL_ECS) == "true" and task.get("NodeID"):
                per_node[task["NodeID"]] = per_node.get(task["NodeID"], 0) + 1
        return pick_host(zone, self.hosts(), per_node).host_id

    def stop_task(self, task_id: str) -> None:
        """Remove the task's services: the Swarm stops each container with its grace period
        (SIGTERM, then SIGKILL). Returns once they are gone, or at once for containers whose
        node is unreachable (the node removes them when it comes back)."""
        services = self._services({LABEL_TASK_ID: task_id})
        if not services:
            return
        grace = max(
            float(s["Spec"]["TaskTemplate"]["ContainerSpec"].get("StopGracePeriod", 0)) / 1e9
            for s in services
        )
        pending: list[str] = []
        for service in services:
            pending += [t["ID"] for t in self._api.tasks(filters={"service": service["ID"]})]
            try:
                self._api.remove_service(service["ID"])
            except NotFound:
                continue  # removed concurrently: the outcome asked for
        deadline = time.monotonic() + grace + _REMOVAL_MARGIN
        while pending and time.monotonic() < deadline:
            pending = [t for t in pending if task_still_running(self._api, t)]
            if pending:
                time.sleep(_POLL)  # polling the manager: Swarm has no event for a task's end

    def task_containers(self, cluster: str | None = None) -> list[TaskContainer]:
        services = self._services({LABEL_CLUSTER: cluster} if cluster is not None else {})
        found = []
        for service, task, node in with_latest_tasks(self._api, services):
            try:
                found.append(observed_container(service, task, node, self._network))
            except (KeyError, ValueError):
                continue  # labelled by hand without the rest: not one of ours to judge
        return found

    def cpu_percent(self, task_id: str) -> float | None:
        """No sample: container stats live on each node's engine, not on the manager."""
        return None

    def _services(self, extra: Mapping[str, str]) -> list[dict[str, Any]]:
        return labelled_services(self._api, {**self._scope, **extra})
