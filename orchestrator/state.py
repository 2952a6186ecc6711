"""The orchestrator's durable desired state: launch templates, groups and activity history.

SQLite in WAL mode, so the dashboard can read while a controller writes, and everything
survives a restart: open a new :class:`Store` on the same path and it reads back what the last
one wrote. Values are stored as JSON documents keyed by name; the schema stays small and its
version lives in ``PRAGMA user_version`` so a later release can migrate it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from orchestrator.asg.activity import Activity, ActivityStatusCode
from orchestrator.asg.group import (
    AutoScalingGroup,
    HealthCheckType,
    ScalingProcess,
    TerminationPolicy,
)
from orchestrator.launch_templates import LaunchTemplate
from orchestrator.model import LaunchTemplateData

DEFAULT_PATH = "barista.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE launch_templates (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE auto_scaling_groups (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE scaling_activities (
    activity_id TEXT PRIMARY KEY,
    auto_scaling_group_name TEXT NOT NULL,
    start_time REAL NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX scaling_activities_by_group
    ON scaling_activities (auto_scaling_group_name, start_time);
"""


class SchemaVersionError(RuntimeError):
    """The database was written by a newer Barista; refusing beats silently misreading it."""


def _template_to_json(template: LaunchTemplate) -> str:
    return json.dumps(
        {
            "launch_template_name": template.launch_template_name,
            "launch_template_id": template.launch_template_id,
            "default_version_number": template.default_version_number,
            "versions": {
                str(number): {**asdict(data), "environment": dict(data.environment)}
                for number, data in template.versions.items()
            },
        }
    )


def _template_from_json(document: str) -> LaunchTemplate:
    raw = json.loads(document)
    return LaunchTemplate(
        launch_template_name=raw["launch_template_name"],
        launch_template_id=raw["launch_template_id"],
        default_version_number=raw["default_version_number"],
        versions={
            int(number): LaunchTemplateData(**{**data, "command": tuple(data["command"])})
            for number, data in raw["versions"].items()
        },
    )


def _group_to_json(group: AutoScalingGroup) -> str:
    raw: dict[str, Any] = asdict(group)
    raw["availability_zones"] = list(group.availability_zones)
    raw["termination_policies"] = [p.value for p in group.termination_policies]
    raw["suspended_processes"] = sorted(p.value for p in group.suspended_processes)
    raw["protected_instance_ids"] = sorted(group.protected_instance_ids)
    return json.dumps(raw)


def _group_from_json(document: str) -> AutoScalingGroup:
    raw = json.loads(document)
    raw["availability_zones"] = tuple(raw["availability_zones"])
    raw["health_check_type"] = HealthCheckType(raw["health_check_type"])
    raw["termination_policies"] = tuple(TerminationPolicy(p) for p in raw["termination_policies"])
    raw["suspended_processes"] = frozenset(ScalingProcess(p) for p in raw["suspended_processes"])
    raw["protected_instance_ids"] = frozenset(raw["protected_instance_ids"])
    return AutoScalingGroup(**raw)


def _activity_from_json(document: str) -> Activity:
    raw = json.loads(document)
    raw["status_code"] = ActivityStatusCode(raw["status_code"])
    return Activity(**raw)


class Store:
    """One SQLite file holding the desired state; every write is its own transaction.

    A connection is opened per store and used from one thread at a time; open one store per
    thread or process (WAL lets them share the file).
    """

    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self._connection = sqlite3.connect(self.path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._connection
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path} has schema version {version}; this Barista knows "
                    f"{SCHEMA_VERSION} at most"
                )
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def put_launch_template(self, template: LaunchTemplate) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO launch_templates (name, document) VALUES (?, ?)",
                (template.launch_template_name, _template_to_json(template)),
            )

    def launch_templates(self) -> dict[str, LaunchTemplate]:
        rows = self._connection.execute("SELECT name, document FROM launch_templates ORDER BY name")
        return {name: _template_from_json(document) for name, document in rows}

    def delete_launch_template(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM launch_templates WHERE name = ?", (name,))

    def put_group(self, group: AutoScalingGroup) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO auto_scaling_groups (name, document) VALUES (?, ?)",
                (group.auto_scaling_group_name, _group_to_json(group)),
            )

    def groups(self) -> dict[str, AutoScalingGroup]:
        rows = self._connection.execute(
            "SELECT name, document FROM auto_scaling_groups ORDER BY name"
        )
        return {name: _group_from_json(document) for name, document in rows}

    def delete_group(self, name: str) -> None:
        """DeleteAutoScalingGroup; its activity history goes too, as it does in AWS."""
        with self._transaction() as db:
            db.execute("DELETE FROM auto_scaling_groups WHERE name = ?", (name,))
            db.execute("DELETE FROM scaling_activities WHERE auto_scaling_group_name = ?", (name,))

    def record_activities(self, activities: Iterable[Activity]) -> None:
        """Insert or update activities by id, so a status change rewrites the same entry."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO scaling_activities "
                "(activity_id, auto_scaling_group_name, start_time, document) VALUES (?, ?, ?, ?)",
                [
                    (a.activity_id, a.auto_scaling_group_name, a.start_time, json.dumps(asdict(a)))
                    for a in activities
                ],
            )

    def activities(self, group: str | None = None, max_records: int = 100) -> list[Activity]:
        """DescribeScalingActivities: newest first, at most ``max_records`` (AWS's default 100)."""
        query = "SELECT document FROM scaling_activities"
        params: tuple[object, ...] = ()
        if group is not None:
            query += " WHERE auto_scaling_group_name = ?"
            params = (group,)
        query += " ORDER BY start_time DESC, activity_id LIMIT ?"
        rows = self._connection.execute(query, (*params, max_records))
        return [_activity_from_json(document) for (document,) in rows]
