"""Print an API response as the AWS CLI's ``--output`` does: json, table or text.

* ``json``: the exact API response, indented four spaces like the AWS CLI.
* ``table`` (Barista's default): rich tables. A list of flat records (scalars, or structures
  of scalars spread into columns) that fits the screen is one table with a row per record.
  Otherwise each record is a two-column key/value table: nested structures are spelled out as
  dotted keys (``TargetTrackingConfiguration.TargetValue``), small ones inline as ``Key=Value``
  (``LaunchTemplate``, ``Dimensions``), and lists of richer structures (a group's Instances)
  follow as sections of their own. Top-level scalars go in a key/value table titled with the
  action.
* ``text``: the AWS CLI's tab-separated lines: one line per structure, its scalar values in key
  order, prefixed with the member name in capitals; nested lists follow on their own lines.

An empty response (``{}``) prints nothing, as the AWS CLI prints nothing for it.

Other command groups call :func:`render` (or :func:`table`, :func:`text` for a string) with
any JSON-shaped mapping.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table

MAX_COLUMNS = 10  # a list of flat records wider than this prints record by record


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _scalars(value: Any) -> bool:
    return _scalar(value) or (isinstance(value, list) and all(_scalar(v) for v in value))


def _flat(value: Any) -> bool:
    """A structure whose members are scalars or lists of scalars (``LaunchTemplate``)."""
    return isinstance(value, Mapping) and all(_scalars(v) for v in value.values())


def _inline(value: Any) -> bool:
    """Fits one cell: scalars, a flat structure, or a list of flat structures (``Dimensions``)."""
    return (
        _scalars(value)
        or _flat(value)
        or (isinstance(value, list) and all(_flat(v) for v in value))
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if _scalar(value):
        return str(value)
    if isinstance(value, Mapping):
        return "\n".join(f"{k}={_text(v)}" for k, v in value.items())
    if all(_scalar(v) for v in value):
        return ", ".join(str(v) for v in value)
    return "\n".join(", ".join(f"{k}={_text(v)}" for k, v in item.items()) for item in value)


def _rows(
    record: Mapping[str, Any], prefix: str = ""
) -> tuple[list[tuple[str, str]], list[tuple[str, list[Any]]]]:
    """A record as (dotted key, text) rows, nested structures spelled out as ``A.B``; lists of
    richer structures come back separately, to print as their own sections."""
    rows: list[tuple[str, str]] = []
    sections: list[tuple[str, list[Any]]] = []
    for key, value in record.items():
        path = f"{prefix}{key}"
        if value == [] or value is None:
            continue
        if isinstance(value, Mapping) and not _flat(value):
            inner_rows, inner_sections = _rows(value, f"{path}.")
            rows.extend(inner_rows)
            sections.extend(inner_sections)
        elif _inline(value):
            rows.append((path, _text(value)))
        else:
            sections.append((path, value))
    return rows, sections


def _record(record: Mapping[str, Any], width: int, title: str | None = None) -> RenderableType:
    """A two-column key/value table, then a section per list of rich structures (an Auto
    Scaling group's Instances). Empty lists are left out, as the AWS CLI's table does."""
    rows, sections = _rows(record)
    table = Table(
        title=title, show_header=False, box=box.SIMPLE, title_justify="left", padding=(0, 1)
    )
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    nested = [_records(items, width, title=f"  {path}") for path, items in sections]
    return Group(table, *nested) if nested else table


def _columns(item: Mapping[str, Any]) -> dict[str, Any]:
    """A record's cells: a nested flat structure spreads into columns named by its keys."""
    cells: dict[str, Any] = {}
    for key, value in item.items():
        if _flat(value):
            for inner, inner_value in value.items():
                cells[inner if inner not in item else f"{key}.{inner}"] = inner_value
        else:
            cells[key] = value
    return cells


def _fits(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], width: int) -> bool:
    """One row per record only when every cell is flat and the widest cells fit the screen."""
    if len(columns) > MAX_COLUMNS:
        return False
    if not all(_scalars(v) for row in rows for v in row.values()):
        return False
    needed = sum(
        max(len(column), *(len(_text(row.get(column))) for row in rows)) + 3 for column in columns
    )
    return needed <= width


def _records(items: Sequence[Any], width: int, title: str | None = None) -> RenderableType:
    if not all(isinstance(item, Mapping) for item in items):
        return _text(list(items))
    rows = [_columns(item) for item in items]
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    if _fits(rows, columns, width):
        table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_text(row.get(column)) for column in columns))
        return table
    parts: list[RenderableType] = [] if title is None else [f"[bold]{title}[/bold]"]
    parts.extend(_record(item, width) for item in items)
    return Group(*parts)


def table(response: Mapping[str, Any], title: str, width: int = 120) -> RenderableType:
    """The rich renderable for a response: scalars first, then each structure and list."""
    scalars = {k: v for k, v in response.items() if _scalar(v)}
    parts: list[RenderableType] = []
    if scalars:
        parts.append(_record(scalars, width, title=title))
    for key, value in response.items():
        if key in scalars:
            continue
        if isinstance(value, Mapping):
            parts.append(_record(value, width, title=key))
        elif value and all(isinstance(v, Mapping) for v in value):
            parts.append(_records(value, width, title=key))
        elif value:
            parts.append(f"[bold]{key}[/bold]: {_text(value)}")
        else:
            parts.append(f"[bold]{key}[/bold]: (none)")
    return Group(*parts)


def _text_lines(key: str, value: Any, lines: list[str]) -> None:
    if isinstance(value, Mapping):
        scalars = [_plain(v) for k, v in sorted(value.items()) if _scalars(v)]
        if scalars:
            lines.append("\t".join([key.upper(), *scalars]))
        for k, v in sorted(value.items()):
            if not _scalars(v):
                _text_lines(k, v, lines)
    elif isinstance(value, list):
        if all(_scalar(v) for v in value):
            lines.append("\t".join([key.upper(), *map(_plain, value)]))
        else:
            for item in value:
                _text_lines(key, item, lines)
    else:
        lines.append(_plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, list):
        return "\t".join(map(_plain, value))
    return str(value)


def text(response: Mapping[str, Any]) -> str:
    """AWS's text output: greppable, one structure per line."""
    lines: list[str] = []
    for key, value in response.items():
        _text_lines(key, value, lines)
    return "\n".join(lines)


def render(
    response: Mapping[str, Any], output: str, *, title: str = "", stream: TextIO | None = None
) -> None:
    """Print ``response`` to ``stream`` (stdout) in the chosen output format."""
    stream = stream or sys.stdout
    if not response:
        return
    if output == "json":
        print(json.dumps(response, indent=4), file=stream)
    elif output == "text":
        print(text(response), file=stream)
    else:
        width = None if stream.isatty() else int(os.environ.get("COLUMNS", "120"))
        console = Console(file=stream, width=width, soft_wrap=False)
        console.print(table(response, title, console.width))
