"""PutScalingPolicy's metric forms, scheduled actions, and the alarms that invoke policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.asg.store import Store
from orchestrator.ecs.scalable_target import (
    REQUESTS,
    ServiceMetric,
    ServiceScalingPolicy,
    tracking_configuration,
)
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling.metrics import CpuUtilizationMetric, QueueBacklogMetric
from orchestrator.scaling.policy import TargetTrackingPolicy
from tests.unit.orchestrator.api.conftest import START, Call, error_of


def queue_metric(queue: str = "orders") -> dict:
    return {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "Dimensions": [{"Name": "QueueName", "Value": queue}],
    }


def backlog_math(group: str, expression: str = "m1 / m2") -> dict:
    """AWS's 'Scaling based on Amazon SQS' metric math, as its guide prints it."""
    return {
        "Metrics": [
            {
                "Label": "Get the queue size (the number of messages waiting to be processed)",
                "Id": "m1",
                "MetricStat": {"Metric": queue_metric(), "Stat": "Sum"},
                "ReturnData": False,
            },
            {
                "Label": "Get the group size (the number of InService instances)",
                "Id": "m2",
                "MetricStat": {
                    "Metric": {
                        "MetricName": "GroupInServiceInstances",
                        "Namespace": "AWS/AutoScaling",
                        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}],
                    },
                    "Stat": "Average",
                },
                "ReturnData": False,
            },
            {
                "Label": "Calculate the backlog per instance",
                "Id": "e1",
                "Expression": expression,
                "ReturnData": True,
            },
        ]
    }


def stored_metric(store_path: Path, policy_name: str):
    with Store(store_path) as store:
        (policy,) = [p for p in store.policies() if p.policy_name == policy_name]
    assert isinstance(policy.definition, TargetTrackingPolicy)
    return policy.definition.metric


def test_cpu_target_tracking_answers_arn_and_its_two_alarms(
    autoscaling: Call, group: str, store_path: Path
):
    response = autoscaling(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="cpu50",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": 50.0,
        },
    )
    assert response["PolicyARN"].endswith(":autoScalingGroupName/baristas:policyName/cpu50")
    names = [a["AlarmName"] for a in response["Alarms"]]
    assert len(names) == 2
    assert names[0].startswith("TargetTracking-baristas-AlarmHigh-")
    assert names[1].startswith("TargetTracking-baristas-AlarmLow-")
    assert (
        response["Alarms"][0]["AlarmARN"]
        == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{names[0]}"
    )
    assert stored_metric(store_path, "cpu50") == CpuUtilizationMetric("baristas")
    (described,) = autoscaling("DescribePolicies", AutoScalingGroupName=group)["ScalingPolicies"]
    assert described["PolicyType"] == "TargetTrackingScaling"
    assert described["TargetTrackingConfiguration"]["TargetValue"] == 50.0
    assert described["TargetTrackingConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ASGAverageCPUUtilization"
    }


@pytest.mark.parametrize("form", ["single", "math"])
def test_queue_backlog_in_both_documented_forms(
    autoscaling: Call, group: str, store_path: Path, form: str
):
    spec = queue_metric() | {"Statistic": "Sum"} if form == "single" else backlog_math(group)
    autoscaling(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"CustomizedMetricSpecification": spec, "TargetValue": 100},
        EstimatedInstanceWarmup=60,
    )
    assert stored_metric(store_path, "backlog") == QueueBacklogMetric("orders")
    (described,) = autoscaling("DescribePolicies", PolicyNames=["backlog"])["ScalingPolicies"]
    metrics = described["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]["Metrics"]
    assert [m["Id"] for m in metrics] == ["m1", "m2", "e1"]
    assert metrics[2]["Expression"] == "m1 / m2"
    assert described["EstimatedInstanceWarmup"] == 60


def test_describe_alarms_lists_the_two_alarms_a_target_tracking_policy_owns(
    autoscaling: Call, cloudwatch: Call, group: str, store_path: Path
):
    policy = autoscaling(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "CustomizedMetricSpecification": backlog_math(group),
            "TargetValue": 10,
        },
    )
    alarms = {a["AlarmName"]: a for a in cloudwatch("DescribeAlarms")["MetricAlarms"]}
    assert set(alarms) == {a["AlarmName"] for a in policy["Alarms"]}
    high, low = (alarms[a["AlarmName"]] for a in policy["Alarms"])
    assert (high["ComparisonOperator"], high["EvaluationPeriods"]) == ("GreaterThanThreshold", 3)
    assert (low["ComparisonOperator"], low["EvaluationPeriods"]) == ("LessThanThreshold", 15)
    assert high["Threshold"] == low["Threshold"] == 10
    assert high["AlarmActions"] == [policy["PolicyARN"]]
    assert high["AlarmDescription"].startswith("DO NOT EDIT OR DELETE.")
    assert [m["Id"] for m in high["Metrics"]] == ["m1", "m2", "e1"]  # backlog per instance
    assert "MetricName" not in high
    assert high["StateValue"] == low["StateValue"] == "INSUFFICIENT_DATA"
    with Store(store_path) as store:
        [stored] = store.policies(group)
        for age, per_instance in enumerate([14.0, 12.0, 11.0]):
            store.record_datapoint(stored.tracked_series, START - 60 * age, per_instance, 3600)
    [breached] = cloudwatch("DescribeAlarms", StateValue="ALARM")["MetricAlarms"]
    assert breached["AlarmName"] == high["AlarmName"]
    assert breached["StateReason"].startswith(
        "Threshold Crossed: 3 out of the last 3 datapoints [14, 12, 11]"
    )
    prefix = cloudwatch("DescribeAlarms", AlarmNamePrefix=f"TargetTracking-{group}-AlarmLow")
    assert [a["AlarmName"] for a in prefix["MetricAlarms"]] == [low["AlarmName"]]


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (
            {"PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"}},
            "Unsupported PredefinedMetricType ALBRequestCountPerTarget",
        ),
        (
            {"CustomizedMetricSpecification": {"MetricName": "Latency", "Namespace": "Shop"}},
            "Unsupported metric Shop Latency",
        ),
        (
            {"CustomizedMetricSpecification": backlog_math("baristas", "m1 * m2")},
            "expression 'm1 * m2' is not m1 / m2",
        ),
        (
            {"CustomizedMetricSpecification": backlog_math("another-group")},
            "GroupInServiceInstances must have the dimension AutoScalingGroupName=baristas",
        ),
    ],
)
def test_unsupported_metric_specs_say_what_is_supported(
    autoscaling: Call, group: str, configuration: dict, expected: str
):
    body = autoscaling(
        "PutScalingPolicy",
        expect=400,
        AutoScalingGroupName=group,
        PolicyName="bad",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={**configuration, "TargetValue": 10},
    )
    code, message = error_of(body)
    assert code == "ValidationError"
    assert expected in message
    assert "ASGAverageCPUUtilization" in message


def test_step_policy_with_an_alarm_that_invokes_it(
    autoscaling: Call, cloudwatch: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    arn = autoscaling(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="add",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        MetricAggregationType="Average",
        StepAdjustments=[
            {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 50, "ScalingAdjustment": 1},
            {"MetricIntervalLowerBound": 50, "ScalingAdjustment": 2},
        ],
    )["PolicyARN"]
    cloudwatch(
        "PutMetricAlarm",
        AlarmName="backlog-high",
        MetricName="ApproximateNumberOfMessagesVisible",
        Namespace="AWS/SQS",
        Dimensions=[{"Name": "QueueName", "Value": "orders"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=100,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[arn],
    )
    (policy,) = autoscaling("DescribePolicies", AutoScalingGroupName=group)["ScalingPolicies"]
    assert policy["Alarms"] == [
        {
            "AlarmName": "backlog-high",
            "AlarmARN": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:backlog-high",
        }
    ]
    assert policy["StepAdjustments"][1] == {
        "MetricIntervalLowerBound": 50.0,
        "ScalingAdjustment": 2,
    }
    (alarm,) = cloudwatch("DescribeAlarms")["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    key = QueueBacklogMetric("orders").key
    with Store(store_path) as store:
        store.record_datapoint(key, START - 60, 150, keep=3600)
        store.record_datapoint(key, START, 120, keep=3600)
    (alarm,) = cloudwatch("DescribeAlarms", StateValue="ALARM")["MetricAlarms"]
    assert alarm["StateReason"].startswith(
        "Threshold Crossed: 2 out of the last 2 datapoints [120, 150]"
    )
    assert alarm["Statistic"] == "Sum"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "orders"}]
    assert cloudwatch("DescribeAlarms", StateValue="OK")["MetricAlarms"] == []
    stats = cloudwatch(
        "GetMetricStatistics",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "orders"}],
        StartTime="2026-11-27T23:00:00Z",
        EndTime="2026-11-28T01:00:00Z",
        Period=3600,
        Statistics=["Average", "Maximum"],
    )
    assert stats["Datapoints"] == [
        {
            "Timestamp": "2026-11-27T23:00:00.000Z",
            "Average": 150.0,
            "Maximum": 150.0,
            "Unit": "Count",
        },
        {
            "Timestamp": "2026-11-28T00:00:00.000Z",
            "Average": 120.0,
            "Maximum": 120.0,
            "Unit": "Count",
        },
    ]
    cloudwatch("DeleteAlarms", AlarmNames=["backlog-high"])
    assert (
        error_of(cloudwatch("DeleteAlarms", expect=400, AlarmNames=["backlog-high"]))[0]
        == "ResourceNotFound"
    )


def test_alarm_actions_must_name_a_policy(cloudwatch: Call, group: str):
    body = cloudwatch(
        "PutMetricAlarm",
        expect=400,
        AlarmName="cpu-high",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": group}],
        EvaluationPeriods=1,
        Threshold=70,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=["arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:x"],
    )
    assert "names no scaling policy" in error_of(body)[1]
    body = cloudwatch(
        "PutMetricAlarm",
        expect=400,
        AlarmName="cpu-high",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        EvaluationPeriods=1,
        Threshold=70,
        ComparisonOperator="Above",
    )
    assert "Member must satisfy enum value set" in error_of(body)[1]


def test_simple_policy_refuses_step_parameters(autoscaling: Call, group: str):
    body = autoscaling(
        "PutScalingPolicy",
        expect=400,
        AutoScalingGroupName=group,
        PolicyName="simple",
        AdjustmentType="ChangeInCapacity",
        ScalingAdjustment=1,
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )
    assert error_of(body) == (
        "ValidationError",
        "StepAdjustments not supported for policy type SimpleScaling.",
    )
    autoscaling(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="simple",
        AdjustmentType="ChangeInCapacity",
        ScalingAdjustment=1,
        Cooldown=120,
    )
    (policy,) = autoscaling("DescribePolicies", PolicyTypes=["SimpleScaling"])["ScalingPolicies"]
    assert (policy["ScalingAdjustment"], policy["Cooldown"]) == (1, 120)
    autoscaling("DeletePolicy", AutoScalingGroupName=group, PolicyName="simple")
    assert autoscaling("DescribePolicies")["ScalingPolicies"] == []
    assert (
        error_of(
            autoscaling("DeletePolicy", expect=400, AutoScalingGroupName=group, PolicyName="simple")
        )[0]
        == "ValidationError"
    )


def test_policy_for_an_unknown_group(autoscaling: Call):
    body = autoscaling(
        "PutScalingPolicy",
        expect=400,
        AutoScalingGroupName="ghost",
        PolicyName="p",
        AdjustmentType="ChangeInCapacity",
        ScalingAdjustment=1,
    )
    assert error_of(body)[1] == "AutoScalingGroup name not found - AutoScalingGroup ghost not found"


def test_scheduled_actions_show_their_next_run(autoscaling: Call, group: str, store_path: Path):
    autoscaling(
        "PutScheduledUpdateGroupAction",
        AutoScalingGroupName=group,
        ScheduledActionName="morning-rush",
        Recurrence="0 9 * * *",
        TimeZone="Europe/Paris",
        DesiredCapacity=4,
    )
    autoscaling(
        "PutScheduledUpdateGroupAction",
        AutoScalingGroupName=group,
        ScheduledActionName="once",
        StartTime="2026-11-28T12:00:00Z",
        MinSize=2,
        MaxSize=4,
    )
    listed = autoscaling("DescribeScheduledActions", AutoScalingGroupName=group)
    by_name = {a["ScheduledActionName"]: a for a in listed["ScheduledUpdateGroupActions"]}
    assert by_name["morning-rush"]["StartTime"] == "2026-11-28T08:00:00.000Z"  # 09:00 in Paris
    assert by_name["morning-rush"]["Recurrence"] == "0 9 * * *"
    assert by_name["morning-rush"]["DesiredCapacity"] == 4
    assert by_name["once"]["StartTime"] == "2026-11-28T12:00:00.000Z"
    assert (by_name["once"]["MinSize"], by_name["once"]["MaxSize"]) == (2, 4)
    with Store(store_path) as store:
        checked = dict((a.scheduled_action_name, c) for a, c in store.scheduled_actions(group))
    assert checked["once"] == START  # created_at = the runtime's clock
    autoscaling("DeleteScheduledAction", AutoScalingGroupName=group, ScheduledActionName="once")
    names = [
        a["ScheduledActionName"]
        for a in autoscaling("DescribeScheduledActions")["ScheduledUpdateGroupActions"]
    ]
    assert names == ["morning-rush"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"StartTime": "2026-11-27T12:00:00Z", "DesiredCapacity": 1},
            "Given start time is in the past",
        ),
        ({"Recurrence": "61 * * * *", "DesiredCapacity": 1}, "Invalid minute field"),
        ({"Recurrence": "0 9 * * *"}, "At least one of MinSize, MaxSize or DesiredCapacity"),
        ({"StartTime": "tomorrow", "DesiredCapacity": 1}, "Value 'tomorrow' at 'startTime'"),
        ({"Recurrence": "0 9 * * *", "MinSize": 3, "MaxSize": 2}, "Max bound, 2"),
    ],
)
def test_scheduled_action_refusals(autoscaling: Call, group: str, params: dict, expected: str):
    body = autoscaling(
        "PutScheduledUpdateGroupAction",
        expect=400,
        AutoScalingGroupName=group,
        ScheduledActionName="bad",
        **params,
    )
    code, message = error_of(body)
    assert code == "ValidationError"
    assert expected in message


def test_an_ecs_services_tracking_alarms_are_evaluated_on_its_series(
    store_path: Path, cloudwatch: Call
):
    """Application Auto Scaling's target tracking alarms: on the ALB's RequestCountPerTarget,
    read from the series the service's policy records, ALARM after 3 datapoints above."""
    label = "app/shop/0123456789abcdef/targetgroup/counters/fedcba9876543210"
    policy = ServiceScalingPolicy(
        "requests",
        "coffee-shop",
        "order-api",
        TargetTrackingPolicy(ServiceMetric(REQUESTS, label), tracking_configuration(100.0)),
    )
    with EcsStore(store_path) as ecs:
        ecs.put_scaling_policy(policy)
    with Store(store_path) as store:
        for age, per_target in enumerate([140.0, 120.0, 110.0]):
            store.record_datapoint(policy.series, START - 60 * age, per_target, 3600)
    [high] = cloudwatch("DescribeAlarms", StateValue="ALARM")["MetricAlarms"]
    assert high["AlarmName"].startswith("TargetTracking-service/coffee-shop/order-api-AlarmHigh-")
    assert (high["Namespace"], high["MetricName"], high["Statistic"]) == (
        "AWS/ApplicationELB",
        "RequestCountPerTarget",
        "Sum",
    )
    assert high["Dimensions"] == [
        {"Name": "TargetGroup", "Value": "targetgroup/counters/fedcba9876543210"}
    ]
    assert high["AlarmActions"] == [policy.policy_arn]
    assert high["StateReason"].startswith("Threshold Crossed: 3 out of the last 3 datapoints")
    [low] = cloudwatch("DescribeAlarms", StateValue="INSUFFICIENT_DATA")["MetricAlarms"]
    assert low["AlarmName"].startswith("TargetTracking-service/coffee-shop/order-api-AlarmLow-")
