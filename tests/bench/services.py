"""order-api requests/s for one replica, and accepted → ready latency, per backend.

    python -m tests.bench.services [--backends kafka,kafka-share,rabbitmq,redis] [--seconds S]
        [--rate R] [--baristas N]

Per backend, on one Docker network: the broker, a Redis ledger, one order-api container and
``--baristas`` barista containers (6 by default, brewing 10 ms per cup, so the latency is the
shop's plumbing, not the coffee), all from the project's images. Then:

* latency: a steady ``--rate`` orders/s (200 by default, the data-plane goal's load) for
  ``--seconds`` on an empty queue, posted on schedule by a pool of client threads so that a
  slow answer does not slow the rate; the order-ready events carry the time the order was
  accepted and the time it was ready, and their difference is the latency. Goal: p99 ≤ 50 ms;
* throughput: then, with the baristas stopped so that they do not share the two cores, wrk
  (2 threads, each of ``--connections``: 16 and 64 by default) posts valid orders for
  ``--seconds``; every 202 was confirmed by the broker. order-api commits
  concurrent orders in batches (services/order_api/commits.py), so its rate grows with the
  number of requests in flight.

Prints a table and rewrites the services section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.core.network import Network

from broker_adapters import Subscription, connect
from services.orders import OrderEvent
from tests.bench.adapters import replace_section
from tests.support.brokers import Endpoint, http_get, start_backend, start_redis
from tests.support.containers import LOOPBACK, ClientProbe, Credentials, ProjectContainer

ORDER = {
    "customer": {"id": "c-bench", "name": "Bench Customer"},
    "items": [{"item": "flat-white", "size": "medium", "quantity": 1}],
}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""


def service(network: Network, command: str, env: dict[str, str], port: bool) -> ProjectContainer:
    container = ProjectContainer("service").with_command(["serve", command]).with_network(network)
    for key, value in env.items():
        container.with_env(key, value)
    if port:
        container.publish(8080)

    def ready() -> None:
        status, _ = http_get(f"http://{LOOPBACK}:{container.host_port(8080)}/readyz")
        if status != 200:
            raise RuntimeError(f"readyz {status}")

    def logged() -> None:
        stdout, _ = container.get_logs()
        if b'"message": "barista on shift"' not in stdout:
            raise RuntimeError("not on shift yet")

    container.waiting_for(ClientProbe(ready if port else logged, 120))
    return container.start()


# Confirmed orders/s one order-api replica should take (the data-plane issue's goals).
GOALS = {"kafka": 2000, "kafka-share": 2000, "rabbitmq": 1000, "redis": 2000}
# accepted → ready p99 at 200 orders/s with enough baristas, on every backend.
LATENCY_GOAL_MS = 50


def throughput(port: int, seconds: int, connections: int) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % json.dumps(ORDER))
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            script.name,
            f"http://{LOOPBACK}:{port}/orders",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(script.name).unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    return rate, int(errors.group(1)) if errors else 0


def latency(port: int, broker: Endpoint, topic: str, rate: float, seconds: int) -> Steady:
    """Orders at ``rate`` per second for ``seconds``, then their accepted → ready latencies.

    Each order is posted at its scheduled time by one of a pool of threads (enough for the
    rate at a few ms per request), so a slow answer delays only its own order, not the rest:
    the offered load stays ``rate`` whatever the latency (no coordinated omission).
    """
    with connect(broker.url) as client:
        events = client.subscribe(topic, f"bench-{uuid.uuid4().hex[:6]}")
        body = json.dumps(ORDER).encode()
        # Warm up: the baristas' consumer group settles (a Kafka rebalance takes a second or
        # two) before anything is timed.
        warmup = sum(_post(port, body) == 202 for _ in range(5))
        _ready_latencies(events, warmup)
        count = round(rate * seconds)
        start = time.monotonic() + 0.1

        def post_at(index: int) -> int:
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
            return _post(port, body)

        with ThreadPoolExecutor(max_workers=max(4, round(rate / 20))) as pool:
            statuses = Counter(pool.map(post_at, range(count)))
        elapsed = time.monotonic() - start
        return Steady(count / elapsed, statuses, _ready_latencies(events, statuses[202]))


class Steady:
    """What the steady load measured: the rate it held, the answers and the latencies (ms)."""

    def __init__(self, offered: float, statuses: Counter[int], latencies: list[float]) -> None:
        self.offered = offered
        self.statuses = statuses
        self.latencies = latencies


def _ready_latencies(events: Subscription, count: int) -> list[float]:
    """Accepted → ready, in ms, of the next ``count`` order-ready events."""
    latencies: list[float] = []
    deadline = time.monotonic() + 60
    while len(latencies) < count and time.monotonic() < deadline:
        for delivery in events.receive(10, wait=1):
            event = OrderEvent.model_validate_json(delivery.message.body)
            if event.kind == "order-ready":
                latencies.append((event.at - event.accepted_at).total_seconds() * 1000)
            delivery.ack()
    return latencies


def _post(port: int, body: bytes) -> int:
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(
        f"http://{LOOPBACK}:{port}/orders", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_backend(
    backend: str, seconds: int, rate: float, connections: list[int], baristas: int
) -> list[str]:
    with Network() as network:
        broker = start_backend(backend, Credentials.generate(backend), network=network)
        ledger = (
            broker if backend == "redis" else start_redis(Credentials.generate("ledger"), network)
        )
        env = {
            "BARISTA_BROKER_URL": broker.internal_url(),
            "BARISTA_LEDGER_URL": ledger.internal_url(),
            "BARISTA_BREW_SECONDS_PER_UNIT": "0.01",
        }
        containers = []
        try:
            api = service(network, "order-api", env, port=True)
            containers.append(api)
            containers += [service(network, "barista", env, port=False) for _ in range(baristas)]
            port = api.host_port(8080)
            # Latency first, on an empty queue: wrk leaves thousands of orders to brew.
            steady = latency(port, broker, "order-events", rate, seconds)
            # Then order-api's own rate: the baristas stop, leaving the two cores to order-api,
            # the broker and wrk (in a real shop they run on machines of their own); the
            # orders wrk places wait on the queue.
            for barista in containers[1:]:
                barista.stop()
            del containers[1:]
            rates = [throughput(port, seconds, count) for count in connections]
        finally:
            for container in containers:
                container.stop()
            broker.container.stop()
            if ledger is not broker:
                ledger.container.stop()
    samples = steady.latencies
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    best = max(requests for requests, _ in rates)
    goal = GOALS.get(backend)
    judged = f"≥ {goal:,} ({'met' if best >= goal else 'missed'})" if goal else ""
    measured = " | ".join(f"{requests:,.0f} ({failures})" for requests, failures in rates)
    refused = sum(n for status, n in steady.statuses.items() if status != 202)
    latency_judged = f"≤ {LATENCY_GOAL_MS} ({'met' if p99 <= LATENCY_GOAL_MS else 'missed'})"
    return [
        f"| {backend} | {measured} | {judged} | {rate:g}/s for {seconds} s "
        f"(held {steady.offered:.0f}/s, {refused} refused) | {len(samples)} | {p50:.0f} | "
        f"{p99:.0f} | {latency_judged} | {statistics.mean(samples):.0f} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backends", default="kafka,kafka-share,rabbitmq,redis")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--baristas", type=int, default=6)
    parser.add_argument("--connections", default="16,64", help="wrk connections, one run each")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    columns = " | ".join(f"req/s (non-2xx), {c} connections" for c in connections)
    lines = [
        f"| backend | {columns} | goal | steady load | orders timed | p50 ms | p99 ms | p99 goal "
        "| mean ms |",
        "| --- | " + "---: | " * len(connections) + "--- | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    load_before = os.getloadavg()[0]
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        lines += run_backend(backend, args.seconds, args.rate, connections, args.baristas)
    load_after = os.getloadavg()[0]
    print("\n".join(lines))
    if not args.no_write:
        header = (
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores. Command: "
            f"`make bench-services`: one order-api, {args.baristas} baristas brewing 10 ms per "
            f"cup; first {args.rate:g} orders/s for {args.seconds} s on an empty queue, posted "
            f"on schedule by a pool of client threads (latency = order accepted → order-ready "
            f"event, after 5 warm-up orders), then, baristas stopped, wrk -t2 for "
            f"{args.seconds} s with {args.connections} connections (requests/s of one "
            f"order-api replica, uvicorn on uvloop and httptools; every 202 is a "
            f"broker-confirmed, ledgered order, committed in batches). Goals: the best req/s "
            f"column, and the latency p99. Load average (1 min) {load_before:.1f} before and "
            f"{load_after:.1f} after: the machine is shared."
        )
        replace_section("bench-services", [header, "", *lines])


if __name__ == "__main__":
    main()
