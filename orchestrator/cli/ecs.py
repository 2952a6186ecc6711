"""``barista ecs …``: the AWS CLI's ``aws ecs`` verbs against Barista's API.

Parameters are ECS's lowerCamelCase members (``--task-definition``, ``--desired-count``);
``register-task-definition --cli-input-json file://task.json`` takes a definition as written
for AWS, or a real account's ``describe-task-definition`` output as it is.
"""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

CLUSTER = Param("cluster", help="the cluster's name or ARN (default: default)")
TASK_DEFINITION = Param("taskDefinition", required=True, help="family, family:revision or ARN")
SERVICE = Param("service", required=True, help="the service's name or ARN")
DEPLOYMENT_CONFIGURATION = Param(
    "deploymentConfiguration",
    "structure",
    help="minimumHealthyPercent=100,maximumPercent=200,"
    "deploymentCircuitBreaker={enable=true,rollback=true}",
)

VERBS = (
    Verb(
        "RegisterTaskDefinition",
        (
            Param("family"),
            Param("containerDefinitions", "structures", help="JSON list, or file://"),
            Param("cpu", help="task CPU units (256) or vCPU (0.25 vCPU)"),
            Param("memory", help="task memory in MiB (512) or GB (0.5 GB)"),
            Param("networkMode", help="awsvpc, bridge, host or none"),
            Param("requiresCompatibilities", "strings", help="EC2, FARGATE"),
            Param("placementConstraints", "structures"),
        ),
        "Register a new revision of a task definition (use --cli-input-json file://…).",
    ),
    Verb(
        "DescribeTaskDefinition",
        (Param("taskDefinition", required=True),),
        "A task definition revision as registered.",
    ),
    Verb(
        "ListTaskDefinitions",
        (Param("familyPrefix"), Param("status", help="ACTIVE or INACTIVE"), Param("sort")),
        "Task definition ARNs.",
    ),
    Verb("ListTaskDefinitionFamilies", (), "Families with an ACTIVE revision."),
    Verb(
        "DeregisterTaskDefinition",
        (Param("taskDefinition", required=True),),
        "Mark a revision INACTIVE: running tasks and services keep it.",
    ),
    Verb("CreateCluster", (Param("clusterName"),), "Create a cluster (idempotent)."),
    Verb("DescribeClusters", (Param("clusters", "strings"),), "Clusters with their counts."),
    Verb("ListClusters", (), "Cluster ARNs."),
    Verb("DeleteCluster", (Param("cluster", required=True),), "Delete an empty cluster."),
    Verb(
        "CreateCapacityProvider",
        (
            Param("name", required=True),
            Param(
                "autoScalingGroupProvider",
                "structure",
                required=True,
                help="autoScalingGroupArn=NAME,managedScaling={status=ENABLED,targetCapacity=100}",
            ),
        ),
        "An Auto Scaling group as cluster capacity, with managed scaling.",
    ),
    Verb(
        "DescribeCapacityProviders",
        (Param("capacityProviders", "strings"),),
        "Capacity providers and their managed scaling.",
    ),
    Verb(
        "PutClusterCapacityProviders",
        (
            Param("cluster", required=True),
            Param("capacityProviders", "strings", required=True),
            Param("defaultCapacityProviderStrategy", "structures", help="accepted and ignored"),
        ),
        "Attach capacity providers: their groups' instances become container instances.",
    ),
    Verb(
        "RegisterContainerInstance",
        (
            CLUSTER,
            Param(
                "totalResources",
                "structures",
                required=True,
                help="name=CPU,type=INTEGER,integerValue=2048 name=MEMORY,…",
            ),
            Param("attributes", "structures", help="name=ecs.availability-zone,value=az-b …"),
            Param(
                "instanceIdentityDocument",
                help='the instance\'s identity document: {"instanceId": "i-…", '
                '"availabilityZone": "az-a"}',
            ),
        ),
        "Add EC2-style capacity: CPU units and MiB that tasks may reserve.",
    ),
    Verb(
        "DeregisterContainerInstance",
        (CLUSTER, Param("containerInstance", required=True)),
        "Remove a container instance.",
    ),
    Verb("ListContainerInstances", (CLUSTER,), "Container instance ARNs."),
    Verb(
        "DescribeContainerInstances",
        (CLUSTER, Param("containerInstances", "strings")),
        "Registered and remaining CPU and memory, running tasks, attributes.",
    ),
    Verb(
        "RunTask",
        (
            CLUSTER,
            TASK_DEFINITION,
            Param("count", "integer", help="1-10"),
            Param("launchType", help="FARGATE or EC2"),
            Param("startedBy"),
            Param("group"),
            Param(
                "networkConfiguration",
                "structure",
                help="awsvpcConfiguration={subnets=[subnet-az-a]} (awsvpc task definitions)",
            ),
        ),
        "Start tasks; EC2 tasks are placed on container instances.",
    ),
    Verb(
        "StopTask",
        (CLUSTER, Param("task", required=True), Param("reason")),
        "Stop a task (SIGTERM, then SIGKILL after stopTimeout).",
    ),
    Verb(
        "DescribeTasks",
        (CLUSTER, Param("tasks", "strings", required=True)),
        "Tasks with their last and desired status, health, stop code and reason.",
    ),
    Verb(
        "ListTasks",
        (CLUSTER, Param("serviceName"), Param("family"), Param("desiredStatus")),
        "Task ARNs (desired status RUNNING unless asked).",
    ),
    Verb(
        "CreateService",
        (
            CLUSTER,
            Param("serviceName", required=True),
            TASK_DEFINITION,
            Param("desiredCount", "integer"),
            Param("launchType", help="FARGATE or EC2"),
            Param(
                "loadBalancers",
                "structures",
                help="targetGroupArn=arn:…,containerName=app,containerPort=8080",
            ),
            DEPLOYMENT_CONFIGURATION,
            Param("placementStrategy", "structures", help="type=binpack,field=memory …"),
            Param("placementConstraints", "structures", help="type=distinctInstance …"),
            Param("healthCheckGracePeriodSeconds", "integer"),
            Param(
                "networkConfiguration",
                "structure",
                help="awsvpcConfiguration={subnets=[subnet-az-a]} (awsvpc task definitions)",
            ),
        ),
        "Create a service that keeps desiredCount tasks running.",
    ),
    Verb(
        "UpdateService",
        (
            CLUSTER,
            SERVICE,
            Param("desiredCount", "integer"),
            Param("taskDefinition", help="a new revision starts a rolling deployment"),
            DEPLOYMENT_CONFIGURATION,
            Param("forceNewDeployment", "boolean"),
            Param("healthCheckGracePeriodSeconds", "integer"),
            Param(
                "networkConfiguration",
                "structure",
                help="awsvpcConfiguration={subnets=[subnet-az-a]} (awsvpc task definitions)",
            ),
        ),
        "Change the desired count or start a deployment.",
    ),
    Verb(
        "DescribeServices",
        (CLUSTER, Param("services", "strings", required=True)),
        "Services with deployments, rollout state and events.",
    ),
    Verb("ListServices", (CLUSTER,), "Service ARNs."),
    Verb(
        "DeleteService",
        (CLUSTER, SERVICE, Param("force", "boolean")),
        "Delete a service (scaled to 0, or with --force).",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(commands, "ecs", VERBS, help="Elastic Container Service on real containers")
