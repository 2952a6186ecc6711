"""Command-line tools the interop tests drive (Debian packages kcat, redis-tools, amqp-tools)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.engine import in_ci


def require_tool(name: str) -> str:
    """The tool's path; fails under CI=true (ensure-engine.sh installs them), skips elsewhere."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed (Debian: images/ensure-engine.sh installs it as root)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def run_tool(args: list[str], stdin: str | None = None, timeout: float = 60) -> str:
    """Run a tool to completion and return its standard output; a failure shows its stderr."""
    result = subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args[0]} exited {result.returncode}: {result.stderr}"
    return result.stdout
