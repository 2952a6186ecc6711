"""ECS's requests through boto3: a member missing, blank or of the wrong type is ECS's
InvalidParameterException naming it, never an HTTP 500 from a dict read by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_endpoint import CREDENTIALS, serve

TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1"


@pytest.fixture
def ecs(tmp_path: Path) -> Iterator[Any]:
    context = ApiContext(
        tmp_path / "barista.db",
        FakeRuntime(start=datetime(2026, 11, 28).timestamp()),
        credentials=CREDENTIALS,
    )
    with serve(context) as endpoint:
        client = endpoint.client("ecs")
        client.create_cluster(clusterName="shop")
        client.register_task_definition(
            family="web",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": "barista/service:latest",
                    "memory": 128,
                    "portMappings": [{"containerPort": 8080}],
                }
            ],
        )
        yield client


def refused(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error: dict[str, str] = raised.value.response["Error"]
    return error


def service(**members: Any) -> dict[str, Any]:
    return {
        "cluster": "shop",
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 1,
        "launchType": "EC2",
        **members,
    }


def test_a_load_balancer_without_container_name_is_an_invalid_parameter(ecs: Any) -> None:
    error = refused(
        ecs.create_service,
        **service(loadBalancers=[{"targetGroupArn": TARGET_GROUP, "containerPort": 8080}]),
    )
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"] == (
        'Missing required parameter in input at loadBalancers[0]: "containerName"'
    )
    assert ecs.list_services(cluster="shop")["serviceArns"] == []


def test_a_blank_container_name_is_refused_as_missing(ecs: Any) -> None:
    balancer = {"targetGroupArn": TARGET_GROUP, "containerName": "", "containerPort": 8080}
    error = refused(ecs.create_service, **service(loadBalancers=[balancer]))
    assert error["Code"] == "InvalidParameterException"
    assert '"containerName"' in error["Message"]


def test_a_placement_strategy_without_type_names_its_member(ecs: Any) -> None:
    error = refused(ecs.create_service, **service(placementStrategy=[{"field": "memory"}]))
    assert error == {
        "Code": "InvalidParameterException",
        "Message": 'Missing required parameter in input at placementStrategy[0]: "type"',
    }


def test_a_blank_service_name_keeps_ecs_sentence(ecs: Any) -> None:
    error = refused(ecs.create_service, **service(serviceName=""))
    assert error == {
        "Code": "InvalidParameterException",
        "Message": "serviceName can not be blank.",
    }


def test_a_well_formed_load_balancer_is_kept(ecs: Any) -> None:
    balancer = {"targetGroupArn": TARGET_GROUP, "containerName": "app", "containerPort": 8080}
    created = ecs.create_service(**service(loadBalancers=[balancer]))["service"]
    assert created["loadBalancers"] == [balancer]
    updated = ecs.update_service(
        cluster="shop",
        service="web",
        deploymentConfiguration={
            "minimumHealthyPercent": 50,
            "maximumPercent": 150,
            "deploymentCircuitBreaker": {"enable": True, "rollback": False},
        },
    )["service"]
    assert updated["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert updated["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": False,
    }


def test_run_task_starts_at_most_ten_tasks_per_call(ecs: Any) -> None:
    error = refused(ecs.run_task, cluster="shop", taskDefinition="web", count=11)
    assert error == {
        "Code": "InvalidParameterException",
        "Message": "count input should be less than or equal to 10.",
    }
    assert ecs.list_tasks(cluster="shop")["taskArns"] == []


def test_a_capacity_providers_target_capacity_is_a_percentage(ecs: Any) -> None:
    group = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/ecs"
    error = refused(
        ecs.create_capacity_provider,
        name="ec2",
        autoScalingGroupProvider={
            "autoScalingGroupArn": group,
            "managedScaling": {"status": "ENABLED", "targetCapacity": 101},
        },
    )
    assert error == {
        "Code": "InvalidParameterException",
        "Message": (
            "autoScalingGroupProvider.managedScaling.targetCapacity input should be less than "
            "or equal to 100."
        ),
    }
    assert ecs.describe_capacity_providers()["capacityProviders"] == []


def test_a_container_instance_registers_its_resources_and_attributes(ecs: Any) -> None:
    registered = ecs.register_container_instance(
        cluster="shop",
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
        ],
        attributes=[{"name": "ecs.availability-zone", "value": "az-b"}, {"name": "team"}],
    )["containerInstance"]
    resources = {r["name"]: r["integerValue"] for r in registered["registeredResources"]}
    assert (resources["CPU"], resources["MEMORY"]) == (2048, 4096)
    attributes = {a["name"]: a.get("value") for a in registered["attributes"]}
    assert attributes["ecs.availability-zone"] == "az-b"
    assert "team" in attributes
