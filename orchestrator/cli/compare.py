"""``barista compare``: run the SNS-vs-SQS experiments on real brokers and print the table.

Broker URLs come from ``--kafka-url`` / ``--rabbitmq-url`` / ``--redis-url``, else
``BARISTA_KAFKA_URL`` / ``BARISTA_RABBITMQ_URL`` / ``BARISTA_REDIS_URL``, else the compose
stack's addresses and credentials in ``.env`` (what ``make up`` and ``make compare`` write).
Kafka is compared twice, once per queue mode (``kafka``: consumer group, ``kafka-share``:
share group), on the one broker ``--kafka-url`` names.
Exit status 0 when every selected backend ran every experiment (a semantic the backend
refuses still counts as run), 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

CHOICES = ("kafka", "kafka-share", "rabbitmq", "redis", "all")


def register(commands: Any) -> None:
    """Add ``compare`` to the top-level subcommands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "compare",
        help="run the SNS-vs-SQS comparison on real brokers",
        description=(
            "Runs the same experiments (fan-out vs competing consumers, offline subscribers, "
            "ordering per message group, a crashed consumer, a poison message, duplicates) on "
            "each broker and prints what was observed beside what AWS SNS and SQS do."
        ),
    )
    parser.add_argument(
        "--backend", choices=CHOICES, default="all", help="which broker to run on (default: all)"
    )
    parser.add_argument(
        "--output", choices=("table", "json"), default="table", help="table (default) or json"
    )
    parser.add_argument(
        "--through",
        choices=("adapters", "aws-api"),
        default="adapters",
        help=(
            "adapters (default): each broker through broker_adapters; aws-api: the same "
            "experiments through Barista's SQS and SNS APIs with boto3, served in this process "
            "in front of the same brokers"
        ),
    )
    for backend, variable in (
        ("kafka", "BARISTA_KAFKA_URL"),
        ("rabbitmq", "BARISTA_RABBITMQ_URL"),
        ("redis", "BARISTA_REDIS_URL"),
    ):
        parser.add_argument(
            f"--{backend}-url",
            metavar="URL",
            help=(
                f"the {backend} broker (default: ${variable}, else the compose stack in .env)"
                + ("; both queue modes run on it" if backend == "kafka" else "")
            ),
        )
    parser.add_argument(
        "--update",
        type=Path,
        metavar="FILE",
        help=(
            "also write the table, as Markdown with the machine and date, between this run's "
            "markers in FILE (make compare: docs/compare.md)"
        ),
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        help="the compose .env to take ports and credentials from (default: ./.env)",
    )
    parser.set_defaults(run=run)


def selected_urls(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The URL of each selected backend, in table order: its broker's option, then env var,
    then .env; a Kafka backend's in its queue mode."""
    from orchestrator.compare.urls import (  # noqa: PLC0415
        BACKENDS,
        backend_url,
        broker_of,
        default_urls,
    )

    defaults = default_urls(environ, args.env_file)
    chosen = BACKENDS if args.backend == "all" else (args.backend,)
    urls = {}
    for backend in chosen:
        given = getattr(args, f"{broker_of(backend)}_url")
        urls[backend] = backend_url(backend, given) if given else defaults[backend]
    return urls


def _section(reports: Any, args: argparse.Namespace) -> list[str]:
    """What ``--update`` writes: when, where and how it was measured, then the table."""
    import platform  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from orchestrator.compare import render  # noqa: PLC0415

    command = "barista compare --backend " + args.backend
    if args.through != "adapters":
        command += f" --through {args.through}"
    return [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, by `{command}` (`make compare`).",
        "",
        *render.markdown(reports, args.through),
    ]


def run(args: argparse.Namespace) -> int:
    """Run the experiments and print the table (or JSON); 1 if any backend failed."""
    # Deferred (as the package docstring asks) so `barista --help` stays fast.
    from rich.console import Console  # noqa: PLC0415
    from rich.markup import escape  # noqa: PLC0415

    from orchestrator.compare import render  # noqa: PLC0415
    from orchestrator.compare.observations import Failed, Result, Unsupported  # noqa: PLC0415
    from orchestrator.compare.runner import run_all  # noqa: PLC0415

    urls = selected_urls(args, dict(os.environ))
    errors = Console(stderr=True, highlight=False)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    # librdkafka reports retries it rides out (a coordinator still loading after a start) as
    # warnings; the adapter fails the call if they do not resolve, so only errors are shown.
    logging.getLogger("broker_adapters.kafka.librdkafka").setLevel(logging.ERROR)

    def progress(backend: str, experiment: str, result: Result, seconds: float) -> None:
        outcome = {Unsupported: "not supported", Failed: "failed"}.get(type(result), "observed")
        errors.print(f"[dim]{backend}: {experiment} {outcome} in {seconds:g} s[/dim]")

    if args.through == "aws-api":
        from orchestrator.compare.through_api import served_apis  # noqa: PLC0415

        with served_apis(urls) as api_urls:
            reports = run_all(api_urls, progress=progress)
    else:
        reports = run_all(urls, progress=progress)
    for report in reports:
        failures = [r.error for r in report.results.values() if isinstance(r, Failed)]
        for problem in filter(None, [report.error, *failures[:1]]):
            errors.print(f"[red]{report.backend}:[/red] {escape(problem)}")
    if args.update is not None:
        render.replace_section(args.update, f"compare-{args.through}", _section(reports, args))
    if args.output == "json":
        sys.stdout.write(render.dumps(reports, args.through) + "\n")
    else:
        render.print_table(reports, Console(), args.through)
    return 0 if all(report.ok for report in reports) else 1
