"""MixedInstancesPolicy through the front door: created and described in AWS's shape with
boto3, refused where AWS refuses, and the instances a pass launches answered with their
instance type and weight."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.api import autoscaling as autoscaling_api
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve
from tests.unit.orchestrator.api.test_output_shapes import unknown_keys

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
POLICY: dict[str, Any] = {
    "LaunchTemplate": {
        "LaunchTemplateSpecification": {"LaunchTemplateName": "baristas", "Version": "$Latest"},
        "Overrides": [
            {"InstanceType": "t3.micro", "WeightedCapacity": "1"},
            {"InstanceType": "t3.small", "WeightedCapacity": "2"},
        ],
    },
    "InstancesDistribution": {
        "OnDemandBaseCapacity": 1,
        "OnDemandPercentageAboveBaseCapacity": 50,
        "SpotAllocationStrategy": "capacity-optimized",
    },
}


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(start=START)


@pytest.fixture
def context(tmp_path: Path, runtime: FakeRuntime) -> ApiContext:
    return ApiContext(tmp_path / "barista.db", runtime, {}, CREDENTIALS)


@pytest.fixture
def endpoint(context: ApiContext) -> Iterator[Endpoint]:
    with serve(context) as served:
        served.client("ec2").create_launch_template(
            LaunchTemplateName="baristas",
            LaunchTemplateData={"ImageId": "barista/service:latest", "InstanceType": "t3.micro"},
        )
        yield served


def test_created_described_and_launched_in_aws_shape(
    endpoint: Endpoint, context: ApiContext, runtime: FakeRuntime
) -> None:
    autoscaling = endpoint.client("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="mixed",
        MixedInstancesPolicy=POLICY,
        MinSize=0,
        MaxSize=10,
        DesiredCapacity=5,
        AvailabilityZones=["az-a"],
    )
    with Store(context.store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()
    answer = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["mixed"])
    (group,) = answer["AutoScalingGroups"]
    assert "LaunchTemplate" not in group
    policy = group["MixedInstancesPolicy"]
    assert policy["LaunchTemplate"]["Overrides"] == POLICY["LaunchTemplate"]["Overrides"]
    assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateName"] == (
        "baristas"
    )
    assert policy["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized",
        "OnDemandBaseCapacity": 1,
        "OnDemandPercentageAboveBaseCapacity": 50,
        "SpotAllocationStrategy": "capacity-optimized",
        "SpotInstancePools": 2,
    }
    # 5 units: 1 base + ceil(50 % of 4) = 3 On-Demand units (t3.micro, the first override),
    # 2 Spot units; every instance answers its type and weight.
    instances = group["Instances"]
    units = sum(int(i["WeightedCapacity"]) for i in instances)
    assert units == 5
    assert all(i["InstanceType"] in {"t3.micro", "t3.small"} for i in instances)
    assert {(i.lifecycle.value, i.instance_type) for i in runtime.instances()} >= {
        ("on-demand", "t3.micro")
    }
    spot_units = sum(
        2 if i.instance_type == "t3.small" else 1
        for i in runtime.instances()
        if i.lifecycle.value == "spot"
    )
    assert spot_units == 2
    model = botocore.session.get_session().get_service_model("autoscaling")
    output = model.operation_model("DescribeAutoScalingGroups").output_shape
    # The handler's own answer (before the front door drops what the model lacks) has only
    # members of AWS's shape.
    handler = autoscaling_api.actions(context)["DescribeAutoScalingGroups"]
    raw = handler({"AutoScalingGroupNames": ["mixed"]})
    assert list(unknown_keys(dict(raw), output, "")) == []
    details = autoscaling.describe_auto_scaling_instances()["AutoScalingInstances"]
    assert {d["InstanceType"] for d in details} <= {"t3.micro", "t3.small"}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"LaunchTemplate": {"LaunchTemplateName": "baristas"}}, "either LaunchTemplate"),
        (
            {
                "MixedInstancesPolicy": {
                    **POLICY,
                    "InstancesDistribution": {"OnDemandPercentageAboveBaseCapacity": 120},
                }
            },
            "between 0 and 100",
        ),
        (
            {
                "MixedInstancesPolicy": {
                    **POLICY,
                    "InstancesDistribution": {"SpotAllocationStrategy": "cheapest"},
                }
            },
            "spotAllocationStrategy",
        ),
        (
            {
                "MixedInstancesPolicy": {
                    "LaunchTemplate": {
                        **POLICY["LaunchTemplate"],
                        "Overrides": [
                            {"InstanceType": "t3.micro", "WeightedCapacity": "2"},
                            {"InstanceType": "t3.nano"},
                        ],
                    }
                }
            },
            "every instance type",
        ),
    ],
)
def test_refused_as_aws_refuses(endpoint: Endpoint, change: dict[str, Any], fragment: str) -> None:
    request: dict[str, Any] = {
        "AutoScalingGroupName": "mixed",
        "MixedInstancesPolicy": POLICY,
        "MinSize": 0,
        "MaxSize": 2,
        "AvailabilityZones": ["az-a"],
        **change,
    }
    with pytest.raises(ClientError) as refused:
        endpoint.client("autoscaling").create_auto_scaling_group(**request)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert fragment in refused.value.response["Error"]["Message"]


def test_the_aws_cli_creates_and_updates_a_mixed_group(endpoint: Endpoint) -> None:
    created = endpoint.aws(
        "autoscaling",
        "create-auto-scaling-group",
        "--auto-scaling-group-name",
        "mixed",
        "--mixed-instances-policy",
        json.dumps(POLICY),
        "--min-size",
        "0",
        "--max-size",
        "4",
        "--availability-zones",
        "az-a",
    )
    assert created.returncode == 0, created.stderr
    updated = endpoint.aws(
        "autoscaling",
        "update-auto-scaling-group",
        "--auto-scaling-group-name",
        "mixed",
        "--mixed-instances-policy",
        json.dumps(
            {
                **POLICY,
                "InstancesDistribution": {
                    "OnDemandPercentageAboveBaseCapacity": 0,
                    "SpotMaxPrice": "0.005",
                },
            }
        ),
    )
    assert updated.returncode == 0, updated.stderr
    described = endpoint.aws(
        "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "mixed"
    )
    distribution = json.loads(described.stdout)["AutoScalingGroups"][0]["MixedInstancesPolicy"][
        "InstancesDistribution"
    ]
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 0
    assert distribution["SpotMaxPrice"] == "0.005"
