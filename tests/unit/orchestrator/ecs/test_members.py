"""ECS's requests held to botocore's model: unknown members, members Barista does not honour,
awsvpc network configuration, Fargate task sizes, missing clusters, and error codes."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.model import ListShape, StructureShape
from botocore.validate import ParamValidator

from orchestrator.api import ApiContext
from orchestrator.api import ecs as ecs_api
from orchestrator.ecs import errors
from orchestrator.ecs.members import HONOURED, check_request, ecs_model
from orchestrator.ecs.task_definition import (
    FARGATE_MEMORY,
    ClientException,
    parse_task_definition,
)
from orchestrator.errors import AwsError
from orchestrator.runtime.fake import FakeRuntime

FIXTURE = Path(__file__).parent / "fixtures" / "describe-task-definition.json"
GROUP = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/hosts"
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1"
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}}


def fargate(cpu: str = "256", memory: str = "512", **container: object) -> dict[str, Any]:
    return {
        "family": "web",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": [{"name": "app", "image": "barista/service:latest", **container}],
    }


@pytest.fixture
def call(tmp_path: Path) -> Callable[[str, Mapping[str, Any]], Mapping[str, Any]]:
    actions = ecs_api.actions(
        ApiContext(store_path=tmp_path / "b.db", runtime=FakeRuntime(start=1.8e9))
    )
    return lambda action, params: actions[action](params)


def refusal(call: Callable[[], object]) -> AwsError:
    with pytest.raises(AwsError) as raised:
        call()
    return raised.value


# workingDirectory, AWS's name


def test_working_directory_is_read_under_aws_name():
    definition = parse_task_definition(
        {
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "x", "memory": 64, "workingDirectory": "/srv"}
            ],
        }
    )
    assert definition.container("app").working_dir == "/srv"


def test_working_dir_is_not_aws_name_and_is_refused_by_name():
    error = refusal(
        lambda: parse_task_definition(
            {
                "family": "web",
                "containerDefinitions": [
                    {"name": "app", "image": "x", "memory": 64, "workingDir": "/srv"}
                ],
            }
        )
    )
    assert error.code == "InvalidParameterException"
    assert error.message.startswith(
        'Unknown parameter in input at containerDefinitions[0]: "workingDir", must be one of: '
    )
    assert "workingDirectory" in error.message


# Unknown members and members Barista does not honour


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("DescribeServices", {"services": ["web"], "servics": []}, '"servics"'),
        (
            "CreateService",
            {"serviceName": "web", "deploymentConfiguration": {"maximumPercnt": 200}},
            'at deploymentConfiguration: "maximumPercnt"',
        ),
        (
            "CreateService",
            {"serviceName": "web", "loadBalancers": [{"targetGroup": TARGET_GROUP}]},
            'at loadBalancers[0]: "targetGroup"',
        ),
        (
            "RunTask",
            {"taskDefinition": "web", "networkConfiguration": {"awsvpcConfig": {}}},
            'at networkConfiguration: "awsvpcConfig"',
        ),
        ("RegisterContainerInstance", {"ec2InstanceId": "i-1"}, '"ec2InstanceId"'),
    ],
)
def test_unknown_members_are_refused_with_the_valid_names(
    action: str, params: dict[str, Any], message: str
):
    error = refusal(lambda: check_request(action, params))
    assert error.code == "InvalidParameterException"
    assert "Unknown parameter in input" in error.message
    assert message in error.message
    assert "must be one of: " in error.message


@pytest.mark.parametrize(
    ("action", "params", "member"),
    [
        ("RunTask", {"taskDefinition": "web", "overrides": {"cpu": "512"}}, "overrides"),
        (
            "RunTask",
            {"taskDefinition": "web", "capacityProviderStrategy": [{"capacityProvider": "x"}]},
            "capacityProviderStrategy",
        ),
        (
            "CreateService",
            {"serviceName": "web", "serviceRegistries": [{"registryArn": "arn:x"}]},
            "serviceRegistries",
        ),
        (
            "CreateService",
            {
                "serviceName": "web",
                "deploymentConfiguration": {
                    "alarms": {"alarmNames": ["high"], "enable": True, "rollback": True}
                },
            },
            "deploymentConfiguration.alarms",
        ),
        (
            "CreateService",
            {"serviceName": "web", "schedulingStrategy": "DAEMON"},
            "schedulingStrategy 'DAEMON'",
        ),
        (
            "CreateService",
            {"serviceName": "web", "deploymentController": {"type": "CODE_DEPLOY"}},
            "deploymentController.type 'CODE_DEPLOY'",
        ),
        ("UpdateService", {"service": "web", "loadBalancers": [{}]}, "loadBalancers"),
        ("CreateCluster", {"settings": [{"name": "containerInsights"}]}, "settings"),
        (
            "CreateCapacityProvider",
            {
                "name": "hosts",
                "autoScalingGroupProvider": {
                    "autoScalingGroupArn": GROUP,
                    "managedTerminationProtection": "ENABLED",
                },
            },
            "autoScalingGroupProvider.managedTerminationProtection 'ENABLED'",
        ),
        ("ListTasks", {"daemonName": "d"}, "daemonName"),
    ],
)
def test_model_members_barista_does_not_honour_are_refused_not_dropped(
    action: str, params: dict[str, Any], member: str
):
    error = refusal(lambda: check_request(action, params))
    assert error.code == "InvalidParameterException"
    assert error.message.startswith(f"Barista does not support {member}")


def test_a_real_definition_with_secrets_is_refused_rather_than_run_without_them():
    error = refusal(lambda: parse_task_definition(json.loads(FIXTURE.read_text())))
    assert error.message == "Barista does not support containerDefinitions[0].secrets."


@pytest.mark.parametrize(
    "member",
    [
        {"volumes": [{"name": "data"}]},
        {"pidMode": "task"},
        {"ephemeralStorage": {"sizeInGiB": 40}},
        {"enableFaultInjection": True},
    ],
)
def test_task_level_members_barista_does_not_honour_are_refused(member: dict[str, Any]):
    document = {**fargate(), **member}
    error = refusal(lambda: parse_task_definition(document))
    assert error.message == f"Barista does not support {next(iter(member))}."


def test_empty_values_ask_for_nothing_and_are_accepted():
    ignored = check_request(
        "CreateService",
        {
            "serviceName": "web",
            "serviceRegistries": [],
            "enableExecuteCommand": False,
            "deploymentConfiguration": {
                "alarms": {"alarmNames": [], "enable": False, "rollback": False}
            },
        },
    )
    assert ignored == []


# Every action takes what boto3 sends


def _idempotency_tokens(action: str) -> dict[str, str]:
    shape = ecs_model().operation_model(action).input_shape
    assert shape is not None
    return {
        name: "3f0c8a38-9f7b-4d7e-9a0e-0b0b2e6d1a52"
        for name, member in shape.members.items()
        if member.metadata.get("idempotencyToken")
    }


BOTO3_REQUESTS: dict[str, dict[str, Any]] = {
    "RegisterTaskDefinition": {
        **fargate(
            "512",
            "1024",
            workingDirectory="/srv",
            portMappings=[
                {"containerPort": 8000, "protocol": "tcp", "name": "http", "appProtocol": "http"}
            ],
            logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
            healthCheck={"command": ["CMD", "true"], "interval": 30},
            stopTimeout=120,
        ),
        "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "tags": [{"key": "team", "value": "coffee"}],
    },
    "DescribeTaskDefinition": {"taskDefinition": "web:1", "include": ["TAGS"]},
    "ListTaskDefinitions": {"familyPrefix": "web", "status": "ACTIVE", "sort": "DESC"},
    "ListTaskDefinitionFamilies": {"familyPrefix": "w", "status": "ALL", "maxResults": 10},
    "DeregisterTaskDefinition": {"taskDefinition": "web:1"},
    "CreateCluster": {"clusterName": "shop", "tags": [{"key": "team", "value": "coffee"}]},
    "DescribeClusters": {"clusters": ["shop"], "include": ["STATISTICS"]},
    "ListClusters": {"maxResults": 10},
    "DeleteCluster": {"cluster": "shop"},
    "CreateCapacityProvider": {
        "name": "hosts",
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": GROUP,
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
            "managedTerminationProtection": "DISABLED",
        },
    },
    "DescribeCapacityProviders": {"capacityProviders": ["hosts"], "include": ["TAGS"]},
    "PutClusterCapacityProviders": {
        "cluster": "shop",
        "capacityProviders": ["hosts"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "hosts", "weight": 1}],
    },
    "RegisterContainerInstance": {
        "cluster": "shop",
        "instanceIdentityDocument": json.dumps(
            {"instanceId": "i-0abc", "availabilityZone": "us-east-1a"}
        ),
        "totalResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
        ],
        "attributes": [{"name": "ecs.instance-type", "value": "t3.medium"}],
    },
    "DeregisterContainerInstance": {"cluster": "shop", "containerInstance": "abc", "force": True},
    "ListContainerInstances": {"cluster": "shop", "status": "ACTIVE"},
    "DescribeContainerInstances": {"cluster": "shop", "containerInstances": ["abc"]},
    "RunTask": {
        "cluster": "shop",
        "taskDefinition": "web",
        "count": 1,
        "launchType": "FARGATE",
        "networkConfiguration": AWSVPC,
        "startedBy": "me",
        "enableECSManagedTags": False,
        "enableExecuteCommand": False,
    },
    "StopTask": {"cluster": "shop", "task": "abc", "reason": "done"},
    "DescribeTasks": {"cluster": "shop", "tasks": ["abc"], "include": ["TAGS"]},
    "ListTasks": {"cluster": "shop", "serviceName": "web", "desiredStatus": "RUNNING"},
    "CreateService": {
        "cluster": "shop",
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 2,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "loadBalancers": [
            {"targetGroupArn": TARGET_GROUP, "containerName": "app", "containerPort": 8000}
        ],
        "networkConfiguration": AWSVPC,
        "deploymentConfiguration": {
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "strategy": "ROLLING",
        },
        "healthCheckGracePeriodSeconds": 60,
        "enableECSManagedTags": False,
        "enableExecuteCommand": False,
        "propagateTags": "NONE",
    },
    "UpdateService": {
        "cluster": "shop",
        "service": "web",
        "desiredCount": 3,
        "taskDefinition": "web:2",
        "forceNewDeployment": True,
        "networkConfiguration": AWSVPC,
    },
    "DescribeServices": {"cluster": "shop", "services": ["web"], "include": ["TAGS"]},
    "ListServices": {"cluster": "shop", "launchType": "FARGATE", "schedulingStrategy": "REPLICA"},
    "DeleteService": {"cluster": "shop", "service": "web", "force": True},
}


def test_every_action_barista_serves_has_a_boto3_shaped_request_here(tmp_path: Path):
    actions = ecs_api.actions(ApiContext(store_path=tmp_path / "b.db", runtime=FakeRuntime()))
    assert set(actions) == set(BOTO3_REQUESTS)


@pytest.mark.parametrize("action", sorted(BOTO3_REQUESTS))
def test_a_boto3_shaped_request_is_not_refused(action: str):
    params = {**BOTO3_REQUESTS[action], **_idempotency_tokens(action)}
    model = ecs_model().operation_model(action).input_shape
    report = ParamValidator().validate(params, model)
    assert not report.has_errors(), report.generate_report()  # as boto3 would send it
    check_request(action, params)


def test_every_structure_reached_through_an_honoured_member_is_declared():
    model = ecs_model()
    for name, declared in HONOURED.items():
        shape = model.shape_for(name)
        assert isinstance(shape, StructureShape)
        named = declared.honoured | declared.ignored | set(declared.only)
        assert named <= set(shape.members), (name, named - set(shape.members))

    def reached(shape: Any) -> StructureShape | None:
        while isinstance(shape, ListShape):
            shape = shape.member
        return shape if isinstance(shape, StructureShape) else None

    for action in BOTO3_REQUESTS:
        pending = [model.operation_model(action).input_shape]
        while pending:
            shape = pending.pop()
            assert shape is not None
            assert shape.name in HONOURED, f"{action} reaches undeclared {shape.name}"
            for member in HONOURED[shape.name].honoured:
                inner = reached(shape.members[member])
                if inner is not None:
                    pending.append(inner)


# awsvpc needs a network configuration


def _cluster_with(call: Callable[[str, Mapping[str, Any]], Any], definition: dict[str, Any]):
    call("CreateCluster", {"clusterName": "shop"})
    call("RegisterTaskDefinition", definition)


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("RunTask", {"cluster": "shop", "taskDefinition": "web"}),
        ("CreateService", {"cluster": "shop", "serviceName": "web", "taskDefinition": "web"}),
    ],
)
def test_awsvpc_without_network_configuration_is_refused(call, action, params):
    _cluster_with(call, fargate())
    error = refusal(lambda: call(action, params))
    assert (error.code, error.message) == (
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    )
    assert call(action, {**params, "networkConfiguration": AWSVPC})


def test_network_configuration_for_a_bridge_task_is_refused(call):
    _cluster_with(
        call,
        {
            "family": "web",
            "networkMode": "bridge",
            "containerDefinitions": [{"name": "app", "image": "x", "memory": 64}],
        },
    )
    error = refusal(
        lambda: call(
            "RunTask", {"cluster": "shop", "taskDefinition": "web", "networkConfiguration": AWSVPC}
        )
    )
    assert error.message.startswith("Network Configuration is not valid for the given networkMode")


def test_awsvpc_configuration_needs_its_subnets():
    error = refusal(
        lambda: check_request(
            "RunTask",
            {"taskDefinition": "web", "networkConfiguration": {"awsvpcConfiguration": {}}},
        )
    )
    assert error.message == (
        'Missing required parameter in input at networkConfiguration.awsvpcConfiguration: "subnets"'
    )


# Fargate's task sizes and stopTimeout


def _valid_sizes() -> list[tuple[int, int]]:
    return [(cpu, memory) for cpu, memories in FARGATE_MEMORY.items() for memory in memories]


def test_fargate_sizes_are_aws_table():
    sizes = _valid_sizes()
    assert [m for c, m in sizes if c == 256] == [512, 1024, 2048]
    assert [m for c, m in sizes if c == 512] == [1024, 2048, 3072, 4096]
    assert [m for c, m in sizes if c == 1024] == list(range(2048, 8193, 1024))
    assert [m for c, m in sizes if c == 8192][:2] == [16384, 20480]
    assert max(m for c, m in sizes if c == 8192) == 61440
    assert [m for c, m in sizes if c == 16384][:2] == [32768, 40960]
    assert max(m for c, m in sizes if c == 16384) == 122880
    for cpu, memory in sizes:
        assert parse_task_definition(fargate(str(cpu), str(memory))).cpu == cpu


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [("256", "256"), ("256", "1536"), ("512", "512"), ("1024", "9216"), ("8192", "18432"),
     ("16384", "36864"), ("128", "512"), ("4096", "31744")],
)  # fmt: skip
def test_other_fargate_sizes_are_refused_in_aws_words(cpu: str, memory: str):
    with pytest.raises(ClientException) as raised:
        parse_task_definition(fargate(cpu, memory))
    assert raised.value.message == (
        f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
        "See the Amazon ECS documentation for the valid values."
    )


def test_fargate_size_in_vcpu_and_gb_is_checked_after_conversion():
    assert parse_task_definition(fargate("1 vCPU", "2 GB")).memory == 2048
    with pytest.raises(ClientException, match="1024 CPU, 1024 memory"):
        parse_task_definition(fargate("1 vCPU", "1 GB"))


def test_fargate_stop_timeout_is_at_most_120_seconds():
    assert parse_task_definition(fargate(stopTimeout=120)).container("app").stop_timeout == 120
    with pytest.raises(ClientException, match="maximum on Fargate is 120 seconds"):
        parse_task_definition(fargate(stopTimeout=121))
    ec2 = {**fargate(stopTimeout=600), "requiresCompatibilities": ["EC2"]}
    assert parse_task_definition(ec2).container("app").stop_timeout == 600


def test_fargate_launch_type_holds_an_ec2_definition_to_fargate_sizes(call):
    _cluster_with(
        call,
        {**fargate("256", "256", stopTimeout=30), "requiresCompatibilities": ["EC2"]},
    )
    error = refusal(
        lambda: call(
            "RunTask",
            {
                "cluster": "shop",
                "taskDefinition": "web",
                "launchType": "FARGATE",
                "networkConfiguration": AWSVPC,
            },
        )
    )
    assert error.code == "ClientException"
    assert error.message.startswith("No Fargate configuration exists for given values: 256 CPU")


# Missing clusters, and codes the SDKs know


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("DescribeServices", {"cluster": "nowhere", "services": ["web"]}),
        ("DescribeTasks", {"cluster": "nowhere", "tasks": ["abc"]}),
        ("UpdateService", {"cluster": "nowhere", "service": "web", "desiredCount": 1}),
        ("DeleteService", {"cluster": "nowhere", "service": "web"}),
        ("StopTask", {"cluster": "nowhere", "task": "abc"}),
        ("ListServices", {"cluster": "nowhere"}),
        ("ListTasks", {"cluster": "nowhere"}),
        ("RunTask", {"cluster": "nowhere", "taskDefinition": "web"}),
        ("DeregisterContainerInstance", {"cluster": "nowhere", "containerInstance": "abc"}),
    ],
)
def test_actions_in_a_missing_cluster_answer_cluster_not_found(call, action, params):
    error = refusal(lambda: call(action, params))
    assert (error.code, error.message) == ("ClusterNotFoundException", "Cluster not found.")


def test_a_missing_service_in_an_existing_cluster_is_a_failure_not_an_error(call):
    call("CreateCluster", {"clusterName": "shop"})
    answer = call("DescribeServices", {"cluster": "shop", "services": ["web"]})
    assert answer == {"services": [], "failures": [{"arn": "web", "reason": "MISSING"}]}


def test_every_ecs_error_code_is_in_botocore_ecs_model():
    codes = {shape.name for shape in ecs_model().error_shapes}
    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, AwsError) and cls.__module__ == errors.__name__
    ]
    assert len(classes) >= 7
    for cls in classes:
        parameters = inspect.signature(cls).parameters
        error = cls("x") if parameters else cls()
        assert error.code in codes


def test_register_container_instance_reads_the_identity_document(call):
    call("CreateCluster", {"clusterName": "shop"})
    answer = call("RegisterContainerInstance", BOTO3_REQUESTS["RegisterContainerInstance"])
    instance = answer["containerInstance"]
    assert instance["ec2InstanceId"] == "i-0abc"
    assert {"name": "ecs.availability-zone", "value": "us-east-1a"} in instance["attributes"]
