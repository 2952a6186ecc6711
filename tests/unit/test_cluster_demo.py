"""`make up CLUSTER=N`'s pieces, read from their files (docs/swarm.md): the stack publishes its
ports on loopback unless the cluster says otherwise, the cluster's compose additions put the
stack on the overlay network with the Swarm runtime, the Docker proxy lets Swarm calls through
only then, and the cluster's demo step spreads the baristas over the nodes' zones."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from orchestrator.demo import stack
from orchestrator.demo.environment import variables

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = "${BARISTA_PUBLISH_ADDRESS:-127.0.0.1}:"


def _yaml(path: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / path).read_text())
    return document


def test_every_published_port_is_on_loopback_unless_the_cluster_sets_the_address() -> None:
    published = [
        str(port)
        for service in _yaml("docker-compose.yml")["services"].values()
        for port in service.get("ports", [])
    ]
    assert published
    assert [port for port in published if not port.startswith(LOOPBACK)] == []
    environment = (REPO / "images" / "cluster-env.sh").read_text()
    # Only inside the manager, whose own container publishes on the host's loopback.
    assert "export BARISTA_PUBLISH_ADDRESS=0.0.0.0" in environment
    cluster = (REPO / "images" / "cluster.sh").read_text()
    assert 'echo "127.0.0.1:$port:$port"' in cluster
    assert 'echo "127.0.0.1:$PORT:2375"' in cluster


def test_on_the_cluster_the_stack_joins_the_overlay_and_instances_are_swarm_services() -> None:
    additions = _yaml("images/cluster-compose.yml")
    default = additions["networks"]["default"]
    assert default["external"] is True
    assert default["name"] == "${CLUSTER_NETWORK:-barista-overlay}"
    orchestrator = additions["services"]["orchestrator"]["environment"]
    assert orchestrator["BARISTA_RUNTIME"] == "swarm"
    assert orchestrator["BARISTA_SWARM_NETWORK"] == default["name"]
    assert orchestrator["BARISTA_TASK_NETWORK"] == default["name"]
    assert "BARISTA_SWARM_URL" not in orchestrator, "the manager is reached through docker-proxy"
    assert additions["services"]["docker-proxy"]["environment"]["BARISTA_SWARM"] == "true"
    # Nothing else changes: no service gains the socket, a port or a network.
    for name, service in additions["services"].items():
        assert set(service) == {"environment"}, name


def test_the_docker_proxy_passes_swarm_calls_only_when_told_the_engine_is_a_manager() -> None:
    config = (REPO / "images" / "docker-proxy" / "haproxy.cfg").read_text()
    block = re.search(r"^\.if defined\(BARISTA_SWARM\)\n(.*?)^\.endif$", config, re.S | re.M)
    assert block is not None
    outside = config.replace(block.group(0), "")
    assert "services" not in outside.split("frontend engine_api", 1)[1]
    swarm = block.group(1)
    # Its writes are judged by the creation checks, and by the Swarm's own ways to the host.
    for check in ("privileged", "host_namespace", "binds", "mounts", "volumes", "swarm_reach"):
        assert f"writes service_write {check}" in swarm, check
    assert "!whole_body" in swarm
    # And the frontend's last rule, after the block, still refuses everything else.
    after = config[block.end() :].split("default_backend", 1)[0]
    assert after.strip() == "http-request deny deny_status 403"


def test_the_cluster_step_spreads_the_baristas_over_the_zones_cluster_sh_labels() -> None:
    (step,) = stack.load(REPO / "orchestrator" / "demo" / "cluster.json", {})
    assert (step.service, step.action) == ("autoscaling", "UpdateAutoScalingGroup")
    logins = {f"{p}_{k}": "x" for p in ("KAFKA", "RABBITMQ", "REDIS") for k in ("USER", "PASSWORD")}
    demo_steps = stack.load(REPO / "orchestrator" / "demo" / "stack.json", variables(logins))
    (demo_group,) = stack.group_names(demo_steps)
    assert step.params["AutoScalingGroupName"] == demo_group
    zones = re.search(
        r"CLUSTER_ZONES:-([a-z0-9 -]+)\}", (REPO / "images" / "cluster.sh").read_text()
    )
    assert zones is not None
    assert step.params["AvailabilityZones"] == zones.group(1).split()
