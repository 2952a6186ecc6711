"""The AWS front door, driven by clients nobody on the team wrote: boto3 and the ``aws`` CLI
over real HTTP, each protocol parsed and rendered from botocore's models, every request signed.

The API runs in process on a loopback port over a fake runtime, so these need no Docker.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import botocore.parsers
import botocore.serialize
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError
from starlette.testclient import TestClient

from orchestrator.api import ApiContext, create_app
from orchestrator.api.front_door import service_model
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_endpoint import CREDENTIALS, KEY_ID, SECRET, Endpoint, serve

START = datetime(2026, 11, 28).timestamp()


@pytest.fixture
def context(tmp_path: Path) -> ApiContext:
    return ApiContext(tmp_path / "barista.db", FakeRuntime(start=START), credentials=CREDENTIALS)


@pytest.fixture
def endpoint(context: ApiContext) -> Iterator[Endpoint]:
    with serve(context) as served:
        yield served


def _template(endpoint: Endpoint, name: str = "baristas") -> None:
    endpoint.client("ec2").create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": "barista/service:latest", "InstanceType": "t3.micro"},
    )


def _code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_query_protocol_round_trips_lists_numbers_and_booleans(endpoint: Endpoint) -> None:
    _template(endpoint)
    autoscaling = endpoint.client("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="baristas",
        LaunchTemplate={"LaunchTemplateName": "baristas", "Version": "$Latest"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=0,
        AvailabilityZones=["az-a", "az-b"],
        NewInstancesProtectedFromScaleIn=True,
    )
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["baristas"])[
        "AutoScalingGroups"
    ]
    assert group["AutoScalingGroupName"] == "baristas"
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 4, 0)
    assert group["AvailabilityZones"] == ["az-a", "az-b"]
    assert group["NewInstancesProtectedFromScaleIn"] is True
    assert isinstance(group["CreatedTime"], datetime)
    assert group["LaunchTemplate"]["LaunchTemplateName"] == "baristas"


def test_ec2_dialect_answers_in_ec2s_own_shape(endpoint: Endpoint) -> None:
    _template(endpoint, "counters")
    ec2 = endpoint.client("ec2")
    (template,) = ec2.describe_launch_templates(LaunchTemplateNames=["counters"])["LaunchTemplates"]
    assert template["LaunchTemplateName"] == "counters"
    assert template["LatestVersionNumber"] == 1
    (version,) = ec2.describe_launch_template_versions(LaunchTemplateName="counters")[
        "LaunchTemplateVersions"
    ]
    assert version["LaunchTemplateData"]["ImageId"] == "barista/service:latest"
    assert version["DefaultVersion"] is True


def test_query_errors_parse_as_client_errors_with_awss_codes(endpoint: Endpoint) -> None:
    _template(endpoint)
    autoscaling = endpoint.client("autoscaling")
    with pytest.raises(ClientError) as refused:
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="baristas",
            LaunchTemplate={"LaunchTemplateName": "baristas"},
            MinSize=3,
            MaxSize=1,
        )
    assert _code(refused) == ("ValidationError", 400)
    with pytest.raises(ClientError) as missing:
        endpoint.client("ec2").describe_launch_templates(LaunchTemplateNames=["nope"])
    assert _code(missing)[1] == 400
    assert "nope" in str(missing.value)


def test_an_action_barista_lacks_is_501_and_named(endpoint: Endpoint) -> None:
    with pytest.raises(ClientError) as refused:
        endpoint.client("autoscaling").describe_account_limits()
    assert _code(refused) == ("NotImplemented", 501)
    assert "autoscaling:DescribeAccountLimits" in str(refused.value)


def test_json_protocol_for_ecs_with_its_exception_names(endpoint: Endpoint) -> None:
    ecs = endpoint.client("ecs")
    ecs.create_cluster(clusterName="shop")
    assert [c["clusterName"] for c in ecs.describe_clusters(clusters=["shop"])["clusters"]] == [
        "shop"
    ]
    assert ecs.list_clusters()["clusterArns"] == ["arn:aws:ecs:us-east-1:000000000000:cluster/shop"]
    definition = ecs.register_task_definition(
        family="counter",
        containerDefinitions=[{"name": "api", "image": "barista/service:latest", "memory": 128}],
    )["taskDefinition"]
    assert definition["revision"] == 1
    assert isinstance(definition["registeredAt"], datetime)  # epoch seconds on the wire
    with pytest.raises(ClientError) as refused:
        ecs.describe_task_definition(taskDefinition="nothing:1")
    assert _code(refused)[1] == 400


def test_cloudwatch_over_json_1_0(endpoint: Endpoint) -> None:
    cloudwatch = endpoint.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="backlog-high",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "orders"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        Threshold=10.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["backlog-high"])["MetricAlarms"]
    assert alarm["Threshold"] == 10.0
    assert alarm["EvaluationPeriods"] == 2
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"


def test_smithy_rpc_v2_cbor_as_botocore_serialises_and_parses_it(context: ApiContext) -> None:
    """CloudWatch's newest protocol: the request made and the answer read by botocore's own
    CBOR serializer and parser (the pinned clients prefer JSON, newer ones may not)."""
    model = service_model("cloudwatch")
    operation = model.operation_model("DescribeAlarms")
    serialized = botocore.serialize.create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        {"AlarmNames": ["none"]}, operation
    )
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1{serialized['url_path']}",
        data=serialized["body"],
        headers=serialized["headers"],
    )
    SigV4Auth(BotoCredentials(KEY_ID, SECRET), "monitoring", "us-east-1").add_auth(request)
    with TestClient(create_app(context), base_url="http://127.0.0.1") as client:
        answer = client.post(
            serialized["url_path"], content=request.body, headers=dict(request.headers.items())
        )
    assert answer.headers["smithy-protocol"] == "rpc-v2-cbor"
    parsed = botocore.parsers.create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": answer.status_code, "headers": answer.headers, "body": answer.content},
        operation.output_shape,
    )
    assert answer.status_code == 200
    assert parsed["MetricAlarms"] == []


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("autoscaling", "describe_auto_scaling_groups", "SignatureDoesNotMatch"),
        ("ecs", "list_clusters", "InvalidSignatureException"),
    ],
)
def test_a_wrong_secret_is_refused(endpoint: Endpoint, service: str, call: str, code: str) -> None:
    client = endpoint.client(service, aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as refused:
        getattr(client, call)()
    assert _code(refused) == (code, 403)


def test_an_unknown_key_is_refused(endpoint: Endpoint) -> None:
    client = endpoint.client("autoscaling", aws_access_key_id="AKIANOBODYKNOWS00000")
    with pytest.raises(ClientError) as refused:
        client.describe_auto_scaling_groups()
    assert _code(refused) == ("InvalidClientTokenId", 403)


def test_an_unsigned_request_changes_nothing(endpoint: Endpoint, context: ApiContext) -> None:
    _template(endpoint)
    form = (
        b"Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=sneaky"
        b"&LaunchTemplate.LaunchTemplateName=baristas&MinSize=0&MaxSize=1"
    )
    request = urllib.request.Request(
        endpoint.url,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert b"MissingAuthenticationToken" in refused.value.read()
    groups = endpoint.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert groups == []


def test_the_aws_cli_reads_answers_and_refusals(endpoint: Endpoint) -> None:
    created = endpoint.aws("ecs", "create-cluster", "--cluster-name", "shop")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["cluster"]["clusterName"] == "shop"
    listed = endpoint.aws("autoscaling", "describe-auto-scaling-groups")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"AutoScalingGroups": []}
    refused = endpoint.aws(
        "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "nope",
        "--desired-capacity", "1",
    )  # fmt: skip
    assert refused.returncode == 255  # AWS CLI v1's exit code for a service error
    assert "(ValidationError)" in refused.stderr


def test_health_answers_unsigned_and_says_nothing_else(context: ApiContext) -> None:
    with TestClient(create_app(context)) as client:
        answer = client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
