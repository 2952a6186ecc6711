"""ECS's actions on the store, with AWS's validation and errors; the API wraps these.

They only change desired state: a run task is recorded PROVISIONING, a stop request sets the
desired status to STOPPED with the reason, a service update starts a deployment. The
controller's next pass does the work, so an action answers at once, as ECS does.

The ``list_*`` functions answer one page (``maxResults`` 1-100; ECS's default page is 100,
10 for ListServices) and a ``nextToken`` for the rest (``orchestrator.paging``); ECS refuses a
bad token or size with InvalidParameterException, and so do they.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.ecs.controller import new_deployment_id, new_task_id
from orchestrator.ecs.deployment import new_deployment, update_deployments
from orchestrator.ecs.errors import (
    ClientException,
    ClusterNotFoundException,
    InvalidParameterException,
    ServiceNotActiveException,
    ServiceNotFoundException,
)
from orchestrator.ecs.model import (
    DEFAULT_CLUSTER,
    CapacityProvider,
    Cluster,
    ContainerInstance,
    DeploymentConfiguration,
    LaunchType,
    LoadBalancer,
    PlacementConstraint,
    PlacementStrategy,
    Service,
    StopCode,
    Task,
    TaskStatus,
    arn,
)
from orchestrator.ecs.state import EcsStore
from orchestrator.ecs.task_definition import (
    TaskDefinition,
    check_fargate,
    parse_task_definition,
    task_definition_arn,
)
from orchestrator.paging import Page, paginate

__all__ = ["ClientException", "InvalidParameterException"]


def cluster_name(reference: str | None) -> str:
    """A cluster name from a name or ARN (None: the default cluster)."""
    if not reference:
        return DEFAULT_CLUSTER
    return reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference


def find_cluster(store: EcsStore, reference: str | None) -> Cluster:
    name = cluster_name(reference)
    cluster = store.clusters().get(name)
    if cluster is None or cluster.status != "ACTIVE":
        raise ClusterNotFoundException()
    return cluster


def check_network_configuration(
    definition: TaskDefinition, network_configuration: Mapping[str, Any] | None
) -> None:
    """awsvpc tasks need subnets to get their network interface; other modes take none.

    Barista's tasks join the controller's network whatever the subnets, but a request that
    AWS would refuse is refused here too, so it does not first fail on AWS.
    """
    given = bool(network_configuration and network_configuration.get("awsvpcConfiguration"))
    if definition.network_mode == "awsvpc" and not given:
        raise InvalidParameterException(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )
    if definition.network_mode != "awsvpc" and given:
        raise InvalidParameterException(
            "Network Configuration is not valid for the given networkMode of this task definition."
        )


def resolve_task_definition(store: EcsStore, reference: str) -> TaskDefinition:
    """``family``, ``family:revision`` or an ARN, as ECS accepts them."""
    text = reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference
    family, _, revision = text.partition(":")
    try:
        return store.task_definition(family, int(revision) if revision else None)
    except (KeyError, ValueError):
        raise ClientException("Unable to describe task definition.") from None


def register_task_definition(
    store: EcsStore, document: Mapping[str, Any], now: float
) -> TaskDefinition:
    parsed = parse_task_definition(document, registered_at=now)
    return store.register_task_definition(parsed)


def create_cluster(store: EcsStore, name: str | None) -> Cluster:
    cluster = Cluster(cluster_name(name))
    existing = store.clusters().get(cluster.name)
    if existing is not None and existing.status == "ACTIVE":
        return existing  # CreateCluster is idempotent in ECS
    store.put_cluster(cluster)
    return cluster


def register_container_instance(
    store: EcsStore,
    cluster: str | None,
    *,
    cpu: int,
    memory: int,
    availability_zone: str = "az-a",
    attributes: Sequence[tuple[str, str]] = (),
    ec2_instance_id: str | None = None,
    now: float = 0.0,
) -> ContainerInstance:
    found = find_cluster(store, cluster)
    if cpu <= 0 or memory <= 0:
        raise InvalidParameterException("totalResources must give CPU and MEMORY above 0.")
    instance = ContainerInstance(
        instance_id=uuid.uuid4().hex,
        cluster=found.name,
        cpu=cpu,
        memory=memory,
        availability_zone=availability_zone,
        attributes=tuple(attributes),
        ec2_instance_id=ec2_instance_id,
        registered_at=now,
    )
    store.put_container_instance(instance)
    return instance


def _launch_type(definition: TaskDefinition, requested: str | None) -> LaunchType:
    if requested is None:
        return (
            LaunchType.FARGATE
            if "FARGATE" in definition.requires_compatibilities
            else (LaunchType.EC2)
        )
    try:
        launch_type = LaunchType(requested)
    except ValueError:
        raise InvalidParameterException(f"Invalid launchType {requested!r}.") from None
    if launch_type is LaunchType.FARGATE:
        if definition.cpu is None or definition.memory is None:
            raise ClientException(
                "Task definition does not support launch_type FARGATE: 'cpu' and 'memory' must "
                "be set at the task level."
            )
        if definition.network_mode != "awsvpc":
            raise ClientException("Fargate only supports network mode 'awsvpc'.")
        check_fargate(definition.cpu, definition.memory, definition.container_definitions)
    return launch_type


def run_task(
    store: EcsStore,
    cluster: str | None,
    task_definition: str,
    *,
    count: int = 1,
    launch_type: str | None = None,
    started_by: str | None = None,
    group: str | None = None,
    now: float,
) -> list[Task]:
    found = find_cluster(store, cluster)
    definition = resolve_task_definition(store, task_definition)
    if not 1 <= count <= 10:
        raise InvalidParameterException("count must be between 1 and 10.")
    chosen = _launch_type(definition, launch_type)
    tasks = [
        Task(
            task_id=new_task_id(),
            cluster=found.name,
            task_definition=definition.family_revision,
            launch_type=chosen,
            created_at=now,
            group=group or f"family:{definition.family}",
            started_by=started_by,
        )
        for _ in range(count)
    ]
    for task in tasks:
        store.put_task(task)
    return tasks


def find_task(store: EcsStore, cluster: str | None, reference: str) -> Task:
    found = find_cluster(store, cluster)
    task_id = reference.rsplit("/", 1)[-1]
    task = store.task(task_id)
    if task is None or task.cluster != found.name:
        raise InvalidParameterException("The referenced task was not found.")
    return task


def stop_task(store: EcsStore, cluster: str | None, reference: str, reason: str | None) -> Task:
    task = find_task(store, cluster, reference)
    if task.desired_status is TaskStatus.STOPPED:
        return task
    stopped = dataclasses.replace(
        task,
        desired_status=TaskStatus.STOPPED,
        stop_code=StopCode.USER_INITIATED,
        stopped_reason=reason or "Task stopped by user",
        stopping_at=task.stopping_at,
    )
    store.put_task(stopped)
    return stopped


def create_service(  # noqa: PLR0913 - CreateService's own parameters
    store: EcsStore,
    cluster: str | None,
    name: str,
    task_definition: str,
    desired_count: int,
    *,
    launch_type: str | None = None,
    load_balancers: Sequence[LoadBalancer] = (),
    deployment_configuration: DeploymentConfiguration | None = None,
    placement_strategy: Sequence[PlacementStrategy] = (),
    placement_constraints: Sequence[PlacementConstraint] = (),
    health_check_grace_period_seconds: int = 0,
    now: float,
) -> Service:
    found = find_cluster(store, cluster)
    existing = store.service(found.name, name)
    if existing is not None and existing.status != "INACTIVE":
        raise InvalidParameterException("Creation of service was not idempotent.")
    if desired_count < 0:
        raise InvalidParameterException("desiredCount must be at least 0.")
    definition = resolve_task_definition(store, task_definition)
    for balancer in load_balancers:
        names = [c.name for c in definition.container_definitions]
        if balancer.container_name not in names:
            raise InvalidParameterException(
                f"The container {balancer.container_name} does not exist in the task definition."
            )
    config = deployment_configuration or DeploymentConfiguration()
    _check_percentages(config)
    chosen = _launch_type(definition, launch_type)
    strategies = tuple(placement_strategy)
    if chosen is LaunchType.EC2 and not strategies:
        # ECS's default for services: spread across Availability Zones.
        strategies = (PlacementStrategy("spread", "attribute:ecs.availability-zone"),)
    service = Service(
        name=name,
        cluster=found.name,
        task_definition=definition.family_revision,
        desired_count=desired_count,
        created_at=now,
        launch_type=chosen,
        load_balancers=tuple(load_balancers),
        deployment_configuration=config,
        placement_strategy=strategies,
        placement_constraints=tuple(placement_constraints),
        health_check_grace_period_seconds=health_check_grace_period_seconds,
        deployments=(new_deployment(new_deployment_id(), definition.family_revision, now),),
    )
    store.put_service(service)
    return service


def _check_percentages(config: DeploymentConfiguration) -> None:
    if config.maximum_percent < 100:
        raise InvalidParameterException("maximumPercent must be at least 100.")
    if not 0 <= config.minimum_healthy_percent < config.maximum_percent:
        raise InvalidParameterException(
            "minimumHealthyPercent must be at least 0 and below maximumPercent."
        )


def find_service(store: EcsStore, cluster: str | None, reference: str) -> Service:
    found = find_cluster(store, cluster)
    service = store.service(found.name, reference.rsplit("/", 1)[-1])
    if service is None:
        raise ServiceNotFoundException()
    if service.status != "ACTIVE":
        raise ServiceNotActiveException()
    return service


def update_service(  # noqa: PLR0913 - UpdateService's own parameters
    store: EcsStore,
    cluster: str | None,
    reference: str,
    *,
    desired_count: int | None = None,
    task_definition: str | None = None,
    deployment_configuration: DeploymentConfiguration | None = None,
    force_new_deployment: bool = False,
    health_check_grace_period_seconds: int | None = None,
    now: float,
) -> Service:
    service = find_service(store, cluster, reference)
    if health_check_grace_period_seconds is not None:
        # Changing the grace period does not start a deployment (ECS).
        service = dataclasses.replace(
            service, health_check_grace_period_seconds=health_check_grace_period_seconds
        )
    if desired_count is not None:
        if desired_count < 0:
            raise InvalidParameterException("desiredCount must be at least 0.")
        service = dataclasses.replace(service, desired_count=desired_count)
    if deployment_configuration is not None:
        _check_percentages(deployment_configuration)
        service = dataclasses.replace(service, deployment_configuration=deployment_configuration)
    target = service.task_definition
    if task_definition is not None:
        target = resolve_task_definition(store, task_definition).family_revision
    if target != service.task_definition or force_new_deployment:
        service = dataclasses.replace(
            service,
            task_definition=target,
            deployments=update_deployments(service, target, new_deployment_id(), now),
        )
    store.put_service(service)
    return service


def delete_service(store: EcsStore, cluster: str | None, reference: str, force: bool) -> Service:
    service = find_service(store, cluster, reference)
    if service.desired_count > 0 and not force:
        raise InvalidParameterException("The service cannot be stopped while it is scaled above 0.")
    draining = dataclasses.replace(service, status="DRAINING", desired_count=0)
    store.put_service(draining)
    return draining


def task_definition_arn_of(family_revision: str) -> str:
    family, _, revision = family_revision.rpartition(":")
    return task_definition_arn(family, int(revision))


def container_instance_arn(cluster: str, instance_id: str) -> str:
    return arn("container-instance", f"{cluster}/{instance_id}")


def create_capacity_provider(
    store: EcsStore,
    name: str,
    auto_scaling_group: str,
    *,
    managed_scaling: bool = True,
    target_capacity: int = 100,
    minimum_scaling_step_size: int = 1,
    maximum_scaling_step_size: int = 10000,
    instance_warmup_period: int = 300,
) -> CapacityProvider:
    if name in store.capacity_providers():
        raise ClientException(f"The specified capacity provider {name} already exists.")
    if name.lower().startswith(("aws", "ecs", "fargate")):
        raise ClientException("The capacity provider name cannot start with aws, ecs or fargate.")
    if not 1 <= target_capacity <= 100:
        raise InvalidParameterException("targetCapacity must be between 1 and 100.")
    if not 1 <= minimum_scaling_step_size <= maximum_scaling_step_size <= 10000:
        raise InvalidParameterException(
            "minimumScalingStepSize must be at least 1 and at most maximumScalingStepSize "
            "(at most 10000)."
        )
    provider = CapacityProvider(
        name=name,
        auto_scaling_group_name=auto_scaling_group.rsplit("/", 1)[-1],
        managed_scaling=managed_scaling,
        target_capacity=target_capacity,
        minimum_scaling_step_size=minimum_scaling_step_size,
        maximum_scaling_step_size=maximum_scaling_step_size,
        instance_warmup_period=instance_warmup_period,
    )
    store.put_capacity_provider(provider)
    return provider


def put_cluster_capacity_providers(
    store: EcsStore, cluster: str | None, names: Sequence[str]
) -> Cluster:
    found = find_cluster(store, cluster)
    known = store.capacity_providers()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidParameterException(
            f"The specified capacity provider {unknown[0]} is not in an ACTIVE state."
        )
    updated = dataclasses.replace(found, capacity_providers=tuple(names))
    store.put_cluster(updated)
    return updated


# Lists: one page each, in a fixed order, with ECS's nextToken.

MAX_RESULTS = 100


def invalid_next_token() -> InvalidParameterException:
    return InvalidParameterException("The nextToken value is not valid.")


def page_size(max_results: int | None, default: int = MAX_RESULTS) -> int:
    """``maxResults`` as ECS takes it: 1 to 100, ``default`` when not given."""
    if max_results is None:
        return default
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidParameterException(
            f"maxResults must be between 1 and {MAX_RESULTS}; got {max_results}."
        )
    return max_results


def list_clusters(
    store: EcsStore, max_results: int | None, next_token: str | None
) -> Page[Cluster]:
    active = [c for c in store.clusters().values() if c.status == "ACTIVE"]
    return paginate(
        "clusters",
        active,
        lambda c: [c.name],
        page_size(max_results),
        next_token,
        invalid_next_token,
    )


def list_services(
    store: EcsStore,
    cluster: str | None,
    launch_type: str | None,
    max_results: int | None,
    next_token: str | None,
) -> Page[Service]:
    """ACTIVE services, by name; ECS's page is 10 unless ``maxResults`` says otherwise."""
    found = find_cluster(store, cluster)
    services = [
        s
        for s in store.services(found.name)
        if s.status == "ACTIVE" and (launch_type is None or s.launch_type.value == launch_type)
    ]
    return paginate(
        f"services:{found.name}",
        services,
        lambda s: [s.name],
        page_size(max_results, default=10),
        next_token,
        invalid_next_token,
    )


@dataclasses.dataclass(frozen=True)
class TaskFilter:
    """ListTasks' filters; each one given must match."""

    desired_status: str = "RUNNING"
    service: str | None = None
    family: str | None = None
    container_instance: str | None = None  # an id or an ARN
    started_by: str | None = None
    launch_type: str | None = None

    def matches(self, task: Task) -> bool:
        instance = self.container_instance
        return (
            task.desired_status.value == self.desired_status
            and (self.service is None or task.service == self.service)
            and (self.family is None or task.task_definition.rpartition(":")[0] == self.family)
            and (instance is None or task.container_instance == instance.rsplit("/", 1)[-1])
            and (self.started_by is None or task.started_by == self.started_by)
            and (self.launch_type is None or task.launch_type.value == self.launch_type)
        )


def list_tasks(
    store: EcsStore,
    cluster: str | None,
    wanted: TaskFilter,
    max_results: int | None,
    next_token: str | None,
) -> Page[Task]:
    """Oldest first: a task keeps its place while newer ones start."""
    found = find_cluster(store, cluster)
    tasks = [t for t in store.tasks(cluster=found.name) if wanted.matches(t)]
    return paginate(
        f"tasks:{found.name}",
        tasks,
        lambda t: [t.created_at, t.task_id],
        page_size(max_results),
        next_token,
        invalid_next_token,
    )


def list_task_definitions(
    store: EcsStore,
    family_prefix: str | None,
    status: str,
    sort: str | None,
    max_results: int | None,
    next_token: str | None,
) -> Page[TaskDefinition]:
    """By family, then revision; ``sort`` DESC lists them last to first, as ECS does."""
    if sort not in (None, "ASC", "DESC"):
        raise InvalidParameterException(f"sort must be ASC or DESC; got {sort}.")
    descending = sort == "DESC"
    found = [
        d
        for d in store.task_definitions()
        if (family_prefix is None or d.family.startswith(family_prefix)) and d.status == status
    ]
    return paginate(
        f"task-definitions:{'DESC' if descending else 'ASC'}",
        found,
        lambda d: [d.family, d.revision],
        page_size(max_results),
        next_token,
        invalid_next_token,
        descending=descending,
    )


def list_task_definition_families(
    store: EcsStore,
    family_prefix: str | None,
    status: str,
    max_results: int | None,
    next_token: str | None,
) -> Page[str]:
    """Families with a revision in ``status`` (ALL: any), by name."""
    families = {
        d.family
        for d in store.task_definitions()
        if d.family.startswith(family_prefix or "") and status in ("ALL", d.status)
    }
    return paginate(
        "task-definition-families",
        sorted(families),
        lambda f: [f],
        page_size(max_results),
        next_token,
        invalid_next_token,
    )


def list_container_instances(
    store: EcsStore,
    cluster: str | None,
    status: str,
    max_results: int | None,
    next_token: str | None,
) -> Page[ContainerInstance]:
    found = find_cluster(store, cluster)
    instances = [i for i in store.container_instances(found.name) if i.status == status]
    return paginate(
        f"container-instances:{found.name}",
        instances,
        lambda i: [i.instance_id],
        page_size(max_results),
        next_token,
        invalid_next_token,
    )
