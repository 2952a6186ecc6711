"""A load balancer's HAProxy and the targets behind it, for the ELB tests and benchmark.

``start_lb_haproxy`` runs the project's HAProxy image with start.sh exactly as compose does,
plus a host directory mounted where the orchestrator writes its configuration
(``/barista/elb``), the master CLI published for reloads, and a fixed set of container ports
listeners may use (a container's published ports cannot change after it starts).
``TARGET_SERVER`` is a tiny target for ``barista/python``: HTTP on 8000 that answers its
container hostname, and a TCP echo on 9000 that greets with it.
"""

from __future__ import annotations

import socket
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testcontainers.core.network import Network

from orchestrator.asg.launch_holds import LaunchHolds
from orchestrator.elb.controller import ElbController
from orchestrator.elb.haproxy_runtime import HaproxyRuntimeApi
from orchestrator.elb.model import HealthCheck
from orchestrator.elb.operations import Elbv2
from orchestrator.elb.state import ElbStore
from orchestrator.instances import Instance, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.time_scale import TimeScale
from tests.support.brokers import http_get
from tests.support.containers import (
    LOOPBACK,
    SESSION_ID,
    SESSION_LABEL,
    ClientProbe,
    Credentials,
    InfraContainer,
    ProjectContainer,
    stable_image,
)
from tests.support.receiving import wait_for

# Ports listeners may bind inside the HAProxy container (HAProxy runs unprivileged: >= 1024).
LISTENER_PORTS = (9080, 9081, 9443, 7000, 7443)
RUNTIME_API_PORT = 9999
MASTER_CLI_PORT = 9998
STATS_PORT = 8404
TARGET_HTTP_PORT = 8000
TARGET_TCP_PORT = 9000
# A health check that settles in seconds at time scale 10: 5 s interval, healthy after 2 passes.
FAST_CHECK = HealthCheck(
    path="/healthz", interval_seconds=5, timeout_seconds=2, healthy_threshold_count=2
)

TARGET_SERVER = r"""
import http.server, socket, socketserver, threading, time, urllib.parse
NAME = socket.gethostname()
healthy = [True]

class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        status = 200
        if url.path == "/healthz":
            status = 200 if healthy[0] else 503
        elif url.path == "/fail-health":
            healthy[0] = False
        elif url.path == "/slow":
            time.sleep(int(urllib.parse.parse_qs(url.query).get("ms", ["0"])[0]) / 1000)
        body = f"{NAME} {url.path}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(NAME.encode() + b"\n")
        while data := self.request.recv(4096):
            self.request.sendall(data)

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
echo = socketserver.ThreadingTCPServer(("", 9000), Echo)
threading.Thread(target=echo.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer(("", 8000), Web).serve_forever()
"""


@dataclass(frozen=True)
class LoadBalancerHost:
    """A running HAProxy for load balancers and how the host reaches it."""

    container: ProjectContainer
    config_dir: Path
    api: HaproxyRuntimeApi

    def host_port(self, listener_port: int) -> int:
        return int(self.container.host_port(listener_port))

    def url(self, listener_port: int, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{LOOPBACK}:{self.host_port(listener_port)}{path}"

    def stop(self) -> None:
        self.container.stop()


def start_lb_haproxy(
    credentials: Credentials, network: Network, config_dir: Path
) -> LoadBalancerHost:
    """HAProxy reading ``config_dir`` (made world-readable: HAProxy runs as its own user)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    config_dir.chmod(0o755)
    container = (
        InfraContainer("haproxy", user="haproxy", network=network)
        .publish(STATS_PORT)
        .publish(RUNTIME_API_PORT)
        .publish(MASTER_CLI_PORT)
        .with_env("HAPROXY_STATS_USER", credentials.user)
        .with_env("HAPROXY_STATS_PASSWORD", credentials.password)
        .with_volume_mapping(str(config_dir), "/barista/elb", "ro")
    )
    for port in LISTENER_PORTS:
        container.publish(port)

    def probe() -> None:
        url = f"http://{LOOPBACK}:{container.host_port(STATS_PORT)}/stats"
        status, _ = http_get(url, credentials)
        if status != 200:
            raise RuntimeError(f"stats page answered {status}")

    container.waiting_for(ClientProbe(probe)).start()
    api = HaproxyRuntimeApi(
        LOOPBACK,
        container.host_port(RUNTIME_API_PORT),
        master_port=container.host_port(MASTER_CLI_PORT),
    )
    return LoadBalancerHost(container, config_dir, api)


def get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
    """GET without following redirects; returns (status, body) and never raises on 4xx/5xx."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, repr(error)


def tcp_greeting(port: int, payload: bytes = b"ping\n", timeout: float = 5) -> tuple[str, bytes]:
    """Connect to a TCP listener, read the target's greeting line and the echo of ``payload``."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        reader = sock.makefile("rb")
        greeting = reader.readline().decode().strip()
        sock.sendall(payload)
        echoed = reader.read(len(payload))
    return greeting, echoed


@dataclass
class ElbStack:
    """HAProxy, a network for targets, a Docker runtime and the ELB control plane over them."""

    network: Network
    haproxy: LoadBalancerHost
    runtime: DockerRuntime
    store_path: Path
    elbv2: Elbv2
    controller: ElbController

    def launch_targets(self, group: str, count: int) -> list[Instance]:
        """``count`` target containers labelled as instances of ``group``."""
        return [
            self.runtime.launch(
                group,
                f"i-{uuid.uuid4().hex[:17]}",
                template_name=TARGET_TEMPLATE,
                template_version=1,
                data=target_template_data(self.network),
                availability_zone="us-east-1a",
                lifecycle=Lifecycle.ON_DEMAND,
                protected=False,
            )
            for _ in range(count)
        ]

    def health(self, target_group_arn: str) -> dict[tuple[str, int | None], str]:
        """(target id, port) -> AWS health state, as DescribeTargetHealth reports it."""
        return {
            (d.target.id, d.target.port): str(d.target_health.state)
            for d in self.controller.describe_target_health(target_group_arn)
        }

    def converge_until_healthy(
        self, target_group_arn: str, count: int, timeout: float = 30
    ) -> bool:
        """Reconcile until ``count`` targets of the group are healthy."""

        def healthy() -> bool:
            self.controller.reconcile_once()
            states = self.health(target_group_arn).values()
            return sum(1 for s in states if s == "healthy") >= count

        return wait_for(healthy, timeout=timeout, interval=0.2)


TARGET_TEMPLATE = "elb-target"


def target_template_data(network: Network) -> LaunchTemplateData:
    return LaunchTemplateData(
        image=stable_image("python"),
        command=("python3", "-c", TARGET_SERVER),
        network=network.name,
        stop_timeout=1,
    )


@contextmanager
def elb_stack(tmp_path: Path, time_scale: float = 10.0) -> Iterator[ElbStack]:
    """Everything an ELB test needs; removes its containers and network afterwards."""
    network = Network()
    network.create()
    runtime = DockerRuntime(labels={SESSION_LABEL: SESSION_ID})
    store_path = tmp_path / "barista.db"
    haproxy = start_lb_haproxy(Credentials.generate("lb"), network, tmp_path / "elb")
    store = ElbStore(store_path)
    try:
        controller = ElbController(
            store_path,
            runtime,
            haproxy.api,
            haproxy.config_dir,
            time_scale=TimeScale(time_scale),
            launch_holds=LaunchHolds(store_path),
        )
        yield ElbStack(network, haproxy, runtime, store_path, Elbv2(store), controller)
    finally:
        store.close()
        for instance in runtime.instances():
            if instance.launch_template == TARGET_TEMPLATE:
                runtime.terminate(instance.instance_id, stop_timeout=0)
        haproxy.stop()
        network.remove()
