"""Every action Barista implements for the compute services, called through boto3 over real
HTTP: created, described, updated and deleted, and refused at least twice per service with
AWS's code as botocore parses it. A recorder checks that the tour really called every action
the services serve, so an action added later without a test here fails this file.

SQS and SNS have tours of their own on real brokers (tests/integration/test_sqs_*,
test_sns_*); pagination is proved action by action in test_pagination.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext, service_actions
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve

START = datetime(2026, 11, 28).timestamp()
TOURED = ("autoscaling", "ec2", "elbv2", "ecs", "application-autoscaling", "cloudwatch")


class Tour:
    """boto3 clients that remember which operations they called."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.called: set[tuple[str, str]] = set()
        self._clients: dict[str, Any] = {}

    def __getitem__(self, service: str) -> Any:
        if service not in self._clients:
            client = self.endpoint.client(service)

            def record(model: Any, **_: Any) -> None:
                self.called.add((service, model.name))

            client.meta.events.register("before-call", record)
            self._clients[service] = client
        return self._clients[service]

    def refused(self, service: str, call: str, code: str, **params: Any) -> ClientError:
        with pytest.raises(ClientError) as refusal:
            getattr(self[service], call)(**params)
        assert refusal.value.response["Error"]["Code"] == code, refusal.value
        assert 400 <= refusal.value.response["ResponseMetadata"]["HTTPStatusCode"] < 600
        return refusal.value


@pytest.fixture
def context(tmp_path: Path) -> ApiContext:
    return ApiContext(tmp_path / "barista.db", FakeRuntime(start=START), credentials=CREDENTIALS)


@pytest.fixture
def tour(context: ApiContext) -> Iterator[Tour]:
    with serve(context) as endpoint:
        yield Tour(endpoint)


def _launch_template(tour: Tour) -> None:
    ec2 = tour["ec2"]
    ec2.create_launch_template(
        LaunchTemplateName="baristas",
        LaunchTemplateData={"ImageId": "barista/service:latest", "InstanceType": "t3.micro"},
    )
    version = ec2.create_launch_template_version(
        LaunchTemplateName="baristas",
        SourceVersion="1",
        LaunchTemplateData={"InstanceType": "t3.small"},
    )["LaunchTemplateVersion"]
    assert version["VersionNumber"] == 2
    assert version["LaunchTemplateData"]["ImageId"] == "barista/service:latest"
    modified = ec2.modify_launch_template(LaunchTemplateName="baristas", DefaultVersion="2")
    assert modified["LaunchTemplate"]["DefaultVersionNumber"] == 2
    versions = ec2.describe_launch_template_versions(LaunchTemplateName="baristas")
    assert [v["VersionNumber"] for v in versions["LaunchTemplateVersions"]] == [2, 1]
    assert ec2.describe_launch_templates()["LaunchTemplates"][0]["LatestVersionNumber"] == 2
    tour.refused(
        "ec2",
        "create_launch_template",
        "InvalidLaunchTemplateName.AlreadyExistsException",
        LaunchTemplateName="baristas",
        LaunchTemplateData={"ImageId": "x"},
    )
    tour.refused(
        "ec2",
        "describe_launch_template_versions",
        "InvalidLaunchTemplateName.NotFoundException",
        LaunchTemplateName="nothing",
    )


def _auto_scaling(tour: Tour, context: ApiContext) -> None:
    autoscaling = tour["autoscaling"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="baristas",
        LaunchTemplate={"LaunchTemplateName": "baristas", "Version": "$Default"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=2,
        AvailabilityZones=["az-a", "az-b"],
        Tags=[{"Key": "shop", "Value": "coffee", "PropagateAtLaunch": True}],
    )
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="baristas", MaxSize=6)
    autoscaling.set_desired_capacity(AutoScalingGroupName="baristas", DesiredCapacity=1)
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["baristas"])[
        "AutoScalingGroups"
    ]
    assert (group["MaxSize"], group["DesiredCapacity"]) == (6, 1)
    autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": "baristas",
                "ResourceType": "auto-scaling-group",
                "Key": "team",
                "Value": "counter",
                "PropagateAtLaunch": False,
            }
        ]
    )
    tags = autoscaling.describe_tags()["Tags"]
    assert {t["Key"] for t in tags} == {"shop", "team"}
    autoscaling.delete_tags(
        Tags=[{"ResourceId": "baristas", "ResourceType": "auto-scaling-group", "Key": "team"}]
    )
    assert [t["Key"] for t in autoscaling.describe_tags()["Tags"]] == ["shop"]
    autoscaling.suspend_processes(AutoScalingGroupName="baristas", ScalingProcesses=["AZRebalance"])
    autoscaling.resume_processes(AutoScalingGroupName="baristas", ScalingProcesses=["AZRebalance"])
    assert autoscaling.describe_scaling_process_types()["Processes"]
    assert "Default" in autoscaling.describe_termination_policy_types()["TerminationPolicyTypes"]
    autoscaling.put_scaling_policy(
        AutoScalingGroupName="baristas",
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": 50.0,
        },
    )
    assert [p["PolicyName"] for p in autoscaling.describe_policies()["ScalingPolicies"]] == ["cpu"]
    autoscaling.put_scaling_policy(
        AutoScalingGroupName="baristas",
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
            ]
        },
    )
    empty = autoscaling.get_predictive_scaling_forecast(
        AutoScalingGroupName="baristas",
        PolicyName="rush",
        StartTime=datetime.fromtimestamp(START),
        EndTime=datetime.fromtimestamp(START + 2 * 86400),
    )
    assert empty["LoadForecast"] == []  # no history yet: AWS needs 24 hours
    autoscaling.delete_policy(AutoScalingGroupName="baristas", PolicyName="rush")
    autoscaling.put_scheduled_update_group_action(
        AutoScalingGroupName="baristas",
        ScheduledActionName="morning",
        Recurrence="0 7 * * *",
        DesiredCapacity=3,
    )
    actions = autoscaling.describe_scheduled_actions(AutoScalingGroupName="baristas")
    assert actions["ScheduledUpdateGroupActions"][0]["Recurrence"] == "0 7 * * *"
    autoscaling.delete_scheduled_action(
        AutoScalingGroupName="baristas", ScheduledActionName="morning"
    )
    autoscaling.delete_policy(AutoScalingGroupName="baristas", PolicyName="cpu")
    assert autoscaling.describe_scaling_activities(AutoScalingGroupName="baristas") is not None
    assert autoscaling.describe_auto_scaling_instances()["AutoScalingInstances"] == []
    tour.refused(
        "autoscaling",
        "set_desired_capacity",
        "ValidationError",
        AutoScalingGroupName="baristas",
        DesiredCapacity=99,
    )
    tour.refused(
        "autoscaling",
        "create_auto_scaling_group",
        "AlreadyExists",
        AutoScalingGroupName="baristas",
        LaunchTemplate={"LaunchTemplateName": "baristas"},
        MinSize=0,
        MaxSize=1,
    )


def _instances(tour: Tour, context: ApiContext) -> None:
    """An instance the fake runtime runs for the group: protection and termination."""
    runtime = context.runtime
    assert isinstance(runtime, FakeRuntime)
    autoscaling = tour["autoscaling"]
    from orchestrator.asg.controller import AutoScalingController  # noqa: PLC0415
    from orchestrator.asg.store import Store  # noqa: PLC0415

    with Store(context.store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    (instance,) = autoscaling.describe_auto_scaling_instances()["AutoScalingInstances"]
    autoscaling.set_instance_protection(
        AutoScalingGroupName="baristas",
        InstanceIds=[instance["InstanceId"]],
        ProtectedFromScaleIn=True,
    )
    terminated = autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=instance["InstanceId"], ShouldDecrementDesiredCapacity=True
    )["Activity"]
    assert instance["InstanceId"] in terminated["Description"]


def _lifecycle_hooks(tour: Tour, context: ApiContext) -> None:
    """A terminate hook holds an instance in Terminating:Wait until its action completes."""
    runtime = context.runtime
    assert isinstance(runtime, FakeRuntime)
    autoscaling = tour["autoscaling"]
    from orchestrator.asg.controller import AutoScalingController  # noqa: PLC0415
    from orchestrator.asg.store import Store  # noqa: PLC0415

    autoscaling.set_desired_capacity(AutoScalingGroupName="baristas", DesiredCapacity=1)
    with Store(context.store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()  # the last tour's one goes
    types = autoscaling.describe_lifecycle_hook_types()["LifecycleHookTypes"]
    assert "autoscaling:EC2_INSTANCE_TERMINATING" in types
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="baristas",
        LifecycleHookName="finish-the-cup",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=60,
    )
    (hook,) = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="baristas")[
        "LifecycleHooks"
    ]
    assert (hook["DefaultResult"], hook["HeartbeatTimeout"], hook["GlobalTimeout"]) == (
        "ABANDON",
        60,
        6000,
    )
    tour.refused(
        "autoscaling",
        "put_lifecycle_hook",
        "ValidationError",
        AutoScalingGroupName="baristas",
        LifecycleHookName="too-quick",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=10,
    )
    with Store(context.store_path) as store:
        controller = AutoScalingController(store, runtime)
        (instance,) = runtime.instances("baristas")
        autoscaling.terminate_instance_in_auto_scaling_group(
            InstanceId=instance.instance_id, ShouldDecrementDesiredCapacity=True
        )
        controller.reconcile_once()
        (described,) = autoscaling.describe_auto_scaling_instances(
            InstanceIds=[instance.instance_id]
        )["AutoScalingInstances"]
        assert described["LifecycleState"] == "Terminating:Wait"
        autoscaling.record_lifecycle_action_heartbeat(
            AutoScalingGroupName="baristas",
            LifecycleHookName="finish-the-cup",
            InstanceId=instance.instance_id,
        )
        token = store.instance_lifecycles()[instance.instance_id].actions[0]
        autoscaling.complete_lifecycle_action(
            AutoScalingGroupName="baristas",
            LifecycleHookName="finish-the-cup",
            LifecycleActionToken=token.lifecycle_action_token,
            LifecycleActionResult="CONTINUE",
        )
        refusal = tour.refused(
            "autoscaling",
            "complete_lifecycle_action",
            "ValidationError",
            AutoScalingGroupName="baristas",
            LifecycleHookName="finish-the-cup",
            InstanceId=instance.instance_id,
            LifecycleActionResult="CONTINUE",
        )
        assert "No active Lifecycle Action found with instance ID" in str(refusal)
        controller.reconcile_once()
    assert runtime.terminated[-1] == instance.instance_id
    autoscaling.delete_lifecycle_hook(
        AutoScalingGroupName="baristas", LifecycleHookName="finish-the-cup"
    )
    assert (
        autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="baristas")["LifecycleHooks"]
        == []
    )


def _warm_pools(tour: Tour, context: ApiContext) -> None:
    """A warm pool fills beside the group, is described with its Warmed:* instances, and
    goes through PendingDelete."""
    runtime = context.runtime
    assert isinstance(runtime, FakeRuntime)
    autoscaling = tour["autoscaling"]
    from orchestrator.asg.controller import AutoScalingController  # noqa: PLC0415
    from orchestrator.asg.store import Store  # noqa: PLC0415

    assert autoscaling.describe_warm_pool(AutoScalingGroupName="baristas")["Instances"] == []
    autoscaling.put_warm_pool(
        AutoScalingGroupName="baristas",
        MaxGroupPreparedCapacity=1,
        MinSize=1,
        PoolState="Running",
        InstanceReusePolicy={"ReuseOnScaleIn": False},
    )
    with Store(context.store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
        AutoScalingController(store, runtime).reconcile_once()
    described = autoscaling.describe_warm_pool(AutoScalingGroupName="baristas")
    assert described["WarmPoolConfiguration"]["PoolState"] == "Running"
    (warm,) = described["Instances"]
    assert warm["LifecycleState"] == "Warmed:Running"
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["baristas"])[
        "AutoScalingGroups"
    ]
    assert group["WarmPoolSize"] == 1
    assert warm["InstanceId"] not in {i["InstanceId"] for i in group["Instances"]}
    tour.refused("autoscaling", "put_warm_pool", "ValidationError", AutoScalingGroupName="nope")
    tour.refused(
        "autoscaling",
        "describe_warm_pool",
        "ValidationError",
        AutoScalingGroupName="baristas",
        MaxRecords=51,
    )
    autoscaling.delete_warm_pool(AutoScalingGroupName="baristas", ForceDelete=True)
    assert "WarmPoolConfiguration" not in autoscaling.describe_warm_pool(
        AutoScalingGroupName="baristas"
    )
    tour.refused(
        "autoscaling", "delete_warm_pool", "ValidationError", AutoScalingGroupName="baristas"
    )
    with Store(context.store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
        AutoScalingController(store, runtime).reconcile_once()
    assert warm["InstanceId"] in runtime.terminated


def _instance_refreshes(tour: Tour, context: ApiContext) -> None:
    """A refresh onto a new template version is rolled back; one without a desired
    configuration cannot be, and is cancelled."""
    runtime = context.runtime
    assert isinstance(runtime, FakeRuntime)
    autoscaling = tour["autoscaling"]
    from orchestrator.asg.controller import AutoScalingController  # noqa: PLC0415
    from orchestrator.asg.store import Store  # noqa: PLC0415

    first = autoscaling.start_instance_refresh(
        AutoScalingGroupName="baristas",
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": "baristas", "Version": "1"}},
        Preferences={"MinHealthyPercentage": 50, "CheckpointPercentages": [50, 100]},
    )["InstanceRefreshId"]
    tour.refused(
        "autoscaling",
        "start_instance_refresh",
        "InstanceRefreshInProgress",
        AutoScalingGroupName="baristas",
    )
    tour.refused(
        "autoscaling",
        "start_instance_refresh",
        "ValidationError",
        AutoScalingGroupName="nope",
    )
    (described,) = autoscaling.describe_instance_refreshes(AutoScalingGroupName="baristas")[
        "InstanceRefreshes"
    ]
    assert (described["InstanceRefreshId"], described["Status"]) == (first, "Pending")
    assert described["Preferences"]["MinHealthyPercentage"] == 50
    assert described["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "1"
    assert (
        autoscaling.rollback_instance_refresh(AutoScalingGroupName="baristas")["InstanceRefreshId"]
        == first
    )
    with Store(context.store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    (rolled,) = autoscaling.describe_instance_refreshes(
        AutoScalingGroupName="baristas", InstanceRefreshIds=[first]
    )["InstanceRefreshes"]
    assert rolled["Status"] == "RollbackSuccessful"
    assert rolled["RollbackDetails"]["RollbackReason"] == "Rollback requested."
    tour.refused(
        "autoscaling",
        "rollback_instance_refresh",
        "ActiveInstanceRefreshNotFound",
        AutoScalingGroupName="baristas",
    )
    runtime.advance(1)  # the newer refresh lists first
    second = autoscaling.start_instance_refresh(AutoScalingGroupName="baristas")[
        "InstanceRefreshId"
    ]
    tour.refused(
        "autoscaling",
        "rollback_instance_refresh",
        "IrreversibleInstanceRefresh",
        AutoScalingGroupName="baristas",
    )
    assert (
        autoscaling.cancel_instance_refresh(AutoScalingGroupName="baristas")["InstanceRefreshId"]
        == second
    )
    newest, _ = autoscaling.describe_instance_refreshes(AutoScalingGroupName="baristas")[
        "InstanceRefreshes"
    ]
    assert (newest["InstanceRefreshId"], newest["Status"]) == (second, "Cancelled")
    tour.refused(
        "autoscaling",
        "cancel_instance_refresh",
        "ActiveInstanceRefreshNotFound",
        AutoScalingGroupName="baristas",
    )


def _load_balancing(tour: Tour) -> None:
    elbv2 = tour["elbv2"]
    balancer = elbv2.create_load_balancer(Name="shop", Type="application")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="counters", Protocol="HTTP", Port=8080, TargetType="ip")[
        "TargetGroups"
    ][0]
    arn = group["TargetGroupArn"]
    elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/healthz")
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
    )
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in attributes
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
    )["Listeners"][0]
    elbv2.modify_listener(
        ListenerArn=listener["ListenerArn"],
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"},
            }
        ],
    )
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/orders*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": arn}],
    )["Rules"][0]
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "default"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.9", "Port": 8080}])
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.9", "Port": 8080}])
    assert elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerName"] == "shop"
    assert elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert elbv2.describe_target_groups(Names=["counters"])["TargetGroups"][0]["Port"] == 8080
    # No HAProxy behind this API: target health is a server fault SDKs retry, not a refusal.
    tour.refused("elbv2", "describe_target_health", "ServiceUnavailable", TargetGroupArn=arn)
    tour.refused(
        "elbv2",
        "create_target_group",
        "DuplicateTargetGroupName",
        Name="counters",
        Protocol="HTTP",
        Port=9090,
    )
    tour.refused(
        "elbv2",
        "describe_target_groups",
        "TargetGroupNotFound",
        TargetGroupArns=[arn.replace("counters", "nobody")],
    )
    elbv2.delete_rule(RuleArn=rule["RuleArn"])
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    elbv2.delete_target_group(TargetGroupArn=arn)
    elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def _containers(tour: Tour) -> None:
    ecs = tour["ecs"]
    ecs.create_cluster(clusterName="shop")
    assert ecs.describe_clusters(clusters=["shop"])["clusters"][0]["status"] == "ACTIVE"
    assert ecs.list_clusters()["clusterArns"] == ["arn:aws:ecs:us-east-1:000000000000:cluster/shop"]
    definition = {
        "family": "counter",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "barista/service:latest"}],
    }
    ecs.register_task_definition(**definition)
    ecs.register_task_definition(**definition)
    assert ecs.list_task_definition_families()["families"] == ["counter"]
    assert len(ecs.list_task_definitions(familyPrefix="counter")["taskDefinitionArns"]) == 2
    assert ecs.describe_task_definition(taskDefinition="counter")["taskDefinition"]["revision"] == 2
    ecs.deregister_task_definition(taskDefinition="counter:1")
    network = {"awsvpcConfiguration": {"subnets": ["subnet-0aaaaaaaaaaaaaaaa"]}}
    ecs.create_service(
        cluster="shop",
        serviceName="counter",
        taskDefinition="counter",
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration=network,
    )
    ecs.update_service(cluster="shop", service="counter", desiredCount=1)
    (service,) = ecs.describe_services(cluster="shop", services=["counter"])["services"]
    assert service["desiredCount"] == 1
    assert ecs.list_services(cluster="shop")["serviceArns"] == [service["serviceArn"]]
    run = ecs.run_task(
        cluster="shop", taskDefinition="counter", launchType="FARGATE", networkConfiguration=network
    )
    (task,) = run["tasks"]
    assert ecs.describe_tasks(cluster="shop", tasks=[task["taskArn"]])["tasks"]
    assert task["taskArn"] in ecs.list_tasks(cluster="shop")["taskArns"]
    ecs.stop_task(cluster="shop", task=task["taskArn"], reason="tour")
    tour.refused(
        "ecs", "describe_services", "ClusterNotFoundException", cluster="nowhere", services=["x"]
    )
    tour.refused(
        "ecs",
        "create_service",
        "InvalidParameterException",
        cluster="shop",
        serviceName="no-network",
        taskDefinition="counter",
        launchType="FARGATE",
    )
    ecs.delete_service(cluster="shop", service="counter", force=True)
    _capacity(tour)
    # "shop" keeps its stopped task until a controller reaps it: delete an empty cluster.
    ecs.create_cluster(clusterName="closing-time")
    assert ecs.delete_cluster(cluster="closing-time")["cluster"]["status"] == "INACTIVE"


def _capacity(tour: Tour) -> None:
    ecs = tour["ecs"]
    ecs.create_capacity_provider(
        name="baristas-capacity",
        autoScalingGroupProvider={
            "autoScalingGroupArn": "baristas",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
        },
    )
    assert ecs.describe_capacity_providers(capacityProviders=["baristas-capacity"])[
        "capacityProviders"
    ]
    ecs.put_cluster_capacity_providers(
        cluster="shop", capacityProviders=["baristas-capacity"], defaultCapacityProviderStrategy=[]
    )
    registered = ecs.register_container_instance(
        cluster="shop",
        instanceIdentityDocument=json.dumps(
            {"instanceId": "i-0123456789abcdef0", "availabilityZone": "az-a"}
        ),
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
        ],
    )["containerInstance"]
    arns = ecs.list_container_instances(cluster="shop")["containerInstanceArns"]
    assert registered["containerInstanceArn"] in arns
    assert ecs.describe_container_instances(cluster="shop", containerInstances=arns)[
        "containerInstances"
    ]
    ecs.deregister_container_instance(
        cluster="shop", containerInstance=registered["containerInstanceArn"], force=True
    )


def _service_scaling(tour: Tour) -> None:
    ecs = tour["ecs"]
    ecs.create_cluster(clusterName="scaled")
    ecs.register_task_definition(
        family="web",
        containerDefinitions=[{"name": "app", "image": "barista/service:latest", "memory": 64}],
    )
    ecs.create_service(cluster="scaled", serviceName="web", taskDefinition="web", desiredCount=0)
    scaling = tour["application-autoscaling"]
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/scaled/web",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4)
    assert (
        scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0][
            "MaxCapacity"
        ]
        == 4
    )
    tracking = {
        "TargetValue": 60.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
        },
    }
    put = scaling.put_scaling_policy(
        **target,
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking,
    )
    assert [a["AlarmName"].rsplit("-", 5)[0] for a in put["Alarms"]] == [
        "TargetTracking-service/scaled/web-AlarmHigh",
        "TargetTracking-service/scaled/web-AlarmLow",
    ]
    assert all(a["AlarmARN"].endswith(f":alarm:{a['AlarmName']}") for a in put["Alarms"])
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["cpu"]
    assert policies[0]["Alarms"] == put["Alarms"]
    # One name, one policy: putting a step policy of that name replaces the target tracking one.
    scaling.put_scaling_policy(
        **target,
        PolicyName="cpu",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        },
    )
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert [(p["PolicyName"], p["PolicyType"]) for p in policies] == [("cpu", "StepScaling")]
    scaling.put_scaling_policy(
        **target,
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking,
    )
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert [(p["PolicyName"], p["PolicyType"]) for p in policies] == [
        ("cpu", "TargetTrackingScaling")
    ]
    # CloudWatch lists the two alarms the policy owns, on the ECS service's CPU metric.
    alarms = tour["cloudwatch"].describe_alarms(AlarmNamePrefix="TargetTracking-service/scaled/")
    owned = {a["AlarmName"]: a for a in alarms["MetricAlarms"]}
    assert sorted(owned) == sorted(a["AlarmName"] for a in put["Alarms"])
    for alarm in owned.values():
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ECS", "CPUUtilization")
        assert alarm["Dimensions"] == [
            {"Name": "ClusterName", "Value": "scaled"},
            {"Name": "ServiceName", "Value": "web"},
        ]
        assert alarm["AlarmActions"] == [policies[0]["PolicyARN"]]
        assert alarm["Threshold"] == 60.0
        assert alarm["StateValue"] == "INSUFFICIENT_DATA"  # no datapoint recorded yet
    high, low = (owned[a["AlarmName"]] for a in put["Alarms"])
    assert (high["ComparisonOperator"], high["EvaluationPeriods"]) == ("GreaterThanThreshold", 3)
    assert (low["ComparisonOperator"], low["EvaluationPeriods"]) == ("LessThanThreshold", 15)
    assert "ScalingActivities" in scaling.describe_scaling_activities(ServiceNamespace="ecs")
    tour.refused(
        "application-autoscaling",
        "register_scalable_target",
        "ValidationException",
        ServiceNamespace="ecs",
        ResourceId="service/scaled/nothing",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=2,
    )
    tour.refused(
        "application-autoscaling",
        "delete_scaling_policy",
        "ObjectNotFoundException",
        **target,
        PolicyName="nothing",
    )
    scaling.delete_scaling_policy(**target, PolicyName="cpu")
    scaling.deregister_scalable_target(**target)


def _alarms(tour: Tour) -> None:
    cloudwatch = tour["cloudwatch"]
    metric = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
    }
    cloudwatch.put_metric_alarm(
        AlarmName="backlog-high",
        **metric,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        Threshold=10.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    statistics = cloudwatch.get_metric_statistics(
        **metric,
        StartTime=datetime(2026, 11, 28, 0, 0),
        EndTime=datetime(2026, 11, 28, 1, 0),
        Period=60,
        Statistics=["Average"],
    )
    assert statistics["Datapoints"] == []
    cloudwatch.put_metric_data(
        Namespace="Barista/Shop",
        MetricData=[
            {"MetricName": "Orders", "Value": 12.0, "Timestamp": datetime(2026, 11, 27, 23, 0)},
            {"MetricName": "Orders", "Values": [1.0, 3.0], "Counts": [1.0, 3.0]},
        ],
    )
    put = cloudwatch.get_metric_statistics(
        Namespace="Barista/Shop",
        MetricName="Orders",
        StartTime=datetime(2026, 11, 27, 23, 0),
        EndTime=datetime(2026, 11, 28, 0, 1),
        Period=3600,
        Statistics=["Maximum", "SampleCount"],
    )
    assert [(d["Maximum"], d["SampleCount"]) for d in put["Datapoints"]] == [(12.0, 1), (2.5, 1)]
    tour.refused(
        "cloudwatch",
        "put_metric_data",
        "InvalidParameterValue",
        Namespace="Barista/Shop",
        MetricData=[{"MetricName": "Orders", "Value": 1.0, "Timestamp": datetime(2026, 11, 1)}],
    )
    assert cloudwatch.describe_alarms()["MetricAlarms"][0]["AlarmName"] == "backlog-high"
    tour.refused(
        "cloudwatch",
        "put_metric_alarm",
        "ValidationError",
        AlarmName="odd",
        Namespace="Elsewhere",
        MetricName="Nothing",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    tour.refused(
        "cloudwatch",
        "put_metric_alarm",
        "ValidationError",
        AlarmName="too-short",
        **metric,
        Statistic="Average",
        Period=7,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.delete_alarms(AlarmNames=["backlog-high"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


def test_every_action_through_boto3(tour: Tour, context: ApiContext) -> None:
    _launch_template(tour)
    _auto_scaling(tour, context)
    _instances(tour, context)
    _lifecycle_hooks(tour, context)
    _warm_pools(tour, context)
    _instance_refreshes(tour, context)
    _load_balancing(tour)
    _containers(tour)
    _service_scaling(tour)
    _alarms(tour)
    target_groups = tour["elbv2"].create_target_group(Name="web", Protocol="HTTP", Port=80)
    arn = target_groups["TargetGroups"][0]["TargetGroupArn"]
    autoscaling = tour["autoscaling"]
    autoscaling.attach_load_balancer_target_groups(
        AutoScalingGroupName="baristas", TargetGroupARNs=[arn]
    )
    autoscaling.detach_load_balancer_target_groups(
        AutoScalingGroupName="baristas", TargetGroupARNs=[arn]
    )
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName="baristas", ForceDelete=True)
    tour["ec2"].delete_launch_template(LaunchTemplateName="baristas")
    assert tour["ec2"].describe_spot_price_history(InstanceTypes=["t3.micro"])["SpotPriceHistory"]
    tour.refused("ec2", "describe_spot_price_history", "InvalidNextToken", NextToken="x")
    implemented = {
        (service, action)
        for service, actions in service_actions(context).items()
        if service in TOURED
        for action in actions
    }
    assert implemented - tour.called == set(), "actions the tour never called"
