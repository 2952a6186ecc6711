"""Amazon ECS's actions: ``POST /api/ecs/{Action}``, AWS's camelCase shapes and errors.

ECS speaks JSON with lowerCamelCase members (``taskDefinition``, ``desiredCount``), so request
bodies are read as AWS's API reference spells them; timestamps answer as epoch seconds, as
ECS's wire format does (the AWS CLI prints them as dates). Actions change desired state in
the store and answer at once; ``EcsController`` does the work on its next pass.

RegisterTaskDefinition takes a definition as ``register-task-definition --cli-input-json``
gives it, or a real account's ``describe-task-definition`` output as it is; its answer adds
``unsupportedFields``, naming the members Barista keeps but may safely ignore (the members it
does not honour are refused; see ``orchestrator.ecs.members``).

RegisterContainerInstance is Barista's way to add EC2-style capacity by hand (AWS's agent
calls it from the instance): ``totalResources`` CPU and MEMORY, ``attributes``, the
``ecs.availability-zone`` attribute for the zone, and ``instanceIdentityDocument`` (the
instance's identity document, JSON) for the EC2 instance id (``instanceId``) and, without the
attribute, the zone (``availabilityZone``).

Every action's members are held to botocore's ECS model before the handler runs
(``orchestrator.ecs.members``): unknown members and members Barista does not honour are
refused with InvalidParameterException, the harmless rest is accepted. Refusals use only the
error codes of ECS's model (``orchestrator.ecs.errors``), so SDKs raise them by name.

The ``List*`` actions page with ``maxResults`` and ``nextToken`` as ECS does
(``orchestrator.ecs.operations.list_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api import _ecs_requests as requests
from orchestrator.api._ecs_requests import parse_ecs
from orchestrator.ecs import operations
from orchestrator.ecs.deployment import failed_to_start
from orchestrator.ecs.errors import (
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    InvalidParameterException,
)
from orchestrator.ecs.members import check_request
from orchestrator.ecs.model import (
    CapacityProvider,
    Cluster,
    ContainerInstance,
    DeploymentConfiguration,
    LoadBalancer,
    PlacementConstraint,
    PlacementStrategy,
    Service,
    Task,
    TaskStatus,
)
from orchestrator.ecs.operations import cluster_name
from orchestrator.ecs.state import EcsStore
from orchestrator.ecs.task_definition import TaskDefinition
from orchestrator.paging import Page

SERVICE = "ecs"


def _task_definition_doc(definition: TaskDefinition) -> dict[str, Any]:
    return {
        **definition.document,
        "taskDefinitionArn": definition.arn,
        "family": definition.family,
        "revision": definition.revision,
        "status": definition.status,
        "compatibilities": ["EC2", "FARGATE"],
        "registeredAt": definition.registered_at,
    }


def _cluster_doc(store: EcsStore, cluster: Cluster) -> dict[str, Any]:
    tasks = store.tasks(cluster=cluster.name, stopped=False)
    services = [s for s in store.services(cluster.name) if s.status == "ACTIVE"]
    return {
        "clusterArn": cluster.arn,
        "clusterName": cluster.name,
        "status": cluster.status,
        "registeredContainerInstancesCount": len(store.container_instances(cluster.name)),
        "runningTasksCount": sum(t.last_status is TaskStatus.RUNNING for t in tasks),
        "pendingTasksCount": sum(
            t.last_status in (TaskStatus.PROVISIONING, TaskStatus.PENDING) for t in tasks
        ),
        "activeServicesCount": len(services),
        "capacityProviders": list(cluster.capacity_providers),
    }


def _provider_doc(provider: CapacityProvider) -> dict[str, Any]:
    return {
        "capacityProviderArn": provider.arn,
        "name": provider.name,
        "status": provider.status,
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": provider.auto_scaling_group_name,
            "managedScaling": {
                "status": "ENABLED" if provider.managed_scaling else "DISABLED",
                "targetCapacity": provider.target_capacity,
                "minimumScalingStepSize": provider.minimum_scaling_step_size,
                "maximumScalingStepSize": provider.maximum_scaling_step_size,
                "instanceWarmupPeriod": provider.instance_warmup_period,
            },
            "managedTerminationProtection": "DISABLED",
        },
    }


def _instance_doc(store: EcsStore, instance: ContainerInstance) -> dict[str, Any]:
    used_cpu = used_memory = running = pending = 0
    for task in store.tasks(cluster=instance.cluster, stopped=False):
        if task.container_instance != instance.instance_id:
            continue
        definition = operations.resolve_task_definition(store, task.task_definition)
        used_cpu += definition.required_cpu
        used_memory += definition.required_memory
        running += task.last_status is TaskStatus.RUNNING
        pending += task.last_status is not TaskStatus.RUNNING
    resources = (("CPU", instance.cpu, used_cpu), ("MEMORY", instance.memory, used_memory))
    return {
        "containerInstanceArn": instance.arn,
        "ec2InstanceId": instance.ec2_instance_id,
        "status": instance.status,
        "agentConnected": True,
        "registeredAt": instance.registered_at,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "registeredResources": [
            {"name": name, "type": "INTEGER", "integerValue": total} for name, total, _ in resources
        ],
        "remainingResources": [
            {"name": name, "type": "INTEGER", "integerValue": total - used}
            for name, total, used in resources
        ],
        "attributes": [
            {"name": "ecs.availability-zone", "value": instance.availability_zone},
            *({"name": k, "value": v} for k, v in instance.attributes),
        ],
    }


def _task_doc(task: Task) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "taskArn": task.arn,
        "clusterArn": Cluster(task.cluster).arn,
        "taskDefinitionArn": operations.task_definition_arn_of(task.task_definition),
        "lastStatus": task.last_status.value,
        "desiredStatus": task.desired_status.value,
        "healthStatus": task.health_status.value,
        "launchType": task.launch_type.value,
        "group": task.group,
        "createdAt": task.created_at,
        "availabilityZone": task.availability_zone,
        "containers": [
            {
                "name": c.name,
                "lastStatus": c.last_status,
                "healthStatus": c.health_status.value,
                **({"exitCode": c.exit_code} if c.exit_code is not None else {}),
            }
            for c in task.containers
        ],
    }
    optional = {
        "startedBy": task.started_by,
        "startedAt": task.started_at,
        "stoppingAt": task.stopping_at,
        "stoppedAt": task.stopped_at,
        "stopCode": task.stop_code.value if task.stop_code else None,
        "stoppedReason": task.stopped_reason,
        "containerInstanceArn": operations.container_instance_arn(
            task.cluster, task.container_instance
        )
        if task.container_instance
        else None,
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    if task.address:
        doc["attachments"] = [
            {
                "type": "ElasticNetworkInterface",
                "status": "ATTACHED",
                "details": [{"name": "privateIPv4Address", "value": task.address}],
            }
        ]
    if task.placement_reason and task.last_status is TaskStatus.PROVISIONING:
        doc["barista:placementReason"] = task.placement_reason
    return doc


def _service_doc(store: EcsStore, service: Service) -> dict[str, Any]:
    tasks = store.tasks(cluster=service.cluster, service=service.name, stopped=False)
    config = service.deployment_configuration
    return {
        "serviceArn": service.arn,
        "serviceName": service.name,
        "clusterArn": Cluster(service.cluster).arn,
        "status": service.status,
        "desiredCount": service.desired_count,
        "runningCount": sum(t.last_status is TaskStatus.RUNNING for t in tasks),
        "pendingCount": sum(
            t.last_status in (TaskStatus.PROVISIONING, TaskStatus.PENDING) for t in tasks
        ),
        "launchType": service.launch_type.value,
        "healthCheckGracePeriodSeconds": service.health_check_grace_period_seconds,
        "taskDefinition": operations.task_definition_arn_of(service.task_definition),
        "createdAt": service.created_at,
        "loadBalancers": [
            {
                "targetGroupArn": b.target_group_arn,
                "containerName": b.container_name,
                "containerPort": b.container_port,
            }
            for b in service.load_balancers
        ],
        "deploymentConfiguration": {
            "minimumHealthyPercent": config.minimum_healthy_percent,
            "maximumPercent": config.maximum_percent,
            "deploymentCircuitBreaker": {
                "enable": config.circuit_breaker_enable,
                "rollback": config.circuit_breaker_rollback,
            },
        },
        "deployments": [
            {
                "id": d.deployment_id,
                "status": d.status,
                "taskDefinition": operations.task_definition_arn_of(d.task_definition),
                "desiredCount": service.desired_count if d.status == "PRIMARY" else 0,
                "runningCount": sum(
                    t.deployment_id == d.deployment_id and t.last_status is TaskStatus.RUNNING
                    for t in tasks
                ),
                "failedTasks": sum(
                    1
                    for t in store.tasks(cluster=service.cluster, service=service.name)
                    if t.deployment_id == d.deployment_id and failed_to_start(t)
                ),
                "createdAt": d.created_at,
                "updatedAt": d.updated_at,
                "rolloutState": d.rollout_state,
                "rolloutStateReason": d.rollout_state_reason,
            }
            for d in reversed(service.deployments)
        ],
        "placementStrategy": [
            {"type": s.type, **({"field": s.field} if s.field else {})}
            for s in service.placement_strategy
        ],
        "placementConstraints": [
            {"type": c.type, **({"expression": c.expression} if c.expression else {})}
            for c in service.placement_constraints
        ],
        "events": [
            {"id": e.event_id, "createdAt": e.created_at, "message": e.message}
            for e in store.events(service.cluster, service.name)
        ],
    }


def _deployment_configuration(
    value: requests.DeploymentConfiguration | None,
) -> DeploymentConfiguration | None:
    if value is None:
        return None
    breaker = value.deployment_circuit_breaker or requests.DeploymentCircuitBreaker()
    return DeploymentConfiguration(
        minimum_healthy_percent=value.minimum_healthy_percent,
        maximum_percent=value.maximum_percent,
        circuit_breaker_enable=breaker.enable,
        circuit_breaker_rollback=breaker.rollback,
    )


def _identity(text: str | None) -> dict[str, Any]:
    """The EC2 instance identity document AWS's agent sends, as a dict."""
    if not text:
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise InvalidParameterException("instanceIdentityDocument must be a JSON object.")
    return document


def _checked(action: str, handler: Action) -> Action:
    """``handler`` behind the model check of ``action``'s members."""

    def checked(params: Params) -> Mapping[str, Any]:
        check_request(action, params)
        return handler(params)

    return checked


def _listed(member: str, items: Sequence[Any], page: Page[Any]) -> dict[str, Any]:
    """A list action's answer: ``member``, and ``nextToken`` unless it was the last page."""
    answer: dict[str, Any] = {member: list(items)}
    if page.next_token is not None:
        answer["nextToken"] = page.next_token
    return answer


def _failures(references: Sequence[str], reason: str = "MISSING") -> list[dict[str, str]]:
    return [{"arn": r, "reason": reason} for r in references]


def actions(context: ApiContext) -> dict[str, Action]:  # noqa: PLR0915 - one closure per action
    """ECS's actions over the store; the controller does the work."""
    now: Callable[[], float] = context.runtime.now

    def store() -> EcsStore:
        return EcsStore(context.store_path)

    def register_task_definition(params: Params) -> Mapping[str, Any]:
        with store() as s:
            definition = operations.register_task_definition(s, params, now())
        return {
            "taskDefinition": _task_definition_doc(definition),
            "unsupportedFields": list(definition.unsupported),
        }

    def describe_task_definition(params: Params) -> Mapping[str, Any]:
        reference = parse_ecs(requests.TaskDefinitionReference, params).task_definition
        with store() as s:
            definition = operations.resolve_task_definition(s, reference)
        return {"taskDefinition": _task_definition_doc(definition), "tags": []}

    def list_task_definitions(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.ListTaskDefinitions, params)
        with store() as s:
            page = operations.list_task_definitions(
                s,
                request.family_prefix,
                request.status,
                request.sort,
                request.max_results,
                request.next_token,
            )
        return _listed("taskDefinitionArns", [d.arn for d in page.items], page)

    def list_task_definition_families(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.ListTaskDefinitionFamilies, params)
        with store() as s:
            page = operations.list_task_definition_families(
                s, request.family_prefix, request.status, request.max_results, request.next_token
            )
        return _listed("families", page.items, page)

    def deregister_task_definition(params: Params) -> Mapping[str, Any]:
        reference = parse_ecs(requests.TaskDefinitionReference, params).task_definition
        with store() as s:
            definition = operations.resolve_task_definition(s, reference)
            s.set_task_definition_status(definition.family, definition.revision, "INACTIVE")
            definition = s.task_definition(definition.family, definition.revision)
        return {"taskDefinition": _task_definition_doc(definition)}

    def create_cluster(params: Params) -> Mapping[str, Any]:
        with store() as s:
            cluster = operations.create_cluster(
                s, parse_ecs(requests.CreateCluster, params).cluster_name
            )
            return {"cluster": _cluster_doc(s, cluster)}

    def describe_clusters(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DescribeClusters, params)
        wanted = [cluster_name(c) for c in request.clusters] or ["default"]
        with store() as s:
            known = s.clusters()
            found = [_cluster_doc(s, known[n]) for n in wanted if n in known]
        missing = [n for n in wanted if n not in known]
        return {"clusters": found, "failures": _failures(missing)}

    def list_clusters(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.Paged, params)
        with store() as s:
            page = operations.list_clusters(s, request.max_results, request.next_token)
        return _listed("clusterArns", [c.arn for c in page.items], page)

    def delete_cluster(params: Params) -> Mapping[str, Any]:
        with store() as s:
            cluster = operations.find_cluster(s, parse_ecs(requests.DeleteCluster, params).cluster)
            if [x for x in s.services(cluster.name) if x.status == "ACTIVE"]:
                raise ClusterContainsServicesException()
            if s.tasks(cluster=cluster.name, stopped=False):
                raise ClusterContainsTasksException()
            inactive = Cluster(cluster.name, status="INACTIVE")
            s.put_cluster(inactive)
            return {"cluster": _cluster_doc(s, inactive)}

    def create_capacity_provider(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.CreateCapacityProvider, params)
        provider_of = request.auto_scaling_group_provider
        scaling = provider_of.managed_scaling
        with store() as s:
            provider = operations.create_capacity_provider(
                s,
                request.name,
                provider_of.auto_scaling_group_arn,
                managed_scaling=scaling.status == "ENABLED",
                target_capacity=scaling.target_capacity,
                minimum_scaling_step_size=scaling.minimum_scaling_step_size,
                maximum_scaling_step_size=scaling.maximum_scaling_step_size,
                instance_warmup_period=scaling.instance_warmup_period,
            )
        return {"capacityProvider": _provider_doc(provider)}

    def describe_capacity_providers(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DescribeCapacityProviders, params)
        wanted = {n.rsplit("/", 1)[-1] for n in request.capacity_providers}
        with store() as s:
            found = [
                _provider_doc(p)
                for p in s.capacity_providers().values()
                if not wanted or p.name in wanted
            ]
        return {"capacityProviders": found, "failures": []}

    def put_cluster_capacity_providers(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.PutClusterCapacityProviders, params)
        names = list(request.capacity_providers)
        for item in request.default_capacity_provider_strategy:
            if item.capacity_provider not in names:
                raise InvalidParameterException(
                    "The specified capacity provider strategy cannot contain a capacity "
                    "provider that is not associated with the cluster. Associate the capacity "
                    "provider with the cluster or specify a valid capacity provider and try "
                    "again."
                )
        with store() as s:
            cluster = operations.put_cluster_capacity_providers(s, request.cluster, names)
            return {"cluster": _cluster_doc(s, cluster)}

    def register_container_instance(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.RegisterContainerInstance, params)
        resources = {r.name: r.integer_value for r in request.total_resources}
        attributes = [(a.name, a.value) for a in request.attributes]
        identity = _identity(request.instance_identity_document)
        zone = dict(attributes).get(
            "ecs.availability-zone", str(identity.get("availabilityZone") or "az-a")
        )
        attributes = [a for a in attributes if a[0] != "ecs.availability-zone"]
        with store() as s:
            instance = operations.register_container_instance(
                s,
                request.cluster,
                cpu=resources.get("CPU", 0),
                memory=resources.get("MEMORY", 0),
                availability_zone=zone,
                attributes=attributes,
                ec2_instance_id=str(identity["instanceId"]) if identity.get("instanceId") else None,
                now=now(),
            )
            return {"containerInstance": _instance_doc(s, instance)}

    def deregister_container_instance(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DeregisterContainerInstance, params)
        instance_id = request.container_instance.rsplit("/", 1)[-1]
        with store() as s:
            cluster = operations.find_cluster(s, request.cluster)
            found = [i for i in s.container_instances(cluster.name) if i.instance_id == instance_id]
            if not found:
                raise InvalidParameterException("Container instance not found.")
            s.delete_container_instance(instance_id)
            return {"containerInstance": {**_instance_doc(s, found[0]), "status": "INACTIVE"}}

    def list_container_instances(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.ListContainerInstances, params)
        with store() as s:
            page = operations.list_container_instances(
                s, request.cluster, request.status, request.max_results, request.next_token
            )
        return _listed("containerInstanceArns", [i.arn for i in page.items], page)

    def describe_container_instances(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DescribeContainerInstances, params)
        wanted = {r.rsplit("/", 1)[-1] for r in request.container_instances}
        with store() as s:
            cluster = operations.find_cluster(s, request.cluster)
            found = [
                _instance_doc(s, i)
                for i in s.container_instances(cluster.name)
                if not wanted or i.instance_id in wanted
            ]
        return {"containerInstances": found, "failures": []}

    def run_task(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.RunTask, params)
        with store() as s:
            operations.find_cluster(s, request.cluster)
            operations.check_network_configuration(
                operations.resolve_task_definition(s, request.task_definition),
                request.network_configuration,
            )
            tasks = operations.run_task(
                s,
                request.cluster,
                request.task_definition,
                count=request.count,
                launch_type=request.launch_type,
                started_by=request.started_by,
                group=request.group,
                now=now(),
            )
        return {"tasks": [_task_doc(t) for t in tasks], "failures": []}

    def stop_task(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.StopTask, params)
        with store() as s:
            task = operations.stop_task(s, request.cluster, request.task, request.reason)
        return {"task": _task_doc(task)}

    def describe_tasks(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DescribeTasks, params)
        references = list(request.tasks)
        if not references:
            raise InvalidParameterException("Tasks cannot be empty.")
        found, missing = [], []
        with store() as s:
            for reference in references:
                try:
                    found.append(_task_doc(operations.find_task(s, request.cluster, reference)))
                except InvalidParameterException:
                    missing.append(reference)
        return {"tasks": found, "failures": _failures(missing)}

    def list_tasks(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.ListTasks, params)
        wanted = operations.TaskFilter(
            desired_status=request.desired_status,
            service=request.service_name,
            family=request.family,
            container_instance=request.container_instance,
            started_by=request.started_by,
            launch_type=request.launch_type,
        )
        with store() as s:
            page = operations.list_tasks(
                s, request.cluster, wanted, request.max_results, request.next_token
            )
        return _listed("taskArns", [t.arn for t in page.items], page)

    def create_service(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.CreateService, params)
        with store() as s:
            operations.find_cluster(s, request.cluster)
            operations.check_network_configuration(
                operations.resolve_task_definition(s, request.task_definition),
                request.network_configuration,
            )
            service = operations.create_service(
                s,
                request.cluster,
                request.service_name,
                request.task_definition,
                request.desired_count or 0,
                launch_type=request.launch_type,
                load_balancers=[
                    LoadBalancer(b.target_group_arn, b.container_name, b.container_port)
                    for b in request.load_balancers
                ],
                deployment_configuration=_deployment_configuration(
                    request.deployment_configuration
                ),
                placement_strategy=[
                    PlacementStrategy(p.type, p.field) for p in request.placement_strategy
                ],
                placement_constraints=[
                    PlacementConstraint(p.type, p.expression) for p in request.placement_constraints
                ],
                health_check_grace_period_seconds=request.health_check_grace_period_seconds or 0,
                now=now(),
            )
            return {"service": _service_doc(s, service)}

    def update_service(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.UpdateService, params)
        with store() as s:
            service = operations.update_service(
                s,
                request.cluster,
                request.service,
                desired_count=request.desired_count,
                task_definition=request.task_definition,
                deployment_configuration=_deployment_configuration(
                    request.deployment_configuration
                ),
                force_new_deployment=request.force_new_deployment,
                health_check_grace_period_seconds=request.health_check_grace_period_seconds,
                now=now(),
            )
            return {"service": _service_doc(s, service)}

    def describe_services(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DescribeServices, params)
        references = list(request.services)
        found, missing = [], []
        with store() as s:
            cluster = operations.find_cluster(s, request.cluster).name
            for reference in references:
                service = s.service(cluster, reference.rsplit("/", 1)[-1])
                if service is None:
                    missing.append(reference)
                else:
                    found.append(_service_doc(s, service))
        return {"services": found, "failures": _failures(missing)}

    def list_services(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.ListServices, params)
        with store() as s:
            page = operations.list_services(
                s, request.cluster, request.launch_type, request.max_results, request.next_token
            )
        return _listed("serviceArns", [x.arn for x in page.items], page)

    def delete_service(params: Params) -> Mapping[str, Any]:
        request = parse_ecs(requests.DeleteService, params)
        with store() as s:
            service = operations.delete_service(s, request.cluster, request.service, request.force)
            return {"service": _service_doc(s, service)}

    handlers: dict[str, Action] = {
        "DescribeTaskDefinition": describe_task_definition,
        "ListTaskDefinitions": list_task_definitions,
        "ListTaskDefinitionFamilies": list_task_definition_families,
        "DeregisterTaskDefinition": deregister_task_definition,
        "CreateCluster": create_cluster,
        "DescribeClusters": describe_clusters,
        "ListClusters": list_clusters,
        "DeleteCluster": delete_cluster,
        "CreateCapacityProvider": create_capacity_provider,
        "DescribeCapacityProviders": describe_capacity_providers,
        "PutClusterCapacityProviders": put_cluster_capacity_providers,
        "RegisterContainerInstance": register_container_instance,
        "DeregisterContainerInstance": deregister_container_instance,
        "ListContainerInstances": list_container_instances,
        "DescribeContainerInstances": describe_container_instances,
        "RunTask": run_task,
        "StopTask": stop_task,
        "DescribeTasks": describe_tasks,
        "ListTasks": list_tasks,
        "CreateService": create_service,
        "UpdateService": update_service,
        "DescribeServices": describe_services,
        "ListServices": list_services,
        "DeleteService": delete_service,
    }
    # RegisterTaskDefinition checks its members once it has unwrapped describe's output.
    return {
        "RegisterTaskDefinition": register_task_definition,
        **{name: _checked(name, handler) for name, handler in handlers.items()},
    }
