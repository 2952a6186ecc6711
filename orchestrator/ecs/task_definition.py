"""Task definitions in AWS's JSON shape: parsing, validation, and what Barista leaves out.

``parse_task_definition`` takes the document ``register-task-definition`` takes, or what
``describe-task-definition`` printed for a real account (``{"taskDefinition": {...}, "tags":
[...]}`` or the inner object): the read-only members AWS adds (``taskDefinitionArn``,
``revision``, ``status``, ``requiresAttributes``, ``compatibilities``, ``registeredAt``,
``registeredBy``, ``deregisteredAt``) are set aside, so a copied definition registers as it is.
The rest is held to ECS's model by ``orchestrator.ecs.members``: unknown members and members
Barista does not honour (``secrets``, ``volumes``, ``linuxParameters``, …) are refused; the few
it may safely ignore (``taskRoleArn``, ``logConfiguration``, …) are kept in the stored document,
returned by describe and named in ``unsupported``. Empty values (``[]``, ``{}``) ask for nothing.

Units are AWS's: cpu in CPU units (1024 = one vCPU), memory in MiB, health check durations and
stopTimeout in seconds. A definition that requires FARGATE is held to Fargate's task sizes
(``FARGATE_MEMORY``) and its 120 s stopTimeout maximum, as ECS holds it at registration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.arns import arn
from orchestrator.ecs.errors import ClientException
from orchestrator.ecs.members import check_request

__all__ = ["ClientException"]

READ_ONLY_MEMBERS = frozenset(
    {
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
    }
)
NETWORK_MODES = ("awsvpc", "bridge", "host", "none")
COMPATIBILITIES = ("EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES")
DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


# Fargate's task sizes: memory (MiB) allowed for each task cpu (CPU units), from "Task CPU and
# memory" in the ECS developer guide (8 and 16 vCPU need Linux platform 1.4.0, Barista's).
FARGATE_MEMORY: Mapping[int, Sequence[int]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}
FARGATE_MAX_STOP_TIMEOUT = 120


@dataclass(frozen=True)
class HealthCheck:
    """A container health check; AWS's defaults and bounds (docs/aws-defaults.md)."""

    command: tuple[str, ...]
    interval: int = 30
    timeout: int = 5
    retries: int = 3
    start_period: int = 0


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int | None = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerDefinition:
    name: str
    image: str
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    port_mappings: tuple[PortMapping, ...] = ()
    cpu: int = 0
    memory: int | None = None
    memory_reservation: int | None = None
    essential: bool = True
    health_check: HealthCheck | None = None
    stop_timeout: int | None = None
    depends_on: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class TaskDefinition:
    """One revision. ``document`` is what describe returns (without the read-only members)."""

    family: str
    revision: int
    container_definitions: tuple[ContainerDefinition, ...]
    cpu: int | None = None
    memory: int | None = None
    network_mode: str = "awsvpc"
    requires_compatibilities: tuple[str, ...] = ()
    placement_constraints: tuple[tuple[str, str], ...] = ()
    status: str = "ACTIVE"
    registered_at: float = 0.0
    document: Mapping[str, Any] = field(default_factory=dict)
    unsupported: tuple[str, ...] = ()

    @property
    def family_revision(self) -> str:
        return f"{self.family}:{self.revision}"

    @property
    def arn(self) -> str:
        return task_definition_arn(self.family, self.revision)

    @property
    def required_cpu(self) -> int:
        """CPU units a container instance must have free: the task's, else its containers'."""
        if self.cpu is not None:
            return self.cpu
        return sum(c.cpu for c in self.container_definitions)

    @property
    def required_memory(self) -> int:
        """MiB a container instance must have free: the task's, else each container's
        hard limit or, without one, its reservation."""
        if self.memory is not None:
            return self.memory
        return sum(c.memory or c.memory_reservation or 0 for c in self.container_definitions)

    def container(self, name: str) -> ContainerDefinition:
        for container in self.container_definitions:
            if container.name == name:
                return container
        raise KeyError(name)


def task_definition_arn(family: str, revision: int) -> str:
    return arn("ecs", f"task-definition/{family}:{revision}")


def unwrap(document: Mapping[str, Any]) -> dict[str, Any]:
    """The definition itself: describe-task-definition's output wraps it in ``taskDefinition``."""
    inner = document.get("taskDefinition")
    if isinstance(inner, Mapping):
        return dict(inner)
    return dict(document)


def _int(value: Any, member: str) -> int:
    if isinstance(value, bool):
        raise ClientException(f"{member} must be an integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ClientException(f"{member} must be an integer, got {value!r}.") from None


def parse_cpu(value: Any) -> int:
    """Task-level cpu: ``"256"`` CPU units, or ``"1 vCPU"`` / ``".5 vcpu"``."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)\s*vcpu", text, flags=re.IGNORECASE)
    if match:
        return round(float(match.group(1)) * 1024)
    if not text.isdigit():
        raise ClientException(f"Invalid 'cpu' setting for task: {value!r}.")
    return int(text)


def parse_memory(value: Any) -> int:
    """Task-level memory: ``"512"`` MiB, or ``"1 GB"`` / ``"0.5 gb"``."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)\s*gb", text, flags=re.IGNORECASE)
    if match:
        return round(float(match.group(1)) * 1024)
    if not text.isdigit():
        raise ClientException(f"Invalid 'memory' setting for task: {value!r}.")
    return int(text)


def _strings(value: Any, member: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClientException(f"{member} must be a list of strings.")
    return tuple(value)


def _health_check(value: Mapping[str, Any], where: str) -> HealthCheck:
    command = _strings(value.get("command"), f"{where}.healthCheck.command")
    if not command:
        raise ClientException(f"{where}.healthCheck.command must not be empty.")
    check = HealthCheck(
        command=command,
        interval=_int(value.get("interval", 30), "healthCheck.interval"),
        timeout=_int(value.get("timeout", 5), "healthCheck.timeout"),
        retries=_int(value.get("retries", 3), "healthCheck.retries"),
        start_period=_int(value.get("startPeriod", 0), "healthCheck.startPeriod"),
    )
    for name, number, low, high in (
        ("interval", check.interval, 5, 300),
        ("timeout", check.timeout, 2, 60),
        ("retries", check.retries, 1, 10),
        ("startPeriod", check.start_period, 0, 300),
    ):
        if not low <= number <= high:
            raise ClientException(
                f"Invalid healthCheck {name} {number} for container {where}: "
                f"must be between {low} and {high}."
            )
    return check


def _container(value: Any, index: int) -> ContainerDefinition:
    if not isinstance(value, Mapping):
        raise ClientException(f"containerDefinitions[{index}] must be an object.")
    name = value.get("name")
    image = value.get("image")
    if not isinstance(name, str) or not name:
        raise ClientException("Container.name should not be null or empty.")
    if not isinstance(image, str) or not image:
        raise ClientException("Container.image should not be null or empty.")
    environment = tuple(
        (str(pair["name"]), str(pair.get("value", ""))) for pair in value.get("environment") or []
    )
    ports = tuple(
        PortMapping(
            container_port=_int(p.get("containerPort"), "portMappings.containerPort"),
            host_port=_int(p["hostPort"], "portMappings.hostPort")
            if p.get("hostPort") is not None
            else None,
            protocol=str(p.get("protocol", "tcp")),
        )
        for p in value.get("portMappings") or []
    )
    check = value.get("healthCheck")
    depends_on = []
    for dependency in value.get("dependsOn") or []:
        condition = str(dependency.get("condition", "START"))
        if condition not in DEPENDENCY_CONDITIONS:
            raise ClientException(f"Invalid dependsOn condition {condition!r} for {name}.")
        depends_on.append((str(dependency["containerName"]), condition))
    memory = value.get("memory")
    reservation = value.get("memoryReservation")
    stop_timeout = value.get("stopTimeout")
    return ContainerDefinition(
        name=name,
        image=image,
        command=_strings(value.get("command") or [], f"{name}.command"),
        entry_point=_strings(value.get("entryPoint") or [], f"{name}.entryPoint"),
        environment=environment,
        port_mappings=ports,
        cpu=_int(value.get("cpu", 0), f"{name}.cpu"),
        memory=_int(memory, f"{name}.memory") if memory is not None else None,
        memory_reservation=_int(reservation, f"{name}.memoryReservation")
        if reservation is not None
        else None,
        essential=bool(value.get("essential", True)),
        health_check=_health_check(check, name) if check else None,
        stop_timeout=_int(stop_timeout, f"{name}.stopTimeout")
        if stop_timeout is not None
        else None,
        depends_on=tuple(depends_on),
        working_dir=value.get("workingDirectory"),
        user=value.get("user"),
    )


def _task_level(
    kept: Mapping[str, Any], containers: tuple[ContainerDefinition, ...]
) -> tuple[str, tuple[str, ...], int | None, int | None]:
    """networkMode, requiresCompatibilities, cpu and memory, checked as ECS checks them."""
    network_mode = str(kept.get("networkMode") or "bridge")
    if network_mode not in NETWORK_MODES:
        raise ClientException(f"Invalid networkMode {network_mode!r}.")
    compatibilities = tuple(kept.get("requiresCompatibilities") or ())
    for compatibility in compatibilities:
        if compatibility not in COMPATIBILITIES:
            raise ClientException(f"Invalid requiresCompatibilities value {compatibility!r}.")
    cpu = parse_cpu(kept["cpu"]) if kept.get("cpu") is not None else None
    memory = parse_memory(kept["memory"]) if kept.get("memory") is not None else None
    if "FARGATE" in compatibilities:
        if cpu is None or memory is None:
            raise ClientException(
                "Fargate requires that 'cpu' and 'memory' be defined at the task level."
            )
        if network_mode != "awsvpc":
            raise ClientException("Fargate only supports network mode 'awsvpc'.")
        check_fargate(cpu, memory, containers)
    for container in containers:
        if memory is None and container.memory is None and container.memory_reservation is None:
            raise ClientException(
                f"Invalid setting for container '{container.name}'. At least one of 'memory' "
                "or 'memoryReservation' must be specified."
            )
    return network_mode, compatibilities, cpu, memory


def check_fargate(
    cpu: int | None, memory: int | None, containers: tuple[ContainerDefinition, ...]
) -> None:
    """Refuse what Fargate cannot run: a task size not in its table, a stopTimeout over 120 s."""
    if cpu is None or memory is None or memory not in FARGATE_MEMORY.get(cpu, ()):
        raise ClientException(
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    for container in containers:
        if (container.stop_timeout or 0) > FARGATE_MAX_STOP_TIMEOUT:
            raise ClientException(
                f"Invalid 'stopTimeout' setting for container '{container.name}': "
                f"{container.stop_timeout} seconds; the maximum on Fargate is "
                f"{FARGATE_MAX_STOP_TIMEOUT} seconds."
            )


def parse_task_definition(
    document: Mapping[str, Any], revision: int = 0, registered_at: float = 0.0
) -> TaskDefinition:
    """A ``TaskDefinition`` from AWS's JSON; raises ``ClientException`` with AWS's wording."""
    body = unwrap(document)
    kept = {m: v for m, v in body.items() if m not in READ_ONLY_MEMBERS}
    unsupported = check_request("RegisterTaskDefinition", kept)
    family = kept.get("family")
    if not isinstance(family, str) or not _FAMILY.match(family):
        raise ClientException(
            "Family contains invalid characters or is empty: up to 255 letters (uppercase "
            "and lowercase), numbers, hyphens, and underscores are allowed."
        )
    raw_containers = kept.get("containerDefinitions")
    if not isinstance(raw_containers, list) or not raw_containers:
        raise ClientException("Container list cannot be empty.")
    containers = tuple(_container(c, i) for i, c in enumerate(raw_containers))
    names = [c.name for c in containers]
    if len(set(names)) != len(names):
        raise ClientException("Container names must be unique within a task definition.")
    if not any(c.essential for c in containers):
        raise ClientException("A task definition must have at least one essential container.")
    for container in containers:
        for dependency, _condition in container.depends_on:
            if dependency not in names:
                raise ClientException(
                    f"Container {container.name} depends on unknown container {dependency}."
                )
    network_mode, compatibilities, cpu, memory = _task_level(kept, containers)
    constraints = tuple(
        (str(c.get("type")), str(c.get("expression", "")))
        for c in kept.get("placementConstraints") or []
    )
    return TaskDefinition(
        family=family,
        revision=revision,
        container_definitions=containers,
        cpu=cpu,
        memory=memory,
        network_mode=network_mode,
        requires_compatibilities=compatibilities,
        placement_constraints=constraints,
        registered_at=registered_at,
        document=kept,
        unsupported=tuple(unsupported),
    )
