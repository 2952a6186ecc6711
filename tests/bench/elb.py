"""The ALB's cost: wrk straight to N order-api replicas vs through the ALB to the same ones.

    python -m tests.bench.elb [--replicas N] [--seconds S] [--rounds R] [--no-write]

On one Docker network: Redis (broker and ledger), N order-api replicas from the service image
(each published on 127.0.0.1), and the project's HAProxy with an ALB the orchestrator
programmed (orchestrator/elb: an HTTP listener forwarding to an IP target group of the
replicas, health-checked on /healthz). Then, per endpoint, ``--rounds`` rounds of wrk runs
with the same threads and connections, one per path in turn: *direct* (one wrk thread per
replica, each connected to its replica's published port) and *ALB* (the same threads to the
listener), the ALB once with each routing algorithm (round_robin, AWS's default, and
least_outstanding_requests; switching is a target group attribute change, i.e. a reload).
Requests/s is the median over the rounds; p50 and p99 are wrk's latency distribution of the
median round. Then the same alternation with one connection (wrk -t1 -c1), so the latency has
no queueing in it: the ALB's added p50 is the difference of those p50s. Both paths cross
Docker's loopback port publishing once.

Prints a table and rewrites the bench-elb section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.core.network import Network

from orchestrator.elb.controller import ElbController
from orchestrator.elb.model import Action, HealthCheck, Protocol, Target, TargetType
from orchestrator.elb.operations import Elbv2
from orchestrator.elb.state import ElbStore
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.time_scale import TimeScale
from tests.bench.adapters import replace_section
from tests.bench.services import ORDER, service
from tests.support.brokers import start_redis
from tests.support.containers import (
    LOOPBACK,
    SESSION_ID,
    SESSION_LABEL,
    Credentials,
    ProjectContainer,
)
from tests.support.load_balancing import LoadBalancerHost, start_lb_haproxy
from tests.support.receiving import wait_for

LISTENER_PORT = 9080
CONNECTIONS_PER_THREAD = 8
ENDPOINTS = {"GET /menu": ("GET", "/menu", None), "POST /orders": ("POST", "/orders", ORDER)}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
ALGORITHMS = ("round_robin", "least_outstanding_requests")
NOTES = [
    "How to read it:",
    "- Saturated req/s measures CPU, not HAProxy alone: wrk, HAProxy, Docker's port proxy and",
    "  the replicas share the machine's cores (and other test runs on this machine share them:",
    "  see the load average), so every cycle HAProxy spends is taken from the replicas. Runs",
    "  vary with the neighbours: an earlier run at a load average of 10-15 measured 0.39 for",
    "  GET /menu with round robin, and one at about 4 measured 0.89.",
    "- The 1-connection rows carry no queueing: their p50 difference is what one request pays",
    "  for the extra hop through HAProxy (and the bridge network behind it).",
    "- Round robin alternates requests whatever a replica's backlog; least outstanding requests",
    "  (HAProxy leastconn) sends each to the least busy one. The direct path pins half the",
    "  connections to each replica, so when a neighbour slows one replica, leastconn through",
    "  the ALB can beat it (a ratio above 1).",
]


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk_script(method: str, body: object | None, direct_ports: list[int] | None) -> str:
    """wrk's Lua: the request, and for the direct path one replica per thread."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = [[{json.dumps(body)}]]",
        ]
    if direct_ports:
        ports = ", ".join(str(p) for p in direct_ports)
        lines += [
            f"local ports = {{{ports}}}",
            "local count = 0",
            "function setup(thread)",
            "  count = count + 1",
            "  local port = tostring(ports[(count - 1) % #ports + 1])",
            f'  thread.addr = wrk.lookup("{LOOPBACK}", port)[1]',
            "end",
        ]
    return "\n".join(lines) + "\n"


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, script: str, threads: int, seconds: int, per_thread: int) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{threads * per_thread}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(handle.name).unlink()
    out = result.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(n) for n in socket_errors.groups())
    return WrkResult(
        float(rate.group(1)), _milliseconds(p50.group(1)), _milliseconds(p99.group(1)), failed
    )


def median_round(results: list[WrkResult]) -> WrkResult:
    ordered = sorted(results, key=lambda r: r.requests_per_second)
    middle = ordered[len(ordered) // 2]
    return WrkResult(
        statistics.median(r.requests_per_second for r in results),
        middle.p50_ms,
        middle.p99_ms,
        sum(r.errors for r in results),
    )


def _address(container: object, network: Network) -> str:
    wrapped = container.get_wrapped_container()  # type: ignore[attr-defined]
    wrapped.reload()
    return str(wrapped.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"])


@dataclass(frozen=True)
class Route:
    """One way to the replicas: how to reach them and what to set up before each run."""

    label: str
    url: str
    script: str
    prepare: Callable[[], None] = lambda: None


def alternate(
    paths: list[Route], threads: int, per_thread: int, seconds: int, rounds: int
) -> list[WrkResult]:
    """Rounds of every path in turn, so all see the same machine; the median round of each."""
    runs: list[list[WrkResult]] = [[] for _ in paths]
    for _ in range(rounds):
        for index, path in enumerate(paths):
            path.prepare()
            runs[index].append(run_wrk(path.url, path.script, threads, seconds, per_thread))
    return [median_round(r) for r in runs]


@dataclass
class Started:
    containers: list[ProjectContainer]
    lb: LoadBalancerHost
    controller: ElbController
    store_path: Path
    target_group_arn: str

    def algorithm(self, name: str) -> Callable[[], None]:
        """Set the target group's routing algorithm and let the controller reload HAProxy."""

        def prepare() -> None:
            with ElbStore(self.store_path) as store:
                Elbv2(store).modify_target_group_attributes(
                    self.target_group_arn, {"load_balancing.algorithm.type": name}
                )
            self.controller.reconcile_once()

        return prepare


def _start(replicas: int, network: Network, scratch: Path, env: dict[str, str]) -> Started:
    """The replicas, HAProxy, and an ALB forwarding to them, all targets healthy."""
    containers: list[ProjectContainer] = []
    try:
        containers += [service(network, "order-api", env, port=True) for _ in range(replicas)]
    except Exception:
        for container in containers:
            container.stop()
        raise
    lb = start_lb_haproxy(Credentials.generate("lb"), network, scratch / "elb")
    store_path = scratch / "barista.db"
    with ElbStore(store_path) as store:
        elbv2 = Elbv2(store)
        target_group = elbv2.create_target_group(
            "order-api",
            Protocol.HTTP,
            8080,
            target_type=TargetType.IP,
            health_check=HealthCheck(
                path="/healthz", interval_seconds=5, timeout_seconds=2, healthy_threshold_count=2
            ),
        )
        load_balancer = elbv2.create_load_balancer(f"bench-{uuid.uuid4().hex[:6]}")
        elbv2.create_listener(
            load_balancer.load_balancer_arn,
            Protocol.HTTP,
            LISTENER_PORT,
            [Action.forward(target_group.target_group_arn)],
        )
        elbv2.register_targets(
            target_group.target_group_arn, [Target(_address(c, network)) for c in containers]
        )
    controller = ElbController(
        store_path,
        DockerRuntime(labels={SESSION_LABEL: SESSION_ID}),
        lb.api,
        lb.config_dir,
        time_scale=TimeScale(10),
    )
    started = Started(containers, lb, controller, store_path, target_group.target_group_arn)

    def all_healthy() -> bool:
        controller.reconcile_once()
        health = controller.describe_target_health(target_group.target_group_arn)
        return [str(d.target_health.state) for d in health] == ["healthy"] * replicas

    if not wait_for(all_healthy, timeout=60, interval=0.2):
        lb.stop()
        for container in containers:
            container.stop()
        raise RuntimeError("the replicas never became healthy behind the ALB")
    return started


def measure(replicas: int, seconds: int, rounds: int) -> list[str]:
    lines = [
        "| endpoint | path | req/s | p50 ms | p99 ms | errors | 1-connection p50 ms | "
        "1-connection p99 ms | ALB ÷ direct req/s | added p50 ms (1 connection) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with Network() as network, tempfile.TemporaryDirectory() as scratch:
        redis = start_redis(Credentials.generate("bench"), network)
        env = {
            "BARISTA_BROKER_URL": redis.internal_url(),
            "BARISTA_LEDGER_URL": redis.internal_url(),
        }
        started: Started | None = None
        try:
            started = _start(replicas, network, Path(scratch), env)
            ports = [c.host_port(8080) for c in started.containers]
            for endpoint, (method, path, body) in ENDPOINTS.items():
                direct_script = wrk_script(method, body, ports)
                alb_script = wrk_script(method, body, None)
                alb_url = started.lb.url(LISTENER_PORT, path)
                paths = [
                    Route(
                        f"direct to {replicas} replicas",
                        f"http://{LOOPBACK}:{ports[0]}{path}",
                        direct_script,
                    ),
                    *(
                        Route(
                            f"through the ALB, {algorithm}",
                            alb_url,
                            alb_script,
                            started.algorithm(algorithm),
                        )
                        for algorithm in ALGORITHMS
                    ),
                ]
                # Warm every path (connection pools, uvicorn) before anything is timed.
                alternate(paths, replicas, CONNECTIONS_PER_THREAD, 2, 1)
                loaded = alternate(paths, replicas, CONNECTIONS_PER_THREAD, seconds, rounds)
                quiet = alternate(paths, 1, 1, seconds, rounds)
                direct, quiet_direct = loaded[0], quiet[0]
                lines.append(
                    f"| {endpoint} | {paths[0].label} | {direct.requests_per_second:,.0f} | "
                    f"{direct.p50_ms:.2f} | {direct.p99_ms:.2f} | "
                    f"{direct.errors + quiet_direct.errors} | {quiet_direct.p50_ms:.2f} | "
                    f"{quiet_direct.p99_ms:.2f} | | |"
                )
                for alb_path, alb, quiet_alb in zip(paths[1:], loaded[1:], quiet[1:], strict=True):
                    ratio = alb.requests_per_second / direct.requests_per_second
                    added = quiet_alb.p50_ms - quiet_direct.p50_ms
                    lines.append(
                        f"| {endpoint} | {alb_path.label} | {alb.requests_per_second:,.0f} | "
                        f"{alb.p50_ms:.2f} | {alb.p99_ms:.2f} | {alb.errors + quiet_alb.errors} | "
                        f"{quiet_alb.p50_ms:.2f} | {quiet_alb.p99_ms:.2f} | {ratio:.2f} | "
                        f"{added:+.2f} |"
                    )
        finally:
            if started is not None:
                started.lb.stop()
                for container in started.containers:
                    container.stop()
            redis.container.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    lines = measure(args.replicas, args.seconds, args.rounds)
    load_after = os.getloadavg()[0]
    print("\n".join(lines))
    if not args.no_write:
        header = (
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
            f"{platform.system()} {platform.release()}. Command: `make bench-elb` "
            f"({args.replicas} order-api replicas on Redis; per endpoint {args.rounds} "
            f"rounds of wrk -t{args.replicas} -c{args.replicas * CONNECTIONS_PER_THREAD} "
            f"-d{args.seconds}s, direct (one wrk thread per replica) then through the ALB "
            "(HAProxy programmed by orchestrator/elb) with each routing algorithm; "
            "req/s is the median round, p50/p99 are that round's wrk latency distribution; then "
            "the same with one connection, wrk -t1 -c1, whose p50s give the added p50). "
            "Goals: ALB ÷ direct ≥ 0.85, added p50 ≤ 0.5 ms. Load average (1 min) "
            f"{load_before:.1f} before and {load_after:.1f} after: the machine is shared."
        )
        replace_section("bench-elb", [header, "", *lines, "", *NOTES])


if __name__ == "__main__":
    main()
