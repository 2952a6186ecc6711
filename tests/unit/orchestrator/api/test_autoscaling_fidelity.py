"""What DescribeAutoScalingGroups, DescribeScalingActivities and the tag actions answer beyond
the basics: subnets, capacity rebalance, warm-up, maximum instance lifetime, traffic sources,
tags and NextToken pages."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.runtime.fake import FakeRuntime
from tests.unit.orchestrator.api.conftest import Call, error_of

SUBNET_A = "subnet-0aaaaaaaaaaaaaaaa"
SUBNET_B = "subnet-0bbbbbbbbbbbbbbbb"


def describe(autoscaling: Call, name: str = "baristas") -> dict:
    (group,) = autoscaling("DescribeAutoScalingGroups", AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ]
    return group


def create(autoscaling: Call, name: str, **params) -> None:
    autoscaling(
        "CreateAutoScalingGroup",
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": "baristas"},
        MinSize=0,
        MaxSize=2,
        **params,
    )


def test_the_group_answers_its_subnets_and_aws_defaults(autoscaling: Call, group: str):
    described = describe(autoscaling, group)
    assert described["VPCZoneIdentifier"] == f"{SUBNET_A},{SUBNET_B}"
    assert described["CapacityRebalance"] is False
    assert "DefaultInstanceWarmup" not in described  # not enabled unless set
    assert described["TrafficSources"] == []
    assert described["Tags"] == []


def test_vpc_zone_identifier_names_the_zones(autoscaling: Call, group: str):
    create(autoscaling, "by-subnet", VPCZoneIdentifier=SUBNET_B)
    assert describe(autoscaling, "by-subnet")["AvailabilityZones"] == ["az-b"]
    autoscaling(
        "UpdateAutoScalingGroup",
        AutoScalingGroupName="by-subnet",
        VPCZoneIdentifier=f"{SUBNET_A}, {SUBNET_B}",
    )
    described = describe(autoscaling, "by-subnet")
    assert described["AvailabilityZones"] == ["az-a", "az-b"]
    assert described["VPCZoneIdentifier"] == f"{SUBNET_A},{SUBNET_B}"
    body = autoscaling(
        "UpdateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="by-subnet",
        VPCZoneIdentifier="subnet-0123456789abcdef0",
    )
    assert error_of(body) == (
        "ValidationError",
        "The subnet ID 'subnet-0123456789abcdef0' does not exist",
    )
    body = autoscaling(
        "UpdateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="by-subnet",
        VPCZoneIdentifier=SUBNET_B,
        AvailabilityZones=["az-a"],
    )
    assert error_of(body)[1] == (
        "The availability zones of the specified subnets and the Auto Scaling group do not match"
    )


def test_capacity_rebalance_and_default_instance_warmup_are_kept(autoscaling: Call, group: str):
    create(
        autoscaling,
        "tuned",
        AvailabilityZones=["az-a"],
        CapacityRebalance=True,
        DefaultInstanceWarmup=120,
    )
    described = describe(autoscaling, "tuned")
    assert (described["CapacityRebalance"], described["DefaultInstanceWarmup"]) == (True, 120)
    autoscaling(
        "UpdateAutoScalingGroup",
        AutoScalingGroupName="tuned",
        CapacityRebalance=False,
        DefaultInstanceWarmup=0,
    )
    described = describe(autoscaling, "tuned")
    assert (described["CapacityRebalance"], described["DefaultInstanceWarmup"]) == (False, 0)
    autoscaling("UpdateAutoScalingGroup", AutoScalingGroupName="tuned", DefaultInstanceWarmup=-1)
    assert "DefaultInstanceWarmup" not in describe(autoscaling, "tuned")
    body = autoscaling(
        "UpdateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="tuned",
        DefaultInstanceWarmup=4000,
    )
    assert error_of(body)[0] == "ValidationError"


def test_max_instance_lifetime_is_kept_cleared_by_zero_and_at_least_a_day(
    autoscaling: Call, group: str
):
    create(autoscaling, "recycled", AvailabilityZones=["az-a"], MaxInstanceLifetime=604_800)
    assert describe(autoscaling, "recycled")["MaxInstanceLifetime"] == 604_800
    body = autoscaling(
        "UpdateAutoScalingGroup",
        expect=400,
        AutoScalingGroupName="recycled",
        MaxInstanceLifetime=3_600,
    )
    assert error_of(body) == (
        "ValidationError",
        "MaxInstanceLifetime must be either 0 or a number equal to or greater than 86400 "
        "seconds, got 3600.",
    )
    autoscaling("UpdateAutoScalingGroup", AutoScalingGroupName="recycled", MaxInstanceLifetime=0)
    assert "MaxInstanceLifetime" not in describe(autoscaling, "recycled")


def test_traffic_sources_are_the_attached_target_groups(client, autoscaling: Call, group: str):
    response = client.post("/api/elbv2/CreateTargetGroup", json={"Name": "tg", "Port": 80})
    arn = response.json()["TargetGroups"][0]["TargetGroupArn"]
    autoscaling("AttachLoadBalancerTargetGroups", AutoScalingGroupName=group, TargetGroupARNs=[arn])
    assert describe(autoscaling)["TrafficSources"] == [{"Identifier": arn, "Type": "elbv2"}]


def test_tags_are_created_described_filtered_and_deleted(autoscaling: Call, group: str):
    create(
        autoscaling,
        "tagged",
        AvailabilityZones=["az-a"],
        Tags=[{"Key": "team", "Value": "coffee", "PropagateAtLaunch": True}],
    )
    assert describe(autoscaling, "tagged")["Tags"] == [
        {
            "ResourceId": "tagged",
            "ResourceType": "auto-scaling-group",
            "Key": "team",
            "Value": "coffee",
            "PropagateAtLaunch": True,
        }
    ]
    autoscaling(
        "CreateOrUpdateTags",
        Tags=[
            {
                "ResourceId": group,
                "ResourceType": "auto-scaling-group",
                "Key": "team",
                "Value": "tea",
            },
            {"ResourceId": "tagged", "ResourceType": "auto-scaling-group", "Key": "env"},
        ],
    )
    every = autoscaling("DescribeTags")["Tags"]
    assert [(t["ResourceId"], t["Key"], t["Value"]) for t in every] == [
        ("baristas", "team", "tea"),
        ("tagged", "env", ""),
        ("tagged", "team", "coffee"),
    ]
    coffee = autoscaling(
        "DescribeTags",
        Filters=[{"Name": "key", "Values": ["team"]}, {"Name": "value", "Values": ["coffee"]}],
    )["Tags"]
    assert [t["ResourceId"] for t in coffee] == ["tagged"]
    first = autoscaling("DescribeTags", MaxRecords=2)
    assert len(first["Tags"]) == 2
    rest = autoscaling("DescribeTags", MaxRecords=2, NextToken=first["NextToken"])
    assert [t["Key"] for t in rest["Tags"]] == ["team"]
    assert "NextToken" not in rest
    autoscaling(
        "DeleteTags",
        Tags=[{"ResourceId": "tagged", "ResourceType": "auto-scaling-group", "Key": "team"}],
    )
    assert [t["Key"] for t in describe(autoscaling, "tagged")["Tags"]] == ["env"]
    body = autoscaling(
        "CreateOrUpdateTags",
        expect=400,
        Tags=[{"ResourceId": "ghost", "ResourceType": "auto-scaling-group", "Key": "k"}],
    )
    assert error_of(body)[0] == "ValidationError"
    body = autoscaling("DescribeTags", expect=400, Filters=[{"Name": "colour", "Values": ["x"]}])
    assert error_of(body)[0] == "ValidationError"


def test_groups_page_with_an_opaque_next_token(autoscaling: Call, group: str):
    create(autoscaling, "a-first", AvailabilityZones=["az-a"])
    create(autoscaling, "z-last", AvailabilityZones=["az-a"])
    first = autoscaling("DescribeAutoScalingGroups", MaxRecords=2)
    assert [g["AutoScalingGroupName"] for g in first["AutoScalingGroups"]] == [
        "a-first",
        "baristas",
    ]
    assert "baristas" not in first["NextToken"]
    second = autoscaling("DescribeAutoScalingGroups", MaxRecords=2, NextToken=first["NextToken"])
    assert [g["AutoScalingGroupName"] for g in second["AutoScalingGroups"]] == ["z-last"]
    assert "NextToken" not in second
    for bad in ("not-a-token", first["NextToken"][:-3]):
        body = autoscaling("DescribeAutoScalingGroups", expect=400, NextToken=bad)
        assert error_of(body) == ("InvalidNextToken", "The NextToken value is not valid.")
    tags_token = autoscaling("DescribeTags", MaxRecords=1)
    assert "NextToken" not in tags_token  # no tags at all: one empty page


def test_activities_say_the_group_state_and_the_instance_subnet_and_page(
    autoscaling: Call, group: str, store_path: Path, runtime: FakeRuntime
):
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    autoscaling("SetDesiredCapacity", AutoScalingGroupName=group, DesiredCapacity=4)
    runtime.advance(10)
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    every = autoscaling("DescribeScalingActivities", AutoScalingGroupName=group)["Activities"]
    assert len(every) == 4
    for activity in every:
        assert activity["AutoScalingGroupState"] == "InService"
        details = json.loads(activity["Details"])
        zone = details["Availability Zone"]
        assert zone in ("az-a", "az-b")
        assert details["Subnet ID"] == {"az-a": SUBNET_A, "az-b": SUBNET_B}[zone]
    pages, token = [], None
    while True:
        page = autoscaling(
            "DescribeScalingActivities",
            AutoScalingGroupName=group,
            MaxRecords=3,
            **({"NextToken": token} if token else {}),
        )
        pages.append([a["ActivityId"] for a in page["Activities"]])
        token = page.get("NextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [3, 1]
    assert [i for p in pages for i in p] == [a["ActivityId"] for a in every]
    body = autoscaling("DescribeScalingActivities", expect=400, NextToken="x")
    assert error_of(body)[0] == "InvalidNextToken"
