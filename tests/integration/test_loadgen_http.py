"""The load generator against a real (tiny, in-process) HTTP server: rate, classes, keep-alive,
and the ``barista serve loadgen`` process with its side door and SIGTERM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.loadgen.patterns import Pattern
from services.loadgen.poster import OrderPoster
from services.loadgen.runner import LoadGenerator
from services.orders import OrderRequest
from tests.support.containers import LOOPBACK, free_loopback_port
from tests.support.processes import serving, stop_gracefully
from tests.support.receiving import wait_for


class CountingApi(ThreadingHTTPServer):
    """Answers POST /orders like the order API: 202, except every 4th order gets a 400."""

    daemon_threads = True

    def __init__(self, idle_timeout: float | None = None) -> None:
        super().__init__((LOOPBACK, 0), OrdersHandler)
        self.idle_timeout = idle_timeout
        self.lock = threading.Lock()
        self.posts = 0
        self.statuses: dict[int, int] = {}
        self.invalid = 0
        self.connections = 0
        self.paths: set[str] = set()
        self.accepted: list[str] = []

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"


class OrdersHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out as two writes
    server: CountingApi

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # closes a keep-alive connection left idle
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            OrderRequest.model_validate_json(body)
            valid = True
        except ValueError:
            valid = False
        with self.server.lock:
            self.server.posts += 1
            self.server.paths.add(self.path)
            self.server.invalid += not valid
            status = 400 if self.server.posts % 4 == 0 or not valid else 202
            self.server.statuses[status] = self.server.statuses.get(status, 0) + 1
            order_id = f"order-{self.server.posts}"
            if status == 202:
                self.server.accepted.append(order_id)
        self.send_response(status)
        self.send_header("Location", f"/orders/{order_id}")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(server: CountingApi) -> Iterator[CountingApi]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def api() -> Iterator[CountingApi]:
    yield from serve(CountingApi())


@pytest.fixture
def impatient_api() -> Iterator[CountingApi]:
    yield from serve(CountingApi(idle_timeout=0.2))


def test_steady_20_per_second_for_2_seconds_posts_about_40_valid_orders(api: CountingApi):
    poster = OrderPoster(api.url, timeout=5)
    generator = LoadGenerator(Pattern(rate=20), poster.post, concurrency=4, seed=1)
    began = time.monotonic()
    tally = generator.run(threading.Event(), duration=2.0)
    poster.close()
    assert time.monotonic() - began < 3
    assert 36 <= api.posts <= 44
    assert api.invalid == 0
    assert api.paths == {"/orders"}
    assert tally.sent == api.posts
    assert tally.accepted == api.statuses.get(202, 0)
    assert tally.rejected == api.statuses.get(400, 0) == api.posts // 4
    assert tally.dropped == tally.error == tally.unavailable == 0
    assert api.connections <= 4  # keep-alive: one connection per sender thread
    # The ids of the accepted orders, from order-api's Location header, and only those.
    assert sorted(poster.accepted_orders()) == sorted(api.accepted)


def test_a_server_that_closes_idle_connections_does_not_cost_orders(impatient_api: CountingApi):
    poster = OrderPoster(impatient_api.url, timeout=5)
    # Half a second of orders, half a second of silence (the server closes the idle
    # keep-alive connection after 0.2 s), then orders again on the same sender thread.
    pause = Pattern(pattern="spike", rate=10, peak_rate=0, spike_at=0.5, spike_duration=0.5)
    tally = LoadGenerator(pause, poster.post, concurrency=1).run(threading.Event(), 1.5)
    poster.close()
    assert tally.error == 0
    assert tally.sent == impatient_api.posts  # every order sent arrived, none twice
    # At most 5 fit before the pause, so orders arrived after it too, on a fresh connection
    # (how many of the second 5 fit in the run depends on this machine's scheduling).
    assert impatient_api.posts > 5
    assert impatient_api.connections >= 2  # the one the server closed, then a fresh one


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_barista_serve_loadgen_changes_pattern_at_runtime_and_exits_on_sigterm(
    api: CountingApi,
):
    port = free_loopback_port()
    env = os.environ | {
        "BARISTA_TARGET_URL": api.url,
        "BARISTA_RATE": "5",
        "BARISTA_PORT": str(port),
        "BARISTA_REPORT_INTERVAL": "0.5",
    }
    with serving("loadgen", env) as process:
        side_door = f"http://{LOOPBACK}:{port}"
        assert wait_for(lambda: _answers(f"{side_door}/healthz"), timeout=20)
        assert get_json(f"{side_door}/pattern")["target_rate"] == 5
        request = urllib.request.Request(
            f"{side_door}/pattern",
            data=json.dumps({"rate": 40}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["target_rate"] == 40
        with api.lock:
            before = api.posts
        time.sleep(1.0)
        with api.lock:
            assert api.posts - before >= 30
        metrics = urllib.request.urlopen(f"{side_door}/metrics", timeout=5).read().decode()
        assert 'barista_loadgen_requests_total{result="accepted"}' in metrics
        listed = get_json(f"{side_door}/accepted")["order_ids"]
        with api.lock:
            accepted = list(api.accepted)
        assert listed
        assert set(listed) <= set(accepted)  # more may have been accepted since
        stopped = stop_gracefully(process, timeout=10)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.seconds < 5
    reports = stopped.messages("load report")
    assert reports
    assert reports[-1]["pattern"] == "steady"
    [final] = stopped.messages("load generator stopped")
    assert final["totals"]["sent"] > 0


def _answers(url: str) -> bool:
    try:
        get_json(url)
    except OSError:
        return False
    return True


def test_barista_serve_loadgen_refuses_a_missing_target():
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "serve", "loadgen"],
        env={k: v for k, v in os.environ.items() if not k.startswith("BARISTA_")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "BARISTA_TARGET_URL: Field required" in result.stderr
