"""The Spot market's records in the orchestrator's SQLite file (tables ``spot_*``): the price
history DescribeSpotPriceHistory answers from, the pools reclaimed until a time, the notices
given to instances, and every instance's run (launch to stop, On-Demand or Spot) for billing,
kept until it ends before Cost Explorer's horizon (``orchestrator.billing.retention_horizon``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from orchestrator.billing import Run
from orchestrator.spot.model import Pool
from orchestrator.spot.notices import Notice
from orchestrator.sqlite import DocumentStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spot_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spot_prices (
    instance_type TEXT NOT NULL, availability_zone TEXT NOT NULL, timestamp REAL NOT NULL,
    price REAL NOT NULL, PRIMARY KEY (instance_type, availability_zone, timestamp));
CREATE TABLE IF NOT EXISTS spot_reclaims (
    instance_type TEXT NOT NULL, availability_zone TEXT NOT NULL, until REAL NOT NULL,
    PRIMARY KEY (instance_type, availability_zone));
CREATE TABLE IF NOT EXISTS spot_notices (instance_id TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spot_runs (instance_id TEXT PRIMARY KEY, document TEXT NOT NULL);
"""


class PricePoint(NamedTuple):
    """One change of a pool's price."""

    pool: Pool
    timestamp: float
    price: float


class SpotStore(DocumentStore):
    SCHEMA = _SCHEMA
    PREFIX = "spot"
    SCHEMA_VERSION = 1

    # Prices.

    def record_prices(self, points: Iterable[tuple[Pool, float, float]]) -> None:
        """Add price points; one already recorded for that pool and time is kept."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO spot_prices VALUES (?, ?, ?, ?)",
                [(p.instance_type, p.availability_zone, t, price) for p, t, price in points],
            )

    def latest_prices(self) -> dict[Pool, tuple[float, float]]:
        """Each recorded pool's newest (timestamp, price)."""
        rows = self._connection.execute(
            "SELECT instance_type, availability_zone, MAX(timestamp), price FROM spot_prices "
            "GROUP BY instance_type, availability_zone"
        ).fetchall()
        return {Pool(t, z): (float(ts), float(p)) for t, z, ts, p in rows}

    def price_history(self, start: float, end: float) -> list[PricePoint]:
        """Points in force during [start, end]: every change in the window, and for each
        pool the last change before it (the price in force at ``start``), newest first."""
        rows = self._connection.execute(
            "SELECT instance_type, availability_zone, timestamp, price FROM spot_prices p "
            "WHERE timestamp <= ? AND (timestamp >= ? OR timestamp = ("
            "  SELECT MAX(timestamp) FROM spot_prices q WHERE q.instance_type = p.instance_type"
            "  AND q.availability_zone = p.availability_zone AND q.timestamp < ?)) "
            "ORDER BY timestamp DESC, instance_type, availability_zone",
            (end, start, start),
        ).fetchall()
        return [PricePoint(Pool(t, z), float(ts), float(p)) for t, z, ts, p in rows]

    # Reclaims.

    def reclaim(self, pool: Pool, until: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO spot_reclaims VALUES (?, ?, ?)",
                (pool.instance_type, pool.availability_zone, until),
            )

    def reclaimed(self, now: float) -> set[Pool]:
        rows = self._connection.execute(
            "SELECT instance_type, availability_zone FROM spot_reclaims WHERE until > ?", (now,)
        ).fetchall()
        return {Pool(t, z) for t, z in rows}

    # Notices.

    def put_notice(self, notice: Notice) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO spot_notices VALUES (?, ?)",
                (notice.instance_id, self._dump(notice)),
            )

    def notices(self) -> dict[str, Notice]:
        notices = self._all(Notice, "SELECT document FROM spot_notices ORDER BY instance_id")
        return {n.instance_id: n for n in notices}

    def notice(self, instance_id: str) -> Notice | None:
        row = self._connection.execute(
            "SELECT document FROM spot_notices WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return None if row is None else self._load(Notice, row[0])

    def forget_notices(self, instance_ids: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM spot_notices WHERE instance_id = ?", [(i,) for i in instance_ids]
            )

    # Runs, for billing.

    def runs(self) -> list[Run]:
        return self._all(Run, "SELECT document FROM spot_runs ORDER BY instance_id")

    def put_runs(self, runs: Iterable[Run]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO spot_runs VALUES (?, ?)",
                [(r.instance_id, self._dump(r)) for r in runs],
            )

    def prune_runs(self, before: float) -> int:
        """Forget the runs that ended before ``before`` (the billing horizon); how many went."""
        with self._transaction() as db:
            gone = db.execute(
                "DELETE FROM spot_runs WHERE json_extract(document, '$.end') < ?", (before,)
            )
            return int(gone.rowcount)

    def histories(self) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """Every pool's price changes, oldest first, keyed (instance type, zone)."""
        rows = self._connection.execute(
            "SELECT instance_type, availability_zone, timestamp, price FROM spot_prices "
            "ORDER BY timestamp"
        ).fetchall()
        found: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for instance_type, zone, at, value in rows:
            found.setdefault((instance_type, zone), []).append((float(at), float(value)))
        return found
