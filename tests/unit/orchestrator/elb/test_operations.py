"""ELBv2 actions validate like AWS and keep their results in the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.elb.model import (
    Action,
    ActionType,
    ConditionField,
    FixedResponseConfig,
    HealthCheck,
    LoadBalancerType,
    LoadBalancingAlgorithm,
    Protocol,
    RuleCondition,
    Target,
    TargetType,
)
from orchestrator.elb.operations import Elbv2
from orchestrator.elb.state import ElbStore
from orchestrator.errors import AwsError

PATH = RuleCondition(ConditionField.PATH_PATTERN, ("/api/*",))


@pytest.fixture
def elbv2(tmp_path: Path) -> Iterator[Elbv2]:
    with ElbStore(tmp_path / "barista.db") as store:
        yield Elbv2(store, clock=lambda: 1000.0)


def refused(code: str, message: str):
    return pytest.raises(AwsError, match=f"^{code}: {message}")


def test_arns_are_shaped_like_aws(elbv2: Elbv2):
    load_balancer = elbv2.create_load_balancer("web")
    target_group = elbv2.create_target_group("orders", Protocol.HTTP, 8000)
    listener = elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        9080,
        [Action.forward(target_group.target_group_arn)],
    )
    prefix = "arn:aws:elasticloadbalancing:us-east-1:000000000000:"
    assert load_balancer.load_balancer_arn.startswith(f"{prefix}loadbalancer/app/web/")
    assert target_group.target_group_arn.startswith(f"{prefix}targetgroup/orders/")
    lb_id = load_balancer.load_balancer_arn.rsplit("/", 1)[1]
    assert listener.listener_arn.startswith(f"{prefix}listener/app/web/{lb_id}/")
    rule = elbv2.create_rule(
        listener.listener_arn, 1, [PATH], [Action.forward(target_group.target_group_arn)]
    )
    assert rule.rule_arn.startswith(f"{prefix}listener-rule/app/web/{lb_id}/")


def test_target_group_defaults_are_aws_defaults(elbv2: Elbv2):
    http = elbv2.create_target_group("orders", Protocol.HTTP, 8000)
    assert http.health_check == HealthCheck(
        protocol=Protocol.HTTP,
        path="/",
        interval_seconds=30,
        timeout_seconds=5,
        healthy_threshold_count=5,
        unhealthy_threshold_count=2,
        matcher="200",
    )
    assert http.attributes.deregistration_delay_timeout_seconds == 300
    assert http.attributes.load_balancing_algorithm_type is LoadBalancingAlgorithm.ROUND_ROBIN
    assert http.attributes.stickiness_lb_cookie_duration_seconds == 86400
    tcp = elbv2.create_target_group("echo", Protocol.TCP, 9000)
    assert tcp.health_check.protocol is Protocol.TCP


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a" * 33, "Target group name 'a{33}' cannot be longer than '32' characters"),
        (
            "bad_name",
            "Target group name 'bad_name' can only contain characters that are alphanumeric",
        ),
        ("-edge", "Target group name '-edge' cannot begin or end with '-'"),
    ],
)
def test_names_follow_aws_rules(elbv2: Elbv2, name: str, message: str):
    with refused("ValidationError", message):
        elbv2.create_target_group(name, Protocol.HTTP, 80)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            HealthCheck(interval_seconds=4),
            "1 validation error detected: Value '4' at 'healthCheckIntervalSeconds' failed to "
            "satisfy constraint: Member must have value greater than or equal to 5",
        ),
        (
            HealthCheck(healthy_threshold_count=11),
            ".*'healthyThresholdCount'.*less than or equal to 10",
        ),
        (
            HealthCheck(interval_seconds=10, timeout_seconds=10),
            "Health check timeout '10' must be smaller than the interval '10'",
        ),
        (
            HealthCheck(matcher="600"),
            "Health check matcher HTTP code '600' must be within '200-499' inclusive",
        ),
        (HealthCheck(path="healthz"), "Health check path must begin with a '/' character"),
    ],
)
def test_health_checks_are_validated_with_aws_messages(
    elbv2: Elbv2, check: HealthCheck, message: str
):
    with refused("ValidationError", message):
        elbv2.create_target_group("orders", Protocol.HTTP, 8000, health_check=check)


def test_attributes_are_typed_and_range_checked(elbv2: Elbv2):
    target_group = elbv2.create_target_group("orders", Protocol.HTTP, 8000)
    attributes = elbv2.modify_target_group_attributes(
        target_group.target_group_arn,
        {
            "deregistration_delay.timeout_seconds": "30",
            "load_balancing.algorithm.type": "least_outstanding_requests",
            "stickiness.enabled": "true",
        },
    )
    assert attributes.deregistration_delay_timeout_seconds == 30
    assert attributes.stickiness_enabled is True
    assert elbv2.target_group(target_group.target_group_arn).attributes == attributes
    with refused(
        "ValidationError", ".*'deregistration_delay.timeout_seconds'.*less than or equal to 3600"
    ):
        elbv2.modify_target_group_attributes(
            target_group.target_group_arn, {"deregistration_delay.timeout_seconds": "3601"}
        )
    with refused("ValidationError", ".*'slow_start.duration_seconds'.*greater than or equal to 30"):
        elbv2.modify_target_group_attributes(
            target_group.target_group_arn, {"slow_start.duration_seconds": "10"}
        )
    with refused("ValidationError", "Target group attribute key 'nope' is not recognized"):
        elbv2.modify_target_group_attributes(target_group.target_group_arn, {"nope": "1"})


def test_listeners_check_protocols_ports_and_target_group_kinds(elbv2: Elbv2):
    alb = elbv2.create_load_balancer("web")
    nlb = elbv2.create_load_balancer("tcp", LoadBalancerType.NETWORK)
    http = elbv2.create_target_group("orders", Protocol.HTTP, 8000)
    tcp = elbv2.create_target_group("echo", Protocol.TCP, 9000)
    forward_http = [Action.forward(http.target_group_arn)]
    with refused("ValidationError", "Listener protocol 'TCP' must be one of 'HTTP, HTTPS'"):
        elbv2.create_listener(alb.load_balancer_arn, Protocol.TCP, 9080, forward_http)
    with refused("IncompatibleProtocols", ".*has protocol 'TCP'"):
        elbv2.create_listener(
            alb.load_balancer_arn, Protocol.HTTP, 9080, [Action.forward(tcp.target_group_arn)]
        )
    elbv2.create_listener(alb.load_balancer_arn, Protocol.HTTP, 9080, forward_http)
    with refused("DuplicateListener", "A listener already exists on this port"):
        elbv2.create_listener(
            nlb.load_balancer_arn, Protocol.TCP, 9080, [Action.forward(tcp.target_group_arn)]
        )
    with refused("TargetGroupNotFound", "One or more target groups not found"):
        elbv2.create_listener(
            alb.load_balancer_arn, Protocol.HTTP, 9081, [Action.forward("arn:nope")]
        )
    with refused("LoadBalancerNotFound", "One or more load balancers not found"):
        elbv2.create_listener("arn:nope", Protocol.HTTP, 9081, forward_http)


def test_rules_check_priorities_and_conditions(elbv2: Elbv2):
    alb = elbv2.create_load_balancer("web")
    http = elbv2.create_target_group("orders", Protocol.HTTP, 8000)
    forward = [Action.forward(http.target_group_arn)]
    listener = elbv2.create_listener(alb.load_balancer_arn, Protocol.HTTP, 9080, forward)
    elbv2.create_rule(listener.listener_arn, 10, [PATH], forward)
    with refused("PriorityInUse", "Priority '10' is currently in use"):
        elbv2.create_rule(listener.listener_arn, 10, [PATH], forward)
    with refused("ValidationError", ".*'priority'.*less than or equal to 50000"):
        elbv2.create_rule(listener.listener_arn, 50001, [PATH], forward)
    with refused("ValidationError", "A rule can only have one 'path-pattern' condition"):
        elbv2.create_rule(listener.listener_arn, 11, [PATH, PATH], forward)
    with refused("ValidationError", "At least one condition must be specified"):
        elbv2.create_rule(listener.listener_arn, 12, [], forward)
    teapot = Action(ActionType.FIXED_RESPONSE, fixed_response=FixedResponseConfig("318"))
    with refused("ValidationError", "Fixed response status code"):
        elbv2.create_rule(listener.listener_arn, 13, [PATH], [teapot])
    with refused("ResourceInUse", f"Target group '{http.target_group_arn}' is currently in use"):
        elbv2.delete_target_group(http.target_group_arn)


def test_targets_register_with_the_group_port_and_deregistering_starts_draining(elbv2: Elbv2):
    ips = elbv2.create_target_group("ips", Protocol.HTTP, 8000, target_type=TargetType.IP)
    with refused("ValidationError", "The IP address 'i-1' is not a valid IPv4 address"):
        elbv2.register_targets(ips.target_group_arn, [Target("i-1")])
    registered = elbv2.register_targets(
        ips.target_group_arn, [Target("10.0.0.1"), Target("10.0.0.2", 81)]
    )
    assert registered == [Target("10.0.0.1", 8000), Target("10.0.0.2", 81)]
    elbv2.deregister_targets(ips.target_group_arn, [Target("10.0.0.1")])
    assert elbv2.store.registered_targets(ips.target_group_arn) == [Target("10.0.0.2", 81)]
    (leaving,) = elbv2.store.deregistrations(ips.target_group_arn)
    assert (leaving.target, leaving.started_at, leaving.drained) == (
        Target("10.0.0.1", 8000),
        1000.0,
        False,
    )
    instances = elbv2.create_target_group("vms", Protocol.HTTP, 8000)
    with refused("InvalidTarget", "The following targets are not valid instances: 'i-9'"):
        elbv2.register_targets(instances.target_group_arn, [Target("i-9")], known_instances={"i-1"})
