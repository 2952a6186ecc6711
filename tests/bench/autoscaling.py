"""How fast the Auto Scaling controllers react, and how a reconcile pass grows with a group.

    python -m tests.bench.autoscaling [--runs R] [--sizes 50,200] [--skip-docker-passes]
                                      [--start-workers 1,8] [--skip-breach]

* breach → first new barista consuming: on Redis, a group of baristas (MinSize 1, target
  tracking on backlog per instance, target 5) runs under ``barista serve orchestrator``'s
  control loop at time_scale 60 (passes every 0.25 s); once the last three datapoints are
  under the target, a burst of 60 orders lands on the queue (the breach), and the clock stops
  when a *new* barista logs its first brew. Each run also records when desired
  capacity changed and when the new container started. The same breach runs four ways in
  one run, side by side: cold launches, and warm pools of stopped (``docker start`` of a kept
  container), running (started, connected, waiting for InService) and hibernated (``docker
  pause``) baristas.
* reconcile pass: one pass of the Auto Scaling controller over a group of N instances, on the
  fake runtime and on Docker (containers of the debootstrap base running ``sleep``): the pass
  that launches all N, and a steady pass that finds nothing to do (list + plan), median of 5.
  On Docker with the orchestrator's launches at once (``START_CONCURRENCY``) and, at the
  smallest size, one at a time as the baseline. ``--skip-breach`` only prints the passes.

Prints a table and rewrites the bench-autoscaling section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import os
import platform
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import docker

from broker_adapters import connect
from orchestrator.api import ApiContext
from orchestrator.api.instance_metadata import routes as metadata_routes
from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool import WarmPool, WarmPoolState
from orchestrator.clock import ScaledClock
from orchestrator.instances import Health
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.loop import START_CONCURRENCY
from orchestrator.runtime import Runtime
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.runtime.images import ImagePolicy
from orchestrator.scaling import TargetTrackingConfiguration
from orchestrator.scaling.metrics import PERIOD, QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.server import ControlLoop
from orchestrator.time_scale import TimeScale
from services.ledger import OrderState
from tests.bench.adapters import replace_section
from tests.support.aws_endpoint import serve
from tests.support.barista_group import put_barista_group
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, open_shop, place_orders, service_environment

TIME_SCALE = 60.0
# The goal for a pass that launches a group of 50 on Docker (the data-plane issue).
PASS_GOAL_INSTANCES = 50
PASS_GOAL_SECONDS = 8.0
BENCH_LABEL = "barista.bench"
SLEEPER = "barista/debian:trixie"  # the pass benchmark's containers run `sleep`
# Seconds between a barista's questions to its metadata service while kept warm (the default).
WARM_POLL = 0.5
# The groups' HealthCheckGracePeriod, AWS seconds (15 real seconds at time scale 60): it must
# cover one interval of the service image's Docker health check (2 real seconds, which the time
# scale does not compress), or a thawed Hibernated barista still showing the health recorded
# while it was frozen is replaced.
GRACE_PERIOD = 900


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _brewing(container_id: str) -> bool:
    logs = docker.from_env().containers.get(container_id).logs().decode(errors="replace")
    return '"message": "brewing"' in logs


def breach_run(
    shop: Shop,
    work: Path,
    run: int,
    *,
    time_scale: float = TIME_SCALE,
    period: int = PERIOD,
    orders: int = 60,
    pool_state: WarmPoolState | None = None,
) -> tuple[float, float, float, float]:
    """(decision, new barista started or taken, on shift, consuming), seconds after the breach.

    ``period`` is the tracked metric's Period (10 or 30: a high-resolution policy); the burst
    of ``orders`` must outlast three periods of the one barista draining it. With
    ``pool_state`` the group has a warm pool of that state (MaxSize less desired: three
    baristas), ready before the first order. Every variant's baristas have the instance
    metadata service (served on the shop network's gateway), so each asks its target
    lifecycle state before it works, cold ones too. "On shift" and "consuming" are the
    barista's own log lines, timed by Docker."""
    counter = Counter.fresh()
    group = f"bench-{run}-{uuid.uuid4().hex[:6]}"
    labels = {BENCH_LABEL: group}
    host = _gateway(shop)
    port = _free_port(host)
    runtime = DockerRuntime(
        labels=labels,
        clock=ScaledClock(time.time(), TimeScale(time_scale)),
        metadata_url=f"http://{host}:{port}",
    )
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.2",
        "BARISTA_WARM_POLL": str(WARM_POLL),
    }
    stopping = threading.Event()
    path = work / f"{group}.db"
    context = ApiContext(path, runtime)
    with (
        Store(path) as store,
        connect(shop.broker.url) as broker,
        serve(context, metadata_routes(context), host=host, port=port),
    ):
        put_barista_group(
            store,
            shop,
            group,
            environment,
            min_size=1,
            max_size=4,
            availability_zones=["a"],
            stop_timeout=5,
        )
        store.put_group(
            dataclasses.replace(store.groups()[group], health_check_grace_period=GRACE_PERIOD)
        )
        policy = ScalingPolicy(
            group,
            "backlog",
            TargetTrackingPolicy(
                QueueBacklogMetric(counter.queue, period),
                TargetTrackingConfiguration(target_value=5, estimated_instance_warmup=60),
            ),
        )
        store.put_policy(policy)
        if pool_state is not None:
            store.put_warm_pool(WarmPool(group, pool_state=pool_state))
        loop = ControlLoop(store.path, runtime, lambda queue: broker.backlog(queue).total)
        worker = threading.Thread(target=loop.run, args=(stopping, 0.25), daemon=True)
        worker.start()
        try:
            if pool_state is not None:
                assert wait_for(lambda: _warm_ready(store, runtime, group, pool_state), 120)
            (first,) = place_orders(shop, counter, 1)
            ledger = counter.ledger(shop)
            assert wait_for(lambda: ledger.state(first.order_id) is OrderState.BREWED, 120)
            # A steady start: the last three tracked datapoints under the target, so the alarm
            # has to see three new breaching ones (not count a pending barista's first order).
            tracked = f"{policy.policy_arn}/tracked"
            assert wait_for(
                lambda: [v for _, v in store.datapoints(tracked, limit=3)] == [0.0] * 3, 60
            )
            # The group's own instances: a warm one taken on scale-out counts as new.
            original = {
                i for i, r in store.instance_lifecycles(group).items() if not r.state.warmed
            }
            breach_wall = time.time()
            breach = time.monotonic()
            place_orders(shop, counter, orders)
            assert wait_for(lambda: store.groups()[group].desired_capacity > 1, 60, interval=0.05)
            decided = time.monotonic() - breach

            def new_ones() -> list[str]:
                warm = {i for i, r in store.instance_lifecycles(group).items() if r.state.warmed}
                return [
                    i.container_id
                    for i in runtime.instances(group)
                    if i.instance_id not in original
                    and i.instance_id not in warm
                    and i.health is not Health.STOPPED
                ]

            assert wait_for(lambda: bool(new_ones()), 60, interval=0.05)
            started = time.monotonic() - breach
            assert wait_for(lambda: any(_brewing(c) for c in new_ones()), 120, interval=0.1), (
                _diagnosis(store, runtime, group)
            )
            first_brew = min(
                (_logged(c, "brewing", breach_wall) for c in new_ones()), key=lambda t: t[1]
            )
            on_shift = _logged(first_brew[0], "barista on shift", breach_wall)[1]
            consuming = first_brew[1]
        finally:
            stopping.set()
            worker.join(timeout=30)
            remove_labelled(labels)
    return decided, started, on_shift - breach_wall, consuming - breach_wall


def _gateway(shop: Shop) -> str:
    """The host's address on the shop's network: where the baristas reach the metadata
    service."""
    network = docker.from_env().networks.get(shop.network.name)
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _logged(container_id: str, message: str, since: float) -> tuple[str, float]:
    """(container, Docker's wall time of its first ``message`` line at or after ``since``);
    infinity when it has none."""
    raw = docker.from_env().containers.get(container_id).logs(timestamps=True)
    for line in raw.decode(errors="replace").splitlines():
        stamp, _, text = line.partition(" ")
        if f'"message": "{message}"' not in text:
            continue
        # RFC 3339 with nanoseconds: microseconds are what datetime parses.
        seconds, _, fraction = stamp.rstrip("Z").partition(".")
        when = datetime.fromisoformat(f"{seconds}.{fraction[:6] or '0'}+00:00").timestamp()
        if when >= since:
            return container_id, when
    return container_id, float("inf")


def _diagnosis(store: Store, runtime: Runtime, group: str) -> str:
    """Why no new barista brewed: each instance's state, health and last log lines."""
    records = store.instance_lifecycles(group)
    client = docker.from_env()
    lines = []
    for instance in runtime.instances(group):
        record = records.get(instance.instance_id)
        logs = client.containers.get(instance.container_id).logs(tail=5).decode(errors="replace")
        lines.append(
            f"{instance.instance_id} {record.state if record else None} {instance.health}: "
            f"{logs.strip()[-400:]}"
        )
    return "\n".join(lines)


def _warm_ready(store: Store, runtime: Runtime, group: str, pool_state: WarmPoolState) -> bool:
    """All three warm instances are in the pool's state, and Docker says so."""
    health = {i.instance_id: i.health for i in runtime.instances(group)}
    ready = [
        i
        for i, r in store.instance_lifecycles(group).items()
        if r.state is pool_state.lifecycle_state and health.get(i) is pool_state.health
    ]
    return len(ready) == 3


def remove_labelled(labels: dict[str, str]) -> None:
    client = docker.from_env()
    found = client.containers.list(
        all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]}
    )
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.remove(force=True), found))


def pass_times(
    runtime: Runtime, size: int, work: Path, image: str, workers: int = START_CONCURRENCY
) -> tuple[float, float]:
    """(the pass that launches ``size`` instances, ``workers`` at once, the median steady
    pass) in seconds."""
    with Store(work / f"passes-{uuid.uuid4().hex[:6]}.db") as store:
        store.put_launch_template(
            create_launch_template(
                "sleepers",
                LaunchTemplateData(image=image, command=("sleep", "infinity"), stop_timeout=1),
            )
        )
        store.put_group(
            create_auto_scaling_group(
                "sleepers",
                "sleepers",
                min_size=0,
                max_size=size,
                desired_capacity=size,
                availability_zones=("az-a", "az-b", "az-c"),
            )
        )
        controller = AutoScalingController(store, runtime, start_workers=workers)
        started = time.perf_counter()
        controller.reconcile_once()
        launching = time.perf_counter() - started
        steady = []
        for _ in range(5):
            started = time.perf_counter()
            assert not controller.reconcile_once().changed
            steady.append(time.perf_counter() - started)
    return launching, statistics.median(steady)


@contextmanager
def held(lock: str | None) -> Iterator[None]:
    """An exclusive flock on ``lock`` while the block runs; nothing without one."""
    if lock is None:
        yield
        return
    with Path(lock).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--skip-docker-passes", action="store_true")
    parser.add_argument(
        "--lock",
        help="a lock file held (flock) for each round of variants and for the passes, and "
        "released between them, on a machine shared with other Docker work",
    )
    parser.add_argument(
        "--start-workers",
        default=f"1,{START_CONCURRENCY}",
        help="launches at once in the Docker passes; 1 is the one-by-one baseline, run only "
        "at the smallest size",
    )
    parser.add_argument("--skip-breach", action="store_true", help="only the reconcile passes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    worker_counts = [int(w) for w in args.start_workers.split(",")]
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        work = Path(scratch)
        runs: dict[str, list[tuple[float, ...]]] = {name: [] for name in VARIANTS}
        shop: Shop | None = None
        for n in range(0 if args.skip_breach else args.runs):
            with held(args.lock):
                if shop is None:
                    shop = stack.enter_context(open_shop("redis"))
                # Interleaved, so the machine's load falls on every variant alike.
                for name, pool_state in VARIANTS.items():
                    runs[name].append(breach_run(shop, work, n, pool_state=pool_state))
        with held(args.lock):
            stack.close()  # the shop's containers go
        if not args.skip_breach:
            print("\n".join(report(runs, {}, args.runs)[: 4 + 5 * len(VARIANTS)]), flush=True)
        passes: dict[tuple[str, int, int], tuple[float, float]] = {}
        for size in sizes:
            passes[("fake", size, 1)] = pass_times(FakeRuntime(), size, work, "unused", 1)
            if args.skip_docker_passes:
                continue
            for workers in worker_counts:
                if workers == 1 and size != min(sizes) and len(worker_counts) > 1:
                    continue  # the one-by-one baseline at the smallest size is enough
                labels = {BENCH_LABEL: f"passes-{uuid.uuid4().hex[:6]}"}
                # The debootstrap base is no catalog image: allowed here by name.
                runtime = DockerRuntime(labels=labels, images=ImagePolicy((SLEEPER,)))
                with held(args.lock):
                    try:
                        passes[("docker", size, workers)] = pass_times(
                            runtime, size, work, SLEEPER, workers
                        )
                    finally:
                        remove_labelled(labels)
                print(
                    f"docker pass, {size} instances, {workers} at once: "
                    f"{passes[('docker', size, workers)]}",
                    flush=True,
                )
    lines = report(runs, passes, args.runs)
    print("\n".join(lines))
    if args.skip_breach:
        return  # a partial run: BENCHMARKS.md keeps the whole section of the last full one
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}. "
        f"Command: `make bench-autoscaling` ({args.runs} breach runs per launch kind on Redis, "
        f"time_scale {TIME_SCALE:g})."
    )
    replace_section("bench-autoscaling", [header, "", *lines])


# How the new barista comes: launched cold, or taken from a warm pool of that state.
VARIANTS: dict[str, WarmPoolState | None] = {
    "cold launch": None,
    "warm pool, Stopped": WarmPoolState.STOPPED,
    "warm pool, Running": WarmPoolState.RUNNING,
    "warm pool, Hibernated": WarmPoolState.HIBERNATED,
}


def report(
    runs: dict[str, list[tuple[float, ...]]],
    passes: dict[tuple[str, int, int], tuple[float, float]],
    count: int,
) -> list[str]:
    lines = [
        f"Breach → reaction, wall seconds over {count} runs per launch kind, interleaved in one "
        f"run (AWS-equivalent = wall x {TIME_SCALE:g}):",
        "",
        "| new barista from | from the breach to | p50 (s) | p95 (s) | p50 in AWS time |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    names = (
        "desired capacity raised",
        "new container started (or taken)",
        "new barista on shift",
        "new barista consuming",
    )
    for variant, variant_runs in runs.items():
        rows = [(name, [run[index] for run in variant_runs]) for index, name in enumerate(names)]
        # What the launch kind changes: the decision itself waits for the same alarm.
        rows.append(
            (
                "new barista consuming (from the decision, not the breach)",
                [run[3] - run[0] for run in variant_runs],
            )
        )
        for name, values in rows:
            if not values:
                continue  # --skip-breach
            p50 = percentile(values, 0.5)
            lines.append(
                f"| {variant} | {name} | {p50:.1f} | {percentile(values, 0.95):.1f} | "
                f"{p50 * TIME_SCALE / 60:.1f} min |"
            )
    lines += [
        "",
        "Anchors: KEDA polls a queue every 30 s (pollingInterval) and the HPA syncs every 15 s, "
        "so a breach waits up to 45 s for a scale decision before a pod starts; AWS target "
        "tracking fires AlarmHigh after 3 one-minute datapoints, about 3 minutes, before an "
        "instance launches.",
        "",
        "One reconcile pass of the Auto Scaling controller (seconds):",
        "",
        "| runtime | instances | launches at once | pass launching all | goal | "
        "steady pass (median of 5) |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for (runtime, size, workers), (launching, steady) in sorted(passes.items()):
        goal = ""
        if runtime == "docker" and size == PASS_GOAL_INSTANCES:
            met = "met" if launching <= PASS_GOAL_SECONDS else "missed"
            goal = f"≤ {PASS_GOAL_SECONDS:g} s ({met})"
        lines.append(
            f"| {runtime} | {size} | {workers} | {launching:.3f} | {goal} | {steady:.3f} |"
        )
    lines += [
        "",
        "How to read it: the decision waits for AlarmHigh's three one-minute datapoints, as in "
        "AWS, so in AWS time it lands near AWS's 3 minutes; the time scale, not a shortcut, is "
        "what makes it seconds on the wall clock (at time_scale 1 it takes 3 real minutes). "
        "After the decision everything is real seconds: the controller's next pass (every "
        "0.25 s here), then for a cold launch Docker's create + start, and the barista's own "
        "start (Python's imports, the broker and ledger connections, the side door, one "
        "question to its metadata service) before it is on shift; a Stopped warm barista "
        "skips only the create, and pays the whole start again after `docker start`, so on "
        "Docker it saves a fraction of a second at most (on EC2 it saves the boot and the user "
        "data: minutes). A Running or Hibernated warm barista has already started and "
        "connected and waits, taking no order, until its target lifecycle state "
        f"(`autoscaling/target-lifecycle-state`, asked every {WARM_POLL:g} s) says InService: "
        "taken from the pool it is consuming within that poll of the decision. 'On shift' and "
        "'consuming' are the barista's log lines as Docker timed them; 'started (or taken)' is "
        "polled, so it can read a little after 'on shift'. Groups have a HealthCheckGracePeriod "
        f"of {GRACE_PERIOD} s (more than one real interval of the image's Docker health check "
        "at this time scale), which a thawed Hibernated barista needs. "
        "A steady "
        "pass lists the group's containers once and plans in memory, so it grows with the "
        "instance count through Docker's list; the fake runtime's pass is the plan alone. "
        f"A pass runs up to {START_CONCURRENCY} launches (create + start) at once "
        "(orchestrator.loop.START_CONCURRENCY, what `barista serve orchestrator` uses; the "
        "first launch of each image goes alone, so a refused image fails once); the 1 row is "
        "the one-by-one baseline in the same run. The machine was shared with other Docker "
        "workloads while this ran; compare rows of one run, not runs.",
    ]
    return lines


if __name__ == "__main__":
    main()
