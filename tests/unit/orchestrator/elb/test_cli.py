"""``barista elbv2 …`` against a live API, with the AWS CLI's shorthand and outputs."""

from __future__ import annotations

import json

from tests.unit.orchestrator.cli.conftest import (  # noqa: F401 - fixtures shared with the CLI tests
    Barista,
    Server,
    barista,
    server,
)


def created(result) -> dict:
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_a_load_balancer_with_a_rule_from_shorthand_options(barista: Barista):  # noqa: F811
    (target_group,) = created(
        barista(
            "elbv2",
            "create-target-group",
            "--name",
            "orders",
            "--port",
            "8000",
            "--target-type",
            "ip",
            "--health-check-path",
            "/healthz",
            "--matcher",
            "HttpCode=200-299",
            "--output",
            "json",
        )
    )["TargetGroups"]
    assert target_group["Matcher"] == {"HttpCode": "200-299"}
    tg = target_group["TargetGroupArn"]
    (load_balancer,) = created(
        barista("elbv2", "create-load-balancer", "--name", "web", "--output", "json")
    )["LoadBalancers"]
    (listener,) = created(
        barista(
            "elbv2",
            "create-listener",
            "--load-balancer-arn",
            load_balancer["LoadBalancerArn"],
            "--protocol",
            "HTTP",
            "--port",
            "9080",
            "--default-actions",
            f"Type=forward,TargetGroupArn={tg}",
            "--output",
            "json",
        )
    )["Listeners"]
    created(
        barista(
            "elbv2",
            "create-rule",
            "--listener-arn",
            listener["ListenerArn"],
            "--priority",
            "10",
            "--conditions",
            "Field=path-pattern,Values=['/api/*']",
            "--actions",
            "Type=fixed-response,FixedResponseConfig={StatusCode=503}",
            "--output",
            "json",
        )
    )
    rules = created(
        barista(
            "elbv2", "describe-rules", "--listener-arn", listener["ListenerArn"], "--output", "json"
        )
    )["Rules"]
    assert [(r["Priority"], r["Actions"][0]["Type"]) for r in rules] == [
        ("10", "fixed-response"),
        ("default", "forward"),
    ]
    assert rules[0]["Conditions"][0]["Values"] == ["/api/*"]

    registered = barista(
        "elbv2",
        "register-targets",
        "--target-group-arn",
        tg,
        "--targets",
        "Id=10.0.0.7,Port=8000",
        "Id=10.0.0.8",
    )
    assert registered.code == 0, registered.err
    table = barista("elbv2", "describe-target-groups", "--names", "orders")
    assert table.code == 0
    assert "orders" in table.out
    assert "/healthz" in table.out


def test_a_refusal_prints_the_aws_line_and_exits_254(barista: Barista):  # noqa: F811
    result = barista("elbv2", "describe-target-groups", "--names", "missing")
    assert result.code == 254
    assert (
        "An error occurred (TargetGroupNotFound) when calling the DescribeTargetGroups "
        "operation: Target groups '['missing']' not found"
    ) in result.err
