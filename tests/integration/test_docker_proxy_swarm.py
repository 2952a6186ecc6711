"""The Docker proxy's Swarm rules (images/docker-proxy/haproxy.cfg), which `make up CLUSTER=N`
turns on (images/cluster-compose.yml): with ``BARISTA_SWARM`` the Swarm runtime's calls pass,
a service spec that would reach the host is refused by the proxy itself; without it every Swarm
call is refused. The engine behind is this machine's, not a manager, so a call the proxy lets
through gets the engine's own answer (503, "not a swarm manager") instead of the proxy's 403."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.docker_proxy import docker_proxy

pytestmark = [pytest.mark.docker]

FORBIDDEN = 403

CLEAN = {
    "Name": "barista-i-0123",
    "TaskTemplate": {
        "ContainerSpec": {"Image": "barista/service:latest", "Args": ["serve", "barista"]},
        "RestartPolicy": {"Condition": "none"},
        "Placement": {"Constraints": ["node.labels.barista.az==az-a"]},
    },
}


def _with_container(**fields: Any) -> dict[str, Any]:
    spec = json.loads(json.dumps(CLEAN))
    spec["TaskTemplate"]["ContainerSpec"].update(fields)
    return spec


REACHING_THE_HOST = {
    "a bind mount": _with_container(Mounts=[{"Type": "bind", "Source": "/", "Target": "/host"}]),
    "an added capability": _with_container(CapabilityAdd=["CAP_SYS_ADMIN"]),
    "a sysctl": _with_container(Sysctls={"net.ipv4.ip_forward": "1"}),
    "privileges": _with_container(Privileges={"NoNewPrivileges": False}),
    "a secret": _with_container(Secrets=[{"SecretName": "x", "SecretID": "y"}]),
    "the host network": CLEAN
    | {"TaskTemplate": CLEAN["TaskTemplate"] | {"Networks": [{"Target": "host"}]}},
}


def status(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    request = urllib.request.Request(
        base_url.replace("tcp://", "http://") + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_swarm_calls_are_refused_unless_the_engine_is_declared_a_manager():
    with docker_proxy() as base_url:
        for path in ("/services", "/tasks", "/nodes", "/v1.43/services"):
            assert status(base_url, "GET", path) == FORBIDDEN, path
        assert status(base_url, "POST", "/services/create", CLEAN) == FORBIDDEN


def test_on_a_manager_the_runtimes_calls_pass_and_specs_reaching_the_host_do_not():
    with docker_proxy({"BARISTA_SWARM": "true"}) as base_url:
        for path in ("/services", "/tasks", "/nodes/abc", "/v1.43/services/s1"):
            assert status(base_url, "GET", path) != FORBIDDEN, path
        assert status(base_url, "POST", "/services/create", CLEAN) != FORBIDDEN
        assert status(base_url, "POST", "/v1.43/services/s1/update?version=3", CLEAN) != FORBIDDEN
        assert status(base_url, "DELETE", "/services/s1") != FORBIDDEN
        for reason, spec in REACHING_THE_HOST.items():
            assert status(base_url, "POST", "/services/create", spec) == FORBIDDEN, reason
            assert status(base_url, "POST", "/services/s1/update?version=3", spec) == FORBIDDEN, (
                reason
            )
        # Still none of the rest: node changes, the swarm's join tokens, secrets.
        assert status(base_url, "POST", "/nodes/abc/update?version=1", {}) == FORBIDDEN
        assert status(base_url, "GET", "/swarm") == FORBIDDEN
        assert status(base_url, "GET", "/secrets") == FORBIDDEN
