"""Which members of ECS's requests Barista honours, ignores or refuses, checked against AWS's model.

Every request is walked along its shape in botocore's ECS service model (the one the AWS CLI
and boto3 serialise with), and each member falls in one of four kinds:

- **not in the model**: refused, ``Unknown parameter in input at containerDefinitions[0]:
  "workingDir", must be one of: …`` (InvalidParameterException), as the other services refuse a
  typo rather than drop it;
- **honoured**: Barista acts on it (``HONOURED`` below, per shape);
- **ignored**: in the model, accepted, and without effect because nothing Barista runs could
  tell the difference: tags (Barista tags nothing), ``clientToken`` (boto3 fills it in for
  RunTask), ``include`` and DescribeCapacityProviders' pagination (one full page, no ``nextToken``;
  the List actions do page),
  IAM roles (Barista has no IAM: any container may call it), ``logConfiguration`` and
  ``firelensConfiguration`` (logs stay in Docker's log, ``docker logs``), a port mapping's
  ``name``/``appProtocol`` (only Service Connect reads them), ``platformVersion``,
  ``runtimePlatform`` (containers run on the Docker host's platform), the awsvpc subnets and
  security groups (tasks join the controller's network) and PutClusterCapacityProviders'
  ``defaultCapacityProviderStrategy`` (AWS requires it; every attached provider supplies
  instances). RegisterTaskDefinition lists the ignored members it got in ``unsupportedFields``;
- **not honoured**: in the model but changing what would run (``secrets``, ``volumes``,
  ``overrides``, ``serviceRegistries``, capacity provider strategies on tasks and services, …):
  refused, ``Barista does not support containerDefinitions[0].secrets.``
  (InvalidParameterException), never dropped. A few members are honoured for one value only,
  the one Barista does (``schedulingStrategy`` REPLICA, ``deploymentController.type`` ECS,
  ``deploymentConfiguration.strategy`` ROLLING): other values are refused the same way.

An empty value (``None``, ``false``, ``""``, ``[]``, ``{}``, or a structure of those) asks for
nothing and is accepted for any model member, so ``describe-*`` output and the AWS CLI's
``--generate-cli-skeleton`` with blanks register as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.loaders import create_loader
from botocore.model import ListShape, ServiceModel, Shape, StructureShape

from orchestrator.ecs.errors import InvalidParameterException


@dataclass(frozen=True)
class Members:
    """What Barista does with one structure's members (the rest of the model is refused)."""

    honoured: frozenset[str]
    ignored: frozenset[str] = frozenset()
    only: Mapping[str, frozenset[str]] = field(default_factory=dict)  # member -> values done


def _members(honoured: str, ignored: str = "", **only: str) -> Members:
    return Members(
        frozenset(honoured.split()),
        frozenset(ignored.split()),
        {member: frozenset(values.split()) for member, values in only.items()},
    )


PAGES = "nextToken maxResults"
TAGS = "tags enableECSManagedTags propagateTags"

# Keyed by the model's shape names: a request shape, or a structure reached through an
# honoured member. A structure reached through an ignored member is only checked for names.
HONOURED: Mapping[str, Members] = {
    # Task definitions
    "RegisterTaskDefinitionRequest": _members(
        "family containerDefinitions cpu memory networkMode requiresCompatibilities "
        "placementConstraints",
        "tags taskRoleArn executionRoleArn runtimePlatform",
    ),
    "ContainerDefinition": _members(
        "name image command entryPoint environment portMappings cpu memory memoryReservation "
        "essential healthCheck stopTimeout dependsOn workingDirectory user",
        "logConfiguration firelensConfiguration",
    ),
    "KeyValuePair": _members("name value"),
    "PortMapping": _members("containerPort hostPort protocol", "name appProtocol"),
    "HealthCheck": _members("command interval timeout retries startPeriod"),
    "ContainerDependency": _members("containerName condition"),
    "TaskDefinitionPlacementConstraint": _members("type expression"),
    "DescribeTaskDefinitionRequest": _members("taskDefinition", "include"),
    "ListTaskDefinitionsRequest": _members("familyPrefix status sort " + PAGES),
    "ListTaskDefinitionFamiliesRequest": _members("familyPrefix status " + PAGES),
    "DeregisterTaskDefinitionRequest": _members("taskDefinition"),
    # Clusters and capacity
    "CreateClusterRequest": _members("clusterName", "tags"),
    "DescribeClustersRequest": _members("clusters", "include"),
    "ListClustersRequest": _members(PAGES),
    "DeleteClusterRequest": _members("cluster"),
    "CreateCapacityProviderRequest": _members("name autoScalingGroupProvider", "tags"),
    "AutoScalingGroupProvider": _members(
        "autoScalingGroupArn managedScaling",
        managedTerminationProtection="DISABLED",
        managedDraining="DISABLED",
    ),
    "ManagedScaling": _members(
        "status targetCapacity minimumScalingStepSize maximumScalingStepSize instanceWarmupPeriod"
    ),
    "DescribeCapacityProvidersRequest": _members("capacityProviders", "include " + PAGES),
    "PutClusterCapacityProvidersRequest": _members(
        "cluster capacityProviders", "defaultCapacityProviderStrategy"
    ),
    "RegisterContainerInstanceRequest": _members(
        "cluster totalResources attributes instanceIdentityDocument",
        "instanceIdentityDocumentSignature versionInfo tags",
    ),
    "Resource": _members("name integerValue", "type"),
    "Attribute": _members("name value", "targetType targetId"),
    "DeregisterContainerInstanceRequest": _members("cluster containerInstance", "force"),
    "ListContainerInstancesRequest": _members("cluster status " + PAGES),
    "DescribeContainerInstancesRequest": _members("cluster containerInstances", "include"),
    # Tasks
    "RunTaskRequest": _members(
        "cluster taskDefinition count launchType startedBy group networkConfiguration",
        f"clientToken platformVersion referenceId {TAGS}",
    ),
    "NetworkConfiguration": _members("awsvpcConfiguration"),
    "AwsVpcConfiguration": _members("", "subnets securityGroups assignPublicIp"),
    "StopTaskRequest": _members("cluster task reason"),
    "DescribeTasksRequest": _members("cluster tasks", "include"),
    "ListTasksRequest": _members(
        "cluster family serviceName desiredStatus containerInstance startedBy launchType " + PAGES
    ),
    # Services
    "CreateServiceRequest": _members(
        "cluster serviceName taskDefinition loadBalancers desiredCount launchType "
        "deploymentConfiguration placementConstraints placementStrategy networkConfiguration "
        "healthCheckGracePeriodSeconds deploymentController",
        f"clientToken platformVersion role {TAGS}",
        schedulingStrategy="REPLICA",
    ),
    "UpdateServiceRequest": _members(
        "cluster service desiredCount taskDefinition deploymentConfiguration forceNewDeployment "
        "healthCheckGracePeriodSeconds networkConfiguration deploymentController",
        "platformVersion enableECSManagedTags propagateTags",
    ),
    "LoadBalancer": _members("targetGroupArn containerName containerPort"),
    "DeploymentConfiguration": _members(
        "minimumHealthyPercent maximumPercent deploymentCircuitBreaker", strategy="ROLLING"
    ),
    "DeploymentCircuitBreaker": _members("enable rollback"),
    "DeploymentController": _members("", type="ECS"),
    "PlacementStrategy": _members("type field"),
    "PlacementConstraint": _members("type expression"),
    "DescribeServicesRequest": _members("cluster services", "include"),
    "ListServicesRequest": _members("cluster launchType " + PAGES, schedulingStrategy="REPLICA"),
    "DeleteServiceRequest": _members("cluster service force"),
}


@functools.cache
def ecs_model() -> ServiceModel:
    """botocore's ECS model: the member names the AWS CLI and boto3 send."""
    return ServiceModel(create_loader().load_service_model("ecs", "service-2"), "ecs")


def empty(value: Any) -> bool:
    """Asks for nothing: absent, false, blank, or a structure or list of nothing."""
    if value is None or value is False or value in ("", [], {}):
        return True
    return isinstance(value, Mapping) and all(empty(v) for v in value.values())


def check_request(action: str, params: Mapping[str, Any]) -> list[str]:
    """Refuse members ``action`` does not know or Barista does not honour.

    Returns the paths of the ignored members the request gave a value, in request order.
    """
    shape = ecs_model().operation_model(action).input_shape
    ignored: list[str] = []
    if shape is not None:
        _walk(shape, params, "", True, ignored)
    return ignored


def _where(path: str) -> str:
    return f"input at {path}" if path else "input"


def _check_names(shape: StructureShape, value: Mapping[str, Any], path: str) -> None:
    known = shape.members
    for member in value:
        if member not in known:
            raise InvalidParameterException(
                f'Unknown parameter in {_where(path)}: "{member}", must be one of: '
                + ", ".join(known)
            )
    if path:  # the top level's required members are the actions' own (with ECS's messages)
        for member in shape.required_members:
            if member not in value:
                raise InvalidParameterException(
                    f'Missing required parameter in {_where(path)}: "{member}"'
                )


def _walk(shape: Shape, value: Any, path: str, checked: bool, ignored: list[str]) -> None:
    if isinstance(shape, ListShape):
        if isinstance(value, list):
            for index, item in enumerate(value):
                _walk(shape.member, item, f"{path}[{index}]", checked, ignored)
        return
    if not isinstance(shape, StructureShape) or not isinstance(value, Mapping):
        return  # scalars and wrong types: the action's own parsing answers those
    _check_names(shape, value, path)
    policy = HONOURED.get(shape.name) if checked else None
    for member, item in value.items():
        where = f"{path}.{member}" if path else member
        if policy is None:  # an ignored member's insides: names only
            _walk(shape.members[member], item, where, False, ignored)
        elif member in policy.only:
            if not empty(item) and (not isinstance(item, str) or item not in policy.only[member]):
                allowed = ", ".join(sorted(policy.only[member]))
                raise InvalidParameterException(
                    f"Barista does not support {where} {item!r}: only {allowed}."
                )
        elif member in policy.honoured:
            _walk(shape.members[member], item, where, True, ignored)
        elif member in policy.ignored:
            if not empty(item):
                ignored.append(where)
            _walk(shape.members[member], item, where, False, ignored)
        elif not empty(item):
            raise InvalidParameterException(f"Barista does not support {where}.")
