"""ELBv2 over HTTP: AWS's request and response shapes, AWS's refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from orchestrator.api import ApiContext, create_app
from orchestrator.elb.state import ElbStore
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import CREDENTIALS, SIGV4

Call = Callable[..., Any]


@pytest.fixture
def elbv2(tmp_path: Path) -> Iterator[Call]:
    context = ApiContext(
        store_path=tmp_path / "barista.db",
        runtime=FakeRuntime(start=1.8e9),
        credentials=CREDENTIALS,
    )
    with TestClient(create_app(context)) as client:
        client.auth = SIGV4

        def call(action: str, expect: int = 200, **params: Any) -> Any:
            response = client.post(f"/api/elbv2/{action}", json=params)
            assert response.status_code == expect, response.text
            return response.json()

        yield call


@pytest.fixture
def web(elbv2: Call) -> dict[str, str]:
    """An ALB ``web``, a target group ``orders`` and an HTTP listener on 9080 forwarding to it."""
    (load_balancer,) = elbv2("CreateLoadBalancer", Name="web")["LoadBalancers"]
    (target_group,) = elbv2(
        "CreateTargetGroup",
        Name="orders",
        Protocol="HTTP",
        Port=8000,
        TargetType="ip",
        HealthCheckPath="/healthz",
        HealthCheckIntervalSeconds=10,
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"]
    (listener,) = elbv2(
        "CreateListener",
        LoadBalancerArn=load_balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=9080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroupArn"]}],
    )["Listeners"]
    return {
        "lb": load_balancer["LoadBalancerArn"],
        "tg": target_group["TargetGroupArn"],
        "listener": listener["ListenerArn"],
    }


def test_resources_answer_in_aws_shapes(elbv2: Call, web: dict[str, str]):
    (load_balancer,) = elbv2("DescribeLoadBalancers", Names=["web"])["LoadBalancers"]
    assert load_balancer["Type"] == "application"
    assert load_balancer["State"] == {"Code": "active"}
    assert load_balancer["CreatedTime"].endswith("Z")
    (target_group,) = elbv2("DescribeTargetGroups", LoadBalancerArn=web["lb"])["TargetGroups"]
    assert target_group["HealthCheckPath"] == "/healthz"
    assert target_group["HealthCheckIntervalSeconds"] == 10
    assert target_group["HealthyThresholdCount"] == 5
    assert target_group["Matcher"] == {"HttpCode": "200-299"}
    assert target_group["LoadBalancerArns"] == [web["lb"]]
    (listener,) = elbv2("DescribeListeners", LoadBalancerArn=web["lb"])["Listeners"]
    assert listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": web["tg"], "Weight": 1}
    ]


def test_rules_take_both_condition_spellings_and_list_the_default_rule_last(
    elbv2: Call, web: dict[str, str]
):
    elbv2(
        "CreateRule",
        ListenerArn=web["listener"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "503", "MessageBody": "closed"},
            }
        ],
    )
    elbv2(
        "CreateRule",
        ListenerArn=web["listener"],
        Priority=5,
        Conditions=[
            {"Field": "host-header", "Values": ["admin.*"]},
            {
                "Field": "http-header",
                "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["canary"]},
            },
        ],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": web["tg"], "Weight": 3}]},
            }
        ],
    )
    rules = elbv2("DescribeRules", ListenerArn=web["listener"])["Rules"]
    assert [r["Priority"] for r in rules] == ["5", "10", "default"]
    assert rules[-1]["IsDefault"] is True
    assert rules[0]["Conditions"][1]["HttpHeaderConfig"]["HttpHeaderName"] == "X-Env"
    assert rules[1]["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "503"
    refused = elbv2(
        "CreateRule",
        400,
        ListenerArn=web["listener"],
        Priority=5,
        Conditions=[{"Field": "path-pattern", "Values": ["/x"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": web["tg"]}],
    )
    assert refused["Error"] == {
        "Code": "PriorityInUse",
        "Message": "Priority '5' is currently in use",
        "Type": "Sender",
    }


def test_attributes_round_trip_as_aws_key_values(elbv2: Call, web: dict[str, str]):
    changed = elbv2(
        "ModifyTargetGroupAttributes",
        TargetGroupArn=web["tg"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "20"}],
    )["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "20"} in changed
    described = elbv2("DescribeTargetGroupAttributes", TargetGroupArn=web["tg"])["Attributes"]
    assert {"Key": "stickiness.enabled", "Value": "false"} in described
    assert {"Key": "load_balancing.algorithm.type", "Value": "round_robin"} in described


def test_targets_register_and_deregister_into_the_store(
    elbv2: Call, web: dict[str, str], tmp_path: Path
):
    elbv2(
        "RegisterTargets",
        TargetGroupArn=web["tg"],
        Targets=[{"Id": "10.0.0.1"}, {"Id": "10.0.0.2", "Port": 81}],
    )
    elbv2("DeregisterTargets", TargetGroupArn=web["tg"], Targets=[{"Id": "10.0.0.1"}])
    with ElbStore(tmp_path / "barista.db") as store:
        assert [(t.id, t.port) for t in store.registered_targets(web["tg"])] == [("10.0.0.2", 81)]
        assert [d.target.id for d in store.deregistrations(web["tg"])] == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("action", "params", "code", "message"),
    [
        (
            "CreateLoadBalancer",
            {"Name": "web", "Type": "network"},
            "DuplicateLoadBalancerName",
            "A load balancer with the same name 'web' exists, but with different settings",
        ),
        (
            "CreateTargetGroup",
            {"Name": "x", "Port": 80, "HealthCheckTimeoutSeconds": 40},
            "ValidationError",
            "Health check timeout '40' must be smaller than the interval '30'",
        ),
        (
            "DescribeTargetGroups",
            {"Names": ["nope"]},
            "TargetGroupNotFound",
            "Target groups '['nope']' not found",
        ),
        (
            "CreateTargetGroup",
            {"Name": "x", "Port": 80, "Colour": "red"},
            "ValidationError",
            'Unknown parameter in input: "Colour", must be one of: ',
        ),
        (
            "CreateListener",
            {"LoadBalancerArn": "arn:nope", "Protocol": "HTTP", "Port": 1, "DefaultActions": []},
            "LoadBalancerNotFound",
            "One or more load balancers not found",
        ),
        (
            "RegisterTargets",
            {"TargetGroupArn": "arn:nope", "Targets": [{"Id": "1.2.3.4"}]},
            "TargetGroupNotFound",
            "One or more target groups not found",
        ),
    ],
)
def test_refusals_carry_aws_codes(
    elbv2: Call, web: dict[str, str], action: str, params: dict[str, Any], code: str, message: str
):
    error = elbv2(action, 400, **params)["Error"]
    assert error["Code"] == code
    assert error["Message"].startswith(message)
