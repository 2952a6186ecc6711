"""Every fault scenario on every backend, as a table: ``make faults``.

    python -m tests.faults.report [--no-write] [pytest arguments...]

Runs ``pytest tests/faults -m faults`` (the whole matrix; each test appends its result to a
JSON-lines file), prints the table scenario by backend: (confirmed, brewed, dead-lettered,
lost, duplicates, recovery seconds, ...), and rewrites the faults section of FAULTS.md between
its markers. Exits with pytest's status: a lost order fails the run as it fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.faults.test_faults import RESULTS_ENV
from tests.support.containers import REPO_DIR
from tests.support.faults import (
    API_BROKER_TIMEOUT,
    BARISTA_BROKER_TIMEOUT,
    BARISTAS,
    ORDER_RATE,
    PARTITION_SECONDS,
    FaultResult,
)

FAULTS = REPO_DIR / "FAULTS.md"
SECTION = "faults"


def replace_section(path: Path, name: str, lines: list[str]) -> None:
    """Rewrite the ``name`` section of ``path`` (between its markers), or append it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = "\n".join([start, *lines, end])
    text = path.read_text() if path.exists() else "# Faults\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def table(results: list[FaultResult]) -> list[str]:
    order = {"kafka": 0, "rabbitmq": 1, "redis": 2}
    ordered = sorted(results, key=lambda r: (r.scenario, order.get(r.backend, 9)))
    return [FaultResult.ROW_HEADER, FaultResult.ROW_RULE, *(r.row() for r in ordered)]


def main(argv: list[str]) -> int:
    write = "--no-write" not in argv
    pytest_args = [arg for arg in argv if arg != "--no-write"]
    with tempfile.TemporaryDirectory() as folder:
        results_file = Path(folder) / "results.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results_file)}
        env.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
        command = [sys.executable, "-m", "pytest", "tests/faults", "-m", "faults", *pytest_args]
        status = subprocess.run(command, env=env, cwd=REPO_DIR, check=False).returncode
        rows = results_file.read_text().splitlines() if results_file.exists() else []
    results = [FaultResult(**json.loads(row)) for row in rows]
    lines = table(results)
    print("\n".join(lines))
    if write and results:
        header = (
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores. Command: "
            f"`make faults`: order-api and {BARISTAS} baristas (service image) per backend, "
            f"customers posting {ORDER_RATE:g} orders/s over HTTP; partitions last "
            f"{PARTITION_SECONDS:g} s, past the reconnect budgets (order-api "
            f"{API_BROKER_TIMEOUT:g} s, baristas {BARISTA_BROKER_TIMEOUT:g} s). pytest exit "
            f"status {status}."
        )
        replace_section(FAULTS, SECTION, [header, "", *lines])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
