"""ECS request bodies as pydantic models, and their failures in ECS's words.

ECS speaks JSON with lowerCamelCase members, so the models' fields are AWS's names in
snake_case with camelCase aliases (``container_name`` ↔ ``containerName``). Unknown members
never reach them: ``orchestrator.ecs.members`` refuses those against botocore's model first,
so the models ignore extras. What the models add is the shape of each member Barista reads:
a missing, blank or mistyped one is ECS's ``InvalidParameterException`` naming it, where
reading a dict by hand used to fail as an HTTP 500 (a load balancer without
``containerName``). Top-level members keep ECS's sentence (``serviceName can not be
blank.``); nested ones say where, as botocore does (``Missing required parameter in input at
loadBalancers[0]: "containerName"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

import pydantic
from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from orchestrator.api._requests import Request
from orchestrator.ecs.errors import InvalidParameterException

E = TypeVar("E", bound="EcsRequest")

# pydantic's error type -> the end of ECS's sentence about the member.
_TYPES = {
    "int_parsing": "must be an integer.",
    "int_type": "must be an integer.",
    "int_from_float": "must be an integer.",
    "string_type": "must be a string.",
    "bool_parsing": "must be a boolean.",
    "bool_type": "must be a boolean.",
    "list_type": "must be a list.",
    "tuple_type": "must be a list.",
    "dict_type": "must be a structure.",
    "model_type": "must be a structure.",
    "model_attributes_type": "must be a structure.",
}


class EcsRequest(Request):
    """Base of ECS's request shapes: ``Request``'s, in camelCase, extras left to the model
    check (pydantic merges this config into the base's)."""

    model_config = ConfigDict(alias_generator=to_camel, extra="ignore")


class LoadBalancer(EcsRequest):
    """A service's target group binding; Barista has no Classic Load Balancers, so the
    target group is required as the container is."""

    target_group_arn: str = Field(min_length=1)
    container_name: str = Field(min_length=1)
    container_port: int


class DeploymentCircuitBreaker(EcsRequest):
    enable: bool = False
    rollback: bool = False


class DeploymentConfiguration(EcsRequest):
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    deployment_circuit_breaker: DeploymentCircuitBreaker | None = None


class PlacementStrategy(EcsRequest):
    type: str = Field(min_length=1)
    field: str = ""


class PlacementConstraint(EcsRequest):
    type: str = Field(min_length=1)
    expression: str = ""


class CreateService(EcsRequest):
    service_name: str = Field(min_length=1)
    task_definition: str = Field(min_length=1)
    cluster: str | None = None
    desired_count: int | None = None
    launch_type: str | None = None
    load_balancers: tuple[LoadBalancer, ...] = ()
    deployment_configuration: DeploymentConfiguration | None = None
    placement_strategy: tuple[PlacementStrategy, ...] = ()
    placement_constraints: tuple[PlacementConstraint, ...] = ()
    health_check_grace_period_seconds: int | None = None
    network_configuration: dict[str, Any] | None = None


class ManagedScaling(EcsRequest):
    """A capacity provider's managed scaling, with ECS's defaults and ranges."""

    status: Literal["ENABLED", "DISABLED"] = "ENABLED"
    target_capacity: int = Field(default=100, ge=1, le=100)
    minimum_scaling_step_size: int = Field(default=1, ge=1, le=10_000)
    maximum_scaling_step_size: int = Field(default=10_000, ge=1, le=10_000)
    instance_warmup_period: int = Field(default=300, ge=0, le=10_000)


class AutoScalingGroupProvider(EcsRequest):
    auto_scaling_group_arn: str = Field(min_length=1)
    managed_scaling: ManagedScaling = ManagedScaling()


class CreateCapacityProvider(EcsRequest):
    name: str = Field(min_length=1)
    auto_scaling_group_provider: AutoScalingGroupProvider


class Resource(EcsRequest):
    """One of a container instance's resources (``CPU``, ``MEMORY``, …) as an integer."""

    name: str = Field(min_length=1)
    integer_value: int = 0


class Attribute(EcsRequest):
    name: str = Field(min_length=1)
    value: str = ""


class RegisterContainerInstance(EcsRequest):
    cluster: str | None = None
    total_resources: tuple[Resource, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    instance_identity_document: str | None = None


class RunTask(EcsRequest):
    task_definition: str = Field(min_length=1)
    cluster: str | None = None
    count: int = Field(default=1, ge=1, le=10)  # ECS starts at most 10 tasks per call
    launch_type: str | None = None
    started_by: str | None = None
    group: str | None = None
    network_configuration: dict[str, Any] | None = None


class Paged(EcsRequest):
    """A list action's page: ``maxResults`` and the ``nextToken`` of the previous answer."""

    max_results: int | None = None
    next_token: str | None = None


class TaskDefinitionReference(EcsRequest):
    """DescribeTaskDefinition, DeregisterTaskDefinition: a family, family:revision or ARN."""

    task_definition: str = Field(min_length=1)


class ListTaskDefinitions(Paged):
    family_prefix: str | None = None
    status: str = "ACTIVE"
    sort: str | None = None


class ListTaskDefinitionFamilies(Paged):
    family_prefix: str | None = None
    status: str = "ACTIVE"


class CreateCluster(EcsRequest):
    cluster_name: str | None = None


class DescribeClusters(EcsRequest):
    clusters: tuple[str, ...] = ()


class DeleteCluster(EcsRequest):
    cluster: str = Field(min_length=1)


class DescribeCapacityProviders(EcsRequest):
    capacity_providers: tuple[str, ...] = ()


class CapacityProviderStrategyItem(EcsRequest):
    capacity_provider: str = Field(min_length=1)
    weight: int = Field(default=0, ge=0, le=1000)
    base: int = Field(default=0, ge=0, le=100_000)


class PutClusterCapacityProviders(EcsRequest):
    cluster: str = Field(min_length=1)
    capacity_providers: tuple[str, ...] = ()
    default_capacity_provider_strategy: tuple[CapacityProviderStrategyItem, ...] = ()


class DeregisterContainerInstance(EcsRequest):
    container_instance: str = Field(min_length=1)
    cluster: str | None = None
    force: bool = False


class ListContainerInstances(Paged):
    cluster: str | None = None
    status: str = "ACTIVE"


class DescribeContainerInstances(EcsRequest):
    cluster: str | None = None
    container_instances: tuple[str, ...] = ()


class StopTask(EcsRequest):
    task: str = Field(min_length=1)
    cluster: str | None = None
    reason: str | None = None


class DescribeTasks(EcsRequest):
    cluster: str | None = None
    tasks: tuple[str, ...] = ()


class ListTasks(Paged):
    cluster: str | None = None
    desired_status: str = "RUNNING"
    service_name: str | None = None
    family: str | None = None
    container_instance: str | None = None
    started_by: str | None = None
    launch_type: str | None = None


class DescribeServices(EcsRequest):
    cluster: str | None = None
    services: tuple[str, ...] = ()


class ListServices(Paged):
    cluster: str | None = None
    launch_type: str | None = None


class DeleteService(EcsRequest):
    service: str = Field(min_length=1)
    cluster: str | None = None
    force: bool = False


class UpdateService(EcsRequest):
    service: str = Field(min_length=1)
    cluster: str | None = None
    desired_count: int | None = None
    task_definition: str | None = None
    deployment_configuration: DeploymentConfiguration | None = None
    force_new_deployment: bool = False
    health_check_grace_period_seconds: int | None = None


def _path(location: Sequence[str | int]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def invalid_parameter(error: pydantic.ValidationError) -> InvalidParameterException:
    """ECS's answer to the first problem pydantic found, naming the member."""
    problem = error.errors()[0]
    location = [part if isinstance(part, int) else str(part) for part in problem["loc"]]
    kind = problem["type"]
    blank = kind == "missing" or (
        kind == "string_too_short" and (problem.get("ctx") or {}).get("min_length") == 1
    )
    if blank and len(location) > 1:
        return InvalidParameterException(
            f'Missing required parameter in input at {_path(location[:-1])}: "{location[-1]}"'
        )
    member = _path(location)
    if blank:
        return InvalidParameterException(f"{member} can not be blank.")
    sentence = _TYPES.get(kind, f"{problem['msg'][:1].lower()}{problem['msg'][1:]}.")
    return InvalidParameterException(f"{member} {sentence}")


def parse_ecs(model: type[E], params: Mapping[str, Any]) -> E:
    """Validate an ECS request body against ``model``, or raise InvalidParameterException."""
    try:
        return model.model_validate(dict(params))
    except pydantic.ValidationError as error:
        raise invalid_parameter(error) from None
