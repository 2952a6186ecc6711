"""An NLB on real HAProxy: raw TCP through, balanced by source address; TLS listeners."""

from __future__ import annotations

import socket
import ssl
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestrator.elb.model import Action, HealthCheck, LoadBalancerType, Protocol, Target
from tests.support.containers import ProjectContainer
from tests.support.load_balancing import ElbStack, tcp_greeting

pytestmark = pytest.mark.docker

TCP_PORT = 7000
TLS_PORT = 7443
TCP_CHECK = HealthCheck(
    protocol=Protocol.TCP,
    interval_seconds=5,
    timeout_seconds=2,
    healthy_threshold_count=2,
    matcher=None,
)
# Connects from its own container (its own source address) and prints the target's greeting.
CLIENT = """
import socket
with socket.create_connection(("haproxy", 7000), timeout=10) as sock:
    print(sock.makefile("rb").readline().decode().strip())
"""


def network_load_balancer(stack: ElbStack, protocol: Protocol, port: int, targets: int) -> str:
    load_balancer = stack.elbv2.create_load_balancer("tcp", LoadBalancerType.NETWORK)
    target_group = stack.elbv2.create_target_group(
        "echo", Protocol.TCP, 9000, health_check=TCP_CHECK
    )
    instances = stack.launch_targets("echo", targets)
    stack.elbv2.register_targets(
        target_group.target_group_arn, [Target(i.instance_id) for i in instances]
    )
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        protocol,
        port,
        [Action.forward(target_group.target_group_arn)],
    )
    assert stack.converge_until_healthy(target_group.target_group_arn, targets)
    return target_group.target_group_arn


def greeting_from_own_container(stack: ElbStack) -> str:
    client = (
        ProjectContainer("python")
        .with_network(stack.network)
        .with_command(["python3", "-c", CLIENT])
    )
    client.start()
    try:
        container = client.get_wrapped_container()
        container.wait(timeout=60)
        return str(container.logs().decode().strip())
    finally:
        client.stop()


def test_the_nlb_passes_raw_tcp_and_keeps_a_source_on_one_target(stack: ElbStack):
    network_load_balancer(stack, Protocol.TCP, TCP_PORT, targets=3)
    port = stack.haproxy.host_port(TCP_PORT)

    payload = bytes(range(256)) + b"\r\n\x00 not http at all\n"
    greeting, echoed = tcp_greeting(port, payload)
    assert echoed == payload
    # Every connection from this host has the same source address: one target takes them all.
    assert Counter(tcp_greeting(port)[0] for _ in range(20)) == {greeting: 20}


def test_the_nlb_spreads_different_sources_over_its_targets(stack: ElbStack):
    network_load_balancer(stack, Protocol.TCP, TCP_PORT, targets=3)
    with ThreadPoolExecutor(max_workers=4) as pool:
        greetings = list(pool.map(lambda _: greeting_from_own_container(stack), range(8)))
    assert all(greetings), greetings
    # Eight sources hashed over three targets all landing on one: (1/3)^7 ≈ 0.05 %.
    assert len(set(greetings)) > 1, greetings


def test_a_tls_listener_terminates_tls_in_front_of_tcp_targets(stack: ElbStack):
    network_load_balancer(stack, Protocol.TLS, TLS_PORT, targets=1)
    pem = stack.haproxy.config_dir / "certs" / "localhost.pem"
    context = ssl.create_default_context(cafile=str(pem))
    port = stack.haproxy.host_port(TLS_PORT)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        greeting = sock.makefile("rb").readline().decode().strip()
        sock.sendall(b"over tls\n")
        assert sock.recv(64) == b"over tls\n"
    assert len(greeting) == 12  # a target's container hostname
