"""``SwarmRuntime``: instances on the hosts of their Availability Zone, in a Docker Swarm.

Each zone is the set of Swarm nodes labelled ``barista.az=<zone>``. An instance is a Swarm
service of one replica whose placement constraint is ``node.labels.barista.az==<zone>``: the
Swarm's scheduler picks the node (spreading the zone's instances over its nodes), and the
runtime only ever talks to a manager's Docker API, at whatever URL it is given, so the same
code drives a local test cluster (``images/cluster.sh``) and a Swarm of real machines.

Why a service per instance rather than a container placed on a chosen node: a node's own
engine is not reachable through the manager, and the service gives the instance an identity
the manager keeps (its labels), a task history to read health from, and removal that works
while a node is away (its container is stopped when the node comes back).

AWS semantics kept:

- identity: the service ``barista-<instance id>`` carries the same ``LABEL_*`` labels as a
  container of ``DockerRuntime``; ``instances()`` rebuilds the actual state from them alone;
- an instance that exits stays dead: restart condition ``none``, so the Swarm never starts a
  second task (the group replaces the instance, as EC2 Auto Scaling does);
- a launch in a zone with no ready, active node is refused with ``ZoneUnavailable`` (EC2's
  ``InsufficientInstanceCapacity``), and ``unavailable_zones`` tells Auto Scaling to launch in
  the other zones;
- an instance whose node is down answers ``Health.UNHEALTHY``, as an impaired instance fails
  EC2's status check: the group replaces it after the grace period;
- stop: the service's stop signal is SIGTERM and its grace period the template's
  ``stop_timeout`` (Docker then SIGKILLs, like ECS's stopTimeout); ``terminate`` removes the
  service and waits until the container is gone, or its node is unreachable.

Not available through a manager: CPU samples (``cpu_percent`` answers ``None``: the stats
live on each node's engine) and the demo's chaos actions.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, NotFound

from orchestrator.instances import (
    LABEL_AZ,
    LABEL_GROUP,
    LABEL_INSTANCE_ID,
    LABEL_INSTANCE_TYPE,
    LABEL_LAUNCHED_AT,
    LABEL_LIFECYCLE,
    LABEL_MANAGED,
    LABEL_PROTECTED,
    LABEL_TEMPLATE,
    LABEL_TEMPLATE_VERSION,
    METADATA_ENDPOINT_VARIABLE,
    Health,
    Instance,
    Lifecycle,
    metadata_endpoint,
)
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.base import InstanceIdInUse, ZoneUnavailable, launch_labels
from orchestrator.runtime.docker import INSTANCE_ID_VARIABLE
from orchestrator.runtime.images import ImagePolicy

# The node label that puts a node in a zone (images/cluster.sh sets it; on real machines,
# `docker node update --label-add barista.az=<zone> <node>`).
NODE_ZONE_LABEL = "barista.az"
_CONFLICT = 409
# Past the grace period, how long terminate waits for the engine to report the container gone.
_REMOVAL_MARGIN = 30.0
_POLL = 0.25

# Swarm task states (moby's api/types/swarm TaskState), by what they mean for an instance.
_STARTING_STATES = frozenset(
    {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
)
STOPPED_STATES = frozenset({"complete", "shutdown", "failed", "rejected", "orphaned", "remove"})


@dataclass(frozen=True)
class ServiceSpec:
    """What ``create_service`` is given for one instance (the low-level API's arguments)."""

    name: str
    labels: dict[str, str]
    task_template: dict[str, Any]
    mode: dict[str, Any]


def service_name(instance_id: str) -> str:
    """Swarm service names are DNS labels (63 characters): a group name may not be one."""
    return f"barista-{instance_id}"


def zone_constraint(zone: str) -> str:
    return f"node.labels.{NODE_ZONE_LABEL}=={zone}"


def service_spec(
    instance_id: str,
    labels: Mapping[str, str],
    data: LaunchTemplateData,
    *,
    availability_zone: str,
    environment: Mapping[str, str],
    network: str | None,
) -> ServiceSpec:
    """The one-replica service of an instance: placed in its zone, never restarted by Swarm.

    ``network`` is the overlay network the instance joins (the runtime's, else the
    template's); ``labels`` go on the service and on its container alike.
    """
    container: dict[str, Any] = {
        "Image": data.image,
        "Labels": dict(labels),
        "Env": [f"{key}={value}" for key, value in environment.items()],
        "StopSignal": "SIGTERM",
        # Whole seconds, as DockerRuntime gives the engine: rounding up never kills early.
        "StopGracePeriod": math.ceil(data.stop_timeout) * 1_000_000_000,
    }
    if data.command:
        # A template's command replaces the image's CMD, not its ENTRYPOINT (docker run's
        # meaning, which DockerRuntime keeps): in a Swarm spec that is Args.
        container["Args"] = list(data.command)
    return ServiceSpec(
        name=service_name(instance_id),
        labels=dict(labels),
        task_template=run_once_template(
            container,
            cpus=data.cpus,
            memory_mib=data.memory_mib,
            constraint=zone_constraint(availability_zone),
            network=network,
        ),
        mode={"Replicated": {"Replicas": 1}},
    )


def run_once_template(
    container: dict[str, Any],
    *,
    cpus: float | None,
    memory_mib: int | None,
    constraint: str,
    network: str | None,
) -> dict[str, Any]:
    """A task template the Swarm runs where ``constraint`` allows and never restarts: the
    orchestrator replaces what ends (a group its instances, a service its tasks)."""
    limits: dict[str, int] = {}
    if cpus:
        limits["NanoCPUs"] = round(cpus * 1e9)
    if memory_mib:
        limits["MemoryBytes"] = memory_mib * 1024 * 1024
    template: dict[str, Any] = {
        "ContainerSpec": container,
        "Resources": {"Limits": limits},
        "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
        "Placement": {"Constraints": [constraint]},
    }
    if network is not None:
        template["Networks"] = [{"Target": network}]
    return template


def node_ready(node: Mapping[str, Any]) -> bool:
    """A node that can run tasks: reachable (``ready``) and not drained or paused."""
    state = (node.get("Status") or {}).get("State")
    availability = (node.get("Spec") or {}).get("Availability")
    return state == "ready" and availability == "active"


def node_zone(node: Mapping[str, Any]) -> str | None:
    labels: Mapping[str, str] = (node.get("Spec") or {}).get("Labels") or {}
    return labels.get(NODE_ZONE_LABEL)


def unavailable_zones_of(
    zones: Iterable[str], nodes: Sequence[Mapping[str, Any]]
) -> frozenset[str]:
    """Those of ``zones`` with no ready, active node."""
    ready = {node_zone(n) for n in nodes if node_ready(n)}
    return frozenset(z for z in zones if z not in ready)


def task_health(task: Mapping[str, Any] | None, node: Mapping[str, Any] | None) -> Health:
    """An instance's health from its (latest) task and the node that task is on.

    With a HEALTHCHECK in the image Swarm keeps the task ``starting`` until the check passes
    and ends the task when it fails, so ``running`` already means healthy.
    """
    if task is None:
        return Health.STARTING  # the service exists; the scheduler has not made its task yet
    state = (task.get("Status") or {}).get("State", "new")
    if state in STOPPED_STATES:
        return Health.STOPPED
    if task.get("NodeID") and (node is None or not node_ready(node)):
        # Its host is lost or drained: the instance cannot answer, like a failed status check.
        # (A drained node's tasks are shut down by the Swarm and then read as stopped.)
        return Health.UNHEALTHY
    if state in _STARTING_STATES:
        if (task.get("Status") or {}).get("Err"):
            return Health.UNHEALTHY  # e.g. "no suitable node": its zone lost every host
        return Health.STARTING
    return Health.HEALTHY


def latest_task(tasks: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The service's newest task (restart condition none makes one; any others are history)."""
    found = sorted(tasks, key=lambda t: str(t.get("CreatedAt", "")))
    return found[-1] if found else None


def labelled_services(api: Any, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The services carrying every one of ``labels`` (the manager's API ``api``)."""
    found: list[dict[str, Any]] = api.services(
        filters={"label": [f"{key}={value}" for key, value in labels.items()]}
    )
    return found


def with_latest_tasks(
    api: Any, services: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]]:
    """Each service with its newest task and that task's node (None when there is none yet),
    from one listing of the tasks and one of the nodes."""
    tasks: dict[str, list[Mapping[str, Any]]] = {}
    for task in api.tasks():
        tasks.setdefault(task.get("ServiceID", ""), []).append(task)
    nodes = {node["ID"]: node for node in api.nodes()}
    found = []
    for service in services:
        task = latest_task(tasks.get(service["ID"], []))
        found.append((service, task, nodes.get(str((task or {}).get("NodeID")))))
    return found


def task_still_running(api: Any, task_id: str) -> bool:
    """Whether a task still runs a container on a reachable node: a task on a node that is
    down counts as ended (the node removes its container when it comes back)."""
    try:
        task = api.inspect_task(task_id)
    except NotFound:
        return False
    if (task.get("Status") or {}).get("State") in STOPPED_STATES:
        return False
    node_id = task.get("NodeID")
    if not node_id:
        return False
    try:
        return node_ready(api.inspect_node(node_id))
    except NotFound:
        return False


def task_address(task: Mapping[str, Any] | None, network: str | None) -> str | None:
    """The task's address on ``network`` (else its first network), for load balancers."""
    if task is None:
        return None
    attachments: list[Mapping[str, Any]] = task.get("NetworksAttachments") or []
    preferred = [
        a for a in attachments if a.get("Network", {}).get("Spec", {}).get("Name") == network
    ]
    for attachment in [*preferred, *attachments]:
        addresses = attachment.get("Addresses") or []
        if addresses:
            return str(addresses[0]).split("/", 1)[0]
    return None


def instance_of(
    service: Mapping[str, Any],
    task: Mapping[str, Any] | None,
    node: Mapping[str, Any] | None,
    network: str | None,
) -> Instance:
    """The ``Instance`` a service stands for, from its labels alone (KeyError if not one)."""
    labels: Mapping[str, str] = service["Spec"].get("Labels") or {}
    container_id = ((task or {}).get("Status") or {}).get("ContainerStatus", {}).get("ContainerID")
    return Instance(
        instance_id=labels[LABEL_INSTANCE_ID],
        group=labels[LABEL_GROUP],
        launch_template=labels[LABEL_TEMPLATE],
        template_version=int(labels[LABEL_TEMPLATE_VERSION]),
        availability_zone=labels[LABEL_AZ],
        lifecycle=Lifecycle(labels[LABEL_LIFECYCLE]),
        protected_at_launch=labels[LABEL_PROTECTED] == "true",
        launched_at=float(labels[LABEL_LAUNCHED_AT]),
        health=task_health(task, node),
        container_id=str(container_id or service["ID"]),
        address=task_address(task, network),
        instance_type=labels.get(LABEL_INSTANCE_TYPE),
    )


def node_host(node: Mapping[str, Any] | None) -> str | None:
    """A node as people name it: its hostname (its ID if it reports none), or None unplaced."""
    if node is None:
        return None
    hostname = (node.get("Description") or {}).get("Hostname")
    return str(hostname or node.get("ID") or "") or None


def placed_on(instance: Instance, node: Mapping[str, Any] | None) -> Instance:
    """The instance with the host its task runs on: the dashboard groups instances by host
    and zone, which on a Swarm are different things (a zone may have several nodes)."""
    return dataclasses.replace(instance, host=node_host(node))


def swarm_client(url: str | None) -> docker.DockerClient:
    """A client of the Swarm manager at ``url`` (``tcp://``, ``ssh://``, ``unix://``), or of
    the engine DOCKER_HOST names when ``url`` is None; the API version is negotiated."""
    if url is None:
        return docker.from_env()
    return docker.DockerClient(base_url=url, version="auto")


class SwarmRuntime:
    """The ``Runtime`` protocol (and ``ZoneHealth``) on a Docker Swarm's manager.

    ``client`` talks to a manager (``docker.DockerClient(base_url=BARISTA_SWARM_URL)``);
    ``network`` is the attachable overlay network every instance joins (its template's own
    network otherwise). ``labels``, ``clock``, ``images`` and ``metadata_url`` mean what they
    mean for ``DockerRuntime``.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        network: str | None = None,
        labels: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        images: ImagePolicy | None = None,
        metadata_url: str | None = None,
    ) -> None:
        # The SDK's Swarm calls are untyped (decorated); Any keeps mypy --strict honest about it.
        self.client = client  # the manager: ECS's task runtime on the same Swarm uses it too
        self._api: Any = client.api
        self._network = network
        self._images = images if images is not None else ImagePolicy.from_environ()
        self._extra_labels = dict(labels or {})
        self._scope = {LABEL_MANAGED: "true", **self._extra_labels}
        self._clock = clock
        self._metadata_url = metadata_url

    @property
    def network(self) -> str | None:
        """The overlay network instances join (None: each template's own)."""
        return self._network

    def launch(
        self,
        group: str,
        instance_id: str,
        *,
        template_name: str,
        template_version: int,
        data: LaunchTemplateData,
        availability_zone: str,
        lifecycle: Lifecycle,
        protected: bool,
    ) -> Instance:
        labels = launch_labels(
            self._extra_labels,
            group,
            instance_id,
            template_name=template_name,
            template_version=template_version,
            data=data,
            availability_zone=availability_zone,
            lifecycle=lifecycle,
            protected=protected,
            launched_at=self.now(),
        )
        if self._services({LABEL_INSTANCE_ID: instance_id}):
            raise InstanceIdInUse(instance_id)
        self._images.check(data.image)
        if availability_zone in self.unavailable_zones([availability_zone]):
            raise ZoneUnavailable(availability_zone)
        spec = service_spec(
            instance_id,
            labels,
            data,
            availability_zone=availability_zone,
            environment=self._environment(data, instance_id),
            network=self._network if self._network is not None else data.network,
        )
        try:
            created = self._api.create_service(
                spec.task_template, name=spec.name, labels=spec.labels, mode=spec.mode
            )
        except APIError as error:
            if error.status_code == _CONFLICT:
                raise InstanceIdInUse(instance_id) from error
            raise
        service = self._api.inspect_service(created["ID"])
        return instance_of(service, None, None, self._network)

    def _environment(self, data: LaunchTemplateData, instance_id: str) -> dict[str, str]:
        environment = {**data.environment, INSTANCE_ID_VARIABLE: instance_id}
        if self._metadata_url is not None:
            environment[METADATA_ENDPOINT_VARIABLE] = metadata_endpoint(
                self._metadata_url, instance_id
            )
        return environment

    def terminate(self, instance_id: str, stop_timeout: float | None = None) -> None:
        """Remove the instance's service; the Swarm stops its container with the grace period
        set at launch (a different ``stop_timeout`` only bounds the wait here: changing a
        service's grace period would make the Swarm replace its task). Returns once the
        container is gone, or at once when its node is unreachable: the node removes it when
        it comes back, as an EC2 instance on failed hardware is terminated without a shutdown.
        """
        services = self._services({LABEL_INSTANCE_ID: instance_id})
        if not services:
            return
        service = services[0]
        grace = self._grace(service)
        wait = (grace if stop_timeout is None else max(grace, stop_timeout)) + _REMOVAL_MARGIN
        api = self._api
        tasks = api.tasks(filters={"service": service["ID"]})
        try:
            api.remove_service(service["ID"])
        except NotFound:
            return  # removed concurrently: the outcome the caller asked for
        deadline = time.monotonic() + wait
        pending = [t["ID"] for t in tasks]
        while pending and time.monotonic() < deadline:
            pending = [t for t in pending if self._task_still_running(t)]
            if pending:
                time.sleep(_POLL)  # polling the manager: Swarm has no event for task removal

    def stop_instance(self, instance_id: str) -> None:
        """A warm pool's ``Stopped``: the service scaled to no replica, so the Swarm stops
        its task (SIGTERM, the grace period set at launch, SIGKILL) and keeps the service, which
        then reads ``Health.STOPPED``. Returns once the task has stopped."""
        service = self._service_of(instance_id)
        self._scale(service, 0)
        deadline = time.monotonic() + self._grace(service) + _REMOVAL_MARGIN
        tasks = [t["ID"] for t in self._api.tasks(filters={"service": service["ID"]})]
        while tasks and time.monotonic() < deadline:
            tasks = [t for t in tasks if self._task_still_running(t)]
            if tasks:
                time.sleep(_POLL)  # polling the manager: Swarm has no event for a task's end

    def hibernate_instance(self, instance_id: str) -> None:
        """A Swarm cannot pause a task (``docker pause`` is a node's, not a service's): a
        Hibernated warm pool's instances are stopped instead, and start from Stopped."""
        self.stop_instance(instance_id)

    def start_instance(self, instance_id: str) -> None:
        """One replica again: the Swarm starts a new task on a node of the instance's zone
        (its placement constraint), whose health starts over."""
        self._scale(self._service_of(instance_id), 1)

    def _service_of(self, instance_id: str) -> dict[str, Any]:
        services = self._services({LABEL_INSTANCE_ID: instance_id})
        if not services:
            raise LookupError(f"no instance {instance_id}")
        return services[0]

    def _scale(self, service: Mapping[str, Any], replicas: int) -> None:
        self._api.update_service(
            service["ID"],
            version=service["Version"]["Index"],
            mode=docker.types.ServiceMode("replicated", replicas=replicas),
            fetch_current_spec=True,
        )

    @staticmethod
    def _grace(service: Mapping[str, Any]) -> float:
        spec = service["Spec"]["TaskTemplate"]["ContainerSpec"]
        return float(spec.get("StopGracePeriod", 0)) / 1e9

    def _task_still_running(self, task_id: str) -> bool:
        return task_still_running(self._api, task_id)

    def instances(self, group: str | None = None) -> list[Instance]:
        extra = {LABEL_GROUP: group} if group is not None else {}
        found = []
        for service, task, node in with_latest_tasks(self._api, self._services(extra)):
            try:
                found.append(placed_on(instance_of(service, task, node, self._network), node))
            except (KeyError, ValueError):
                continue  # labelled by hand without the rest: not one of ours to judge
        return found

    def unavailable_zones(self, zones: Iterable[str]) -> frozenset[str]:
        return unavailable_zones_of(zones, self._api.nodes())

    def cpu_percent(self, instance_id: str) -> float | None:
        """No sample: container stats live on each node's engine, not on the manager."""
        return None

    def now(self) -> float:
        return self._clock()

    def _services(self, extra: Mapping[str, str]) -> list[dict[str, Any]]:
        return labelled_services(self._api, {**self._scope, **extra})
