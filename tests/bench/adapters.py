"""Adapter vs raw client: messages/s for produce and consume, side by side in one run.

    python -m tests.bench.adapters [--backends kafka,kafka-share,rabbitmq,redis] [--messages N]
                                   [--rounds R]

Starts its own brokers (the project's images, as the tests do), then per backend and round
runs the adapter and the raw client alternately with the same settings and payload (a ~300-byte
JSON order): produce in confirmed batches of ``BATCH``, consume ``RECEIVE`` at a time with one
ack per message. The rate reported is the median over rounds; the ratio is adapter ÷ raw.
Prints a table and rewrites the adapters section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from broker_adapters import OutgoingMessage, connect
from tests.bench import raw
from tests.support.brokers import Endpoint, start_backend
from tests.support.containers import REPO_DIR, Credentials

BATCH = 100
RECEIVE = 10
RAW = {
    "kafka": raw.KafkaRaw,
    "kafka-share": raw.KafkaShareRaw,
    "rabbitmq": raw.RabbitRaw,
    "redis": raw.RedisRaw,
}
BENCHMARKS = REPO_DIR / "BENCHMARKS.md"


def order_payload() -> bytes:
    """A realistic order, about 300 bytes of JSON."""
    order = {
        "order_id": str(uuid.uuid4()),
        "customer": {"id": "c-48213", "name": "Ada Lovelace", "loyalty": "gold"},
        "items": [
            {"item": "flat white", "size": "medium", "milk": "oat", "quantity": 2},
            {"item": "croissant", "size": "regular", "quantity": 1},
        ],
        "counter": "counter-2",
        "placed_at": "2026-11-28T07:45:12.123456+00:00",
        "notes": "extra hot, no foam",
    }
    return json.dumps(order).encode()


@dataclass
class Rates:
    produce: list[float]
    consume: list[float]


def timed(action: Callable[[], int]) -> float:
    started = time.perf_counter()
    count = action()
    return count / (time.perf_counter() - started)


def adapter_round(endpoint: Endpoint, messages: int, payload: bytes) -> tuple[float, float]:
    queue = f"bench-adapter-{uuid.uuid4().hex[:8]}"
    with connect(endpoint.url) as broker:
        broker.declare_queue(queue)

        def produce() -> int:
            for start in range(0, messages, BATCH):
                count = min(BATCH, messages - start)
                broker.send_batch(queue, [OutgoingMessage(payload)] * count)
            return messages

        def consume() -> int:
            done = 0
            while done < messages:
                for delivery in broker.receive(queue, RECEIVE, wait=5):
                    delivery.ack()
                    done += 1
            return done

        produced = timed(produce)
        consumed = timed(consume)
        broker.delete_queue(queue)
    return produced, consumed


def raw_round(
    backend: str, endpoint: Endpoint, messages: int, payload: bytes
) -> tuple[float, float]:
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    client = RAW[backend](endpoint, queue)
    try:
        produced = timed(lambda: client.produce(messages, payload, BATCH))
        consumed = timed(lambda: client.consume(messages, RECEIVE))
    finally:
        client.close()
    return produced, consumed


def run(backends: list[str], messages: int, rounds: int) -> dict[str, dict[str, Rates]]:
    payload = order_payload()
    results: dict[str, dict[str, Rates]] = {}
    for backend in backends:
        endpoint = start_backend(backend, Credentials.generate(f"bench-{backend}"))
        try:
            adapter_round(endpoint, min(messages, 500), payload)  # warm up both paths
            raw_round(backend, endpoint, min(messages, 500), payload)
            adapter, rawest = Rates([], []), Rates([], [])
            for _ in range(rounds):
                # Alternate the two paths so drift on a shared machine hits both alike.
                for rates, (produced, consumed) in (
                    (adapter, adapter_round(endpoint, messages, payload)),
                    (rawest, raw_round(backend, endpoint, messages, payload)),
                ):
                    rates.produce.append(produced)
                    rates.consume.append(consumed)
            results[backend] = {"adapter": adapter, "raw": rawest}
        finally:
            endpoint.container.stop()
    return results


def table(results: dict[str, dict[str, Rates]]) -> list[str]:
    lines = [
        "| backend | operation | adapter msg/s | raw client msg/s | adapter ÷ raw |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for backend, by_path in results.items():
        for operation in ("produce", "consume"):
            adapter = statistics.median(getattr(by_path["adapter"], operation))
            rawest = statistics.median(getattr(by_path["raw"], operation))
            ratio = adapter / rawest
            lines.append(
                f"| {backend} | {operation} | {adapter:,.0f} | {rawest:,.0f} | {ratio:.2f} |"
            )
    return lines


def replace_section(name: str, lines: list[str]) -> None:
    """Rewrite the ``name`` section of BENCHMARKS.md (between its markers), or append it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = "\n".join([start, *lines, end])
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    BENCHMARKS.write_text(text)


def write_benchmarks(lines: list[str], messages: int, rounds: int) -> None:
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}. "
        f"Command: `make bench-adapters` ({messages} messages, {rounds} rounds per path, "
        "median of the rounds)."
    )
    replace_section("bench-adapters", [header, "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backends", default="kafka,kafka-share,rabbitmq,redis")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    lines = table(run(backends, args.messages, args.rounds))
    print("\n".join(lines))
    if not args.no_write:
        write_benchmarks(lines, args.messages, args.rounds)
        print(f"\nwrote {BENCHMARKS.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
