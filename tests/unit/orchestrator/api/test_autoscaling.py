"""EC2 Auto Scaling actions over HTTP: AWS's response shapes and AWS's refusals."""

from __future__ import annotations

from pathlib import Path

from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.instances import Health
from orchestrator.runtime.fake import FakeRuntime
from tests.unit.orchestrator.api.conftest import Call, error_of


def converge(store_path: Path, runtime: FakeRuntime) -> None:
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()


def describe(autoscaling: Call, name: str = "baristas") -> dict:
    groups = autoscaling("DescribeAutoScalingGroups", AutoScalingGroupNames=[name])
    (group,) = groups["AutoScalingGroups"]
    return group


def test_create_then_describe_answers_aws_shape(autoscaling: Call, group: str):
    described = describe(autoscaling, group)
    assert described["AutoScalingGroupName"] == "baristas"
    assert described["AutoScalingGroupARN"].startswith("arn:aws:autoscaling:us-east-1:")
    assert described["AutoScalingGroupARN"].endswith(":autoScalingGroupName/baristas")
    assert described["LaunchTemplate"]["LaunchTemplateName"] == "baristas"
    assert described["LaunchTemplate"]["Version"] == "$Latest"
    assert described["LaunchTemplate"]["LaunchTemplateId"].startswith("lt-")
    assert (described["MinSize"], described["MaxSize"], described["DesiredCapacity"]) == (1, 4, 2)
    assert described["AvailabilityZones"] == ["az-a", "az-b"]
    assert described["HealthCheckType"] == "EC2"
    assert described["HealthCheckGracePeriod"] == 0
    assert described["DefaultCooldown"] == 300
    assert described["TerminationPolicies"] == ["Default"]
    assert described["Instances"] == []
    assert described["SuspendedProcesses"] == []
    assert described["CreatedTime"] == "2026-11-28T00:00:00.000Z"  # the runtime's clock


def test_instances_come_from_the_runtime_with_protection_from_the_group(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    instances = describe(autoscaling)["Instances"]
    assert len(instances) == 2
    first = instances[0]
    assert first["LifecycleState"] == "InService"
    assert first["HealthStatus"] == "Healthy"
    assert first["InstanceType"] == "t3.micro"
    assert first["LaunchTemplate"]["Version"] == "1"
    assert first["ProtectedFromScaleIn"] is False
    ids = [i["InstanceId"] for i in instances]
    autoscaling(
        "SetInstanceProtection",
        AutoScalingGroupName=group,
        InstanceIds=[ids[0]],
        ProtectedFromScaleIn=True,
    )
    runtime.set_health(ids[1], Health.STOPPED)
    by_id = {i["InstanceId"]: i for i in describe(autoscaling)["Instances"]}
    assert by_id[ids[0]]["ProtectedFromScaleIn"] is True
    assert by_id[ids[1]]["LifecycleState"] == "Terminating"
    assert by_id[ids[1]]["HealthStatus"] == "Unhealthy"
    listed = autoscaling("DescribeAutoScalingInstances", InstanceIds=[ids[1]])
    (only,) = listed["AutoScalingInstances"]
    assert only["AutoScalingGroupName"] == group
    assert only["HealthStatus"] == "UNHEALTHY"


def test_unhealthy_within_the_grace_period_still_reads_healthy(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    autoscaling("UpdateAutoScalingGroup", AutoScalingGroupName=group, HealthCheckGracePeriod=60)
    converge(store_path, runtime)
    instance_id = describe(autoscaling)["Instances"][0]["InstanceId"]
    runtime.set_health(instance_id, Health.UNHEALTHY)
    assert describe(autoscaling)["Instances"][0]["HealthStatus"] == "Healthy"
    runtime.advance(61)
    assert describe(autoscaling)["Instances"][0]["HealthStatus"] == "Unhealthy"


def test_duplicate_group_is_refused_as_aws_words_it(autoscaling: Call, group: str):
    body = autoscaling(
        "CreateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName=group,
        LaunchTemplate={"LaunchTemplateName": "baristas"},
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=["az-a"],
    )
    assert error_of(body) == (
        "AlreadyExists",
        "AutoScalingGroup by this name already exists - A group with the name baristas "
        "already exists",
    )
    assert body["Error"]["Type"] == "Sender"


def test_min_above_max_is_refused(autoscaling: Call, group: str):
    body = autoscaling(
        "CreateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="other",
        LaunchTemplate={"LaunchTemplateName": "baristas"},
        MinSize=5,
        MaxSize=2,
        AvailabilityZones=["az-a"],
    )
    assert error_of(body) == (
        "ValidationError",
        "Max bound, 2, must be greater than or equal to min bound, 5",
    )


def test_unknown_launch_template_is_refused(autoscaling: Call):
    body = autoscaling(
        "CreateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "nope"},
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=["az-a"],
    )
    code, message = error_of(body)
    assert code == "ValidationError"
    assert message.startswith("You must use a valid fully-formed launch template.")
    assert "template name nope, does not exist" in message


def test_missing_and_unknown_members_are_named(autoscaling: Call):
    body = autoscaling(
        "CreateAutoScalingGroup", expect=400, MinSize=0, MaxSize=1, LaunchTemplate={}
    )
    assert error_of(body) == (
        "ValidationError",
        "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy "
        "constraint: Member must not be null",
    )
    body = autoscaling("SetDesiredCapacity", expect=400, AutoScalingGroupName="g", DesiredCapacty=1)
    code, message = error_of(body)
    assert code == "ValidationError"
    assert message.startswith('Unknown parameter in input: "DesiredCapacty", must be one of:')
    assert "DesiredCapacity" in message
    body = autoscaling(
        "CreateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "baristas", "Versoin": "1"},
        MinSize=0,
        MaxSize=1,
    )
    assert 'Unknown parameter in input at LaunchTemplate: "Versoin"' in error_of(body)[1]
    body = autoscaling(
        "SetDesiredCapacity", expect=400, AutoScalingGroupName="g", DesiredCapacity="x"
    )
    assert "Value 'x' at 'desiredCapacity'" in error_of(body)[1]
    assert "Member must be an integer" in error_of(body)[1]


def test_unknown_group_answers_aws_validation_error(autoscaling: Call):
    body = autoscaling(
        "SetDesiredCapacity", expect=400, AutoScalingGroupName="ghost", DesiredCapacity=1
    )
    assert error_of(body) == (
        "ValidationError",
        "AutoScalingGroup name not found - AutoScalingGroup ghost not found",
    )
    assert autoscaling("DescribeAutoScalingGroups", AutoScalingGroupNames=["ghost"]) == {
        "AutoScalingGroups": []
    }


def test_set_desired_capacity_outside_bounds_and_its_cause(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    body = autoscaling(
        "SetDesiredCapacity", expect=400, AutoScalingGroupName=group, DesiredCapacity=9
    )
    assert error_of(body) == (
        "ValidationError",
        "New SetDesiredCapacity value 9 is above max value 4 for the AutoScalingGroup.",
    )
    assert autoscaling("SetDesiredCapacity", AutoScalingGroupName=group, DesiredCapacity=3) == {}
    assert describe(autoscaling)["DesiredCapacity"] == 3
    converge(store_path, runtime)
    activities = autoscaling("DescribeScalingActivities", AutoScalingGroupName=group)["Activities"]
    assert len(activities) == 3
    assert all(
        "a user request explicitly set group desired capacity changing the desired capacity "
        "from 2 to 3" in a["Cause"]
        for a in activities
    )
    first = activities[0]
    assert first["StatusCode"] == "Successful"
    assert first["StartTime"] == "2026-11-28T00:00:00.000Z"
    assert first["Description"].startswith("Launching a new EC2 instance: ")
    assert (
        len(
            autoscaling("DescribeScalingActivities", AutoScalingGroupName=group, MaxRecords=2)[
                "Activities"
            ]
        )
        == 2
    )


def test_update_moves_desired_with_a_new_min_as_aws_does(autoscaling: Call, group: str):
    autoscaling("UpdateAutoScalingGroup", AutoScalingGroupName=group, MinSize=3)
    described = describe(autoscaling)
    assert (described["MinSize"], described["DesiredCapacity"]) == (3, 3)
    body = autoscaling(
        "UpdateAutoScalingGroup", expect=400, AutoScalingGroupName=group, DesiredCapacity=9
    )
    assert error_of(body) == (
        "ValidationError",
        "Desired capacity:9 must be between the specified min size:3 and max size:4",
    )


def test_suspend_and_resume_processes(autoscaling: Call, group: str):
    autoscaling(
        "SuspendProcesses", AutoScalingGroupName=group, ScalingProcesses=["Launch", "AZRebalance"]
    )
    suspended = describe(autoscaling)["SuspendedProcesses"]
    assert [p["ProcessName"] for p in suspended] == ["AZRebalance", "Launch"]
    autoscaling("ResumeProcesses", AutoScalingGroupName=group)
    assert describe(autoscaling)["SuspendedProcesses"] == []
    body = autoscaling(
        "SuspendProcesses", expect=400, AutoScalingGroupName=group, ScalingProcesses=["Nap"]
    )
    assert error_of(body) == ("ValidationError", "Invalid value for ScalingProcesses: Nap")


def test_protection_refuses_an_instance_of_another_group(autoscaling: Call, group: str):
    body = autoscaling(
        "SetInstanceProtection",
        expect=400,
        AutoScalingGroupName=group,
        InstanceIds=["i-0123"],
        ProtectedFromScaleIn=True,
    )
    assert error_of(body) == (
        "ValidationError",
        "The instance i-0123 is not part of Auto Scaling group baristas.",
    )


def test_terminate_instance_decrements_and_records_why(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    victim = describe(autoscaling)["Instances"][0]["InstanceId"]
    response = autoscaling(
        "TerminateInstanceInAutoScalingGroup",
        InstanceId=victim,
        ShouldDecrementDesiredCapacity=True,
    )
    activity = response["Activity"]
    assert activity["Description"] == f"Terminating EC2 instance: {victim}"
    assert activity["Cause"] == (
        f"At 2026-11-28T00:00:00Z instance {victim} was taken out of service in response to a "
        "user request, shrinking the capacity from 2 to 1."
    )
    # AWS answers at once: the termination is under way, the instance is still there.
    assert activity["StatusCode"] == "InProgress"
    assert runtime.terminated == []
    described = describe(autoscaling)
    assert described["DesiredCapacity"] == 1
    states = {i["InstanceId"]: i["LifecycleState"] for i in described["Instances"]}
    assert states[victim] == "Terminating"
    converge(store_path, runtime)
    assert runtime.terminated == [victim]
    assert len(runtime.instances(group)) == 1  # not replaced
    (done,) = autoscaling("DescribeScalingActivities", ActivityIds=[activity["ActivityId"]])[
        "Activities"
    ]
    assert done["StatusCode"] == "Successful"
    remaining = runtime.instances(group)[0].instance_id
    body = autoscaling(
        "TerminateInstanceInAutoScalingGroup",
        expect=400,
        InstanceId=remaining,
        ShouldDecrementDesiredCapacity=True,
    )
    assert "Currently, desiredSize equals minSize (1)" in error_of(body)[1]
    body = autoscaling(
        "TerminateInstanceInAutoScalingGroup",
        expect=400,
        InstanceId="i-x",
        ShouldDecrementDesiredCapacity=False,
    )
    assert error_of(body) == (
        "ValidationError",
        "Instance Id not found - No managed instance found for instance ID: i-x",
    )


def test_delete_refuses_a_group_with_instances_unless_forced(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    body = autoscaling("DeleteAutoScalingGroup", expect=400, AutoScalingGroupName=group)
    assert error_of(body) == (
        "ResourceInUse",
        "You cannot delete an AutoScalingGroup while there are instances or pending Spot "
        "instance request(s) still in the group.",
    )
    autoscaling("DeleteAutoScalingGroup", AutoScalingGroupName=group, ForceDelete=True)
    assert runtime.instances(group) == []
    assert autoscaling("DescribeAutoScalingGroups") == {"AutoScalingGroups": []}


def test_delete_an_empty_group(autoscaling: Call, group: str):
    autoscaling("DeleteAutoScalingGroup", AutoScalingGroupName=group)
    body = autoscaling("DeleteAutoScalingGroup", expect=400, AutoScalingGroupName=group)
    assert error_of(body)[0] == "ValidationError"


def test_unknown_action_is_named(autoscaling: Call):
    body = autoscaling("LaunchEverything", expect=400)
    assert error_of(body) == (
        "InvalidAction",
        "The action LaunchEverything is not valid for this web service.",
    )


def test_type_listings(autoscaling: Call):
    assert (
        "OldestInstance" in autoscaling("DescribeTerminationPolicyTypes")["TerminationPolicyTypes"]
    )
    processes = autoscaling("DescribeScalingProcessTypes")["Processes"]
    assert {"ProcessName": "AZRebalance"} in processes


def test_a_terminating_instance_is_not_capacity_so_no_second_victim(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    """Desired drops at once, and the instance on its way out no longer counts: a pass while
    it terminates neither scales in another instance nor replaces it."""
    converge(store_path, runtime)
    victim, other = sorted(i.instance_id for i in runtime.instances(group))
    autoscaling(
        "TerminateInstanceInAutoScalingGroup",
        InstanceId=victim,
        ShouldDecrementDesiredCapacity=True,
    )
    assert describe(autoscaling)["DesiredCapacity"] == 1
    with Store(store_path) as store:
        plan = AutoScalingController(store, runtime).reconcile_once().plans[group]
    assert plan.is_empty
    assert runtime.terminated == [victim]
    assert [i.instance_id for i in runtime.instances(group)] == [other]


def test_without_decrement_the_replacement_launches_while_the_instance_terminates(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    victim = runtime.instances(group)[0].instance_id
    autoscaling(
        "TerminateInstanceInAutoScalingGroup",
        InstanceId=victim,
        ShouldDecrementDesiredCapacity=False,
    )
    with Store(store_path) as store:
        plan = AutoScalingController(store, runtime).reconcile_once().plans[group]
    assert len(plan.launches) == 1
    assert victim not in {i.instance_id for i in runtime.instances(group)}
    assert len(runtime.instances(group)) == 2


def test_target_groups_attach_and_detach_and_show_on_the_group(
    client, autoscaling: Call, group: str
):
    elbv2 = _elbv2(client)
    (target_group,) = elbv2(
        "CreateTargetGroup", Name="counters", Protocol="HTTP", Port=8080, TargetType="ip"
    )["TargetGroups"]
    arn = target_group["TargetGroupArn"]
    autoscaling("AttachLoadBalancerTargetGroups", AutoScalingGroupName=group, TargetGroupARNs=[arn])
    assert describe(autoscaling)["TargetGroupARNs"] == [arn]
    missing = arn.replace("counters", "nobody")
    refused = autoscaling(
        "AttachLoadBalancerTargetGroups",
        expect=400,
        AutoScalingGroupName=group,
        TargetGroupARNs=[missing],
    )
    assert error_of(refused)[0] == "TargetGroupNotFound"
    autoscaling("DetachLoadBalancerTargetGroups", AutoScalingGroupName=group, TargetGroupARNs=[arn])
    assert describe(autoscaling)["TargetGroupARNs"] == []


def test_a_group_created_with_target_groups_has_them_attached(client, ec2: Call, autoscaling: Call):
    elbv2 = _elbv2(client)
    (target_group,) = elbv2("CreateTargetGroup", Name="tg", Port=80)["TargetGroups"]
    ec2(
        "CreateLaunchTemplate",
        LaunchTemplateName="web",
        LaunchTemplateData={"ImageId": "barista/service:latest"},
    )
    autoscaling(
        "CreateAutoScalingGroup",
        AutoScalingGroupName="web",
        LaunchTemplate={"LaunchTemplateName": "web"},
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=["az-a"],
        TargetGroupARNs=[target_group["TargetGroupArn"]],
    )
    assert describe(autoscaling, "web")["TargetGroupARNs"] == [target_group["TargetGroupArn"]]


def _elbv2(client) -> Call:
    def call(action: str, **params):
        response = client.post(f"/api/elbv2/{action}", json=params)
        assert response.status_code == 200, response.text
        return response.json()

    return call


def test_lifecycle_hooks_are_refused_in_aws_words(autoscaling: Call, group: str):
    body = autoscaling(
        "PutLifecycleHook",
        expect=400,
        AutoScalingGroupName="nobody",
        LifecycleHookName="h",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
    )
    assert error_of(body) == (
        "ValidationError",
        "AutoScalingGroup name not found - AutoScalingGroup nobody not found",
    )
    body = autoscaling(
        "PutLifecycleHook",
        expect=400,
        AutoScalingGroupName=group,
        LifecycleHookName="h",
        LifecycleTransition="autoscaling:EC2_INSTANCE_REBOOTING",
    )
    assert error_of(body)[1].startswith("Invalid Lifecycle Transition")
    autoscaling(
        "PutLifecycleHook",
        AutoScalingGroupName=group,
        LifecycleHookName="h",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
    )
    # An update needs no transition and changes only what it names.
    autoscaling(
        "PutLifecycleHook", AutoScalingGroupName=group, LifecycleHookName="h", HeartbeatTimeout=30
    )
    (hook,) = autoscaling("DescribeLifecycleHooks", AutoScalingGroupName=group)["LifecycleHooks"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert (hook["HeartbeatTimeout"], hook["GlobalTimeout"]) == (30, 3000)
    body = autoscaling(
        "DeleteLifecycleHook", expect=400, AutoScalingGroupName=group, LifecycleHookName="x"
    )
    assert error_of(body) == (
        "ValidationError",
        f"No Lifecycle Hook named 'x' found for Auto Scaling group '{group}'",
    )
    body = autoscaling(
        "CompleteLifecycleAction",
        expect=400,
        AutoScalingGroupName=group,
        LifecycleHookName="h",
        LifecycleActionResult="CONTINUE",
    )
    assert error_of(body)[1] == "Either LifecycleActionToken or InstanceId must be specified."


def test_terminating_a_protected_instance_by_request_drops_its_protection(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    victim = runtime.instances(group)[0].instance_id
    autoscaling(
        "SetInstanceProtection",
        AutoScalingGroupName=group,
        InstanceIds=[victim],
        ProtectedFromScaleIn=True,
    )
    autoscaling(
        "TerminateInstanceInAutoScalingGroup",
        InstanceId=victim,
        ShouldDecrementDesiredCapacity=False,
    )
    with Store(store_path) as store:
        assert victim not in store.groups()[group].protected_instance_ids


def test_honor_cooldown_refuses_a_change_until_the_default_cooldown_has_passed(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    autoscaling("UpdateAutoScalingGroup", AutoScalingGroupName=group, DefaultCooldown=300)
    converge(store_path, runtime)  # the group's launches: activities that just ended
    [last, *_] = autoscaling("DescribeScalingActivities", AutoScalingGroupName=group)["Activities"]
    body = autoscaling(
        "SetDesiredCapacity",
        expect=400,
        AutoScalingGroupName=group,
        DesiredCapacity=3,
        HonorCooldown=True,
    )
    assert error_of(body) == (
        "ScalingActivityInProgress",
        f"Scaling activity {last['ActivityId']} is in progress and blocks this action",
    )
    assert describe(autoscaling)["DesiredCapacity"] == 2
    # Without HonorCooldown a manual change ignores the cooldown, as in AWS.
    autoscaling("SetDesiredCapacity", AutoScalingGroupName=group, DesiredCapacity=1)
    converge(store_path, runtime)
    runtime.advance(301)
    autoscaling(
        "SetDesiredCapacity", AutoScalingGroupName=group, DesiredCapacity=3, HonorCooldown=True
    )
    assert describe(autoscaling)["DesiredCapacity"] == 3
