"""Each broker's own load tool, run in the adapter benchmark beside the raw client and the adapter.

A native tool shows what the broker does for a client that costs next to nothing, so
``raw ÷ native`` says what the Python client library costs and ``adapter ÷ raw`` what the
adapter adds on top. Each tool is set up to do the work the raw client does (the same number
of 370-byte messages, every one confirmed, one ack per message consumed) where it can; the
differences are stated on each class and in BENCHMARKS.md's notes.

- Kafka: kafka-producer-perf-test, kafka-consumer-perf-test and kafka-share-consumer-perf-test
  (``org.apache.kafka.tools`` in the kafka-tools jar) from the project's Kafka image, in a
  container sharing the bench broker's network namespace, so it reaches the broker at the
  same 127.0.0.1 address the host's clients use.
- Redis: redis-benchmark from the project's Redis image, the same way.
- RabbitMQ: PerfTest (``com.rabbitmq:perf-test``) on the host's Java. No Debian package and no
  image of the project carries it, so the bench fetches it and its runtime dependencies from
  Maven Central with Maven (as images/build.py fetches Apache Kafka) into
  ``.cache/bench/perf-test``, once per version.

The parsers read the tools' own summary lines; the rates are the tools' own (measured from
their first send, so a JVM's start-up is not in them).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import docker
from confluent_kafka.admin import AdminClient, NewTopic

from tests.bench import raw
from tests.support.brokers import Endpoint, kafka_config, redis_client
from tests.support.containers import (
    LOOPBACK,
    REPO_DIR,
    SESSION_ID,
    SESSION_LABEL,
    Credentials,
    stable_image,
)

PERF_TEST_POM = Path(__file__).with_name("perf-test.pom.xml")
PERF_TEST_VERSION = "2.22.1"
CACHE_DIR = REPO_DIR / ".cache" / "bench"
TOOL_TIMEOUT = 300
KAFKA_TOOLS = "org.apache.kafka.tools"
# The Kafka image's JVM for a tool: its libs, a small heap (the broker runs beside it).
KAFKA_JAVA = ["java", "-Xms128m", "-Xmx512m", "-cp", "/opt/kafka/libs/*"]
# The Lua a redis-benchmark run repeats for the consume side: what the raw client does per
# receive (XREADGROUP COUNT n, then XACK and XDEL per entry), in one round trip.
REDIS_CONSUME_SCRIPT = (
    "local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], "
    "'STREAMS', KEYS[1], '>') "
    "if not read then return 0 end "
    "for _, entry in ipairs(read[1][2]) do "
    "redis.call('XACK', KEYS[1], ARGV[1], entry[1]) redis.call('XDEL', KEYS[1], entry[1]) "
    "end "
    "return #read[1][2]"
)


class ToolOutputError(RuntimeError):
    """A tool's output lacked the summary the bench reads its rate from."""


# Parsing the tools' summaries


def producer_performance_rate(output: str) -> float:
    """records/s from kafka-producer-perf-test's summary: the steady-state line when it ran
    with ``--warmup-records`` (``N steady state records sent, R records/sec``), else the
    last total line (``N records sent, R records/sec (…)``, printed once every record was
    acked and the producer closed)."""
    steady = re.findall(r"^\d+ steady state records sent, ([\d.]+) records/sec", output, re.M)
    rates = steady or re.findall(r"^\d+ records sent, ([\d.]+) records/sec", output, re.M)
    if not rates:
        raise ToolOutputError(f"kafka-producer-perf-test printed no summary:\n{output[-2000:]}")
    return float(rates[-1])


def consumer_performance_rate(output: str, expected: int) -> float:
    """Messages/s (``nMsg.sec``: joining the group included, as in the raw client's time) from
    kafka-consumer-perf-test's or kafka-share-consumer-perf-test's CSV summary; raises when it
    consumed fewer than ``expected`` messages."""
    lines = [line for line in output.splitlines() if line.count(",") >= 5]
    header_at = next((i for i, line in enumerate(lines) if "nMsg.sec" in line), None)
    if header_at is None or header_at + 1 >= len(lines):
        raise ToolOutputError(f"no consumer-perf-test summary:\n{output[-2000:]}")
    header = [name.strip() for name in next(csv.reader([lines[header_at]]))]
    values = [value.strip() for value in next(csv.reader([lines[header_at + 1]]))]
    row = dict(zip(header, values, strict=False))
    consumed = int(float(row["data.consumed.in.nMsg"]))
    if consumed < expected:
        raise ToolOutputError(f"consumer-perf-test consumed {consumed} of {expected} messages")
    return float(row["nMsg.sec"])


def redis_benchmark_rate(output: str) -> float:
    """Requests/s from ``redis-benchmark --csv``: the ``rps`` field, seventh from the end of
    the result line (the first, the test's title, is the command as typed, quotes unescaped,
    so the line is not always valid CSV)."""
    results = re.findall(r'","([\d.]+)"(?:,"[\d.]+"){6}\s*$', output, re.MULTILINE)
    if not results:
        raise ToolOutputError(f"redis-benchmark printed no CSV result:\n{output[-2000:]}")
    return float(results[-1])


def perf_test_rate(output: str, direction: str) -> float:
    """msg/s from PerfTest's closing summary, ``direction`` being ``sending`` or ``receiving``
    (``id: …, sending rate avg: 18456 msg/s``)."""
    rates = re.findall(rf"{direction} rate avg: ([\d.]+) msg/s", output)
    if not rates:
        raise ToolOutputError(f"PerfTest printed no {direction} rate:\n{output[-2000:]}")
    return float(rates[-1])


# Running the tools


def run_in_image(
    key: str, command: Sequence[str], endpoint: Endpoint, environment: dict[str, str]
) -> str:
    """Run ``command`` in a container of the project's ``key`` image that shares the bench
    broker's network namespace (it reaches the broker on 127.0.0.1 as the host's clients do);
    return its output, or raise with it when the command failed."""
    client = docker.from_env()
    broker_id = endpoint.container.get_wrapped_container().id
    container = client.containers.run(
        stable_image(key),
        list(command),
        entrypoint=[],
        environment=environment,
        network_mode=f"container:{broker_id}",
        labels={SESSION_LABEL: SESSION_ID, "barista.test-image": f"{key}-bench-tool"},
        detach=True,
    )
    try:
        status = container.wait(timeout=TOOL_TIMEOUT)
        output: str = container.logs(stdout=True, stderr=True).decode(errors="replace")
    finally:
        container.remove(force=True)
    if status.get("StatusCode") != 0:
        raise RuntimeError(f"{command[0]} in {key} exited {status}:\n{output[-3000:]}")
    return output


def kafka_client_properties(credentials: Credentials) -> str:
    """The tools' client config: the bench broker's SASL/PLAIN listener."""
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{credentials.user}" password="{credentials.password}";'
    )
    return "\n".join(
        ["security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN", f"sasl.jaas.config={jaas}"]
    )


class KafkaNative:
    """kafka-producer-perf-test with the raw client's producer settings (idempotent, acks=all,
    linger 5 ms; the Java client's other defaults, 16 KB batches); then the consumer-group
    (or share-group) perf test reading the same records. The tools' records carry no headers
    and no key (the raw client's have a 32-byte key and two headers)."""

    def __init__(self, endpoint: Endpoint, topic: str, partitions: int, share: bool) -> None:
        self.endpoint = endpoint
        self.topic = topic
        self.share = share
        self.settings = kafka_config(endpoint.port, endpoint.credentials)
        admin = AdminClient(self.settings)
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[
            topic
        ].result()
        raw.wait_for_leaders(self.settings, topic, partitions)

    def _tool(self, tool: str, arguments: Sequence[str]) -> str:
        # The config goes through the environment: the password never appears in a command.
        script = 'printf "%s\\n" "$BENCH_KAFKA_CONFIG" > /tmp/bench.properties && exec "$@"'
        command = ["sh", "-c", script, "tool", *KAFKA_JAVA, f"{KAFKA_TOOLS}.{tool}", *arguments]
        environment = {"BENCH_KAFKA_CONFIG": kafka_client_properties(self.endpoint.credentials)}
        return run_in_image("kafka", command, self.endpoint, environment)

    def produce(self, messages: int, size: int, warm_up: int) -> float:
        """``warm_up`` records first, outside the steady-state rate (as the raw client's)."""
        output = self._tool(
            "ProducerPerformance",
            [
                "--bootstrap-server", f"{LOOPBACK}:{self.endpoint.port}",
                "--topic", self.topic, "--num-records", str(messages + warm_up),
                "--warmup-records", str(warm_up),
                "--record-size", str(size), "--throughput", "-1",
                "--command-config", "/tmp/bench.properties",
                "--command-property", "acks=all", "enable.idempotence=true", "linger.ms=5",
            ],
        )  # fmt: skip
        return producer_performance_rate(output)

    def consume(self, messages: int) -> float:
        group = f"native-{self.topic}"
        tool = "ConsumerPerformance"
        if self.share:
            tool = "ShareConsumerPerformance"
            raw.start_share_group_at_earliest(self.settings, group)
        output = self._tool(
            tool,
            [
                "--bootstrap-server", f"{LOOPBACK}:{self.endpoint.port}",
                "--topic", self.topic, "--group", group, "--num-records", str(messages),
                "--command-config", "/tmp/bench.properties", "--timeout", "60000",
            ],
        )  # fmt: skip
        return consumer_performance_rate(output, messages)

    def close(self) -> None:
        AdminClient(self.settings).delete_topics([self.topic])


class RedisNative:
    """redis-benchmark over one connection (``-c 1``), as the raw client: XADD of the payload
    and the two header fields in pipelines of ``pipeline`` commands; then the consume script
    (REDIS_CONSUME_SCRIPT, a receive of ``per_receive`` entries and their acks in one round
    trip, where the raw client makes one round trip per receive and one per ack). Both runs
    are checked against the stream afterwards: every entry added, every entry consumed."""

    def __init__(self, endpoint: Endpoint, queue: str) -> None:
        self.endpoint = endpoint
        self.stream = f"native:{queue}"
        self.client = redis_client(endpoint.port, endpoint.credentials)
        self.client.xgroup_create(self.stream, "workers", id="0", mkstream=True)

    def _benchmark(self, requests: int, pipeline: int, command: Sequence[str]) -> float:
        credentials = self.endpoint.credentials
        script = 'exec redis-benchmark --user "$BENCH_USER" -a "$BENCH_PASSWORD" "$@"'
        arguments = ["-h", LOOPBACK, "-p", "6379", "-c", "1", "-n", str(requests)]
        arguments += ["-P", str(pipeline), "--csv"]
        output = run_in_image(
            "redis",
            ["sh", "-c", script, "tool", *arguments, *command],
            self.endpoint,
            {"BENCH_USER": credentials.user, "BENCH_PASSWORD": credentials.password},
        )
        return redis_benchmark_rate(output)

    def produce(self, messages: int, payload: bytes, pipeline: int) -> float:
        fields = ["body", payload.decode(), "barista-id", "0" * 32, "barista-timestamp", "0" * 17]
        rate = self._benchmark(messages, pipeline, ["XADD", self.stream, "*", *fields])
        added = int(self.client.xlen(self.stream))
        if added != messages:
            raise RuntimeError(f"redis-benchmark added {added} entries, not {messages}")
        return rate

    def consume(self, messages: int, per_receive: int) -> float:
        if messages % per_receive:
            raise ValueError("the consume script reads per_receive entries per call")
        command = ["EVAL", REDIS_CONSUME_SCRIPT, "1", self.stream, "workers", "native"]
        calls = self._benchmark(messages // per_receive, 1, [*command, str(per_receive)])
        left = int(self.client.xlen(self.stream))
        if left:
            raise RuntimeError(f"redis-benchmark's consume left {left} entries in the stream")
        return calls * per_receive

    def close(self) -> None:
        self.client.delete(self.stream)
        self.client.close()


def perf_test_classpath(version: str = PERF_TEST_VERSION) -> str:
    """PerfTest and its runtime dependencies, fetched once per version into CACHE_DIR."""
    libs = CACHE_DIR / f"perf-test-{version}"
    marker = libs / ".complete"
    if not marker.is_file():
        if shutil.which("mvn") is None:
            raise RuntimeError("Maven (mvn) is needed to fetch RabbitMQ PerfTest")
        shutil.rmtree(libs, ignore_errors=True)
        subprocess.run(
            [
                "mvn", "-q", "-B", "-f", str(PERF_TEST_POM), "dependency:copy-dependencies",
                "-DincludeScope=runtime", f"-Dperf-test.version={version}",
                f"-DoutputDirectory={libs}",
            ],
            check=True,
        )  # fmt: skip
        marker.write_text(version)
    return f"{libs}/*"


class RabbitNative:
    """PerfTest with the raw client's settings: one producer, persistent messages of the
    payload's size to a quorum queue, a window of ``confirm_window`` unconfirmed publishes;
    then one consumer with a prefetch of ``per_receive`` acking every message on its own.
    PerfTest's messages carry a timestamp and a sequence number in the body, not headers."""

    def __init__(self, endpoint: Endpoint, queue: str) -> None:
        self.endpoint = endpoint
        self.queue = queue
        self.classpath = perf_test_classpath()

    def _perf_test(self, arguments: Sequence[str]) -> str:
        credentials = self.endpoint.credentials
        uri = f"amqp://{credentials.user}:{credentials.password}@{LOOPBACK}:{self.endpoint.port}"
        # The URI (with its password) goes through PerfTest's URI variable, not the command.
        done = subprocess.run(
            [
                "java", "-Xmx512m", "-cp", self.classpath, "com.rabbitmq.perf.PerfTest",
                "--queue", self.queue, "--quorum-queue", "--auto-delete", "false",
                "--flag", "persistent", "--interval", "1", *arguments,
            ],
            env={**os.environ, "URI": uri},
            capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False,
        )  # fmt: skip
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError(f"PerfTest exited {done.returncode}:\n{output[-3000:]}")
        return output

    def produce(self, messages: int, size: int, confirm_window: int) -> float:
        output = self._perf_test(
            ["--producers", "1", "--consumers", "0", "--pmessages", str(messages),
             "--size", str(size), "--confirm", str(confirm_window)]
        )  # fmt: skip
        return perf_test_rate(output, "sending")

    def consume(self, messages: int, per_receive: int) -> float:
        output = self._perf_test(
            ["--producers", "0", "--consumers", "1", "--cmessages", str(messages),
             "--qos", str(per_receive), "--predeclared"]
        )  # fmt: skip
        return perf_test_rate(output, "receiving")

    def close(self) -> None:
        pass
