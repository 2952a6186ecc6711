"""ECS's resources as Barista keeps them: clusters, container instances, tasks, services.

Desired state (a task's desired status, a service's deployments) lives in the store; what runs
is read from Docker by label each pass (``orchestrator.runtime.tasks``). A task record also
keeps what Docker forgets once its containers are removed: when it stopped, why, and each
container's exit code, which is how describe-tasks answers for a STOPPED task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.arns import arn as _arn

DEFAULT_CLUSTER = "default"


class TaskStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    PENDING = "PENDING"
    ACTIVATING = "ACTIVATING"
    RUNNING = "RUNNING"
    DEACTIVATING = "DEACTIVATING"
    STOPPING = "STOPPING"
    DEPROVISIONING = "DEPROVISIONING"
    STOPPED = "STOPPED"


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    UNKNOWN = "UNKNOWN"


class StopCode(StrEnum):
    TASK_FAILED_TO_START = "TaskFailedToStart"
    ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
    USER_INITIATED = "UserInitiated"
    SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"


class LaunchType(StrEnum):
    FARGATE = "FARGATE"
    EC2 = "EC2"


def arn(resource: str, path: str) -> str:
    return _arn("ecs", f"{resource}/{path}")


@dataclass(frozen=True)
class Cluster:
    name: str
    status: str = "ACTIVE"
    capacity_providers: tuple[str, ...] = ()

    @property
    def arn(self) -> str:
        return arn("cluster", self.name)


@dataclass(frozen=True)
class ContainerInstance:
    """EC2-style capacity: CPU units and MiB tasks may reserve, plus attributes for
    constraints. ``ec2_instance_id`` names the Auto Scaling instance behind it, if any."""

    instance_id: str
    cluster: str
    cpu: int
    memory: int
    availability_zone: str = "az-a"
    attributes: tuple[tuple[str, str], ...] = ()
    ec2_instance_id: str | None = None
    status: str = "ACTIVE"
    registered_at: float = 0.0

    @property
    def arn(self) -> str:
        return arn("container-instance", f"{self.cluster}/{self.instance_id}")

    def attribute(self, name: str) -> str | None:
        if name == "ecs.availability-zone":
            return self.availability_zone
        return dict(self.attributes).get(name)


@dataclass(frozen=True)
class ContainerRecord:
    name: str
    last_status: str = "PENDING"
    exit_code: int | None = None
    reason: str | None = None
    health_status: HealthStatus = HealthStatus.UNKNOWN


@dataclass(frozen=True)
class Task:
    """One task: desired status from the store, last status as the controller last saw it."""

    task_id: str
    cluster: str
    task_definition: str  # family:revision
    launch_type: LaunchType
    created_at: float
    group: str  # service:NAME or family:FAMILY, as ECS sets it
    started_by: str | None = None
    service: str | None = None
    deployment_id: str | None = None
    desired_status: TaskStatus = TaskStatus.RUNNING
    last_status: TaskStatus = TaskStatus.PROVISIONING
    health_status: HealthStatus = HealthStatus.UNKNOWN
    container_instance: str | None = None
    availability_zone: str | None = None
    address: str | None = None
    placement_reason: str | None = None  # why it is still PROVISIONING
    launched: bool = False  # containers were started once; gone now means stopped
    started_at: float | None = None  # RUNNING
    healthy_at: float | None = None  # first counted healthy (for deployments and benchmarks)
    stopping_at: float | None = None
    stopped_at: float | None = None
    stop_code: StopCode | None = None
    stopped_reason: str | None = None
    registered_targets: tuple[tuple[str, str, int], ...] = ()  # (target group arn, ip, port)
    containers: tuple[ContainerRecord, ...] = ()

    @property
    def arn(self) -> str:
        return arn("task", f"{self.cluster}/{self.task_id}")

    @property
    def was_healthy(self) -> bool:
        return self.healthy_at is not None


@dataclass(frozen=True)
class LoadBalancer:
    target_group_arn: str
    container_name: str
    container_port: int


@dataclass(frozen=True)
class DeploymentConfiguration:
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker_enable: bool = False
    circuit_breaker_rollback: bool = False


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    task_definition: str  # family:revision
    status: str  # PRIMARY | ACTIVE | INACTIVE
    created_at: float
    updated_at: float
    rollout_state: str = "IN_PROGRESS"  # IN_PROGRESS | COMPLETED | FAILED
    rollout_state_reason: str = ""


@dataclass(frozen=True)
class PlacementStrategy:
    type: str  # binpack | spread | random
    field: str = ""


@dataclass(frozen=True)
class PlacementConstraint:
    type: str  # distinctInstance | memberOf
    expression: str = ""


@dataclass(frozen=True)
class Service:
    name: str
    cluster: str
    task_definition: str  # family:revision of the primary deployment
    desired_count: int
    created_at: float
    launch_type: LaunchType = LaunchType.FARGATE
    status: str = "ACTIVE"  # ACTIVE | DRAINING | INACTIVE
    load_balancers: tuple[LoadBalancer, ...] = ()
    deployment_configuration: DeploymentConfiguration = field(
        default_factory=DeploymentConfiguration
    )
    placement_strategy: tuple[PlacementStrategy, ...] = ()
    placement_constraints: tuple[PlacementConstraint, ...] = ()
    health_check_grace_period_seconds: int = 0
    deployments: tuple[Deployment, ...] = ()

    @property
    def arn(self) -> str:
        return arn("service", f"{self.cluster}/{self.name}")

    @property
    def primary(self) -> Deployment:
        return next(d for d in self.deployments if d.status == "PRIMARY")


@dataclass(frozen=True)
class ServiceEvent:
    event_id: str
    created_at: float
    message: str


def circuit_breaker_threshold(desired_count: int) -> int:
    """AWS's failure threshold: 0.5 * desired count, at least 3 and at most 200
    (ThresholdConfiguration's default BOUNDED_PERCENT, value 50)."""
    return min(max(math.ceil(0.5 * desired_count), 3), 200)


@dataclass(frozen=True)
class CapacityProvider:
    """An Auto Scaling group as a cluster's capacity, with ECS managed scaling (AWS's
    defaults: targetCapacity 100 %, steps 1 to 10000, instanceWarmupPeriod 300 s)."""

    name: str
    auto_scaling_group_name: str
    managed_scaling: bool = True
    target_capacity: int = 100
    minimum_scaling_step_size: int = 1
    maximum_scaling_step_size: int = 10000
    instance_warmup_period: int = 300
    status: str = "ACTIVE"

    @property
    def arn(self) -> str:
        return arn("capacity-provider", self.name)
