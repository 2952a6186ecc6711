"""``barista serve NAME`` as a test's subprocess: started, and stopped the way Docker and ECS
stop it (SIGTERM), with what it logged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def service_environment(**settings: str) -> dict[str, str]:
    """This process's environment without its ``BARISTA_*`` variables, plus ``settings`` as
    ``BARISTA_<NAME>``: what a test's ``barista serve`` gets, and nothing a developer exported."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BARISTA_")}
    return inherited | {f"BARISTA_{name.upper()}": value for name, value in settings.items()}


@contextmanager
def serving(service: str, environment: Mapping[str, str]) -> Iterator[subprocess.Popen[str]]:
    """The service running; killed on the way out if the test did not stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "serve", service],
        env=dict(environment),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@dataclass(frozen=True)
class Stopped:
    returncode: int
    seconds: float  # from SIGTERM to exit
    stderr: str
    lines: list[dict[str, Any]]  # its JSON log lines

    def messages(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("message") == message]


def stop_gracefully(process: subprocess.Popen[str], timeout: float) -> Stopped:
    """SIGTERM, then wait up to ``timeout`` for the exit (``TimeoutExpired`` if it hangs)."""
    process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    out, err = process.communicate(timeout=timeout)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return Stopped(process.returncode, time.monotonic() - began, err, lines)
