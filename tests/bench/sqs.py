"""SQS through boto3: Barista on each broker vs moto's in-memory server, side by side in one run.

    python -m tests.bench.sqs [--backends kafka,rabbitmq,redis] [--messages N] [--depths 10,300]
                              [--rounds R]

Per backend it starts the broker (the project's image, as the tests do) and two servers, each
its own process on 127.0.0.1: Barista's API (``create_app`` under uvicorn, as ``barista serve
orchestrator`` serves it, over that broker, with a fake compute runtime) and ``moto_server``
(moto from PyPI, every queue in memory). The client is the same boto3 code for both, one
request at a time; each round it sends N messages with SendMessageBatch (10 per call) and one
in five more with SendMessage, and drains them (ReceiveMessage, MaxNumberOfMessages=10,
WaitTimeSeconds=1; DeleteMessageBatch per page), checking every message came back once. It
sends and drains DEPTH batched messages at a time, once per depth in ``--depths``: moto keeps a
queue as a Python list that every send and receive scans, so its rates fall as the queue
grows, and a shallow queue is moto at its best. A phase's msg/s is its messages over the
seconds spent in its calls; the two servers alternate round by round, after one warm-up round
each, and the table shows the median round and the ratio Barista ÷ moto. Barista answers a
send only once the broker has confirmed it (the adapters' ``send_batch``), and a delete only
once the broker has acked it.

Prints a table and rewrites the bench-sqs section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import boto3
from botocore.config import Config

from tests.bench.adapters import order_payload, replace_section
from tests.support.aws_auth import KEY_ID, SECRET
from tests.support.brokers import STARTERS
from tests.support.containers import LOOPBACK, Credentials

REGION = "us-east-1"
BATCH = 10
PHASES = ("SendMessageBatch", "SendMessage", "ReceiveMessage", "DeleteMessageBatch")
# Goals from the issue: Barista ÷ moto per backend, for every phase.
GOALS = {"redis": 1.0, "kafka": 0.5, "rabbitmq": 0.5}
SERVERS = ("barista", "moto")
# One SendMessage for every SINGLES messages sent by SendMessageBatch.
SINGLES = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


@contextmanager
def running(command: list[str], url: str, probe_path: str, name: str) -> Iterator[str]:
    """``command`` as a subprocess until the block ends (SIGTERM, then kill); yields ``url``
    once ``url + probe_path`` answers."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not _answers(url + probe_path):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-4000:]
                    raise RuntimeError(f"{name} did not start:\n{output}")
                time.sleep(0.1)
            yield url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def barista_server(broker_url: str, store: Path) -> Any:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "tests.bench.sqs",
        "serve-barista",
        "--broker-url",
        broker_url,
        "--store",
        str(store),
        "--port",
        str(port),
    ]
    return running(command, f"http://{LOOPBACK}:{port}", "/healthz", "Barista's API")


def moto_server() -> Any:
    port = _free_port()
    command = [str(Path(sys.executable).with_name("moto_server")), "-H", LOOPBACK, "-p", str(port)]
    return running(command, f"http://{LOOPBACK}:{port}", "/moto-api/", "moto_server")


def serve_barista(broker_url: str, store: Path, port: int) -> None:
    """The orchestrator's app over ``broker_url`` with a fake runtime (SQS needs no Docker),
    served as ``barista serve orchestrator`` serves it; the bench runs this in a subprocess."""
    import uvicorn  # noqa: PLC0415 - only the server process needs it

    from orchestrator.api import ApiContext, create_app  # noqa: PLC0415
    from orchestrator.api import sqs as sqs_api  # noqa: PLC0415
    from orchestrator.runtime.fake import FakeRuntime  # noqa: PLC0415
    from tests.support.aws_auth import CREDENTIALS  # noqa: PLC0415

    context = ApiContext(store, FakeRuntime(), {"BARISTA_BROKER_URL": broker_url}, CREDENTIALS)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context),
            host=LOOPBACK,
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    try:
        server.run()
    finally:
        sqs_api.shutdown()


def client(url: str) -> Any:
    """The same boto3 client for either server; no retries, so a refusal shows."""
    return boto3.client(
        "sqs",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )


@dataclass
class Round:
    """Seconds spent in each phase's calls, and the messages each phase moved."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    messages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    empty_receives: int = 0

    def timed(self, phase: str, call: Callable[..., Any], **params: Any) -> Any:
        """``call(**params)``'s answer, its seconds added to ``phase``."""
        started = time.perf_counter()
        answer = call(**params)
        self.seconds[phase] += time.perf_counter() - started
        return answer

    def rates(self) -> dict[str, float]:
        return {phase: self.messages[phase] / self.seconds[phase] for phase in PHASES}


def send_and_drain(sqs: Any, url: str, batched: int, singles: int, body: str, into: Round) -> None:
    """Send ``batched`` messages 10 per SendMessageBatch and ``singles`` by SendMessage, then
    receive and delete them all; fails if any message is lost, duplicated or refused."""
    sent: set[str] = set()
    for start in range(0, batched, BATCH):
        entries = [{"Id": str(i), "MessageBody": body} for i in range(min(BATCH, batched - start))]
        answer = into.timed(
            "SendMessageBatch", sqs.send_message_batch, QueueUrl=url, Entries=entries
        )
        if answer.get("Failed"):
            raise RuntimeError(f"SendMessageBatch refused entries: {answer['Failed']}")
        into.messages["SendMessageBatch"] += len(answer["Successful"])
        sent.update(entry["MessageId"] for entry in answer["Successful"])
    for _ in range(singles):
        answer = into.timed("SendMessage", sqs.send_message, QueueUrl=url, MessageBody=body)
        into.messages["SendMessage"] += 1
        sent.add(answer["MessageId"])
    received: set[str] = set()
    deadline = time.monotonic() + 120
    while len(received) < len(sent):
        if time.monotonic() > deadline:
            raise RuntimeError(f"received {len(received)} of {len(sent)} messages")
        got = into.timed(
            "ReceiveMessage",
            sqs.receive_message,
            QueueUrl=url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        into.messages["ReceiveMessage"] += len(got)
        if not got:
            into.empty_receives += 1
            continue
        for message in got:
            if message["MessageId"] in received or message["MessageId"] not in sent:
                raise RuntimeError(f"unexpected or repeated message {message['MessageId']}")
            if message["Body"] != body:
                raise RuntimeError("a message came back with another body")
            received.add(message["MessageId"])
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        answer = into.timed(
            "DeleteMessageBatch", sqs.delete_message_batch, QueueUrl=url, Entries=entries
        )
        if answer.get("Failed"):
            raise RuntimeError(f"DeleteMessageBatch refused entries: {answer['Failed']}")
        into.messages["DeleteMessageBatch"] += len(answer["Successful"])


def sqs_round(sqs: Any, url: str, messages: int, depth: int, body: str) -> Round:
    """``messages`` sent by SendMessageBatch (and one in ``SINGLES`` more by SendMessage) and
    drained again, ``depth`` batched messages at a time: the queue never holds more than
    ``depth`` plus its singles."""
    measured = Round()
    for start in range(0, messages, depth):
        batched = min(depth, messages - start)
        send_and_drain(sqs, url, batched, max(1, batched // SINGLES), body, measured)
    return measured


@dataclass
class Result:
    rounds: dict[tuple[int, str], list[Round]]

    def median(self, depth: int, server: str, phase: str) -> float:
        return statistics.median(r.rates()[phase] for r in self.rounds[depth, server])

    def empty_receives(self, server: str) -> int:
        return sum(
            r.empty_receives
            for (_, s), rounds in self.rounds.items()
            if s == server
            for r in rounds
        )


def run(backends: list[str], messages: int, depths: list[int], rounds: int) -> dict[str, Result]:
    body = order_payload().decode()
    results: dict[str, Result] = {}
    for backend in backends:
        endpoint = STARTERS[backend](Credentials.generate(f"bench-{backend}"))
        try:
            with (
                tempfile.TemporaryDirectory() as scratch,
                barista_server(endpoint.url, Path(scratch) / "barista.db") as barista_url,
                moto_server() as moto_url,
            ):
                targets = {}
                for server, url in (("barista", barista_url), ("moto", moto_url)):
                    sqs = client(url)
                    name = f"bench-sqs-{backend}-{uuid.uuid4().hex[:8]}"
                    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
                    # Warm-up: connections, consumer groups, the servers' first-call costs.
                    sqs_round(sqs, queue, 100, BATCH, body)
                    targets[server] = (sqs, queue)
                result = Result({(d, s): [] for d in depths for s in SERVERS})
                for _ in range(rounds):
                    for depth in depths:
                        # Alternate the servers so drift on a shared machine hits both alike.
                        for server in SERVERS:
                            sqs, queue = targets[server]
                            measured = sqs_round(sqs, queue, messages, depth, body)
                            result.rounds[depth, server].append(measured)
                for sqs, queue in targets.values():
                    sqs.delete_queue(QueueUrl=queue)
                results[backend] = result
        finally:
            endpoint.container.stop()
    return results


def table(results: dict[str, Result], depths: list[int]) -> list[str]:
    lines = [
        "| backend | queue depth | phase | Barista msg/s | moto msg/s | Barista ÷ moto | goal |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for backend, result in results.items():
        goal = GOALS.get(backend, 1.0)
        for depth in depths:
            for phase in PHASES:
                barista = result.median(depth, "barista", phase)
                moto = result.median(depth, "moto", phase)
                ratio = barista / moto
                verdict = "met" if ratio >= goal else "not met"
                lines.append(
                    f"| {backend} | ≤ {depth + max(1, depth // SINGLES)} | {phase} | "
                    f"{barista:,.0f} | {moto:,.0f} | {ratio:.2f} | ≥ {goal:g} ({verdict}) |"
                )
    lines += [
        "",
        "Empty receives (a 1 s long poll that found nothing; its time counts in ReceiveMessage): "
        + "; ".join(
            f"{backend} Barista {result.empty_receives('barista')}, "
            f"moto {result.empty_receives('moto')}"
            for backend, result in results.items()
        )
        + ".",
    ]
    return lines


def write_benchmarks(lines: list[str], messages: int, depths: list[int], rounds: int) -> None:
    load = os.getloadavg()[0]
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores (shared "
        f"with other Docker work; load average {load:.1f}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}. Command: `make bench-sqs` "
        f"(per round {messages} messages by SendMessageBatch and one in {SINGLES} more by "
        "SendMessage, sent and drained (ReceiveMessage 10 at a time, DeleteMessageBatch) "
        f"{' and '.join(str(d) for d in depths)} batched messages at a time; {rounds} rounds "
        "per server and depth after a warm-up, median round; one boto3 client, one request "
        "at a time)."
    )
    replace_section("bench-sqs", [header, "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve-barista", help="(internal) the API the bench measures")
    serve.add_argument("--broker-url", required=True)
    serve.add_argument("--store", type=Path, required=True)
    serve.add_argument("--port", type=int, required=True)
    parser.add_argument("--backends", default="kafka,rabbitmq,redis")
    parser.add_argument("--messages", type=int, default=600, help="batched messages per round")
    parser.add_argument(
        "--depths", default="10,300", help="batched messages sent before each drain"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    if args.command == "serve-barista":
        serve_barista(args.broker_url, args.store, args.port)
        return
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    depths = [int(depth) for depth in args.depths.split(",")]
    lines = table(run(backends, args.messages, depths, args.rounds), depths)
    print("\n".join(lines))
    if not args.no_write:
        write_benchmarks(lines, args.messages, depths, args.rounds)
        print("\nwrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
