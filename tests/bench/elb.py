"""The ALB's cost: wrk straight to N order-api replicas vs through the ALB to the same ones.

    python -m tests.bench.elb [--replicas N] [--seconds S] [--rounds R] [--no-write]

On one Docker network: Redis (broker and ledger), N order-api replicas from the service image
(each published on 127.0.0.1), and the project's HAProxy with an ALB the orchestrator
programmed (orchestrator/elb: an HTTP listener forwarding to an IP target group of the
replicas, health-checked on /healthz). Then, per endpoint, ``--rounds`` alternating pairs of
wrk runs with the same threads and connections: *direct* (one wrk thread per replica, each
connected to its replica's published port) and *ALB* (the same threads to the listener).
Requests/s is the median over the rounds; p50 and p99 are wrk's latency distribution of the
median round. Both paths cross Docker's loopback port publishing once.

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
from orchestrator.scaling.time_scale import TimeScale
from tests.bench.adapters import replace_section
from tests.bench.services import ORDER, service
from tests.support.brokers import start_redis
from tests.support.containers import LOOPBACK, SESSION_ID, SESSION_LABEL, Credentials
from tests.support.load_balancing import start_lb_haproxy
from tests.support.receiving import wait_for

LISTENER_PORT = 9080
CONNECTIONS_PER_THREAD = 8
ENDPOINTS = {"GET /menu": ("GET", "/menu", None), "POST /orders": ("POST", "/orders", ORDER)}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


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


def run_wrk(url: str, script: str, threads: int, seconds: int) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{threads * CONNECTIONS_PER_THREAD}",
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


def measure(replicas: int, seconds: int, rounds: int) -> list[str]:
    lines = [
        "| endpoint | path | req/s | p50 ms | p99 ms | errors | ALB ÷ direct req/s | "
        "added p50 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with Network() as network, tempfile.TemporaryDirectory() as scratch:
        redis = start_redis(Credentials.generate("bench"), network)
        env = {
            "BARISTA_BROKER_URL": redis.internal_url(),
            "BARISTA_LEDGER_URL": redis.internal_url(),
        }
        containers = []
        lb = None
        try:
            containers = [service(network, "order-api", env, port=True) for _ in range(replicas)]
            lb = start_lb_haproxy(Credentials.generate("lb"), network, Path(scratch) / "elb")
            store_path = Path(scratch) / "barista.db"
            with ElbStore(store_path) as store:
                elbv2 = Elbv2(store)
                target_group = elbv2.create_target_group(
                    "order-api",
                    Protocol.HTTP,
                    8080,
                    target_type=TargetType.IP,
                    health_check=HealthCheck(
                        path="/healthz",
                        interval_seconds=5,
                        timeout_seconds=2,
                        healthy_threshold_count=2,
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
                    target_group.target_group_arn,
                    [Target(_address(c, network)) for c in containers],
                )
            controller = ElbController(
                store_path,
                DockerRuntime(labels={SESSION_LABEL: SESSION_ID}),
                lb.api,
                lb.config_dir,
                time_scale=TimeScale(10),
            )

            def all_healthy() -> bool:
                controller.reconcile_once()
                health = controller.describe_target_health(target_group.target_group_arn)
                return [str(d.target_health.state) for d in health] == ["healthy"] * replicas

            if not wait_for(all_healthy, timeout=60, interval=0.2):
                raise RuntimeError("the replicas never became healthy behind the ALB")
            ports = [c.host_port(8080) for c in containers]
            for endpoint, (method, path, body) in ENDPOINTS.items():
                direct_script = wrk_script(method, body, ports)
                alb_script = wrk_script(method, body, None)
                direct_url = f"http://{LOOPBACK}:{ports[0]}{path}"
                alb_url = lb.url(LISTENER_PORT, path)
                # Warm both paths (connection pools, uvicorn) before anything is timed.
                run_wrk(direct_url, direct_script, replicas, 2)
                run_wrk(alb_url, alb_script, replicas, 2)
                direct_runs, alb_runs = [], []
                for _ in range(rounds):
                    direct_runs.append(run_wrk(direct_url, direct_script, replicas, seconds))
                    alb_runs.append(run_wrk(alb_url, alb_script, replicas, seconds))
                direct, alb = median_round(direct_runs), median_round(alb_runs)
                ratio = alb.requests_per_second / direct.requests_per_second
                added = alb.p50_ms - direct.p50_ms
                lines += [
                    f"| {endpoint} | direct to {replicas} replicas | "
                    f"{direct.requests_per_second:,.0f} | {direct.p50_ms:.2f} | "
                    f"{direct.p99_ms:.2f} | {direct.errors} | | |",
                    f"| {endpoint} | through the ALB | {alb.requests_per_second:,.0f} | "
                    f"{alb.p50_ms:.2f} | {alb.p99_ms:.2f} | {alb.errors} | {ratio:.2f} | "
                    f"{added:+.2f} |",
                ]
        finally:
            if lb is not None:
                lb.stop()
            for container in containers:
                container.stop()
            redis.container.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
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
            f"alternating rounds of wrk -t{args.replicas} "
            f"-c{args.replicas * CONNECTIONS_PER_THREAD} -d{args.seconds}s, direct (one wrk "
            "thread per replica) then through the ALB (HAProxy programmed by orchestrator/elb); "
            "req/s is the median round, p50/p99 are that round's wrk latency distribution). "
            "Goals: ALB ÷ direct ≥ 0.85, added p50 ≤ 0.5 ms. Load average (1 min) "
            f"{load_before:.1f} before and {load_after:.1f} after: the machine is shared."
        )
        replace_section("bench-elb", [header, "", *lines])


if __name__ == "__main__":
    main()
