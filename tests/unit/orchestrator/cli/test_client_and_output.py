"""The pieces other command groups reuse: option names, shorthand, the client, the renderers."""

from __future__ import annotations

import io
import json

import pytest

from orchestrator.cli._client import UsageError, kebab, parse_structure
from orchestrator.cli._output import render, text
from orchestrator.client import Client, EndpointUnreachable, ServiceError, endpoint_url


@pytest.mark.parametrize(
    ("name", "option"),
    [
        ("AutoScalingGroupName", "auto-scaling-group-name"),
        ("OKActions", "ok-actions"),
        ("TargetGroupARNs", "target-group-arns"),
        ("TerminateInstanceInAutoScalingGroup", "terminate-instance-in-auto-scaling-group"),
        ("MemoryMiB", "memory-mi-b"),
    ],
)
def test_kebab_names_match_the_aws_cli(name: str, option: str):
    assert kebab(name) == option


def test_shorthand_structures_lists_and_quotes():
    assert parse_structure("LaunchTemplateName=baristas,Version='$Latest'", "--x") == {
        "LaunchTemplateName": "baristas",
        "Version": "$Latest",
    }
    assert parse_structure("Name=a,Values=[x,y],Inner={A=1,B=2}", "--x") == {
        "Name": "a",
        "Values": ["x", "y"],
        "Inner": {"A": "1", "B": "2"},
    }
    assert parse_structure('{"A": 1}', "--x") == {"A": 1}
    with pytest.raises(UsageError, match="Expected: '='"):
        parse_structure("Name", "--x")
    with pytest.raises(UsageError, match="Invalid JSON"):
        parse_structure("{not json", "--x")


def test_endpoint_precedence():
    assert endpoint_url("http://a:1", {"BARISTA_ENDPOINT_URL": "http://b:2"}) == "http://a:1"
    assert endpoint_url(None, {"BARISTA_ENDPOINT_URL": "http://b:2"}) == "http://b:2"
    assert endpoint_url(None, {}) == "http://127.0.0.1:8500"


def test_client_with_an_injected_transport():
    seen = []

    def transport(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        seen.append((url, json.loads(body)))
        if "Bad" in url:
            return 400, b'{"Error": {"Code": "ValidationError", "Message": "no"}}'
        if "Boom" in url:
            return 500, b"Internal Server Error"
        return 200, b'{"Ok": true}'

    client = Client("http://api:8500/", transport=transport)
    assert client.call("elbv2", "CreateTargetGroup", {"Name": "tg"}) == {"Ok": True}
    assert seen[0] == ("http://api:8500/api/elbv2/CreateTargetGroup", {"Name": "tg"})
    with pytest.raises(ServiceError) as refused:
        client.call("elbv2", "Bad", {})
    assert (
        str(refused.value)
        == "An error occurred (ValidationError) when calling the Bad operation: no"
    )
    with pytest.raises(ServiceError, match=r"\(HTTP 500\)"):
        client.call("elbv2", "Boom", {})

    def refusing(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(EndpointUnreachable, match="make up"):
        Client("http://api:8500", transport=refusing).call("elbv2", "X", {})


RESPONSE = {
    "TargetGroups": [
        {
            "TargetGroupName": "web",
            "Port": 80,
            "HealthCheck": {"Path": "/health", "IntervalSeconds": 30},
        },
        {
            "TargetGroupName": "api",
            "Port": 8080,
            "HealthCheck": {"Path": "/ready", "IntervalSeconds": 10},
        },
    ]
}


def test_flat_records_are_one_table_with_nested_fields_as_columns():
    out = io.StringIO()
    render(RESPONSE, "table", stream=out)
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if "TargetGroupName" in line)
    assert "Path" in header
    assert "IntervalSeconds" in header
    assert any("web" in line and "/health" in line and "30" in line for line in lines)


def test_wide_records_print_as_key_value_blocks(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    render(RESPONSE, "table", stream=out)
    lines = out.getvalue().splitlines()
    assert any(line.split() == ["TargetGroupName", "web"] for line in lines)
    assert any(line.split() == ["HealthCheck", "Path=/health"] for line in lines)


def test_json_and_text_and_empty():
    out = io.StringIO()
    render(RESPONSE, "json", stream=out)
    assert json.loads(out.getvalue()) == RESPONSE
    assert text(RESPONSE).splitlines() == [
        "TARGETGROUPS\t80\tweb",
        "HEALTHCHECK\t30\t/health",
        "TARGETGROUPS\t8080\tapi",
        "HEALTHCHECK\t10\t/ready",
    ]
    empty = io.StringIO()
    render({}, "table", stream=empty)
    assert empty.getvalue() == ""


def test_deep_structures_read_as_dotted_keys_and_sections():
    response = {
        "ScalingPolicies": [
            {
                "PolicyName": "backlog",
                "TargetTrackingConfiguration": {
                    "TargetValue": 100.0,
                    "CustomizedMetricSpecification": {
                        "Metrics": [
                            {
                                "Id": "m1",
                                "MetricStat": {
                                    "Metric": {
                                        "Namespace": "AWS/SQS",
                                        "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                                    },
                                    "Stat": "Sum",
                                },
                            }
                        ]
                    },
                },
            }
        ]
    }
    out = io.StringIO()
    render(response, "table", stream=out)
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert ["TargetTrackingConfiguration.TargetValue", "100.0"] in lines
    assert ["TargetTrackingConfiguration.CustomizedMetricSpecification.Metrics"] in lines
    assert ["MetricStat.Metric.Dimensions", "Name=QueueName,", "Value=orders"] in lines
    assert ["MetricStat.Stat", "Sum"] in lines
