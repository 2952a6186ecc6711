"""The compose stack's hardening, read from its files: HAProxy's admin sockets are never
published and listen only where the orchestrator reaches them, every broker restarts and has
a memory limit, and Redis refuses writes rather than evicting queue data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# HAProxy's admin sockets (runtime API 9999, master CLI 9998): admin level and without
# authentication, so in the compose stack they listen only on an internal network the
# orchestrator alone joins, and are never published on the host.
REPO = Path(__file__).resolve().parents[2]
ADMIN_PORTS = ("9998", "9999")


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return document


def test_the_demo_publishes_no_haproxy_admin_socket_on_the_host() -> None:
    published = [str(port) for port in _compose()["services"]["haproxy"].get("ports", [])]
    assert not [port for port in published if port.rsplit(":", 1)[-1] in ADMIN_PORTS]


def test_haproxy_admin_sockets_are_on_a_network_only_the_orchestrator_joins() -> None:
    compose = _compose()
    services = compose["services"]
    assert compose["networks"]["control"]["internal"] is True
    members = {name for name, s in services.items() if "control" in (s.get("networks") or {})}
    assert members == {"haproxy", "orchestrator"}
    haproxy = services["haproxy"]
    alias = haproxy["environment"]["HAPROXY_ADMIN_ADDRESS"]
    assert alias in haproxy["networks"]["control"]["aliases"]
    host = services["orchestrator"]["environment"]["BARISTA_HAPROXY_RUNTIME_API"].split(":")[0]
    assert host == alias


def test_haproxy_binds_its_admin_sockets_to_one_address_not_every_interface() -> None:
    config = (REPO / "images" / "haproxy" / "haproxy.cfg").read_text()
    sockets = [
        line.strip() for line in config.splitlines() if line.strip().startswith("stats socket")
    ]
    assert sockets == [
        'stats socket "ipv4@${HAPROXY_ADMIN_ADDRESS}:9999" level admin expose-fd listeners'
    ]
    start = (REPO / "images" / "haproxy" / "start.sh").read_text()
    assert '-S "ipv4@$admin:9998"' in start
    assert "0.0.0.0:999" not in config + start


def test_every_broker_restarts_and_has_a_memory_limit() -> None:
    for name, service in _compose()["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert service.get("mem_limit"), name


def test_redis_refuses_writes_when_full_rather_than_evicting_queue_data() -> None:
    config = (REPO / "images" / "redis" / "redis.conf").read_text().split("\n")
    assert "maxmemory-policy noeviction" in config
    assert any(line.startswith("maxmemory ") for line in config)


def test_only_the_docker_proxy_holds_the_docker_socket() -> None:
    services = _compose()["services"]
    holders = {
        name
        for name, service in services.items()
        if any("docker.sock" in str(volume) for volume in service.get("volumes", []))
    }
    assert holders == {"docker-proxy"}
    assert services["orchestrator"]["environment"]["DOCKER_HOST"] == "tcp://docker-proxy:2375"


def test_the_docker_proxy_is_reached_by_the_orchestrator_alone_and_never_published() -> None:
    compose = _compose()
    services = compose["services"]
    assert compose["networks"]["docker-api"]["internal"] is True
    members = {name for name, s in services.items() if "docker-api" in (s.get("networks") or {})}
    assert members == {"docker-proxy", "orchestrator"}
    assert list(services["docker-proxy"]["networks"]) == ["docker-api"]
    assert not services["docker-proxy"].get("ports")
    assert "docker-proxy" in services["orchestrator"]["depends_on"]


def test_the_orchestrator_drops_root_before_it_runs() -> None:
    orchestrator = _compose()["services"]["orchestrator"]
    script = " ".join(orchestrator["entrypoint"])
    assert "exec setpriv --reuid=barista --regid=barista --init-groups barista" in script
    assert orchestrator["command"] == ["demo", "orchestrator"]
