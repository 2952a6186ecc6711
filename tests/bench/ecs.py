"""How long ECS deployments and task starts take on real containers.

    python -m tests.bench.ecs [--sizes 4,8] [--runs 1] [--time-scale 5]

* rolling deployment of N tasks: a service of N ``barista serve health`` tasks with a
  container health check (interval 5 s compressed by the time scale; timeout 5 s and
  startPeriod 60 s, which bound real work, in real seconds), once with each probe command
  (``--probes``: bash's /dev/tcp, as the service image's HEALTHCHECK, and a python3 one)
  runs steady; UpdateService to a new revision starts the clock, and it stops when the
  deployment is COMPLETED (every new task healthy, every old one stopped), with the default
  minimumHealthyPercent 100 and maximumPercent 200. The controller's loop runs every 0.2 s.
* task start: for every task started during those runs, the wall time from RUNNING (all its
  containers seen running) to HEALTHY (its health check passed), p50/p95. Docker runs the
  first check one interval after start, so the interval (here ``5 s ÷ time_scale``) is the
  floor of this figure.

Containers carry a ``barista.bench`` label and are removed at the end. Prints a table and
rewrites the bench-ecs section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import docker

from orchestrator.clock import ScaledClock
from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import Task
from orchestrator.ecs.state import EcsStore
from orchestrator.loop import START_CONCURRENCY
from orchestrator.runtime.tasks import DockerTaskRuntime
from orchestrator.time_scale import TimeScale
from tests.bench.adapters import replace_section
from tests.support.containers import stable_image
from tests.support.receiving import wait_for

BENCH_LABEL = "barista.bench"
# Seconds of grace for the app to boot (real seconds: the time scale compresses only the
# check interval); a success inside it ends it at once.
START_PERIOD = 60
# Two container health checks of the same endpoint: one starts a Python interpreter per probe
# (what this bench used before), one is bash alone (what the service image's HEALTHCHECK uses).
PROBES: dict[str, list[str]] = {
    "python": [
        "CMD",
        "python3",
        "-c",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)",
    ],
    "bash": [
        "CMD",
        "bash",
        "-c",
        "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 "
        "&& grep -q ' 200 ' <&3",
    ],
}
PROBE_NAMES = {"python": "python3 urllib probe", "bash": "bash /dev/tcp probe"}
# The goal for task start (the data-plane issue).
HEALTHY_GOAL_SECONDS = 1.5


def definition(note: str, probe: str = "bash") -> dict[str, object]:
    return {
        "family": "bench",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": stable_image("service"),
                "command": ["serve", "health"],
                "environment": [{"name": "NOTE", "value": note}],
                "healthCheck": {
                    "command": PROBES[probe],
                    "interval": 5,
                    "timeout": 5,
                    "startPeriod": START_PERIOD,
                },
                "stopTimeout": 5,
            }
        ],
    }


def _moment(text: str) -> float:
    """Docker's RFC 3339 time (nanoseconds) as epoch seconds."""
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text)).timestamp()


def start_profile(container_id: str) -> Profile | None:
    """Where a container's start → healthy went, from Docker's own record (taken as soon as
    the controller sees the task healthy: Docker keeps only the last 5 probes)."""
    try:
        attrs = docker.from_env().containers.get(container_id).attrs
    except docker.errors.NotFound:
        return None  # stopped and removed meanwhile
    log = (attrs["State"].get("Health") or {}).get("Log") or []
    passed = next((entry for entry in log if entry["ExitCode"] == 0), None)
    if not log or passed is None:
        return None
    started = _moment(attrs["State"]["StartedAt"])
    return Profile(
        first_probe=_moment(log[0]["Start"]) - started,
        failed_probes=log.index(passed),
        passing_probe=_moment(passed["End"]) - _moment(passed["Start"]),
        healthy=_moment(passed["End"]) - started,
    )


@dataclass(frozen=True)
class Profile:
    """Seconds from the container's start to its first probe, failed probes before the
    passing one, the passing probe's own time, and start → that probe's end."""

    first_probe: float
    failed_probes: int
    passing_probe: float
    healthy: float


def deployment_run(
    work: Path, size: int, scale: TimeScale, probe: str = "bash"
) -> tuple[float, list[Task], list[Profile]]:
    """Seconds from UpdateService to COMPLETED, every task of the run, and the Docker-side
    profile of each task's start."""
    path = work / f"ecs-{uuid.uuid4().hex[:6]}.db"
    runtime = DockerTaskRuntime(labels={BENCH_LABEL: path.stem})
    clock = ScaledClock(time.time(), scale)
    controller = EcsController(
        path, runtime, clock=clock, time_scale=scale, start_workers=START_CONCURRENCY
    )
    try:
        with EcsStore(path) as store:
            operations.create_cluster(store, "bench")
            operations.register_task_definition(store, definition("one", probe), clock())
            operations.register_task_definition(store, definition("two", probe), clock())
            operations.create_service(store, "bench", "web", "bench:1", size, now=clock())
            profiles: dict[str, Profile | None] = {}

            def completed_on(revision: str) -> bool:
                controller.reconcile_once()
                healthy = {
                    t.task_id
                    for t in store.tasks(cluster="bench", stopped=False)
                    if t.healthy_at is not None and t.task_id not in profiles
                }
                for container in runtime.task_containers():
                    if container.task_id in healthy:
                        profiles[container.task_id] = start_profile(container.container_id)
                service = store.service("bench", "web")
                assert service is not None
                return service.task_definition == revision and [
                    d.rollout_state for d in service.deployments
                ] == ["COMPLETED"]

            if not wait_for(lambda: completed_on("bench:1"), timeout=300, interval=0.2):
                raise RuntimeError("the first deployment did not complete")
            started = time.monotonic()
            operations.update_service(store, "bench", "web", task_definition="bench:2", now=clock())
            if not wait_for(lambda: completed_on("bench:2"), timeout=600, interval=0.2):
                raise RuntimeError("the rolling deployment did not complete")
            elapsed = time.monotonic() - started
            found = [p for p in profiles.values() if p is not None]
            return elapsed, store.tasks(cluster="bench"), found
    finally:
        for task_id in {c.task_id for c in runtime.task_containers()}:
            runtime.stop_task(task_id)
        controller.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="4,8")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=5.0)
    parser.add_argument(
        "--probes", default="bash,python", help=f"health check commands, of {sorted(PROBES)}"
    )
    args = parser.parse_args()
    scale = TimeScale(args.time_scale)
    sizes = [int(s) for s in args.sizes.split(",")]
    probes = args.probes.split(",")
    deployments: dict[tuple[str, int], list[float]] = {}
    to_healthy: dict[str, list[float]] = {probe: [] for probe in probes}
    profiles: dict[str, list[Profile]] = {probe: [] for probe in probes}
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            for _ in range(args.runs):
                # Interleaved, so the machine's load falls on every probe alike.
                for probe in probes:
                    elapsed, tasks, found = deployment_run(Path(scratch), size, scale, probe)
                    profiles[probe] += found
                    deployments.setdefault((probe, size), []).append(elapsed)
                    failed += sum(
                        1 for t in tasks if (t.stopped_reason or "").startswith("Task failed")
                    )
                    to_healthy[probe].extend(
                        (t.healthy_at - t.started_at) / scale.time_scale
                        for t in tasks
                        if t.healthy_at is not None and t.started_at is not None
                    )
    interval = 5 / scale.time_scale
    lines = [
        "| measure | health check | tasks | p50 (s) | p95 (s) | goal | "
        "in AWS time (p50 x time scale) |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for (probe, size), values in deployments.items():
        median = statistics.median(values)
        lines.append(
            f"| rolling deployment, UpdateService → COMPLETED (100/200) | {PROBE_NAMES[probe]} "
            f"| {size} | {median:.1f} | {percentile(values, 0.95):.1f} | | "
            f"{median * scale.time_scale:.0f} |"
        )
    for probe, values in to_healthy.items():
        median = statistics.median(values)
        met = "met" if median <= HEALTHY_GOAL_SECONDS else "missed"
        lines.append(
            f"| task start, RUNNING → HEALTHY (health check interval {interval:g} s wall) | "
            f"{PROBE_NAMES[probe]} | {len(values)} | {median:.2f} | "
            f"{percentile(values, 0.95):.2f} | p50 ≤ {HEALTHY_GOAL_SECONDS:g} s ({met}) | "
            f"{median * scale.time_scale:.0f} |"
        )
    lines += [
        "",
        "Where a task's start goes, from Docker's record of each container (medians over the "
        "tasks; seconds from the container's start):",
        "",
        "| health check | tasks | first probe began | failed probes before it passed | "
        "passing probe took | passing probe ended |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for probe, found in profiles.items():
        if not found:
            continue
        lines.append(
            f"| {PROBE_NAMES[probe]} | {len(found)} | "
            f"{statistics.median(p.first_probe for p in found):.2f} | "
            f"{statistics.median(p.failed_probes for p in found):g} | "
            f"{statistics.median(p.passing_probe for p in found):.3f} | "
            f"{statistics.median(p.healthy for p in found):.2f} |"
        )
    lines += [
        "",
        f"Tasks stopped for failed health checks during the runs: {failed}.",
        "",
        "How to read it: a task is RUNNING when Docker reports its containers running, and "
        "HEALTHY once its container health check passes; the difference is the application "
        "booting (a Python process importing its broker clients) plus up to one check "
        "interval, so it is real seconds on a shared 2-core machine, and its p95 grows when "
        "a deployment starts many tasks at once. A rolling deployment at 100/200 starts all N "
        "new tasks, waits for them to be healthy, then stops the N old ones (SIGTERM, real "
        "stopTimeout): its time is one task start under N-fold contention plus a stop, not N "
        f"sequential starts; a pass starts up to {START_CONCURRENCY} tasks at once "
        "(orchestrator.loop.START_CONCURRENCY, as the orchestrator does). Docker runs a "
        "container's first health check one interval after it starts (engine 20.10 has no "
        "start interval), so the interval is the floor of RUNNING → HEALTHY; above it come "
        "the application's start and the probe itself. The python3 probe starts an "
        "interpreter inside the container for every check; the bash probe (the service "
        "image's HEALTHCHECK) does not.",
    ]
    print("\n".join(lines))
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores (shared "
        f"with other Docker work), {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}. Command: `make bench-ecs` (sizes {args.sizes}, "
        f"{args.runs} run each, time_scale {args.time_scale:g}; wall seconds)."
    )
    replace_section("bench-ecs", [header, "", *lines])


if __name__ == "__main__":
    main()
