"""ECS task containers: the runtime side of a task, separate from the instances of ``base``.

A task is one Docker container per container definition, all carrying ``barista.ecs.*``
labels (cluster, task id, task definition family:revision, task group, service, deployment,
availability zone, container instance, container name, essential), so the controller rebuilds
every task's actual state from Docker alone. Task containers do not carry
``barista.managed``: the Auto Scaling runtime never sees them, and they never see it.

awsvpc-like networking: the task's first container joins the network the task asks for (the
default bridge if none) and gets the task's own address; every other container of the task
shares that container's network namespace (``network_mode=container:…``), so they reach each
other on localhost and the task has one address, as an awsvpc ENI gives it. Containers start
in definition order with ``dependsOn`` targets first; the conditions themselves (HEALTHY,
SUCCESS, COMPLETE) are not waited for.

Stop is the ECS way, per container: SIGTERM, then SIGKILL after the container's stopTimeout
(real seconds: it bounds real work), then removal.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from orchestrator.instances import Health
from orchestrator.runtime.docker import _cpu_percent
from orchestrator.runtime.images import ImagePolicy

LABEL_ECS = "barista.ecs"  # "true" on every task container
LABEL_CLUSTER = "barista.ecs.cluster"
LABEL_TASK_ID = "barista.ecs.task-id"
LABEL_TASK_DEFINITION = "barista.ecs.task-definition"  # family:revision
LABEL_TASK_GROUP = "barista.ecs.group"
LABEL_SERVICE = "barista.ecs.service"
LABEL_DEPLOYMENT = "barista.ecs.deployment"
LABEL_AZ = "barista.ecs.az"
LABEL_CONTAINER_INSTANCE = "barista.ecs.container-instance"
LABEL_CONTAINER_NAME = "barista.ecs.container-name"
LABEL_ESSENTIAL = "barista.ecs.essential"
LABEL_CREATED_AT = "barista.ecs.created-at"

_CONFLICT = 409


class TaskIdInUse(Exception):
    """``start_task`` was given a task id that already has containers."""


@dataclass(frozen=True)
class DockerHealthCheck:
    """A container health check in wall seconds (the caller compresses the interval by the
    time scale; timeout and start period bound real work)."""

    test: tuple[str, ...]
    interval: float
    timeout: float
    retries: int
    start_period: float


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    cpus: float | None = None  # Docker --cpus (CPU units ÷ 1024)
    memory_mib: int | None = None  # hard limit
    memory_reservation_mib: int | None = None  # soft limit
    essential: bool = True
    health_check: DockerHealthCheck | None = None
    stop_timeout: float = 30.0
    working_dir: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    cluster: str
    task_definition: str
    group: str
    containers: tuple[ContainerSpec, ...]
    created_at: float
    service: str | None = None
    deployment_id: str | None = None
    availability_zone: str = ""
    container_instance: str | None = None
    network: str | None = None
    # The machine the task was placed on, on a runtime with hosts (``hosts.TaskHosts``);
    # None leaves the choice to the runtime (within ``availability_zone``).
    host: str | None = None


def task_labels(
    scope: Mapping[str, str], spec: TaskSpec, container: ContainerSpec
) -> dict[str, str]:
    """The labels one container of a task carries on any runtime: the task's whole record,
    so the controller rebuilds every task's actual state from the runtime alone."""
    labels = {
        **scope,
        LABEL_CLUSTER: spec.cluster,
        LABEL_TASK_ID: spec.task_id,
        LABEL_TASK_DEFINITION: spec.task_definition,
        LABEL_TASK_GROUP: spec.group,
        LABEL_AZ: spec.availability_zone,
        LABEL_CONTAINER_NAME: container.name,
        LABEL_ESSENTIAL: "true" if container.essential else "false",
        LABEL_CREATED_AT: repr(spec.created_at),
    }
    if spec.service is not None:
        labels[LABEL_SERVICE] = spec.service
    if spec.deployment_id is not None:
        labels[LABEL_DEPLOYMENT] = spec.deployment_id
    if spec.container_instance is not None:
        labels[LABEL_CONTAINER_INSTANCE] = spec.container_instance
    return labels


@dataclass(frozen=True)
class TaskContainer:
    """One container of a task as Docker reports it."""

    task_id: str
    cluster: str
    name: str
    container_id: str
    essential: bool
    running: bool
    exited: bool  # ran and stopped (or was created and never started)
    exit_code: int | None
    health: Health | None  # Docker's health status; None without a health check
    address: str | None
    task_definition: str = ""
    service: str | None = None
    deployment_id: str | None = None
    group: str = ""
    availability_zone: str = ""
    container_instance: str | None = None
    created_at: float = 0.0


@runtime_checkable
class TaskRuntime(Protocol):
    """Starts and stops ECS tasks' containers and reports them."""

    def start_task(self, spec: TaskSpec) -> None:
        """Create and start every container of the task; returns once all are started.

        Raises ``TaskIdInUse`` if the task id already has containers (a pass before a
        restart started it). A container that fails to start leaves the task's others
        running: the controller sees an essential container that never ran and stops the
        task, as ECS does.
        """
        ...

    def stop_task(self, task_id: str) -> None:
        """SIGTERM each container, SIGKILL after its stopTimeout, remove them all.
        Idempotent: an unknown task id is a no-op."""
        ...

    def task_containers(self, cluster: str | None = None) -> list[TaskContainer]:
        """Every task container (of ``cluster`` if given), exited ones included."""
        ...

    def cpu_percent(self, task_id: str) -> float | None:
        """CPU of the task's containers, percent of one CPU; None without a sample."""
        ...


def _container_name(task_id: str, name: str) -> str:
    return f"barista-ecs-{task_id[:12]}-{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}"


class DockerTaskRuntime:
    """``TaskRuntime`` on a Docker engine; ``labels`` are added to, and scope, everything."""

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        labels: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        images: ImagePolicy | None = None,
    ) -> None:
        self._client = client if client is not None else docker.from_env()
        # What it may run (images.py): the catalog's images and BARISTA_ALLOWED_IMAGES.
        self._images = images if images is not None else ImagePolicy.from_environ()
        self._extra = dict(labels or {})
        self._scope = {LABEL_ECS: "true", **self._extra}
        self._clock = clock

    def _list(self, extra: Mapping[str, str] | None = None) -> list[Container]:
        scope = {**self._scope, **(extra or {})}
        found: list[Container] = self._client.containers.list(
            all=True,
            filters={"label": [f"{key}={value}" for key, value in scope.items()]},
            ignore_removed=True,
        )
        return found

    def start_task(self, spec: TaskSpec) -> None:
        if self._list({LABEL_TASK_ID: spec.task_id}):
            raise TaskIdInUse(spec.task_id)
        for container in spec.containers:  # before any starts: none or all may run
            self._images.check(container.image)
        api = self._client.api
        first_id: str | None = None
        for container in spec.containers:
            labels = task_labels(self._scope, spec, container)
            network_mode = spec.network if first_id is None else f"container:{first_id}"
            host_config = api.create_host_config(
                nano_cpus=round(container.cpus * 1e9) if container.cpus else None,
                mem_limit=f"{container.memory_mib}m" if container.memory_mib else None,
                mem_reservation=f"{container.memory_reservation_mib}m"
                if container.memory_reservation_mib
                else None,
                network_mode=network_mode,
                restart_policy={"Name": "no"},
            )
            # ECS ignores an image's own HEALTHCHECK: only the definition's check counts.
            healthcheck: dict[str, Any] = {"test": ["NONE"]}
            if container.health_check is not None:
                check = container.health_check
                healthcheck = {
                    "test": list(check.test),
                    "interval": nanoseconds(check.interval),
                    "timeout": nanoseconds(check.timeout),
                    "retries": check.retries,
                    "start_period": nanoseconds(check.start_period),
                }
            try:
                created = api.create_container(
                    container.image,
                    command=list(container.command) or None,
                    entrypoint=list(container.entry_point) or None,
                    name=_container_name(spec.task_id, container.name),
                    labels=labels,
                    environment=dict(container.environment),
                    stop_signal="SIGTERM",
                    stop_timeout=math.ceil(container.stop_timeout),
                    healthcheck=healthcheck,
                    working_dir=container.working_dir,
                    user=container.user,
                    host_config=host_config,
                )
            except APIError as error:
                if error.status_code == _CONFLICT:
                    raise TaskIdInUse(spec.task_id) from error
                raise
            container_id: str = created["Id"]
            if first_id is None:
                first_id = container_id
            api.start(container_id)

    def stop_task(self, task_id: str) -> None:
        api = self._client.api
        for container in self._list({LABEL_TASK_ID: task_id}):
            container_id = str(container.id)
            timeout = container.attrs["Config"].get("StopTimeout") or 30
            try:
                if container.status in ("running", "restarting", "paused"):
                    api.stop(container_id, timeout=int(timeout))
                api.remove_container(container_id, force=True)
            except NotFound:
                continue
            except APIError as error:
                if error.status_code == _CONFLICT and "already in progress" in str(error):
                    continue
                raise

    def task_containers(self, cluster: str | None = None) -> list[TaskContainer]:
        extra = {LABEL_CLUSTER: cluster} if cluster is not None else None
        found = []
        for container in self._list(extra):
            try:
                found.append(_task_container(container))
            except (KeyError, ValueError):
                continue
        # A task's address is its first container's: the others share its namespace.
        first_address: dict[str, str] = {}
        for item in found:
            if item.address and item.task_id not in first_address:
                first_address[item.task_id] = item.address
        return [replace(i, address=first_address.get(i.task_id)) for i in found]

    def cpu_percent(self, task_id: str) -> float | None:
        total: float | None = None
        for container in self._list({LABEL_TASK_ID: task_id}):
            if container.status != "running":
                continue
            try:
                stats = container.stats(stream=False)
            except (NotFound, APIError):
                continue
            assert isinstance(stats, dict)
            value = _cpu_percent(stats)
            if value is not None:
                total = (total or 0.0) + value
        return total


def nanoseconds(seconds: float) -> int:
    """Seconds as the nanoseconds Docker's and Swarm's health-check durations take."""
    # Docker refuses intervals under 1 ms; zero means "Docker's default" for start_period.
    return 0 if seconds <= 0 else max(1_000_000, round(seconds * 1e9))


def _task_container(container: Container) -> TaskContainer:
    attrs: Mapping[str, Any] = container.attrs
    labels: Mapping[str, str] = attrs["Config"]["Labels"] or {}
    state: Mapping[str, Any] = attrs["State"]
    status = state.get("Status")
    docker_health = (state.get("Health") or {}).get("Status")
    known = ("starting", "healthy", "unhealthy")
    health = Health(docker_health) if docker_health in known else None
    exited = status in ("exited", "dead", "created")
    address = None
    for network in (attrs.get("NetworkSettings", {}).get("Networks") or {}).values():
        if network and network.get("IPAddress"):
            address = str(network["IPAddress"])
            break
    return task_container_of(
        labels,
        container_id=str(container.id),
        running=status == "running",
        exited=exited,
        exit_code=int(state.get("ExitCode", 0)) if exited and status != "created" else None,
        health=health,
        address=address,
    )


def task_container_of(
    labels: Mapping[str, str],
    *,
    container_id: str,
    running: bool,
    exited: bool,
    exit_code: int | None,
    health: Health | None,
    address: str | None,
) -> TaskContainer:
    """A task container from its labels (``task_labels``) and what the runtime observed of
    it. KeyError or ValueError when the labels are not a task's."""
    return TaskContainer(
        task_id=labels[LABEL_TASK_ID],
        cluster=labels[LABEL_CLUSTER],
        name=labels[LABEL_CONTAINER_NAME],
        container_id=container_id,
        essential=labels.get(LABEL_ESSENTIAL, "true") == "true",
        running=running,
        exited=exited,
        exit_code=exit_code,
        health=health,
        address=address,
        task_definition=labels.get(LABEL_TASK_DEFINITION, ""),
        service=labels.get(LABEL_SERVICE),
        deployment_id=labels.get(LABEL_DEPLOYMENT),
        group=labels.get(LABEL_TASK_GROUP, ""),
        availability_zone=labels.get(LABEL_AZ, ""),
        container_instance=labels.get(LABEL_CONTAINER_INSTANCE),
        created_at=float(labels.get(LABEL_CREATED_AT, "0")),
    )


class FakeTaskRuntime:
    """In memory, for unit tests: containers start running; tests make them exit or change
    health with ``exit`` and ``set_health``."""

    def __init__(self, images: ImagePolicy | None = None) -> None:
        # None runs any image (the unit tests' "x"); a policy refuses as Docker's runtime does.
        self._images = images
        self.containers: dict[str, list[TaskContainer]] = {}
        self.specs: dict[str, TaskSpec] = {}
        self.stopped: list[str] = []
        self.cpu: dict[str, float] = {}

    def start_task(self, spec: TaskSpec) -> None:
        if spec.task_id in self.containers:
            raise TaskIdInUse(spec.task_id)
        for container in spec.containers:
            if self._images is not None:
                self._images.check(container.image)
        self.specs[spec.task_id] = spec
        number = len(self.specs)
        self.containers[spec.task_id] = [
            TaskContainer(
                task_id=spec.task_id,
                cluster=spec.cluster,
                name=c.name,
                container_id=f"{spec.task_id}-{c.name}",
                essential=c.essential,
                running=True,
                exited=False,
                exit_code=None,
                health=Health.STARTING if c.health_check is not None else None,
                address=f"10.0.{number // 250}.{number % 250 + 2}",
                task_definition=spec.task_definition,
                service=spec.service,
                deployment_id=spec.deployment_id,
                group=spec.group,
                availability_zone=spec.availability_zone,
                container_instance=spec.container_instance,
                created_at=spec.created_at,
            )
            for c in spec.containers
        ]

    def stop_task(self, task_id: str) -> None:
        if self.containers.pop(task_id, None) is not None:
            self.stopped.append(task_id)

    def task_containers(self, cluster: str | None = None) -> list[TaskContainer]:
        return [
            c
            for items in self.containers.values()
            for c in items
            if cluster is None or c.cluster == cluster
        ]

    def cpu_percent(self, task_id: str) -> float | None:
        return self.cpu.get(task_id)

    def exit(self, task_id: str, container: str | None = None, code: int = 1) -> None:
        self.containers[task_id] = [
            replace(c, running=False, exited=True, exit_code=code)
            if container is None or c.name == container
            else c
            for c in self.containers[task_id]
        ]

    def set_health(self, task_id: str, health: Health) -> None:
        self.containers[task_id] = [
            replace(c, health=health) if c.health is not None else c
            for c in self.containers[task_id]
        ]
