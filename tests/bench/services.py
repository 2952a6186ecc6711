"""order-api requests/s for one replica, and accepted → ready latency, per backend.

    python -m tests.bench.services [--backends kafka,rabbitmq,redis] [--seconds S] [--rate R]

Per backend, on one Docker network: the broker, a Redis ledger, one order-api container and
two barista containers (brewing 10 ms per cup, so the latency is the shop's plumbing, not the
coffee), all from the project's images. Then:

* latency: a steady ``--rate`` orders/s for ``--seconds`` on an empty queue; the order-ready
  events carry the time the order was accepted and the time it was ready, and their
  difference is the latency;
* throughput: then wrk (2 threads, each of ``--connections``: 16 and 64 by default) posts
  valid orders for ``--seconds``; every 202 was confirmed by the broker. order-api commits
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
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.core.network import Network

from broker_adapters import Subscription, connect
from services.orders import OrderEvent
from tests.bench.adapters import replace_section
from tests.support.brokers import (
    STARTERS,
    Endpoint,
    http_get,
    start_redis,
)
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
GOALS = {"kafka": 2000, "rabbitmq": 1000, "redis": 2000}


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


def latency(port: int, broker: Endpoint, topic: str, rate: float, seconds: int) -> list[float]:
    with connect(broker.url) as client:
        events = client.subscribe(topic, f"bench-{uuid.uuid4().hex[:6]}")
        body = json.dumps(ORDER).encode()
        # Warm up: the baristas' consumer group settles (a Kafka rebalance takes a second or
        # two) before anything is timed.
        warmup = sum(_post(port, body) == 202 for _ in range(5))
        _ready_latencies(events, warmup)
        posted = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            status = _post(port, body)
            posted += status == 202
            next_at = start + posted / rate
            time.sleep(max(0.0, next_at - time.monotonic()))
        return _ready_latencies(events, posted)


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


def run_backend(backend: str, seconds: int, rate: float, connections: list[int]) -> list[str]:
    with Network() as network:
        broker = STARTERS[backend](Credentials.generate(backend), network=network)
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
            containers += [service(network, "barista", env, port=False) for _ in range(2)]
            port = api.host_port(8080)
            # Latency first, on an empty queue: wrk leaves thousands of orders to brew.
            samples = latency(port, broker, "order-events", rate, seconds)
            rates = [throughput(port, seconds, count) for count in connections]
        finally:
            for container in containers:
                container.stop()
            broker.container.stop()
            if ledger is not broker:
                ledger.container.stop()
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    best = max(requests for requests, _ in rates)
    goal = GOALS.get(backend)
    judged = f"≥ {goal:,} ({'met' if best >= goal else 'missed'})" if goal else ""
    measured = " | ".join(f"{requests:,.0f} ({failures})" for requests, failures in rates)
    return [
        f"| {backend} | {measured} | {judged} | {rate:g}/s for {seconds} s | "
        f"{len(samples)} | {p50:.0f} | {p99:.0f} | {statistics.mean(samples):.0f} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backends", default="kafka,rabbitmq,redis")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--connections", default="16,64", help="wrk connections, one run each")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    columns = " | ".join(f"req/s (non-2xx), {c} connections" for c in connections)
    lines = [
        f"| backend | {columns} | goal | steady load | orders timed | p50 ms | p99 ms | mean ms |",
        "| --- | " + "---: | " * len(connections) + "--- | --- | ---: | ---: | ---: | ---: |",
    ]
    load_before = os.getloadavg()[0]
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        lines += run_backend(backend, args.seconds, args.rate, connections)
    load_after = os.getloadavg()[0]
    print("\n".join(lines))
    if not args.no_write:
        header = (
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores. Command: "
            f"`make bench-services`: one order-api, two baristas brewing 10 ms per cup; first "
            f"{args.rate:g} orders/s for {args.seconds} s on an empty queue (latency = order "
            f"accepted → order-ready event, after 5 warm-up orders), then wrk -t2 for "
            f"{args.seconds} s with {args.connections} connections (requests/s of one order-api "
            f"replica, uvicorn on uvloop and httptools; every 202 is a broker-confirmed, "
            f"ledgered order, committed in batches). Goal: the best column. Load average (1 min) "
            f"{load_before:.1f} before and {load_after:.1f} after: the machine is shared."
        )
        replace_section("bench-services", [header, "", *lines])


if __name__ == "__main__":
    main()
