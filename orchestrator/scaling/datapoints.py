"""Datapoints: the one table of measured values every scaling policy and alarm reads.

A series is named by what it measures (``MetricSpec.key`` for CloudWatch's metrics, a policy's
own name for what a target tracking policy tracks); its datapoints are one value per period.
Auto Scaling groups, ECS services and CloudWatch alarms all read and write ``metric_datapoints``
through :class:`DatapointStore`, so an alarm sees the same numbers whoever recorded them. The
table belongs to the Auto Scaling store's schema (``orchestrator.asg.store``, which owns
``PRAGMA user_version``), where version 4 moved ECS's former ``ecs_datapoints`` into it.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.sqlite import SqliteStore


class DatapointStore(SqliteStore):
    """Reads and writes ``metric_datapoints``; a subclass's migration creates the table."""

    def record_datapoint(self, series: str, timestamp: float, value: float, keep: float) -> None:
        """Add one datapoint and forget the series' points older than ``timestamp - keep``."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO metric_datapoints (series, timestamp, value) "
                "VALUES (?, ?, ?)",
                (series, timestamp, value),
            )
            db.execute(
                "DELETE FROM metric_datapoints WHERE series = ? AND timestamp < ?",
                (series, timestamp - keep),
            )

    def record_datapoints(
        self, series: str, points: Iterable[tuple[float, float]], keep: float, now: float
    ) -> int:
        """Add many datapoints in one transaction (PutMetricData, seeded history), forgetting
        those older than ``now - keep``; returns how many were kept."""
        rows = [(series, t, v) for t, v in points if t >= now - keep]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO metric_datapoints (series, timestamp, value) "
                "VALUES (?, ?, ?)",
                rows,
            )
            db.execute(
                "DELETE FROM metric_datapoints WHERE series = ? AND timestamp < ?",
                (series, now - keep),
            )
        return len(rows)

    def downsample(self, series: str, before: float, bucket: int) -> None:
        """Replace the series' datapoints older than ``before`` by one mean per ``bucket``
        seconds (at the bucket's start): long history kept small, as CloudWatch keeps older
        data at coarser resolution. Only whole buckets are merged, so a mean never mixes in
        points that are still at full resolution."""
        edge = before - before % bucket
        with self._transaction() as db:
            means = db.execute(
                "SELECT CAST(timestamp / ? AS INTEGER) * ?, AVG(value) "
                "FROM metric_datapoints WHERE series = ? AND timestamp < ? "
                "GROUP BY 1",
                (bucket, bucket, series, edge),
            ).fetchall()
            db.execute(
                "DELETE FROM metric_datapoints WHERE series = ? AND timestamp < ?",
                (series, edge),
            )
            db.executemany(
                "INSERT INTO metric_datapoints (series, timestamp, value) VALUES (?, ?, ?)",
                [(series, float(start), mean) for start, mean in means],
            )

    def datapoints(self, series: str, limit: int = 60) -> list[tuple[float, float]]:
        """The newest ``limit`` (timestamp, value) points of a series, newest first."""
        rows = self._connection.execute(
            "SELECT timestamp, value FROM metric_datapoints WHERE series = ? "
            "ORDER BY timestamp DESC LIMIT ?",
            (series, limit),
        )
        return [(timestamp, value) for timestamp, value in rows]

    def datapoints_between(
        self, series: str, start: float, end: float
    ) -> list[tuple[float, float]]:
        """The (timestamp, value) points of a series with start <= timestamp < end, oldest
        first: the history a forecast reads."""
        rows = self._connection.execute(
            "SELECT timestamp, value FROM metric_datapoints WHERE series = ? "
            "AND timestamp >= ? AND timestamp < ? ORDER BY timestamp",
            (series, start, end),
        )
        return [(timestamp, value) for timestamp, value in rows]

    def values(self, series: str, limit: int) -> list[float]:
        """The newest ``limit`` values of a series, newest first: what an alarm evaluates."""
        return [value for _, value in self.datapoints(series, limit)]
