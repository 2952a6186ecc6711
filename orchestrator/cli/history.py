"""``barista seed-history``: give a metric days of the coffee shop's day, in AWS time.

Predictive scaling forecasts only after 24 hours of a metric's history; this writes that
history (``orchestrator.scaling.history``: quiet nights, the 08:00 rush, the 12:30 lunch
peak) so a user can try it at once. It runs beside the store, where the orchestrator's clock
is known: the datapoints end at the orchestrator's *AWS* now, which under a ``time_scale``
runs ahead of the wall clock (``orchestrator.clock``). It reads the orchestrator's own
settings, ``BARISTA_STATE_PATH`` and ``BARISTA_TIME_SCALE``; in the demo, ``make
seed-history`` runs it inside the orchestrator's container. PutMetricData
(``barista cloudwatch put-metric-data``) loads history of your own over the API instead.
"""

from __future__ import annotations

import argparse
import os
import sys

MAX_DAYS = 14  # CloudWatch keeps PutMetricData points up to two weeks old


def _dimension(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name or not value:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def _days(text: str) -> float:
    days = float(text)
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"--days must be between 1 and {MAX_DAYS}")
    return days


def _run(args: argparse.Namespace) -> int:
    # Imported here so `barista --help` does not load the orchestrator.
    from orchestrator.asg.store import Store  # noqa: PLC0415
    from orchestrator.monitoring import RETENTION  # noqa: PLC0415
    from orchestrator.scaling.history import DAY, seeded_history  # noqa: PLC0415
    from orchestrator.scaling.metrics import series_key  # noqa: PLC0415
    from orchestrator.server import OrchestratorSettings, control_plane_clock  # noqa: PLC0415
    from services.settings import SettingsError, load  # noqa: PLC0415

    try:
        settings = load(OrchestratorSettings, os.environ)
    except SettingsError as error:
        print(f"barista seed-history: {error}", file=sys.stderr)
        return 2
    series = series_key(args.namespace, args.metric_name, args.dimensions)
    with Store(settings.state_path) as store:
        now = control_plane_clock(store, settings.time_scale)()
        points = seeded_history(
            now - args.days * DAY,
            now,
            period=args.period,
            night=args.night,
            peak=args.peak,
            noise=args.noise,
            seed=args.seed,
        )
        kept = store.record_datapoints(series, points, keep=RETENTION, now=now)
    print(f"{kept} datapoints of {series} up to {now:.0f} (AWS time) in {settings.state_path}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "seed-history",
        help="write days of a daily load pattern into a metric's history (predictive scaling)",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--namespace", default="AWS/SQS")
    parser.add_argument("--metric-name", default="ApproximateNumberOfMessagesVisible")
    parser.add_argument(
        "--dimensions",
        nargs="*",
        type=_dimension,
        default=[("QueueName", "orders")],
        help="Name=Value … (default QueueName=orders)",
    )
    parser.add_argument("--days", type=_days, default=3.0, help="1-14 (default 3)")
    parser.add_argument("--period", type=int, default=60, help="seconds between datapoints")
    parser.add_argument("--night", type=float, default=5.0, help="the value at night")
    parser.add_argument("--peak", type=float, default=150.0, help="the value at the 08:00 rush")
    parser.add_argument("--noise", type=float, default=0.1, help="relative noise (0.1 = 10 %%)")
    parser.add_argument("--seed", type=int, default=0, help="the noise's random seed")
    parser.set_defaults(run=_run)
