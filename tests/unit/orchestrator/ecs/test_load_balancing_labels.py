"""ALBRequestCountPerTarget's ResourceLabel names the target group in AWS's form (the load
balancer's and the target group's full names) or, as Barista also takes it, by its ARN."""

from __future__ import annotations

from orchestrator.ecs.load_balancing import labelled

PREFIX = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
COUNTERS = f"{PREFIX}:targetgroup/order-api/0123456789abcdef"
OTHER = f"{PREFIX}:targetgroup/order-api-2/fedcba9876543210"


def test_aws_resource_label_finds_its_target_group():
    label = "app/coffee-shop/50dc6c495c0c9188/targetgroup/order-api/0123456789abcdef"
    assert labelled(label, [OTHER, COUNTERS]) == COUNTERS


def test_an_arn_is_taken_as_it_is():
    assert labelled(COUNTERS, [OTHER, COUNTERS]) == COUNTERS


def test_a_label_naming_no_target_group_finds_none():
    assert labelled("app/coffee-shop/1/targetgroup/order-api/ffff", [COUNTERS]) is None
    assert labelled("order-api", [COUNTERS]) is None
