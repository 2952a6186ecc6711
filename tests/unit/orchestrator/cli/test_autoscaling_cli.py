"""``barista autoscaling|ec2|cloudwatch …`` end to end: options, output formats, AWS's errors."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from tests.unit.orchestrator.cli.conftest import Barista, Server, free_port

TEMPLATE_DATA = json.dumps(
    {
        "ImageId": "barista/service:latest",
        "InstanceType": "t3.micro",
        "BaristaContainer": {"Command": ["barista", "serve", "barista"]},
    }
)


def create_group(barista: Barista, name: str = "baristas") -> None:
    result = barista(
        "ec2",
        "create-launch-template",
        "--launch-template-name",
        name,
        "--launch-template-data",
        TEMPLATE_DATA,
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    result = barista(
        "autoscaling",
        "create-auto-scaling-group",
        "--auto-scaling-group-name",
        name,
        "--launch-template",
        f"LaunchTemplateName={name},Version='$Latest'",
        "--min-size",
        "1",
        "--max-size",
        "4",
        "--desired-capacity",
        "2",
        "--availability-zones",
        "az-a",
        "az-b",
    )
    assert result.code == 0, result.err
    assert result.out == ""  # AWS prints nothing for an empty response


def converge(server: Server) -> None:
    with Store(server.store_path) as store:
        AutoScalingController(store, server.runtime).reconcile_once()


def test_json_output_is_the_exact_api_response(barista: Barista, server: Server):
    create_group(barista)
    converge(server)
    result = barista("autoscaling", "describe-auto-scaling-groups", "--output", "json")
    assert result.code == 0, result.err
    (group,) = json.loads(result.out)["AutoScalingGroups"]
    assert group["AutoScalingGroupName"] == "baristas"
    assert group["LaunchTemplate"]["Version"] == "$Latest"
    assert len(group["Instances"]) == 2
    assert result.out.startswith('{\n    "AutoScalingGroups"')  # indented like the AWS CLI


def test_table_output_shows_the_group_and_its_instances(barista: Barista, server: Server):
    create_group(barista)
    converge(server)
    result = barista("autoscaling", "describe-auto-scaling-groups")
    assert result.code == 0, result.err
    assert "AutoScalingGroups" in result.out
    assert "baristas" in result.out
    assert "InService" in result.out
    instance_id = server.runtime.instances("baristas")[0].instance_id
    assert instance_id in result.out
    activities = barista(
        "autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", "baristas"
    )
    assert "Launching a new EC2 instance" in activities.out
    assert "Successful" in activities.out


def test_text_output_is_tab_separated(barista: Barista):
    create_group(barista)
    result = barista("autoscaling", "describe-termination-policy-types", "--output", "text")
    assert result.out.startswith("TERMINATIONPOLICYTYPES\tDefault\tOldestInstance")


def test_service_errors_print_aws_line_and_exit_254(barista: Barista):
    create_group(barista)
    result = barista(
        "autoscaling",
        "set-desired-capacity",
        "--auto-scaling-group-name",
        "baristas",
        "--desired-capacity",
        "9",
    )
    assert result.code == 254
    assert result.out == ""
    assert result.err.strip() == (
        "An error occurred (ValidationError) when calling the SetDesiredCapacity operation: "
        "New SetDesiredCapacity value 9 is above max value 4 for the AutoScalingGroup."
    )
    result = barista(
        "autoscaling",
        "set-desired-capacity",
        "--auto-scaling-group-name",
        "ghost",
        "--desired-capacity",
        "1",
    )
    assert result.code == 254
    assert "AutoScalingGroup name not found - AutoScalingGroup ghost not found" in result.err


def test_usage_errors_exit_252(barista: Barista):
    missing = barista("autoscaling", "set-desired-capacity", "--desired-capacity", "1")
    assert missing.code == 252
    assert "the following arguments are required: --auto-scaling-group-name" in missing.err
    not_a_number = barista(
        "autoscaling",
        "set-desired-capacity",
        "--auto-scaling-group-name",
        "g",
        "--desired-capacity",
        "many",
    )
    assert not_a_number.code == 252
    assert "invalid int value: 'many'" in not_a_number.err
    unknown_verb = barista("autoscaling", "make-coffee")
    assert unknown_verb.code == 252
    bad_shorthand = barista(
        "autoscaling",
        "create-auto-scaling-group",
        "--auto-scaling-group-name",
        "g",
        "--launch-template",
        "LaunchTemplateName",
        "--min-size",
        "0",
        "--max-size",
        "1",
    )
    assert bad_shorthand.code == 252
    assert "Error parsing parameter '--launch-template': Expected: '='" in bad_shorthand.err


def test_unreachable_endpoint_names_it_and_how_to_start(barista: Barista):
    url = f"http://127.0.0.1:{free_port()}"
    result = barista("autoscaling", "describe-auto-scaling-groups", "--endpoint-url", url)
    assert result.code == 255
    assert f'Could not connect to the endpoint URL: "{url}"' in result.err
    assert "make up" in result.err


def test_file_arguments_and_cli_input_json(barista: Barista, tmp_path: Path):
    create_group(barista)
    config = tmp_path / "cfg.json"
    config.write_text(
        json.dumps(
            {
                "TargetValue": 100,
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Namespace": "AWS/SQS",
                    "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                    "Statistic": "Sum",
                },
            }
        )
    )
    result = barista(
        "autoscaling",
        "put-scaling-policy",
        "--auto-scaling-group-name",
        "baristas",
        "--policy-name",
        "backlog",
        "--policy-type",
        "TargetTrackingScaling",
        "--target-tracking-configuration",
        f"file://{config}",
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    response = json.loads(result.out)
    assert response["PolicyARN"].endswith("policyName/backlog")
    assert len(response["Alarms"]) == 2
    request = tmp_path / "desired.json"
    request.write_text(json.dumps({"AutoScalingGroupName": "baristas", "DesiredCapacity": 1}))
    # --cli-input-json gives the request; an option given beside it wins.
    result = barista(
        "autoscaling",
        "set-desired-capacity",
        "--cli-input-json",
        f"file://{request}",
        "--desired-capacity",
        "3",
    )
    assert result.code == 0, result.err
    described = json.loads(
        barista("autoscaling", "describe-auto-scaling-groups", "--output", "json").out
    )
    assert described["AutoScalingGroups"][0]["DesiredCapacity"] == 3
    missing = barista(
        "autoscaling",
        "set-desired-capacity",
        "--cli-input-json",
        f"file://{tmp_path / 'nope.json'}",
    )
    assert missing.code == 252
    assert "Unable to load paramfile" in missing.err


def test_boolean_pairs_and_structure_lists(barista: Barista, server: Server):
    create_group(barista)
    converge(server)
    instance_id = server.runtime.instances("baristas")[0].instance_id
    result = barista(
        "autoscaling",
        "set-instance-protection",
        "--auto-scaling-group-name",
        "baristas",
        "--instance-ids",
        instance_id,
        "--protected-from-scale-in",
    )
    assert result.code == 0, result.err
    listed = json.loads(
        barista("autoscaling", "describe-auto-scaling-instances", "--output", "json").out
    )
    protected = {i["InstanceId"]: i["ProtectedFromScaleIn"] for i in listed["AutoScalingInstances"]}
    assert protected[instance_id] is True
    barista(
        "autoscaling",
        "set-instance-protection",
        "--auto-scaling-group-name",
        "baristas",
        "--instance-ids",
        instance_id,
        "--no-protected-from-scale-in",
    )
    listed = json.loads(
        barista("autoscaling", "describe-auto-scaling-instances", "--output", "json").out
    )
    assert all(not i["ProtectedFromScaleIn"] for i in listed["AutoScalingInstances"])
    step = barista(
        "autoscaling",
        "put-scaling-policy",
        "--auto-scaling-group-name",
        "baristas",
        "--policy-name",
        "add",
        "--policy-type",
        "StepScaling",
        "--adjustment-type",
        "ChangeInCapacity",
        "--step-adjustments",
        "MetricIntervalLowerBound=0,MetricIntervalUpperBound=50,ScalingAdjustment=1",
        "MetricIntervalLowerBound=50,ScalingAdjustment=2",
        "--output",
        "json",
    )
    assert step.code == 0, step.err
    arn = json.loads(step.out)["PolicyARN"]
    alarm = barista(
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "backlog-high",
        "--namespace",
        "AWS/SQS",
        "--metric-name",
        "ApproximateNumberOfMessagesVisible",
        "--dimensions",
        "Name=QueueName,Value=orders",
        "--evaluation-periods",
        "2",
        "--threshold",
        "100",
        "--comparison-operator",
        "GreaterThanOrEqualToThreshold",
        "--alarm-actions",
        arn,
    )
    assert alarm.code == 0, alarm.err
    described = barista("cloudwatch", "describe-alarms")
    assert "backlog-high" in described.out
    assert "INSUFFICIENT_DATA" in described.out
    policies = json.loads(barista("autoscaling", "describe-policies", "--output", "json").out)
    (policy,) = policies["ScalingPolicies"]
    assert [s["ScalingAdjustment"] for s in policy["StepAdjustments"]] == [1, 2]
    assert policy["Alarms"][0]["AlarmName"] == "backlog-high"


def test_launch_template_versions_table(barista: Barista):
    create_group(barista)
    result = barista(
        "ec2",
        "create-launch-template-version",
        "--launch-template-name",
        "baristas",
        "--source-version",
        "1",
        "--launch-template-data",
        '{"ImageId": "barista/service:v2"}',
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["LaunchTemplateVersion"]["VersionNumber"] == 2
    table = barista("ec2", "describe-launch-templates")
    assert "LatestVersionNumber" in table.out
    assert "baristas" in table.out
    refused = barista(
        "ec2",
        "create-launch-template",
        "--launch-template-name",
        "x-template",
        "--launch-template-data",
        '{"ImageId": "x", "UserData": "abc"}',
    )
    assert refused.code == 254
    assert (
        "An error occurred (InvalidUserData.Malformed) when calling the CreateLaunchTemplate "
        "operation" in refused.err
    )


def test_generate_cli_skeleton_round_trips_through_cli_input_json(barista: Barista, tmp_path: Path):
    create_group(barista)
    result = barista("autoscaling", "set-desired-capacity", "--generate-cli-skeleton")
    assert result.code == 0
    skeleton = json.loads(result.out)
    assert skeleton == {"AutoScalingGroupName": "", "DesiredCapacity": 0, "HonorCooldown": True}
    skeleton.update(AutoScalingGroupName="baristas", DesiredCapacity=4)
    request = tmp_path / "request.json"
    request.write_text(json.dumps(skeleton))
    assert (
        barista("autoscaling", "set-desired-capacity", "--cli-input-json", f"file://{request}").code
        == 0
    )
    described = json.loads(
        barista("autoscaling", "describe-auto-scaling-groups", "--output", "json").out
    )
    assert described["AutoScalingGroups"][0]["DesiredCapacity"] == 4


def test_lifecycle_hook_verbs_hold_and_release_a_terminating_instance(
    barista: Barista, server: Server
):
    create_group(barista)
    converge(server)
    hook = ("--auto-scaling-group-name", "baristas", "--lifecycle-hook-name", "finish-the-cup")
    result = barista(
        "autoscaling",
        "put-lifecycle-hook",
        *hook,
        "--lifecycle-transition",
        "autoscaling:EC2_INSTANCE_TERMINATING",
        "--heartbeat-timeout",
        "120",
        "--default-result",
        "CONTINUE",
    )
    assert result.code == 0, result.err
    result = barista(
        "autoscaling",
        "describe-lifecycle-hooks",
        "--auto-scaling-group-name",
        "baristas",
        "--output",
        "json",
    )
    (described,) = json.loads(result.out)["LifecycleHooks"]
    assert (described["HeartbeatTimeout"], described["GlobalTimeout"]) == (120, 12000)
    victim = server.runtime.instances("baristas")[0].instance_id
    result = barista(
        "autoscaling",
        "terminate-instance-in-auto-scaling-group",
        "--instance-id",
        victim,
        "--no-should-decrement-desired-capacity",
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["Activity"]["StatusCode"] == "InProgress"
    converge(server)
    result = barista(
        "autoscaling",
        "describe-auto-scaling-instances",
        "--instance-ids",
        victim,
        "--output",
        "json",
    )
    assert json.loads(result.out)["AutoScalingInstances"][0]["LifecycleState"] == "Terminating:Wait"
    assert (
        barista(
            "autoscaling", "record-lifecycle-action-heartbeat", *hook, "--instance-id", victim
        ).code
        == 0
    )
    result = barista(
        "autoscaling",
        "complete-lifecycle-action",
        *hook,
        "--instance-id",
        victim,
        "--lifecycle-action-result",
        "CONTINUE",
    )
    assert result.code == 0, result.err
    converge(server)
    assert victim in server.runtime.terminated
    again = barista(
        "autoscaling",
        "complete-lifecycle-action",
        *hook,
        "--instance-id",
        victim,
        "--lifecycle-action-result",
        "CONTINUE",
    )
    assert again.code != 0
    assert "No active Lifecycle Action found with instance ID" in again.err
    assert barista("autoscaling", "delete-lifecycle-hook", *hook).code == 0
    types = barista("autoscaling", "describe-lifecycle-hook-types", "--output", "json")
    assert "autoscaling:EC2_INSTANCE_LAUNCHING" in json.loads(types.out)["LifecycleHookTypes"]


def test_warm_pool_verbs_put_describe_and_delete_a_pool(barista: Barista, server: Server):
    create_group(barista)
    group = ("--auto-scaling-group-name", "baristas")
    result = barista(
        "autoscaling",
        "put-warm-pool",
        *group,
        "--min-size",
        "1",
        "--max-group-prepared-capacity",
        "3",
        "--pool-state",
        "Hibernated",
        "--instance-reuse-policy",
        "ReuseOnScaleIn=true",
    )
    assert result.code == 0, result.err
    converge(server)
    described = json.loads(
        barista("autoscaling", "describe-warm-pool", *group, "--output", "json").out
    )
    assert described["WarmPoolConfiguration"] == {
        "MinSize": 1,
        "MaxGroupPreparedCapacity": 3,
        "PoolState": "Hibernated",
        "InstanceReusePolicy": {"ReuseOnScaleIn": True},
    }
    (warm,) = described["Instances"]  # prepared 3 - desired 2
    assert warm["LifecycleState"] == "Warmed:Hibernated"  # healthy at once on the fake
    refused = barista("autoscaling", "put-warm-pool", *group, "--pool-state", "Frozen")
    assert refused.code != 0
    assert "Invalid PoolState: Frozen" in refused.err
    assert barista("autoscaling", "delete-warm-pool", *group).code == 0
    described = json.loads(
        barista("autoscaling", "describe-warm-pool", *group, "--output", "json").out
    )
    assert described["WarmPoolConfiguration"]["Status"] == "PendingDelete"


def test_instance_refresh_verbs_start_describe_and_roll_back(barista: Barista, server: Server):
    create_group(barista)
    converge(server)
    group = ("--auto-scaling-group-name", "baristas")
    result = barista(
        "autoscaling",
        "start-instance-refresh",
        *group,
        "--desired-configuration",
        json.dumps({"LaunchTemplate": {"LaunchTemplateName": "baristas", "Version": "1"}}),
        "--preferences",
        json.dumps({"MinHealthyPercentage": 50, "InstanceWarmup": 0}),
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    refresh_id = json.loads(result.out)["InstanceRefreshId"]
    described = json.loads(
        barista("autoscaling", "describe-instance-refreshes", *group, "--output", "json").out
    )
    (refresh,) = described["InstanceRefreshes"]
    assert (refresh["InstanceRefreshId"], refresh["InstancesToUpdate"]) == (refresh_id, 2)
    refused = barista(
        "autoscaling", "start-instance-refresh", *group, "--preferences", "MaxHealthyPercentage=99"
    )
    assert refused.code != 0
    assert "maxHealthyPercentage" in refused.err or "MaxHealthyPercentage" in refused.err
    assert barista("autoscaling", "rollback-instance-refresh", *group).code == 0
    converge(server)
    described = json.loads(
        barista("autoscaling", "describe-instance-refreshes", *group, "--output", "json").out
    )
    assert described["InstanceRefreshes"][0]["Status"] == "RollbackSuccessful"
