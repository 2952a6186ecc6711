"""``POST /api/ecs/{Action}`` and ``barista ecs …``: AWS's shapes, the real-AWS fixture."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.ecs.controller import EcsController
from orchestrator.runtime.tasks import FakeTaskRuntime
from tests.unit.orchestrator.cli.conftest import (  # noqa: F401 - fixtures shared with the CLI tests
    Barista,
    Server,
    barista,
    server,
)

FIXTURE = Path(__file__).parent / "fixtures" / "describe-task-definition.json"


def ok(result) -> dict:
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_the_real_aws_describe_output_registers_with_cli_input_json(
    barista: Barista,  # noqa: F811
    tmp_path: Path,
):
    # Less its secrets, which Barista refuses rather than start the container without them.
    document = json.loads(FIXTURE.read_text())
    del document["taskDefinition"]["containerDefinitions"][0]["secrets"]
    copied = tmp_path / "describe-task-definition.json"
    copied.write_text(json.dumps(document))
    registered = ok(
        barista(
            "ecs",
            "register-task-definition",
            "--cli-input-json",
            f"file://{copied}",
            "--output",
            "json",
        )
    )
    definition = registered["taskDefinition"]
    assert definition["taskDefinitionArn"].endswith(":task-definition/order-api:1")
    assert definition["revision"] == 1
    assert definition["cpu"] == "512"
    assert definition["containerDefinitions"][0]["logConfiguration"]["logDriver"] == "awslogs"
    assert "containerDefinitions[0].logConfiguration" in registered["unsupportedFields"]
    assert "taskRoleArn" in registered["unsupportedFields"]
    described = ok(
        barista(
            "ecs", "describe-task-definition", "--task-definition", "order-api", "--output", "json"
        )
    )
    assert described["taskDefinition"]["family"] == "order-api"
    again = ok(
        barista(
            "ecs",
            "register-task-definition",
            "--cli-input-json",
            f"file://{copied}",
            "--output",
            "json",
        )
    )
    assert again["taskDefinition"]["revision"] == 2
    arns = ok(barista("ecs", "list-task-definitions", "--output", "json"))["taskDefinitionArns"]
    assert [a.rsplit("/", 1)[-1] for a in arns] == ["order-api:1", "order-api:2"]


def test_an_invalid_definition_is_refused_with_ecs_client_exception(barista: Barista):  # noqa: F811
    result = barista(
        "ecs",
        "register-task-definition",
        "--family",
        "web",
        "--container-definitions",
        '[{"name": "web", "image": "x"}]',
    )
    assert result.code == 254
    assert "ClientException" in result.err
    assert "At least one of 'memory' or 'memoryReservation'" in result.err


def test_service_lifecycle_through_the_cli(barista: Barista, server: Server):  # noqa: F811
    ok(barista("ecs", "create-cluster", "--cluster-name", "shop", "--output", "json"))
    ok(
        barista(
            "ecs",
            "register-task-definition",
            "--family",
            "web",
            "--container-definitions",
            '[{"name": "app", "image": "barista/service:latest", "memory": 128, "cpu": 256}]',
            "--output",
            "json",
        )
    )
    ok(
        barista(
            "ecs",
            "register-container-instance",
            "--cluster",
            "shop",
            "--total-resources",
            "name=CPU,type=INTEGER,integerValue=1024",
            "name=MEMORY,type=INTEGER,integerValue=512",
            "--attributes",
            "name=ecs.availability-zone,value=az-b",
            "--output",
            "json",
        )
    )
    created = ok(
        barista(
            "ecs",
            "create-service",
            "--cluster",
            "shop",
            "--service-name",
            "web",
            "--task-definition",
            "web",
            "--desired-count",
            "5",
            "--placement-strategy",
            "type=binpack,field=memory",
            "--deployment-configuration",
            "minimumHealthyPercent=50,maximumPercent=200,"
            "deploymentCircuitBreaker={enable=true,rollback=true}",
            "--output",
            "json",
        )
    )["service"]
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert created["launchType"] == "EC2"
    runtime = FakeTaskRuntime()
    controller = EcsController(server.store_path, runtime, clock=server.runtime.now)
    controller.reconcile_once()  # placed and started: PENDING
    controller.reconcile_once()  # seen running: RUNNING
    (service,) = ok(
        barista(
            "ecs", "describe-services", "--cluster", "shop", "--services", "web", "--output", "json"
        )
    )["services"]
    assert (service["runningCount"], service["pendingCount"]) == (4, 1)
    assert any(
        "was unable to place a task because no container instance met all of its requirements"
        in e["message"]
        for e in service["events"]
    )
    (instance,) = ok(
        barista("ecs", "describe-container-instances", "--cluster", "shop", "--output", "json")
    )["containerInstances"]
    remaining = {r["name"]: r["integerValue"] for r in instance["remainingResources"]}
    assert remaining == {"CPU": 0, "MEMORY": 0}
    arns = ok(barista("ecs", "list-tasks", "--cluster", "shop", "--output", "json"))["taskArns"]
    tasks = ok(
        barista("ecs", "describe-tasks", "--cluster", "shop", "--tasks", *arns, "--output", "json")
    )["tasks"]
    statuses = sorted(t["lastStatus"] for t in tasks)
    assert statuses == ["PROVISIONING"] + ["RUNNING"] * 4
    stopped = ok(
        barista(
            "ecs",
            "stop-task",
            "--cluster",
            "shop",
            "--task",
            arns[0],
            "--reason",
            "bye",
            "--output",
            "json",
        )
    )["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == "bye"
    refused = barista("ecs", "delete-service", "--cluster", "shop", "--service", "web")
    assert refused.code == 254
    assert "InvalidParameterException" in refused.err
    deleted = ok(
        barista(
            "ecs",
            "delete-service",
            "--cluster",
            "shop",
            "--service",
            "web",
            "--force",
            "--output",
            "json",
        )
    )["service"]
    assert deleted["status"] == "DRAINING"
    controller.close()


BACKLOG_POLICY = {
    "TargetValue": 10,
    "CustomizedMetricSpecification": {
        "Metrics": [
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {
                        "MetricName": "ApproximateNumberOfMessagesVisible",
                        "Namespace": "AWS/SQS",
                        "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                    },
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {
                "Id": "m2",
                "MetricStat": {
                    "Metric": {
                        "MetricName": "RunningTaskCount",
                        "Namespace": "ECS/ContainerInsights",
                        "Dimensions": [
                            {"Name": "ClusterName", "Value": "shop"},
                            {"Name": "ServiceName", "Value": "baristas"},
                        ],
                    },
                    "Stat": "Average",
                },
                "ReturnData": False,
            },
            {"Id": "e1", "Expression": "m1 / m2", "ReturnData": True},
        ]
    },
    "ScaleOutCooldown": 60,
}


def test_service_auto_scaling_through_the_cli(barista: Barista, tmp_path: Path):  # noqa: F811
    ok(barista("ecs", "create-cluster", "--cluster-name", "shop", "--output", "json"))
    ok(
        barista(
            "ecs",
            "register-task-definition",
            "--family",
            "barista",
            "--container-definitions",
            '[{"name": "app", "image": "barista/service:latest", "memory": 128}]',
            "--output",
            "json",
        )
    )
    target = ["--service-namespace", "ecs", "--scalable-dimension", "ecs:service:DesiredCount"]
    refused = barista(
        "application-autoscaling",
        "register-scalable-target",
        *target,
        "--resource-id",
        "service/shop/baristas",
        "--min-capacity",
        "1",
        "--max-capacity",
        "8",
    )
    assert refused.code == 254
    assert "ECS service doesn't exist" in refused.err
    ok(
        barista(
            "ecs",
            "create-service",
            "--cluster",
            "shop",
            "--service-name",
            "baristas",
            "--task-definition",
            "barista",
            "--desired-count",
            "1",
            "--output",
            "json",
        )
    )
    ok(
        barista(
            "application-autoscaling",
            "register-scalable-target",
            *target,
            "--resource-id",
            "service/shop/baristas",
            "--min-capacity",
            "1",
            "--max-capacity",
            "8",
            "--output",
            "json",
        )
    )
    config = tmp_path / "backlog-per-task.json"
    config.write_text(json.dumps(BACKLOG_POLICY))
    put = ok(
        barista(
            "application-autoscaling",
            "put-scaling-policy",
            *target,
            "--resource-id",
            "service/shop/baristas",
            "--policy-name",
            "backlog",
            "--policy-type",
            "TargetTrackingScaling",
            "--target-tracking-scaling-policy-configuration",
            f"file://{config}",
            "--output",
            "json",
        )
    )
    assert put["PolicyARN"].endswith("policyName/backlog")
    (policy,) = ok(
        barista(
            "application-autoscaling",
            "describe-scaling-policies",
            "--service-namespace",
            "ecs",
            "--output",
            "json",
        )
    )["ScalingPolicies"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    assert spec["Dimensions"] == [{"Name": "QueueName", "Value": "orders"}]
    steps = ok(
        barista(
            "application-autoscaling",
            "put-scaling-policy",
            *target,
            "--resource-id",
            "service/shop/baristas",
            "--policy-name",
            "steps",
            "--policy-type",
            "StepScaling",
            "--step-scaling-policy-configuration",
            '{"AdjustmentType": "ChangeInCapacity", "Cooldown": 60, "StepAdjustments": '
            '[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 50, '
            '"ScalingAdjustment": 1}, {"MetricIntervalLowerBound": 50, "ScalingAdjustment": 3}]}',
            "--output",
            "json",
        )
    )
    assert steps["PolicyARN"].endswith("service/shop/baristas:policyName/steps")
    alarm = barista(
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "orders-deep",
        "--namespace",
        "AWS/SQS",
        "--metric-name",
        "ApproximateNumberOfMessagesVisible",
        "--dimensions",
        '[{"Name": "QueueName", "Value": "orders"}]',
        "--statistic",
        "Sum",
        "--period",
        "60",
        "--evaluation-periods",
        "2",
        "--threshold",
        "100",
        "--comparison-operator",
        "GreaterThanOrEqualToThreshold",
        "--alarm-actions",
        steps["PolicyARN"],
    )
    assert alarm.code == 0, alarm.err  # CloudWatch alarms invoke service policies too
    gaps = barista(
        "application-autoscaling",
        "put-scaling-policy",
        *target,
        "--resource-id",
        "service/shop/baristas",
        "--policy-name",
        "gaps",
        "--policy-type",
        "StepScaling",
        "--step-scaling-policy-configuration",
        '{"StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, '
        '"ScalingAdjustment": 1}, {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]}',
    )
    assert gaps.code == 254
    assert "must not have gaps" in gaps.err
