"""The CLI against a live API: uvicorn on a free loopback port, in a thread of this process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from orchestrator.api import ApiContext, create_app
from orchestrator.cli import main
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import CREDENTIALS, ENVIRON

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Server:
    url: str
    runtime: FakeRuntime
    store_path: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    runtime = FakeRuntime(start=START)
    store_path = tmp_path / "barista.db"
    app = create_app(ApiContext(store_path=store_path, runtime=runtime, credentials=CREDENTIALS))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield Server(f"http://127.0.0.1:{port}", runtime, store_path)
    instance.should_exit = True
    thread.join(timeout=10)


Barista = Callable[..., Result]


@pytest.fixture
def barista(server: Server, capsys: pytest.CaptureFixture[str], monkeypatch) -> Barista:
    """Run ``barista ARGS…`` against the live server; usage errors' SystemExit becomes a code."""
    monkeypatch.setenv("BARISTA_ENDPOINT_URL", server.url)
    monkeypatch.setenv("COLUMNS", "160")
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> Result:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exit_info:
            code = int(exit_info.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
