"""Every key an action answers is a member of botocore's output shape for it.

The AWS front door renders handlers' dicts through botocore's models, and a key the model does
not know is dropped there without a word. So one scenario calls every implemented Auto
Scaling, ELBv2, EC2 and CloudWatch action, and each answer is walked against its model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape

from orchestrator.api import ApiContext, autoscaling, cloudwatch, ec2, elbv2
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.elb.haproxy_runtime import HaproxyRuntimeApi
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling.predictive import Forecast

START = 1_795_000_000.0

# Barista's declared extensions: members the models lack on purpose (the container a launch
# template starts). The front door drops them; the JSON API keeps them.
EXTENSIONS = {("ResponseLaunchTemplateData", "BaristaContainer")}


def unknown_keys(value: Any, shape: Shape, path: str) -> Iterator[str]:
    if isinstance(shape, StructureShape):
        assert isinstance(value, dict), f"{path}: {shape.name} wants a structure"
        for key, item in value.items():
            if (shape.name, key) in EXTENSIONS:
                continue
            member = shape.members.get(key)
            if member is None:
                yield f"{path}.{key} (not in {shape.name})"
            else:
                yield from unknown_keys(item, member, f"{path}.{key}")
    elif isinstance(shape, ListShape):
        assert isinstance(value, list), f"{path}: {shape.name} wants a list"
        for index, item in enumerate(value):
            yield from unknown_keys(item, shape.member, f"{path}[{index}]")
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            yield from unknown_keys(item, shape.value, f"{path}.{key}")


class Recorder:
    def __init__(self, context: ApiContext, runtime: FakeRuntime) -> None:
        self.store_path = context.store_path
        self.runtime = runtime
        self.handlers = {
            "autoscaling": autoscaling.actions(context),
            "elbv2": elbv2.actions(context),
            "ec2": ec2.actions(context),
            "cloudwatch": cloudwatch.actions(context),
        }
        self.answers: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def __call__(self, service: str, action: str, **params: Any) -> dict[str, Any]:
        answer = dict(self.handlers[service][action](params))
        self.answers.setdefault((service, action), []).append(answer)
        return answer


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    monkeypatch.setattr(HaproxyRuntimeApi, "servers", lambda self: [])
    runtime = FakeRuntime(start=START)
    return Recorder(ApiContext(store_path=tmp_path / "barista.db", runtime=runtime), runtime)


def scenario(call: Recorder, store_path: Path, runtime: FakeRuntime) -> None:  # noqa: PLR0915
    data = {
        "ImageId": "barista/service:latest",
        "InstanceType": "t3.micro",
        "BaristaContainer": {"Environment": {"BROKER_URL": "amqp://u:p@rabbitmq:5672"}},
    }
    call("ec2", "CreateLaunchTemplate", LaunchTemplateName="web", LaunchTemplateData=data)
    call("ec2", "CreateLaunchTemplateVersion", LaunchTemplateName="web", LaunchTemplateData=data)
    call("ec2", "ModifyLaunchTemplate", LaunchTemplateName="web", DefaultVersion="2")
    call("ec2", "DescribeLaunchTemplates")
    call("ec2", "DescribeLaunchTemplateVersions", LaunchTemplateName="web")
    call("ec2", "DescribeSpotPriceHistory", InstanceTypes=["t3.micro"], MaxResults=2)
    call("ec2", "CreateLaunchTemplate", LaunchTemplateName="spare", LaunchTemplateData=data)
    call("ec2", "DeleteLaunchTemplate", LaunchTemplateName="spare")

    (lb,) = call("elbv2", "CreateLoadBalancer", Name="web")["LoadBalancers"]
    (tg,) = call("elbv2", "CreateTargetGroup", Name="orders", Port=8000)["TargetGroups"]
    tg_arn = tg["TargetGroupArn"]
    (listener,) = call(
        "elbv2",
        "CreateListener",
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=9080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )["Listeners"]
    call(
        "elbv2",
        "ModifyListener",
        ListenerArn=listener["ListenerArn"],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )
    (rule,) = call(
        "elbv2",
        "CreateRule",
        ListenerArn=listener["ListenerArn"],
        Priority=10,
        Conditions=[
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X", "Values": ["1"]}},
        ],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "ok"},
            }
        ],
    )["Rules"]
    call(
        "elbv2",
        "CreateRule",
        ListenerArn=listener["ListenerArn"],
        Priority=20,
        Conditions=[{"Field": "host-header", "Values": ["old.example"]}],
        Actions=[{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}],
    )
    call("elbv2", "DescribeLoadBalancers")
    call("elbv2", "DescribeTargetGroups")
    call("elbv2", "ModifyTargetGroup", TargetGroupArn=tg_arn, HealthCheckPath="/healthz")
    call(
        "elbv2",
        "ModifyTargetGroupAttributes",
        TargetGroupArn=tg_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}],
    )
    call("elbv2", "DescribeTargetGroupAttributes", TargetGroupArn=tg_arn)
    call("elbv2", "DescribeListeners", LoadBalancerArn=lb["LoadBalancerArn"])
    call("elbv2", "DescribeRules", ListenerArn=listener["ListenerArn"])

    call(
        "autoscaling",
        "CreateAutoScalingGroup",
        AutoScalingGroupName="web",
        LaunchTemplate={"LaunchTemplateName": "web"},
        MinSize=1,
        MaxSize=4,
        DesiredCapacity=2,
        VPCZoneIdentifier="subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb",
        DefaultInstanceWarmup=60,
        TargetGroupARNs=[tg_arn],
        Tags=[{"Key": "team", "Value": "coffee", "PropagateAtLaunch": True}],
    )
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    call("autoscaling", "UpdateAutoScalingGroup", AutoScalingGroupName="web", MaxSize=5)
    call("autoscaling", "DescribeAutoScalingGroups", MaxRecords=1)
    call("autoscaling", "DescribeAutoScalingInstances")
    call("autoscaling", "SetDesiredCapacity", AutoScalingGroupName="web", DesiredCapacity=2)
    ids = [i.instance_id for i in runtime.instances("web")]
    call(
        "autoscaling",
        "SetInstanceProtection",
        AutoScalingGroupName="web",
        InstanceIds=ids[:1],
        ProtectedFromScaleIn=True,
    )
    call("autoscaling", "SuspendProcesses", AutoScalingGroupName="web")
    call("autoscaling", "ResumeProcesses", AutoScalingGroupName="web")
    call(
        "autoscaling",
        "CreateOrUpdateTags",
        Tags=[{"ResourceId": "web", "ResourceType": "auto-scaling-group", "Key": "env"}],
    )
    call("autoscaling", "DescribeTags", MaxRecords=1)
    call(
        "autoscaling",
        "DeleteTags",
        Tags=[{"ResourceId": "web", "ResourceType": "auto-scaling-group", "Key": "env"}],
    )
    call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg_arn)
    call("elbv2", "RegisterTargets", TargetGroupArn=tg_arn, Targets=[{"Id": ids[0], "Port": 8001}])
    call(
        "elbv2", "DeregisterTargets", TargetGroupArn=tg_arn, Targets=[{"Id": ids[0], "Port": 8001}]
    )
    call(
        "autoscaling",
        "PutLifecycleHook",
        AutoScalingGroupName="web",
        LifecycleHookName="drain",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=60,
        NotificationMetadata="finish the cup",
    )
    call("autoscaling", "DescribeLifecycleHooks", AutoScalingGroupName="web")
    call("autoscaling", "DescribeLifecycleHookTypes")
    call(
        "autoscaling",
        "TerminateInstanceInAutoScalingGroup",
        InstanceId=ids[1],
        ShouldDecrementDesiredCapacity=True,
    )
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()  # into Terminating:Wait
    call(
        "autoscaling",
        "RecordLifecycleActionHeartbeat",
        AutoScalingGroupName="web",
        LifecycleHookName="drain",
        InstanceId=ids[1],
    )
    call(
        "autoscaling",
        "CompleteLifecycleAction",
        AutoScalingGroupName="web",
        LifecycleHookName="drain",
        InstanceId=ids[1],
        LifecycleActionResult="CONTINUE",
    )
    call(
        "autoscaling", "DeleteLifecycleHook", AutoScalingGroupName="web", LifecycleHookName="drain"
    )
    call(
        "autoscaling",
        "PutWarmPool",
        AutoScalingGroupName="web",
        MinSize=1,
        MaxGroupPreparedCapacity=1,
        InstanceReusePolicy={"ReuseOnScaleIn": True},
    )
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()  # a warm instance, stopped
    call("autoscaling", "DescribeWarmPool", AutoScalingGroupName="web")
    call("autoscaling", "DescribeAutoScalingGroups", AutoScalingGroupNames=["web"])
    call("autoscaling", "DeleteWarmPool", AutoScalingGroupName="web")
    call("autoscaling", "DescribeWarmPool", AutoScalingGroupName="web")
    call(
        "autoscaling",
        "StartInstanceRefresh",
        AutoScalingGroupName="web",
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "1"}},
        Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 0, "AutoRollback": False},
    )
    call("autoscaling", "RollbackInstanceRefresh", AutoScalingGroupName="web")
    call("autoscaling", "DescribeInstanceRefreshes", AutoScalingGroupName="web")
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    runtime.advance(1)
    call("autoscaling", "StartInstanceRefresh", AutoScalingGroupName="web")
    call("autoscaling", "CancelInstanceRefresh", AutoScalingGroupName="web")
    call("autoscaling", "DescribeInstanceRefreshes", AutoScalingGroupName="web")
    call("autoscaling", "DescribeScalingActivities", AutoScalingGroupName="web", MaxRecords=1)
    step = call(
        "autoscaling",
        "PutScalingPolicy",
        AutoScalingGroupName="web",
        PolicyName="step",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )
    call(
        "autoscaling",
        "PutScalingPolicy",
        AutoScalingGroupName="web",
        PolicyName="simple",
        AdjustmentType="ChangeInCapacity",
        ScalingAdjustment=1,
        Cooldown=60,
    )
    call(
        "autoscaling",
        "PutScalingPolicy",
        AutoScalingGroupName="web",
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": 50,
        },
    )
    call(
        "autoscaling",
        "PutScalingPolicy",
        AutoScalingGroupName="web",
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Namespace": "AWS/SQS",
                "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                "Statistic": "Sum",
            },
            "TargetValue": 10,
        },
        EstimatedInstanceWarmup=30,
    )
    call(
        "cloudwatch",
        "PutMetricAlarm",
        AlarmName="busy",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": "web"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=70,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[step["PolicyARN"]],
    )
    call("cloudwatch", "DescribeAlarms")
    call(
        "cloudwatch",
        "GetMetricStatistics",
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": "web"}],
        StartTime="2026-11-28T00:00:00Z",
        EndTime="2026-11-29T00:00:00Z",
        Period=60,
        Statistics=["Average"],
    )
    call("cloudwatch", "DeleteAlarms", AlarmNames=["busy"])
    call(
        "cloudwatch",
        "PutMetricData",
        Namespace="Barista/Shop",
        MetricData=[{"MetricName": "Orders", "Value": 3.0}],
    )
    call(
        "autoscaling",
        "PutScalingPolicy",
        AutoScalingGroupName="web",
        PolicyName="rush",
        PolicyType="PredictiveScaling",
        PredictiveScalingConfiguration={
            "MetricSpecifications": [
                {
                    "TargetValue": 40.0,
                    "PredefinedMetricPairSpecification": {
                        "PredefinedMetricType": "ASGCPUUtilization"
                    },
                }
            ],
            "Mode": "ForecastAndScale",
            "MaxCapacityBreachBehavior": "IncreaseMaxCapacity",
            "MaxCapacityBuffer": 10,
        },
    )
    with Store(store_path) as store:
        store.put_forecast(
            "web",
            "rush",
            START,
            Forecast(START, (START + 3600, START + 7200), (80.0, 120.0), (2.0, 3.0)),
        )
    call(
        "autoscaling",
        "GetPredictiveScalingForecast",
        AutoScalingGroupName="web",
        PolicyName="rush",
        StartTime="2026-11-18T00:00:00Z",
        EndTime="2026-11-20T00:00:00Z",
    )
    call("autoscaling", "DescribePolicies", AutoScalingGroupName="web", MaxRecords=10)
    call("autoscaling", "DeletePolicy", AutoScalingGroupName="web", PolicyName="simple")
    call(
        "autoscaling",
        "PutScheduledUpdateGroupAction",
        AutoScalingGroupName="web",
        ScheduledActionName="mornings",
        Recurrence="0 8 * * *",
        DesiredCapacity=3,
    )
    call("autoscaling", "DescribeScheduledActions", AutoScalingGroupName="web")
    call(
        "autoscaling",
        "DeleteScheduledAction",
        AutoScalingGroupName="web",
        ScheduledActionName="mornings",
    )
    call("autoscaling", "DescribeTerminationPolicyTypes")
    call("autoscaling", "DescribeScalingProcessTypes")
    call(
        "autoscaling",
        "DetachLoadBalancerTargetGroups",
        AutoScalingGroupName="web",
        TargetGroupARNs=[tg_arn],
    )
    call(
        "autoscaling",
        "AttachLoadBalancerTargetGroups",
        AutoScalingGroupName="web",
        TargetGroupARNs=[tg_arn],
    )
    call("autoscaling", "DeleteAutoScalingGroup", AutoScalingGroupName="web", ForceDelete=True)
    call("elbv2", "DeleteRule", RuleArn=rule["RuleArn"])
    call("elbv2", "DeleteListener", ListenerArn=listener["ListenerArn"])
    call("elbv2", "DeleteTargetGroup", TargetGroupArn=tg_arn)
    call("elbv2", "DeleteLoadBalancer", LoadBalancerArn=lb["LoadBalancerArn"])


def test_every_action_answers_only_members_of_its_botocore_output_shape(recorder: Recorder):
    scenario(recorder, recorder.store_path, recorder.runtime)
    session = botocore.session.get_session()
    problems = []
    for service, handlers in recorder.handlers.items():
        model = session.get_service_model(service)
        for action in handlers:
            assert action in model.operation_names, f"{service}:{action} is not an AWS action"
            answers = recorder.answers.get((service, action))
            assert answers, f"the scenario never called {service}:{action}"
            output = model.operation_model(action).output_shape
            for answer in answers:
                if output is None:
                    assert answer == {}, f"{service}:{action} answers {answer}; AWS answers nothing"
                    continue
                problems += [f"{service}:{action}{p}" for p in unknown_keys(answer, output, "")]
    assert problems == []
