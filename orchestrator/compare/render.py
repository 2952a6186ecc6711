"""The comparison for people (a rich table) and for scripts (JSON), from the same rows."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.compare import aws, consumers, crash, duplicates
from orchestrator.compare.observations import BackendReport, Failed, Unsupported
from orchestrator.compare.rows import Cell, Row, build_rows
from orchestrator.compare.urls import title as column_title

REFERENCE_COLUMNS = {"aws-sns": "AWS SNS", "aws-sqs": "AWS SQS"}
# How the experiments reached each broker (``barista compare --through``).
THROUGH = {
    "adapters": "through broker_adapters",
    "aws-api": "through Barista's SQS and SNS APIs, with boto3",
}
STYLES = {"unsupported": "yellow", "error": "red", "not-run": "dim", "reference": "cyan"}


def _cell_markup(cell: Cell) -> str:
    text = escape(cell.text)
    style = STYLES.get(cell.status)
    if style:
        text = f"[{style}]{text}[/{style}]"
    if cell.like:
        text += f"\n[dim]{escape(cell.like)}[/dim]"
    return text


def table(reports: Sequence[BackendReport], through: str = "adapters") -> Table:
    """Rows = measures grouped by experiment; columns = backends, then AWS SNS and SQS."""
    rows = build_rows(reports)
    result = Table(
        title=f"SNS vs SQS, observed on each broker ({THROUGH[through]})",
        show_lines=True,
        expand=False,
    )
    result.add_column("experiment / measure", ratio=3, overflow="fold")
    for report in reports:
        result.add_column(column_title(report.backend), ratio=2, overflow="fold")
    for title in REFERENCE_COLUMNS.values():
        result.add_column(title, ratio=2, overflow="fold", style="cyan")
    experiment = None
    for row in rows:
        label = escape(row.measure)
        if row.experiment != experiment:
            experiment = row.experiment
            label = f"[bold]{escape(row.experiment)}[/bold]\n{label}"
        result.add_row(label, *(_cell_markup(row.cells[name]) for name in _columns(reports)))
    return result


def _columns(reports: Sequence[BackendReport]) -> list[str]:
    return [report.backend for report in reports] + list(REFERENCE_COLUMNS)


def notes(reports: Sequence[BackendReport]) -> list[str]:
    """What the table cannot say in a cell: windows, timings, unreachable backends, sources."""
    lines = [
        f"Windows: extra copies are counted for {consumers.QUIET_WINDOW:g} s after the expected "
        f"messages arrived; the slow consumer is watched for {duplicates.WINDOW:g} s; a crashed "
        f"consumer's messages are awaited for up to {crash.REDELIVERY_TIMEOUT:g} s.",
    ]
    for report in reports:
        if report.error is not None:
            lines.append(f"{report.backend}: {report.error}")
            continue
        spent = ", ".join(f"{name} {seconds:g} s" for name, seconds in report.seconds.items())
        lines.append(f"{report.backend} ({report.url}): {spent}")
        declared = report.features.get("redelivery_after_crash")
        if declared:
            lines.append(f"  {report.backend} declares crash redelivery {declared}")
    lines.append("AWS sources:")
    lines.extend(f"  - {source}" for source in aws.sources())
    return lines


def print_table(
    reports: Sequence[BackendReport], console: Console, through: str = "adapters"
) -> None:
    """The table and its notes, as ``barista compare`` prints them."""
    console.print(table(reports, through))
    for line in notes(reports):
        console.print(escape(line), style="dim", highlight=False)


def _markdown_cell(cell: Cell) -> str:
    text = cell.text if cell.status != "unsupported" else f"*{cell.text}*"
    if cell.like:
        text += f" ({cell.like})"
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(reports: Sequence[BackendReport], through: str = "adapters") -> list[str]:
    """The table as Markdown (for docs/compare.md), then its notes as a list."""
    columns = _columns(reports)
    titles = [column_title(report.backend) for report in reports] + list(REFERENCE_COLUMNS.values())
    lines = [
        f"SNS vs SQS, observed on each broker ({THROUGH[through]}).",
        "",
        "| experiment | measure | " + " | ".join(titles) + " |",
        "| --- | --- | " + " | ".join("---" for _ in titles) + " |",
    ]
    experiment = None
    for row in build_rows(reports):
        shown = row.experiment if row.experiment != experiment else ""
        experiment = row.experiment
        cells = " | ".join(_markdown_cell(row.cells[name]) for name in columns)
        lines.append(f"| {shown} | {row.measure} | {cells} |")
    lines.append("")
    for line in notes(reports):
        # The sources are a list of their own under "AWS sources:".
        lines.append(f"  {line.strip()}" if line.startswith("  - ") else f"- {line.strip()}")
    return lines


def replace_section(path: Path, name: str, lines: Sequence[str]) -> None:
    """Rewrite the ``name`` section of ``path`` (between its markers), or append it, as the
    benchmarks rewrite BENCHMARKS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = "\n".join([start, *lines, end])
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def _result_json(result: object) -> dict[str, Any]:
    if isinstance(result, Unsupported):
        return {"status": "unsupported", "reason": result.reason}
    if isinstance(result, Failed):
        return {"status": "error", "error": result.error}
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        raise TypeError(f"not an observation: {result!r}")
    fields = {
        key: ({"unsupported": value["reason"]} if _is_unsupported_dict(value) else value)
        for key, value in dataclasses.asdict(result).items()
    }
    return {"status": "observed", **fields}


def _is_unsupported_dict(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"reason"}


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "experiment": row.experiment,
        "key": row.key,
        "measure": row.measure,
        "cells": {name: dataclasses.asdict(cell) for name, cell in row.cells.items()},
    }


def to_json(reports: Sequence[BackendReport], through: str = "adapters") -> dict[str, Any]:
    """Everything the table shows, plus each backend's raw observations and features."""
    return {
        "through": through,
        "backends": [
            {
                "backend": report.backend,
                "url": report.url,
                "ok": report.ok,
                "error": report.error,
                "features": report.features,
                "seconds": report.seconds,
                "results": {name: _result_json(result) for name, result in report.results.items()},
            }
            for report in reports
        ],
        "rows": [_row_json(row) for row in build_rows(reports)],
        "aws_sources": aws.sources(),
        "windows": {
            "quiet_seconds": consumers.QUIET_WINDOW,
            "slow_consumer_seconds": duplicates.WINDOW,
            "crash_redelivery_timeout_seconds": crash.REDELIVERY_TIMEOUT,
        },
    }


def dumps(reports: Sequence[BackendReport], through: str = "adapters") -> str:
    """``to_json`` as indented text."""
    return json.dumps(to_json(reports, through), indent=2)
