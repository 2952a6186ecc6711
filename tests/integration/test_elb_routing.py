"""An ALB on real HAProxy routes by rules to target groups of real containers."""

from __future__ import annotations

import ssl
import urllib.request
from collections import Counter

import pytest

from orchestrator.elb.model import (
    Action,
    ActionType,
    ConditionField,
    FixedResponseConfig,
    Protocol,
    RedirectConfig,
    RuleCondition,
    Target,
    TargetGroup,
    TargetGroupTuple,
)
from orchestrator.instances import Instance
from tests.support.load_balancing import FAST_CHECK, ElbStack, get
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

HTTP_PORT = 9080
HTTPS_PORT = 9443
# Health checks every 5 s AWS time (0.5 s here at time scale 10), healthy after 2 passes.


def group_with_targets(
    stack: ElbStack, name: str, count: int
) -> tuple[TargetGroup, list[Instance]]:
    target_group = stack.elbv2.create_target_group(
        name, Protocol.HTTP, 8000, health_check=FAST_CHECK
    )
    instances = stack.launch_targets(name, count)
    stack.elbv2.register_targets(
        target_group.target_group_arn, [Target(i.instance_id) for i in instances]
    )
    return target_group, instances


def hostname(instance: Instance) -> str:
    return instance.container_id[:12]


def answered_by(stack: ElbStack, path: str, count: int, **headers: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(count):
        status, body = get(stack.haproxy.url(HTTP_PORT, path), headers=headers)
        seen[body.split(" ")[0] if status == 200 else f"status {status}"] += 1
    return seen


def test_requests_reach_only_healthy_targets(stack: ElbStack):
    load_balancer = stack.elbv2.create_load_balancer("web")
    orders, instances = group_with_targets(stack, "orders", 2)
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [Action.forward(orders.target_group_arn)],
    )
    # A registered target nothing listens on: it never becomes healthy.
    stack.elbv2.register_targets(orders.target_group_arn, [Target(instances[0].instance_id, 8001)])

    assert stack.converge_until_healthy(orders.target_group_arn, 2)
    health = {
        (d.target.id, d.target.port): d.target_health
        for d in stack.controller.describe_target_health(orders.target_group_arn)
    }
    broken = health[(instances[0].instance_id, 8001)]
    assert broken.state in ("initial", "unhealthy")
    assert stack.controller.differences() == []

    seen = answered_by(stack, "/orders", 40)
    assert set(seen) == {hostname(i) for i in instances}, seen


def test_path_and_host_rules_route_to_their_target_groups_by_priority(stack: ElbStack):
    load_balancer = stack.elbv2.create_load_balancer("web")
    default, default_instances = group_with_targets(stack, "default", 1)
    api, api_instances = group_with_targets(stack, "api", 1)
    admin, admin_instances = group_with_targets(stack, "admin", 1)
    listener = stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [Action.forward(default.target_group_arn)],
    )
    path_api = RuleCondition(ConditionField.PATH_PATTERN, ("/api/*",))
    host_admin = RuleCondition(ConditionField.HOST_HEADER, ("admin.*.example",))
    stack.elbv2.create_rule(
        listener.listener_arn, 20, [path_api], [Action.forward(api.target_group_arn)]
    )
    stack.elbv2.create_rule(
        listener.listener_arn, 10, [host_admin], [Action.forward(admin.target_group_arn)]
    )
    stack.elbv2.create_rule(
        listener.listener_arn,
        5,
        [RuleCondition(ConditionField.PATH_PATTERN, ("/teapot",))],
        [
            Action(
                ActionType.FIXED_RESPONSE,
                fixed_response=FixedResponseConfig("418", message_body="short and stout"),
            )
        ],
    )
    stack.elbv2.create_rule(
        listener.listener_arn,
        6,
        [RuleCondition(ConditionField.PATH_PATTERN, ("/old/*",))],
        [Action(ActionType.REDIRECT, redirect=RedirectConfig("HTTP_301", path="/new"))],
    )
    for target_group in (default, api, admin):
        assert stack.converge_until_healthy(target_group.target_group_arn, 1)

    assert answered_by(stack, "/api/orders", 5) == {hostname(api_instances[0]): 5}
    assert answered_by(stack, "/menu", 5) == {hostname(default_instances[0]): 5}
    # Both rules match; the host rule has the lower priority number and wins.
    admin_host = {"Host": "admin.shop.example"}
    assert answered_by(stack, "/api/orders", 5, **admin_host) == {hostname(admin_instances[0]): 5}
    assert get(stack.haproxy.url(HTTP_PORT, "/teapot")) == (418, "short and stout")
    status, _ = get(stack.haproxy.url(HTTP_PORT, "/old/x?a=1"), headers={"Host": "shop"})
    assert status == 301


def test_weights_split_traffic_in_proportion(stack: ElbStack):
    load_balancer = stack.elbv2.create_load_balancer("web")
    blue, blue_instances = group_with_targets(stack, "blue", 1)
    green, green_instances = group_with_targets(stack, "green", 1)
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [
            Action(
                ActionType.FORWARD,
                (
                    TargetGroupTuple(blue.target_group_arn, 80),
                    TargetGroupTuple(green.target_group_arn, 20),
                ),
            )
        ],
    )
    assert stack.converge_until_healthy(blue.target_group_arn, 1)
    assert stack.converge_until_healthy(green.target_group_arn, 1)

    requests = 1000
    seen = answered_by(stack, "/", requests)
    green_share = seen[hostname(green_instances[0])] / requests
    assert seen[hostname(blue_instances[0])] + seen[hostname(green_instances[0])] == requests
    # Binomial(1000, 0.2) has a standard deviation of 1.3 points: 0.2 ± 0.05 is ~4 sigma.
    assert abs(green_share - 0.20) <= 0.05, seen


def test_a_sticky_client_stays_on_its_target(stack: ElbStack):
    load_balancer = stack.elbv2.create_load_balancer("web")
    orders, instances = group_with_targets(stack, "orders", 3)
    stack.elbv2.modify_target_group_attributes(
        orders.target_group_arn,
        {"stickiness.enabled": "true", "stickiness.lb_cookie.duration_seconds": "600"},
    )
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [Action.forward(orders.target_group_arn)],
    )
    assert stack.converge_until_healthy(orders.target_group_arn, 3)

    url = stack.haproxy.url(HTTP_PORT, "/cart")
    with urllib.request.urlopen(url, timeout=5) as first:
        cookie = first.headers["Set-Cookie"].split(";")[0]
        pinned = first.read().decode().split(" ")[0]
    assert cookie.startswith("AWSALB=")
    assert pinned in {hostname(i) for i in instances}
    assert answered_by(stack, "/cart", 30, Cookie=cookie) == {pinned: 30}
    # Without the cookie the same client is spread over all three.
    assert len(answered_by(stack, "/cart", 30)) == 3


def test_an_https_listener_terminates_tls_with_the_generated_localhost_certificate(
    stack: ElbStack,
):
    load_balancer = stack.elbv2.create_load_balancer("web")
    orders, instances = group_with_targets(stack, "orders", 1)
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTPS,
        HTTPS_PORT,
        [Action.forward(orders.target_group_arn)],
    )
    assert stack.converge_until_healthy(orders.target_group_arn, 1)

    pem = stack.haproxy.config_dir / "certs" / "localhost.pem"
    context = ssl.create_default_context(cafile=str(pem))
    url = stack.haproxy.url(HTTPS_PORT, "/secure", scheme="https").replace("127.0.0.1", "localhost")
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        assert response.status == 200
        assert response.read().decode().startswith(hostname(instances[0]))


def test_slow_start_ramps_a_new_target_up_after_it_turns_healthy(stack: ElbStack):
    load_balancer = stack.elbv2.create_load_balancer("web")
    orders, _ = group_with_targets(stack, "orders", 1)
    # 60 s of AWS time is 6 s here.
    stack.elbv2.modify_target_group_attributes(
        orders.target_group_arn, {"slow_start.duration_seconds": "60"}
    )
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [Action.forward(orders.target_group_arn)],
    )
    assert stack.converge_until_healthy(orders.target_group_arn, 1)
    newcomer = stack.launch_targets("orders", 1)[0]
    stack.elbv2.register_targets(orders.target_group_arn, [Target(newcomer.instance_id)])
    assert stack.converge_until_healthy(orders.target_group_arn, 2)

    def throttle() -> int | None:
        (status,) = [
            s for s in stack.haproxy.api.servers() if s.name.startswith(newcomer.instance_id)
        ]
        return status.throttle

    ramping = throttle()
    assert ramping is not None, "a target that just turned healthy is in slow start"
    assert 0 <= ramping < 100
    assert wait_for(lambda: throttle() is None, timeout=20), "slow start ends after 6 s"
