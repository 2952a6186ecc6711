"""Toxiproxy (Shopify's TCP fault proxy) in a container, driven through its HTTP API.

The fault suite puts it between the coffee shop's services and the broker: on the services'
network it answers to the broker's own name and ports, so the broker URLs (and Kafka's
advertised listener, which names the broker again) lead through it. A *toxic* then acts on the
traffic: added latency with jitter here. The API is a handful of JSON calls (``/proxies``,
``/proxies/{name}/toxics``); the Python clients on PyPI are unmaintained, so this is done with
urllib rather than a dependency.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from testcontainers.core.network import Network

from tests.support.containers import LOOPBACK, ProjectContainer
from tests.support.receiving import wait_for

API_PORT = 8474


@dataclass(frozen=True)
class Toxiproxy:
    """A running Toxiproxy, driven through its API's published port."""

    container: ProjectContainer

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        port = self.container.host_port(API_PORT)
        request = urllib.request.Request(
            f"http://{LOOPBACK}:{port}{path}",
            data,
            {"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def proxy(self, name: str, port: int, upstream: str) -> None:
        """Listen on ``port`` (all interfaces, inside the container) and forward to
        ``upstream`` (``host:port``)."""
        self._call(
            "POST",
            "/proxies",
            {"name": name, "listen": f"0.0.0.0:{port}", "upstream": upstream, "enabled": True},
        )

    def proxies(self) -> list[str]:
        return sorted(self._call("GET", "/proxies"))

    def answers(self) -> bool:
        try:
            self.proxies()
        except OSError:
            return False
        return True

    def add_latency(self, proxy: str, latency_ms: int, jitter_ms: int) -> None:
        """Delay every chunk both ways by ``latency_ms`` ± ``jitter_ms``."""
        for stream in ("upstream", "downstream"):
            self._call(
                "POST",
                f"/proxies/{proxy}/toxics",
                {
                    "name": f"latency-{stream}",
                    "type": "latency",
                    "stream": stream,
                    "toxicity": 1.0,
                    "attributes": {"latency": latency_ms, "jitter": jitter_ms},
                },
            )

    def toxics(self, proxy: str) -> list[str]:
        return sorted(toxic["name"] for toxic in self._call("GET", f"/proxies/{proxy}/toxics"))

    def clear(self, proxy: str) -> None:
        """Remove every toxic of ``proxy``: traffic flows undelayed again."""
        for name in self.toxics(proxy):
            self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")


def start_toxiproxy(network: Network, alias: str, also_on: Sequence[Network] = ()) -> Toxiproxy:
    """Toxiproxy on ``network``, reachable there as ``alias``, and on the ``also_on`` networks
    (no alias); its API published on loopback. Ready when the API answers after the last
    network is joined: joining a network moves the container's published ports, and for a
    moment the host port refuses connections (measured: 4 of 12 calls right after the join)."""
    container = ProjectContainer("toxiproxy").publish(API_PORT)
    container.with_network(network).with_network_aliases(alias)
    container.start()
    for other in also_on:
        other.connect(container.get_container_id())
    proxy = Toxiproxy(container)
    assert wait_for(proxy.answers, 60), "Toxiproxy's API never answered"
    return proxy
