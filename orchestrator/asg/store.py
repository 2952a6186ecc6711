"""The orchestrator's durable desired state: launch templates, groups and activity history.

SQLite in WAL mode, so the dashboard can read while a controller writes, and everything
survives a restart: open a new :class:`Store` on the same path and it reads back what the last
one wrote. Values are stored as JSON documents keyed by name; the schema stays small and its
version lives in ``PRAGMA user_version`` so a later release can migrate it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from orchestrator.asg.group import (
    AutoScalingGroup,
    HealthCheckType,
    ScalingProcess,
    Tag,
    TerminationPolicy,
)
from orchestrator.asg.hooks import LifecycleActionResult, LifecycleHook, LifecycleTransition
from orchestrator.asg.instance_refresh import (
    InstanceRefresh,
    refresh_from_document,
    refresh_to_document,
)
from orchestrator.asg.lifecycle import InstanceLifecycle, LifecycleAction, LifecycleState
from orchestrator.asg.mixed import mixed_from_raw
from orchestrator.asg.warm_pool import WarmPool, WarmPoolState
from orchestrator.launch_templates import LaunchTemplate, LaunchTemplateData
from orchestrator.scaling.activity import Activity, ActivityStatusCode
from orchestrator.scaling.alarms import ComparisonOperator, MetricAlarm
from orchestrator.scaling.datapoints import DatapointStore
from orchestrator.scaling.metrics import metric_from_document, metric_to_document
from orchestrator.scaling.policy import ScalingPolicy, policy_from_document, policy_to_document
from orchestrator.scaling.predictive import Forecast, forecast_from_document, forecast_to_document
from orchestrator.scaling.scheduled import ScheduledAction
from orchestrator.sqlite import SchemaVersionError

DEFAULT_PATH = "barista.db"
SCHEMA_VERSION = 6

_SCHEMA_V1 = """
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

_SCHEMA_V2 = """
CREATE TABLE scaling_policies (
    auto_scaling_group_name TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (auto_scaling_group_name, policy_name)
);
CREATE TABLE metric_alarms (
    alarm_name TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE scheduled_actions (
    auto_scaling_group_name TEXT NOT NULL,
    scheduled_action_name TEXT NOT NULL,
    document TEXT NOT NULL,
    last_checked REAL NOT NULL,
    PRIMARY KEY (auto_scaling_group_name, scheduled_action_name)
);
CREATE TABLE metric_datapoints (
    series TEXT NOT NULL,
    timestamp REAL NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series, timestamp)
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Lifecycle hooks, and each instance's place in its lifecycle (orchestrator/asg/lifecycle.py):
# the controller advances an instance from here, so a restart resumes it where it was.
_SCHEMA_V3 = """
CREATE TABLE lifecycle_hooks (
    auto_scaling_group_name TEXT NOT NULL,
    lifecycle_hook_name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (auto_scaling_group_name, lifecycle_hook_name)
);
CREATE TABLE instance_lifecycles (
    instance_id TEXT PRIMARY KEY,
    auto_scaling_group_name TEXT NOT NULL,
    document TEXT NOT NULL
);
"""

# One datapoint table for groups and ECS services (orchestrator/scaling/datapoints.py): ECS's
# series move over (their names, service/CLUSTER/NAME/…, cannot meet a group's) and its table
# goes. It is created first when absent, as in a file whose ECS store never opened.
_SCHEMA_V4 = """
CREATE TABLE IF NOT EXISTS ecs_datapoints (
    series TEXT NOT NULL, timestamp REAL NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series, timestamp)
);
INSERT OR IGNORE INTO metric_datapoints (series, timestamp, value)
    SELECT series, timestamp, value FROM ecs_datapoints;
DROP TABLE ecs_datapoints;
"""

# Predictive scaling's forecasts, one per policy: the last forecast made (NULL until there is
# history enough) and when the controller last tried, so a restart keeps both.
_SCHEMA_V5 = """
CREATE TABLE IF NOT EXISTS predictive_forecasts (
    auto_scaling_group_name TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    attempted REAL NOT NULL,
    document TEXT,
    PRIMARY KEY (auto_scaling_group_name, policy_name)
);
"""

# Warm pools (orchestrator/asg/warm_pool.py), one per group, whose instances' states live in
# instance_lifecycles like every other instance's; instance refreshes
# (orchestrator/asg/instance_refresh.py), kept after they end, as AWS lists past ones.
_SCHEMA_V6 = """
CREATE TABLE IF NOT EXISTS warm_pools (
    auto_scaling_group_name TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS instance_refreshes (
    instance_refresh_id TEXT PRIMARY KEY,
    auto_scaling_group_name TEXT NOT NULL,
    start_time REAL NOT NULL,
    document TEXT NOT NULL
);
"""

# Each entry upgrades the schema from the version before it; a new release appends one.
_MIGRATIONS = {
    1: _SCHEMA_V1,
    2: _SCHEMA_V2,
    3: _SCHEMA_V3,
    4: _SCHEMA_V4,
    5: _SCHEMA_V5,
    6: _SCHEMA_V6,
}


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
    raw["tags"] = tuple(Tag(**tag) for tag in raw.get("tags", ()))
    raw["mixed_instances_policy"] = mixed_from_raw(raw.get("mixed_instances_policy"))
    return AutoScalingGroup(**raw)


def _activity_from_json(document: str) -> Activity:
    return _activity_from_raw(json.loads(document))


def _activity_from_raw(raw: dict[str, Any]) -> Activity:
    raw["status_code"] = ActivityStatusCode(raw["status_code"])
    if "auto_scaling_group_name" in raw:  # its name before ECS shared the Activity type
        raw["resource_id"] = raw.pop("auto_scaling_group_name")
    return Activity(**raw)


def _hook_from_json(document: str) -> LifecycleHook:
    raw = json.loads(document)
    raw["lifecycle_transition"] = LifecycleTransition(raw["lifecycle_transition"])
    raw["default_result"] = LifecycleActionResult(raw["default_result"])
    return LifecycleHook(**raw)


def _lifecycle_from_json(document: str) -> InstanceLifecycle:
    raw = json.loads(document)
    raw["state"] = LifecycleState(raw["state"])
    raw["actions"] = tuple(
        LifecycleAction(
            **{
                **action,
                "default_result": LifecycleActionResult(action["default_result"]),
                "result": None
                if action["result"] is None
                else LifecycleActionResult(action["result"]),
            }
        )
        for action in raw["actions"]
    )
    if raw["activity"] is not None:
        raw["activity"] = _activity_from_raw(raw["activity"])
    return InstanceLifecycle(**raw)


class Store(DatapointStore):
    """Launch templates, groups, policies, alarms, schedules, activities and datapoints.

    A connection is opened per store and used from one thread at a time; open one store per
    thread or process (WAL lets them share the file).
    """

    def _migrate(self) -> None:
        with self._transaction() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path} has schema version {version}; this Barista knows "
                    f"{SCHEMA_VERSION} at most"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
            if version < SCHEMA_VERSION:
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
        """DeleteAutoScalingGroup; its history, policies and scheduled actions go too, as in AWS."""
        with self._transaction() as db:
            db.execute("DELETE FROM auto_scaling_groups WHERE name = ?", (name,))
            for table in (
                "scaling_activities",
                "scaling_policies",
                "scheduled_actions",
                "lifecycle_hooks",
                "predictive_forecasts",
                "warm_pools",
                "instance_refreshes",
            ):
                db.execute(f"DELETE FROM {table} WHERE auto_scaling_group_name = ?", (name,))  # noqa: S608 - fixed table names

    def record_activities(self, activities: Iterable[Activity]) -> None:
        """Insert or update activities by id, so a status change rewrites the same entry."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO scaling_activities "
                "(activity_id, auto_scaling_group_name, start_time, document) VALUES (?, ?, ?, ?)",
                [
                    (a.activity_id, a.resource_id, a.start_time, json.dumps(asdict(a)))
                    for a in activities
                ],
            )

    def activities(
        self,
        group: str | None = None,
        max_records: int = 100,
        after: tuple[float, str] | None = None,
    ) -> list[Activity]:
        """DescribeScalingActivities: newest first, at most ``max_records`` (AWS's default 100).

        ``after`` is the (start time, id) of the last activity of the previous page: the page
        starts right after it, so activities recorded meanwhile do not shift it.
        """
        query = "SELECT document FROM scaling_activities"
        conditions: list[str] = []
        params: list[object] = []
        if group is not None:
            conditions.append("auto_scaling_group_name = ?")
            params.append(group)
        if after is not None:
            conditions.append("(start_time < ? OR (start_time = ? AND activity_id > ?))")
            params += [after[0], after[0], after[1]]
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY start_time DESC, activity_id LIMIT ?"
        rows = self._connection.execute(query, (*params, max_records))
        return [_activity_from_json(document) for (document,) in rows]

    def put_policy(self, policy: ScalingPolicy) -> None:
        """PutScalingPolicy: creates or replaces the group's policy of that name. A replaced
        predictive policy forecasts anew (its metric or target may have changed)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM predictive_forecasts "
                "WHERE auto_scaling_group_name = ? AND policy_name = ?",
                (policy.auto_scaling_group_name, policy.policy_name),
            )
            db.execute(
                "INSERT OR REPLACE INTO scaling_policies "
                "(auto_scaling_group_name, policy_name, document) VALUES (?, ?, ?)",
                (
                    policy.auto_scaling_group_name,
                    policy.policy_name,
                    json.dumps(policy_to_document(policy)),
                ),
            )

    def put_forecast(
        self, group: str, policy_name: str, attempted: float, forecast: Forecast | None
    ) -> None:
        """Record a forecast run at ``attempted``; ``None`` keeps the previous forecast (a run
        that found too little history replaces nothing)."""
        document = json.dumps(forecast_to_document(forecast)) if forecast is not None else None
        with self._transaction() as db:
            db.execute(
                "INSERT INTO predictive_forecasts "
                "(auto_scaling_group_name, policy_name, attempted, document) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (auto_scaling_group_name, policy_name) "
                "DO UPDATE SET attempted = excluded.attempted, "
                "document = COALESCE(excluded.document, predictive_forecasts.document)",
                (group, policy_name, attempted, document),
            )

    def forecast(self, group: str, policy_name: str) -> tuple[float | None, Forecast | None]:
        """When the policy's forecast was last attempted, and the last forecast made."""
        row = self._connection.execute(
            "SELECT attempted, document FROM predictive_forecasts "
            "WHERE auto_scaling_group_name = ? AND policy_name = ?",
            (group, policy_name),
        ).fetchone()
        if row is None:
            return None, None
        attempted, document = row
        return attempted, forecast_from_document(json.loads(document)) if document else None

    def policies(self, group: str | None = None) -> list[ScalingPolicy]:
        query = "SELECT document FROM scaling_policies"
        params: tuple[str, ...] = ()
        if group is not None:
            query += " WHERE auto_scaling_group_name = ?"
            params = (group,)
        rows = self._connection.execute(
            query + " ORDER BY auto_scaling_group_name, policy_name", params
        )
        return [policy_from_document(json.loads(document)) for (document,) in rows]

    def delete_policy(self, group: str, policy_name: str) -> bool:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM predictive_forecasts "
                "WHERE auto_scaling_group_name = ? AND policy_name = ?",
                (group, policy_name),
            )
            cursor = db.execute(
                "DELETE FROM scaling_policies "
                "WHERE auto_scaling_group_name = ? AND policy_name = ?",
                (group, policy_name),
            )
            return cursor.rowcount > 0

    def put_alarm(self, alarm: MetricAlarm) -> None:
        """PutMetricAlarm: creates or replaces the alarm of that name."""
        document = {**asdict(alarm), "metric": metric_to_document(alarm.metric)}
        document["comparison_operator"] = alarm.comparison_operator.value
        document["alarm_actions"] = list(alarm.alarm_actions)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO metric_alarms (alarm_name, document) VALUES (?, ?)",
                (alarm.alarm_name, json.dumps(document)),
            )

    def alarms(self) -> list[MetricAlarm]:
        rows = self._connection.execute("SELECT document FROM metric_alarms ORDER BY alarm_name")
        found = []
        for (document,) in rows:
            raw = json.loads(document)
            raw["metric"] = metric_from_document(raw["metric"])
            raw["comparison_operator"] = ComparisonOperator(raw["comparison_operator"])
            raw["alarm_actions"] = tuple(raw["alarm_actions"])
            found.append(MetricAlarm(**raw))
        return found

    def delete_alarm(self, alarm_name: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM metric_alarms WHERE alarm_name = ?", (alarm_name,))
            return cursor.rowcount > 0

    def put_scheduled_action(self, action: ScheduledAction, created_at: float) -> None:
        """PutScheduledUpdateGroupAction: runs due after ``created_at`` count, earlier ones not."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO scheduled_actions (auto_scaling_group_name, "
                "scheduled_action_name, document, last_checked) VALUES (?, ?, ?, ?)",
                (
                    action.auto_scaling_group_name,
                    action.scheduled_action_name,
                    json.dumps(asdict(action)),
                    created_at,
                ),
            )

    def scheduled_actions(self, group: str | None = None) -> list[tuple[ScheduledAction, float]]:
        """Each action with the time up to which its runs have been handled."""
        query = "SELECT document, last_checked FROM scheduled_actions"
        params: tuple[str, ...] = ()
        if group is not None:
            query += " WHERE auto_scaling_group_name = ?"
            params = (group,)
        rows = self._connection.execute(
            query + " ORDER BY auto_scaling_group_name, scheduled_action_name", params
        )
        return [(ScheduledAction(**json.loads(document)), checked) for document, checked in rows]

    def mark_scheduled_action_checked(self, action: ScheduledAction, until: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE scheduled_actions SET last_checked = ? "
                "WHERE auto_scaling_group_name = ? AND scheduled_action_name = ?",
                (until, action.auto_scaling_group_name, action.scheduled_action_name),
            )

    def delete_scheduled_action(self, group: str, name: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM scheduled_actions "
                "WHERE auto_scaling_group_name = ? AND scheduled_action_name = ?",
                (group, name),
            )
            return cursor.rowcount > 0

    def put_lifecycle_hook(self, hook: LifecycleHook) -> None:
        """PutLifecycleHook: creates or replaces the group's hook of that name."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO lifecycle_hooks "
                "(auto_scaling_group_name, lifecycle_hook_name, document) VALUES (?, ?, ?)",
                (hook.auto_scaling_group_name, hook.lifecycle_hook_name, json.dumps(asdict(hook))),
            )

    def lifecycle_hooks(self, group: str | None = None) -> list[LifecycleHook]:
        query = "SELECT document FROM lifecycle_hooks"
        params: tuple[str, ...] = ()
        if group is not None:
            query += " WHERE auto_scaling_group_name = ?"
            params = (group,)
        rows = self._connection.execute(
            query + " ORDER BY auto_scaling_group_name, lifecycle_hook_name", params
        )
        return [_hook_from_json(document) for (document,) in rows]

    def delete_lifecycle_hook(self, group: str, name: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM lifecycle_hooks "
                "WHERE auto_scaling_group_name = ? AND lifecycle_hook_name = ?",
                (group, name),
            )
            return cursor.rowcount > 0

    def put_instance_lifecycle(self, record: InstanceLifecycle) -> None:
        """Where one instance stands in its lifecycle; written whenever it moves."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO instance_lifecycles "
                "(instance_id, auto_scaling_group_name, document) VALUES (?, ?, ?)",
                (record.instance_id, record.auto_scaling_group_name, json.dumps(asdict(record))),
            )

    def replace_instance_lifecycle(
        self, expected: InstanceLifecycle, record: InstanceLifecycle | None
    ) -> bool:
        """Write ``record`` (None: delete) only if the stored one is still ``expected``.

        The controller and the API (CompleteLifecycleAction, heartbeats) both move a record;
        compare-and-swap keeps either from overwriting what the other just wrote: the loser
        reads again and retries, or leaves it to the next pass.
        """
        with self._transaction() as db:
            if record is None:
                cursor = db.execute(
                    "DELETE FROM instance_lifecycles WHERE instance_id = ? AND document = ?",
                    (expected.instance_id, json.dumps(asdict(expected))),
                )
            else:
                cursor = db.execute(
                    "UPDATE instance_lifecycles SET document = ? "
                    "WHERE instance_id = ? AND document = ?",
                    (
                        json.dumps(asdict(record)),
                        expected.instance_id,
                        json.dumps(asdict(expected)),
                    ),
                )
            return cursor.rowcount > 0

    def instance_lifecycles(self, group: str | None = None) -> dict[str, InstanceLifecycle]:
        """Instance id → its lifecycle record (instances launched before records existed
        have none: their state follows their health)."""
        query = "SELECT instance_id, document FROM instance_lifecycles"
        params: tuple[str, ...] = ()
        if group is not None:
            query += " WHERE auto_scaling_group_name = ?"
            params = (group,)
        rows = self._connection.execute(query + " ORDER BY instance_id", params)
        return {instance_id: _lifecycle_from_json(document) for instance_id, document in rows}

    def delete_instance_lifecycle(self, instance_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM instance_lifecycles WHERE instance_id = ?", (instance_id,))

    def put_warm_pool(self, pool: WarmPool) -> None:
        """PutWarmPool (and DeleteWarmPool's PendingDelete): the group's one pool."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO warm_pools (auto_scaling_group_name, document) "
                "VALUES (?, ?)",
                (pool.auto_scaling_group_name, json.dumps(asdict(pool))),
            )

    def warm_pools(self) -> dict[str, WarmPool]:
        rows = self._connection.execute(
            "SELECT auto_scaling_group_name, document FROM warm_pools ORDER BY 1"
        )
        pools = {}
        for name, document in rows:
            raw = json.loads(document)
            raw["pool_state"] = WarmPoolState(raw["pool_state"])
            pools[name] = WarmPool(**raw)
        return pools

    def delete_warm_pool(self, group: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM warm_pools WHERE auto_scaling_group_name = ?", (group,))

    def put_instance_refresh(self, refresh: InstanceRefresh) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO instance_refreshes "
                "(instance_refresh_id, auto_scaling_group_name, start_time, document) "
                "VALUES (?, ?, ?, ?)",
                (
                    refresh.instance_refresh_id,
                    refresh.auto_scaling_group_name,
                    refresh.start_time,
                    json.dumps(refresh_to_document(refresh)),
                ),
            )

    def instance_refreshes(self, group: str | None = None) -> list[InstanceRefresh]:
        """Newest first, as DescribeInstanceRefreshes lists them."""
        query = "SELECT document FROM instance_refreshes"
        params: tuple[str, ...] = ()
        if group is not None:
            query += " WHERE auto_scaling_group_name = ?"
            params = (group,)
        rows = self._connection.execute(
            query + " ORDER BY start_time DESC, instance_refresh_id", params
        )
        return [refresh_from_document(json.loads(document)) for (document,) in rows]

    def active_instance_refresh(self, group: str) -> InstanceRefresh | None:
        return next((r for r in self.instance_refreshes(group) if r.status.active), None)

    def setting(self, key: str, default: str) -> str:
        """A persistent setting, written with ``default`` the first time it is read.

        The first writer wins, so two processes starting together agree on the value.
        """
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (key, default))
            (value,) = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(value)
