"""Native tool, raw client and adapter: messages/s for produce and consume, side by side in one run.

    python -m tests.bench.adapters [--backends kafka,kafka-share,rabbitmq,redis] [--messages N]
                                   [--rounds R] [--no-native]

Starts its own brokers (the project's images, as the tests do), then per backend and round
runs the broker's own load tool (tests/bench/native.py), the raw Python client
(tests/bench/raw.py) and the adapter one after the other, with the same payload (a 370-byte
JSON order) and message count. Every message is confirmed before a produce counts as done;
consume takes ``RECEIVE`` at a time with one ack per message. The raw client produces as its
authors recommend for throughput (confirmed at the end, or through a window of confirms);
the adapter's ``send_batch`` confirms each batch before it returns, so it is measured at
each of ``PRODUCE_BATCHES``. The rate reported is the median over rounds. Prints a table and
rewrites the adapters section of BENCHMARKS.md.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from broker_adapters import OutgoingMessage, ack_batch, connect
from tests.bench import native, raw
from tests.support.brokers import Endpoint, broker_of, kafka_config, start_backend
from tests.support.containers import REPO_DIR, Credentials

# The adapter's confirmed batches: 100 is about what order-api's group commit sends under
# load; 1,000 shows what is left once the confirm is paid for fewer times.
PRODUCE_BATCHES = (100, 1000)
RECEIVE = 10
# Messages every Kafka producer sends and has confirmed before its timed run: a first send
# connects, logs in and gets an idempotent producer id (about half a second measured, most of
# a 3,000-message run). The consumers then read the timed messages of a queue holding more.
WARM_UP = 100
RAW = {
    "kafka": raw.KafkaRaw,
    "kafka-share": raw.KafkaShareRaw,
    "rabbitmq": raw.RabbitRaw,
    "redis": raw.RedisRaw,
}
BENCHMARKS = REPO_DIR / "BENCHMARKS.md"
# The data-plane goals the table is read against.
ADAPTER_GOAL = 0.9
NATIVE_GOAL = 0.25


def order_payload() -> bytes:
    """A realistic order: 370 bytes of JSON (the native tools send as many)."""
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
class Samples:
    """Rates (msg/s) by path (native, raw, adapter) and operation (consume, produce, or
    produce-<batch> for the adapter), one per round."""

    rates: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, path: str, operation: str, rate: float) -> None:
        self.rates.setdefault((path, operation), []).append(rate)

    def median(self, path: str, operation: str) -> float | None:
        found = self.rates.get((path, operation))
        return statistics.median(found) if found else None


def timed(action: Callable[[], int]) -> float:
    started = time.perf_counter()
    count = action()
    return count / (time.perf_counter() - started)


def adapter_round(
    backend: str, endpoint: Endpoint, messages: int, payload: bytes, samples: Samples
) -> None:
    """Per batch size: send ``messages`` in confirmed batches of it, then receive them all.
    The consume that follows the first batch size is timed (it includes joining the queue's
    group, as the raw client's and the native tool's do); the later ones only drain."""
    queue = f"bench-adapter-{uuid.uuid4().hex[:8]}"
    with connect(endpoint.url) as broker:
        broker.declare_queue(queue)
        if broker_of(backend) == "kafka":
            partitions = raw.KafkaShareRaw.PARTITIONS if backend == "kafka-share" else 3
            settings = kafka_config(endpoint.port, endpoint.credentials)
            raw.wait_for_leaders(settings, queue, partitions)
            broker.send_batch(queue, [OutgoingMessage(payload)] * WARM_UP)

        def produce(batch: int) -> int:
            for start in range(0, messages, batch):
                count = min(batch, messages - start)
                broker.send_batch(queue, [OutgoingMessage(payload)] * count)
            return messages

        def consume() -> int:
            done = 0
            while done < messages:
                for delivery in broker.receive(queue, RECEIVE, wait=5):
                    delivery.ack()
                    done += 1
            return done

        def drain() -> None:
            done = 0
            while done < messages:
                done += len(ack_batch(broker.receive(queue, RECEIVE, wait=5)))

        for number, batch in enumerate(PRODUCE_BATCHES):
            samples.add("adapter", f"produce-{batch}", timed(lambda b=batch: produce(b)))
            if number == 0:
                samples.add("adapter", "consume", timed(consume))
            else:
                drain()
        broker.delete_queue(queue)


def raw_round(
    backend: str, endpoint: Endpoint, messages: int, payload: bytes, samples: Samples
) -> None:
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    client = RAW[backend](endpoint, queue)
    try:
        client.warm_up(WARM_UP, payload)
        samples.add("raw", "produce", timed(lambda: client.produce(messages, payload)))
        samples.add("raw", "consume", timed(lambda: client.consume(messages, RECEIVE)))
    finally:
        client.close()


def native_round(
    backend: str, endpoint: Endpoint, messages: int, payload: bytes, samples: Samples
) -> None:
    """The broker's own tool: produce ``messages``, then consume them."""
    name = f"bench-native-{uuid.uuid4().hex[:8]}"
    produced: float
    consumed: float
    if backend in ("kafka", "kafka-share"):
        raw_class = RAW[backend]
        assert issubclass(raw_class, raw.KafkaRaw)
        kafka = native.KafkaNative(endpoint, name, raw_class.PARTITIONS, backend == "kafka-share")
        try:
            produced = kafka.produce(messages, len(payload), WARM_UP)
            consumed = kafka.consume(messages)
        finally:
            kafka.close()
    elif backend == "redis":
        redis = native.RedisNative(endpoint, name)
        try:
            produced = redis.produce(messages, payload, raw.PIPELINE)
            consumed = redis.consume(messages, RECEIVE)
        finally:
            redis.close()
    elif backend == "rabbitmq":
        rabbit = native.RabbitNative(endpoint, name)
        produced = rabbit.produce(messages, len(payload), raw.CONFIRM_WINDOW)
        consumed = rabbit.consume(messages, RECEIVE)
    else:
        raise ValueError(f"no native tool for {backend!r}")
    samples.add("native", "produce", produced)
    samples.add("native", "consume", consumed)


def run(backends: list[str], messages: int, rounds: int, with_native: bool) -> dict[str, Samples]:
    payload = order_payload()
    results: dict[str, Samples] = {}
    for backend in backends:
        endpoint = start_backend(backend, Credentials.generate(f"bench-{backend}"))
        try:
            warm = min(messages, 500)
            adapter_round(backend, endpoint, warm, payload, Samples())  # warm up every path
            raw_round(backend, endpoint, warm, payload, Samples())
            samples = Samples()
            for _ in range(rounds):
                # One path after the other in each round, so drift on a shared machine hits
                # them alike.
                if with_native:
                    native_round(backend, endpoint, messages, payload, samples)
                raw_round(backend, endpoint, messages, payload, samples)
                adapter_round(backend, endpoint, messages, payload, samples)
            results[backend] = samples
        finally:
            endpoint.container.stop()
    return results


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _ratio(numerator: float | None, denominator: float | None, goal: float) -> str:
    if numerator is None or denominator is None:
        return "—"
    ratio = numerator / denominator
    return f"{ratio:.2f}" if ratio >= goal else f"**{ratio:.2f}**"


def table(results: dict[str, Samples]) -> list[str]:
    """One row per backend and operation; the adapter's produce once per batch size. A ratio
    below its goal is in bold."""
    lines = [
        "| backend | operation | native tool msg/s | raw client msg/s | adapter msg/s "
        f"| raw ÷ native (goal ≥ {NATIVE_GOAL}) | adapter ÷ raw (goal ≥ {ADAPTER_GOAL}) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, samples in results.items():
        rows = [
            (f"produce, send_batch of {b:,}", "produce", f"produce-{b}") for b in PRODUCE_BATCHES
        ]
        rows.append(("consume, 10 per receive", "consume", "consume"))
        for label, operation, adapter_operation in rows:
            tool = samples.median("native", operation)
            rawest = samples.median("raw", operation)
            adapter = samples.median("adapter", adapter_operation)
            lines.append(
                f"| {backend} | {label} | {_rate(tool)} | {_rate(rawest)} | {_rate(adapter)} "
                f"| {_ratio(rawest, tool, NATIVE_GOAL)} | {_ratio(adapter, rawest, ADAPTER_GOAL)} |"
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


def write_benchmarks(
    lines: list[str], messages: int, rounds: int, load: tuple[float, float]
) -> None:
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after. "
        f"Command: `make bench-adapters` ({messages:,} messages of {len(order_payload())} bytes "
        f"per path and operation, {rounds} rounds, median of the rounds). Native tools: "
        "kafka-producer-perf-test and kafka-(share-)consumer-perf-test from the Kafka image, "
        f"redis-benchmark from the Redis image, RabbitMQ PerfTest {native.PERF_TEST_VERSION}. "
        "A ratio below its goal is in bold."
    )
    replace_section("bench-adapters", [header, "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backends", default="kafka,kafka-share,rabbitmq,redis")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-native", action="store_true", help="skip the brokers' own tools")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    load_before = os.getloadavg()[0]
    lines = table(run(backends, args.messages, args.rounds, not args.no_native))
    print("\n".join(lines))
    if not args.no_write:
        load = (load_before, os.getloadavg()[0])
        write_benchmarks(lines, args.messages, args.rounds, load)
        print(f"\nwrote {BENCHMARKS.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
