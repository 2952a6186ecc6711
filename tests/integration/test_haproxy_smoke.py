"""HAProxy, started from the project's image and config, answers on its listener, guards its
stats page and takes commands on its runtime API (what the orchestrator will program)."""

from __future__ import annotations

import socket

import pytest

from tests.support.brokers import Endpoint, http_get

pytestmark = pytest.mark.docker


def runtime_api(endpoint: Endpoint, command: str) -> str:
    with socket.create_connection(("127.0.0.1", endpoint.ports["runtime_api"]), timeout=5) as sock:
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def test_alb_listener_answers_503_while_no_target_is_registered(haproxy: Endpoint):
    status, _ = http_get(f"http://127.0.0.1:{haproxy.port}/orders")
    assert status == 503


def test_stats_page_requires_the_configured_credentials(haproxy: Endpoint):
    url = f"http://127.0.0.1:{haproxy.ports['stats']}/stats"
    assert http_get(url)[0] == 401
    assert http_get(url, haproxy.credentials)[0] == 200


def test_runtime_api_reports_the_order_api_backend_with_no_servers(haproxy: Endpoint):
    info = runtime_api(haproxy, "show info")
    assert "Version: 3." in info
    backends = runtime_api(haproxy, "show backend")
    assert "order_api" in backends.split()
    state = runtime_api(haproxy, "show servers state order_api").strip().splitlines()
    # The first line is the format version, then a '#' header, then one line per server.
    assert [line for line in state[1:] if not line.startswith("#")] == []
