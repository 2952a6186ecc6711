"""Rendering listeners, rules and target groups as HAProxy configuration."""

from __future__ import annotations

import dataclasses
import re

import pytest

from orchestrator.elb.haproxy_config import (
    HaproxyPaths,
    Server,
    matcher_regex,
    render,
    server_arguments,
    server_name,
    structure_hash,
    wildcard_regex,
)
from orchestrator.elb.model import (
    Action,
    ActionType,
    ConditionField,
    FixedResponseConfig,
    HealthCheck,
    Listener,
    LoadBalancer,
    LoadBalancerType,
    LoadBalancingAlgorithm,
    Protocol,
    RedirectConfig,
    Rule,
    RuleCondition,
    TargetGroup,
    TargetGroupAttributes,
    TargetGroupTuple,
)
from orchestrator.elb.topology import ElbTopology
from orchestrator.time_scale import TimeScale

PATHS = HaproxyPaths()
ALB = LoadBalancer("arn:lb/app", "web", LoadBalancerType.APPLICATION, 0.0)
NLB = LoadBalancer("arn:lb/net", "tcp", LoadBalancerType.NETWORK, 0.0)
ORDERS = TargetGroup("arn:tg/orders", "orders", Protocol.HTTP, 8000)
API = TargetGroup("arn:tg/api", "api", Protocol.HTTP, 8000)
ECHO = TargetGroup(
    "arn:tg/echo",
    "echo",
    Protocol.TCP,
    9000,
    health_check=HealthCheck(protocol=Protocol.TCP, timeout_seconds=10, matcher=None),
)


def listener(port: int = 9080, *actions: Action, protocol: Protocol = Protocol.HTTP) -> Listener:
    return Listener(
        f"arn:listener/{port}",
        ALB.load_balancer_arn,
        protocol,
        port,
        actions or (Action.forward(ORDERS.target_group_arn),),
    )


def frontend(text: str, name: str) -> list[str]:
    block = text.split(f"\nfrontend {name}\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines()]


def backend(text: str, name: str) -> list[str]:
    block = text.split(f"\nbackend {name}\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines()]


def rendered(topology: ElbTopology, servers=None, scale: float = 1.0) -> str:
    return render(topology, servers or {}, paths=PATHS, time_scale=TimeScale(scale))


def test_rules_are_tried_by_priority_and_each_action_keys_on_the_matching_rule():
    front = listener()
    rules = (
        Rule(
            "arn:r20",
            front.listener_arn,
            20,
            (RuleCondition(ConditionField.PATH_PATTERN, ("/api/*", "/v2/?")),),
            (Action.forward(API.target_group_arn),),
        ),
        Rule(
            "arn:r5",
            front.listener_arn,
            5,
            (
                RuleCondition(ConditionField.HOST_HEADER, ("*.example.com",)),
                RuleCondition(ConditionField.HTTP_REQUEST_METHOD, ("POST",)),
            ),
            (
                Action(
                    ActionType.FIXED_RESPONSE,
                    fixed_response=FixedResponseConfig("503", message_body="it's closed"),
                ),
            ),
        ),
    )
    text = rendered(ElbTopology((ALB,), (front,), rules, (ORDERS, API)))
    lines = frontend(text, "lb_web_9080")

    set_vars = [line for line in lines if line.startswith("http-request set-var(txn.rule)")]
    assert set_vars == [
        "http-request set-var(txn.rule) int(5) if !{ var(txn.rule) -m found } r5_0 r5_1",
        "http-request set-var(txn.rule) int(20) if !{ var(txn.rule) -m found } r20_0",
    ]
    assert "acl r20_0 path -m reg '^/api/.*$' '^/v2/.$'" in lines
    assert "acl r5_0 req.hdr(host),field(1,:) -m reg -i '^.*\\.example\\.com$'" in lines
    assert "acl r5_1 method -m str 'POST'" in lines
    assert (
        "http-request return status 503 content-type 'text/plain' string 'it'\\''s closed' "
        "if { var(txn.rule) -m int eq 5 }"
    ) in lines
    assert "use_backend tg_api if { var(txn.rule) -m int eq 20 }" in lines
    assert lines[-1] == "default_backend tg_orders"


def test_a_weighted_forward_draws_once_and_splits_by_cumulative_weight():
    weighted = Action(
        ActionType.FORWARD,
        (TargetGroupTuple(ORDERS.target_group_arn, 3), TargetGroupTuple(API.target_group_arn, 1)),
    )
    text = rendered(ElbTopology((ALB,), (listener(9080, weighted),), (), (ORDERS, API)))
    lines = frontend(text, "lb_web_9080")
    assert "http-request set-var(txn.rnd) rand(10000)" in lines
    assert "use_backend tg_orders if { var(txn.rnd) -m int lt 7500 }" in lines
    assert lines[-1] == "default_backend tg_api"


def test_a_redirect_keeps_the_request_parts_aws_keeps():
    redirect = Action(
        ActionType.REDIRECT, redirect=RedirectConfig("HTTP_301", protocol="HTTPS", port="9443")
    )
    text = rendered(ElbTopology((ALB,), (listener(9080, redirect),), (), ()))
    assert (
        "http-request redirect location 'https://%[req.hdr(host),field(1,:)]:9443%[pathq]' "
        "code 301 if !{ var(txn.rule) -m found }" in frontend(text, "lb_web_9080")
    )


def test_health_check_stickiness_and_algorithm_follow_the_target_group_in_scaled_time():
    sticky = dataclasses.replace(
        ORDERS,
        health_check=HealthCheck(
            path="/healthz",
            interval_seconds=30,
            timeout_seconds=5,
            healthy_threshold_count=5,
            unhealthy_threshold_count=2,
            matcher="200-202",
        ),
        attributes=TargetGroupAttributes(
            slow_start_duration_seconds=60,
            load_balancing_algorithm_type=LoadBalancingAlgorithm.LEAST_OUTSTANDING_REQUESTS,
            stickiness_enabled=True,
            stickiness_lb_cookie_duration_seconds=3600,
        ),
    )
    servers = {ORDERS.target_group_arn: [Server("i-1_8000", "10.0.0.5", 8000)]}
    text = rendered(ElbTopology((), (), (), (sticky,)), servers, scale=10)
    lines = backend(text, "tg_orders")
    assert "balance leastconn" in lines
    assert "timeout check 5000ms" in lines  # a timeout bounds real work: never compressed
    assert "option httpchk GET '/healthz'" in lines
    assert "http-check expect rstatus '^(200|201|202)$'" in lines
    assert "cookie AWSALB insert indirect nocache maxlife 3600s dynamic" in lines
    assert any(line.startswith("dynamic-cookie-key ") for line in lines)
    assert lines[-1] == (
        "server i-1_8000 10.0.0.5:8000 check inter 3000ms rise 5 fall 2 slowstart 6000ms disabled"
    )


def test_a_network_listener_is_tcp_hashed_by_source_and_tls_binds_the_certificate():
    nlb_listener = Listener(
        "arn:l/7443",
        NLB.load_balancer_arn,
        Protocol.TLS,
        7443,
        (Action.forward(ECHO.target_group_arn),),
    )
    text = rendered(ElbTopology((NLB,), (nlb_listener,), (), (ECHO,)))
    assert frontend(text, "lb_tcp_7443") == [
        "mode tcp",
        f"bind :7443 ssl crt {PATHS.certificate}",
        "default_backend tg_echo",
    ]
    lines = backend(text, "tg_echo")
    assert lines[:3] == ["mode tcp", "balance source", "hash-type consistent"]
    assert not any("httpchk" in line for line in lines)
    assert server_arguments(ECHO, TimeScale()) == [
        "check",
        "inter",
        "30000ms",
        "rise",
        "5",
        "fall",
        "2",
    ]


def test_servers_do_not_change_the_structure_that_decides_a_reload():
    topology = ElbTopology((ALB,), (listener(),), (), (ORDERS,))
    with_servers = rendered(topology, {ORDERS.target_group_arn: [Server("a_1", "10.0.0.1", 1)]})
    assert with_servers != rendered(topology)
    digest = structure_hash(topology, paths=PATHS, time_scale=TimeScale())
    assert f"set-var proc.barista_config str({digest})" in with_servers
    changed = ElbTopology((ALB,), (listener(9081),), (), (ORDERS,))
    assert structure_hash(changed, paths=PATHS, time_scale=TimeScale()) != digest


@pytest.mark.parametrize(
    ("matcher", "matches", "misses"),
    [
        ("200", ["200"], ["201", "2000"]),
        ("200,302", ["302"], ["301"]),
        ("200-204", ["203"], ["205"]),
    ],
)
def test_matcher_regex(matcher: str, matches: list[str], misses: list[str]):
    pattern = re.compile(matcher_regex(matcher))
    assert all(pattern.match(code) for code in matches)
    assert not any(pattern.match(code) for code in misses)


def test_wildcards_are_anchored_and_escape_everything_else():
    pattern = re.compile(wildcard_regex("/img/*.png?"))
    assert pattern.match("/img/a/b.png1")
    assert not pattern.match("/img/a.pngx2")
    assert not pattern.match("x/img/a.png1")


def test_server_names_are_stable_and_safe():
    assert server_name("10.0.0.5", 80) == "10.0.0.5_80"
    assert server_name("i-0abc/x y", 8000) == "i-0abc_x_y_8000"


@pytest.mark.parametrize(
    ("algorithm", "balance"),
    [
        (LoadBalancingAlgorithm.ROUND_ROBIN, "roundrobin"),
        (LoadBalancingAlgorithm.LEAST_OUTSTANDING_REQUESTS, "leastconn"),
        (LoadBalancingAlgorithm.WEIGHTED_RANDOM, "random"),
    ],
)
def test_each_routing_algorithm_has_its_balance(algorithm: LoadBalancingAlgorithm, balance: str):
    group = dataclasses.replace(
        ORDERS, attributes=TargetGroupAttributes(load_balancing_algorithm_type=algorithm)
    )
    assert f"balance {balance}" in backend(rendered(ElbTopology((), (), (), (group,))), "tg_orders")
