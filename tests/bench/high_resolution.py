"""How fast a high-resolution target tracking policy reacts, at AWS's own pace.

    python -m tests.bench.high_resolution [--runs R]

The same breach as ``tests.bench.autoscaling`` (a group of baristas on Redis, target tracking
on backlog per instance, target 5, a burst of orders once the last three tracked datapoints
are under the target: 400 here, which one barista needs minutes for), but the policy's metric
has Period 10 and the control loop runs at time_scale 1: AlarmHigh needs three 10-second
datapoints, so desired capacity should rise within about 30 s of the breach, where the
one-minute policy of ``make bench-autoscaling`` takes about 3 minutes of AWS time.

Prints a table and rewrites the bench-high-resolution section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.adapters import replace_section
from tests.bench.autoscaling import breach_run, percentile
from tests.support.shop import open_shop

PERIOD = 10
# At AWS's pace one barista drains 60 orders before three 10-second datapoints see them; a
# burst it needs minutes for keeps the breach up until the alarm can fire.
ORDERS = 400


def report(runs: list[tuple[float, float, float]]) -> list[str]:
    lines = [
        f"Breach → reaction at time_scale 1 (wall seconds are AWS seconds), {len(runs)} runs:",
        "",
        "| tracked metric | from the breach to | p50 (s) | p95 (s) |",
        "| --- | --- | ---: | ---: |",
    ]
    names = ("desired capacity raised", "new container started", "new barista consuming")
    for index, name in enumerate(names):
        values = [run[index] for run in runs]
        lines.append(
            f"| Period {PERIOD} s | {name} | {percentile(values, 0.5):.1f} | "
            f"{percentile(values, 0.95):.1f} |"
        )
    lines += [
        "",
        "Beside the one-minute policy above (about 3 minutes of AWS time to the decision): "
        "AlarmHigh still needs three datapoints, now 10 s apart, so the decision lands 30-40 s "
        "after the breach (three samples, the first up to one period after the breach). "
        "The container start and the first brew are the same real seconds as above.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, open_shop("redis") as shop:
        runs = [
            breach_run(shop, Path(scratch), n, time_scale=1.0, period=PERIOD, orders=ORDERS)
            for n in range(args.runs)
        ]
    lines = report(runs)
    print("\n".join(lines))
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}. "
        f"Command: `make bench-high-resolution` ({args.runs} breach runs on Redis, "
        "time_scale 1, target tracking on a Period 10 metric)."
    )
    replace_section("bench-high-resolution", [header, "", *lines])


if __name__ == "__main__":
    main()
