"""ECS's desired state and history, in the same SQLite file as the other stores.

The tables are ``ecs_*`` with their own schema version in ``ecs_schema`` (the ASG ``Store``
owns ``PRAGMA user_version``), so each schema moves on its own. Records are JSON written by
pydantic from the model's dataclasses; a task definition is kept as the AWS document it was
registered with and parsed again on reading, so describe returns what was given.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from orchestrator.ecs.model import (
    CapacityProvider,
    Cluster,
    ContainerInstance,
    Service,
    ServiceEvent,
    Task,
)
from orchestrator.ecs.scalable_target import (
    ScalableTarget,
    ServiceScalingPolicy,
    policy_to_document,
    step_policy_from_document,
    tracking_policy_from_document,
)
from orchestrator.ecs.task_definition import TaskDefinition, parse_task_definition
from orchestrator.scaling.activity import Activity
from orchestrator.scaling.step import StepScalingPolicy
from orchestrator.sqlite import DocumentStore, SchemaVersionError

ECS_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ecs_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ecs_task_definitions (
    family TEXT NOT NULL, revision INTEGER NOT NULL, status TEXT NOT NULL,
    registered_at REAL NOT NULL, document TEXT NOT NULL, PRIMARY KEY (family, revision)
);
CREATE TABLE IF NOT EXISTS ecs_capacity_providers (name TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ecs_scalable_targets (
    resource_id TEXT PRIMARY KEY, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ecs_scaling_policies (
    resource_id TEXT NOT NULL, policy_name TEXT NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (resource_id, policy_name)
);
CREATE TABLE IF NOT EXISTS ecs_step_policies (
    resource_id TEXT NOT NULL, policy_name TEXT NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (resource_id, policy_name)
);
CREATE TABLE IF NOT EXISTS ecs_scaling_activities (
    activity_id TEXT PRIMARY KEY, resource_id TEXT NOT NULL, start_time REAL NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ecs_clusters (name TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ecs_container_instances (
    instance_id TEXT PRIMARY KEY, cluster TEXT NOT NULL, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ecs_services (
    cluster TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (cluster, name)
);
CREATE TABLE IF NOT EXISTS ecs_tasks (
    task_id TEXT PRIMARY KEY, cluster TEXT NOT NULL, service TEXT, stopped INTEGER NOT NULL,
    created_at REAL NOT NULL, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ecs_service_events (
    event_id TEXT PRIMARY KEY, cluster TEXT NOT NULL, service TEXT NOT NULL,
    created_at REAL NOT NULL, message TEXT NOT NULL
);
"""


# Raised when the ecs_* tables were written by a newer Barista.
EcsSchemaVersionError = SchemaVersionError


class EcsStore(DocumentStore):
    """One connection, used from one thread at a time; every write is its own transaction."""

    SCHEMA = _SCHEMA
    PREFIX = "ecs"
    SCHEMA_VERSION = ECS_SCHEMA_VERSION

    # Task definitions.

    def register_task_definition(self, definition: TaskDefinition) -> TaskDefinition:
        """Stores the next revision of the family and returns it as stored."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT MAX(revision) FROM ecs_task_definitions WHERE family = ?",
                (definition.family,),
            ).fetchone()
            revision = (row[0] or 0) + 1
            db.execute(
                "INSERT INTO ecs_task_definitions VALUES (?, ?, 'ACTIVE', ?, ?)",
                (
                    definition.family,
                    revision,
                    definition.registered_at,
                    json.dumps(dict(definition.document)),
                ),
            )
        return self.task_definition(definition.family, revision)

    def _definition(self, row: tuple[Any, ...]) -> TaskDefinition:
        _family, revision, status, registered_at, document = row
        parsed = parse_task_definition(json.loads(document), revision, registered_at)
        return replace(parsed, status=status)

    def task_definition(self, family: str, revision: int | None = None) -> TaskDefinition:
        """A revision, or the latest ACTIVE one; raises KeyError if there is none."""
        if revision is None:
            row = self._connection.execute(
                "SELECT * FROM ecs_task_definitions WHERE family = ? AND status = 'ACTIVE' "
                "ORDER BY revision DESC LIMIT 1",
                (family,),
            ).fetchone()
        else:
            row = self._connection.execute(
                "SELECT * FROM ecs_task_definitions WHERE family = ? AND revision = ?",
                (family, revision),
            ).fetchone()
        if row is None:
            raise KeyError(f"{family}:{revision}")
        return self._definition(row)

    def task_definitions(self, family: str | None = None) -> list[TaskDefinition]:
        rows = self._connection.execute(
            "SELECT * FROM ecs_task_definitions WHERE (? IS NULL OR family = ?) "
            "ORDER BY family, revision",
            (family, family),
        ).fetchall()
        return [self._definition(row) for row in rows]

    def set_task_definition_status(self, family: str, revision: int, status: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE ecs_task_definitions SET status = ? WHERE family = ? AND revision = ?",
                (status, family, revision),
            )

    # Clusters and container instances.

    def put_cluster(self, cluster: Cluster) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ecs_clusters VALUES (?, ?)",
                (cluster.name, self._dump(cluster)),
            )

    def clusters(self) -> dict[str, Cluster]:
        rows = self._connection.execute("SELECT document FROM ecs_clusters ORDER BY name")
        clusters = [self._load(Cluster, row[0]) for row in rows]
        return {c.name: c for c in clusters}

    def put_capacity_provider(self, provider: CapacityProvider) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ecs_capacity_providers VALUES (?, ?)",
                (provider.name, self._dump(provider)),
            )

    def capacity_providers(self) -> dict[str, CapacityProvider]:
        rows = self._connection.execute("SELECT document FROM ecs_capacity_providers ORDER BY name")
        providers = [self._load(CapacityProvider, row[0]) for row in rows]
        return {p.name: p for p in providers}

    def put_container_instance(self, instance: ContainerInstance) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ecs_container_instances VALUES (?, ?, ?)",
                (instance.instance_id, instance.cluster, self._dump(instance)),
            )

    def container_instances(self, cluster: str | None = None) -> list[ContainerInstance]:
        rows = self._connection.execute(
            "SELECT document FROM ecs_container_instances WHERE (? IS NULL OR cluster = ?) "
            "ORDER BY instance_id",
            (cluster, cluster),
        )
        return [self._load(ContainerInstance, row[0]) for row in rows]

    def delete_container_instance(self, instance_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ecs_container_instances WHERE instance_id = ?", (instance_id,))

    # Services and their events.

    def put_service(self, service: Service) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ecs_services VALUES (?, ?, ?)",
                (service.cluster, service.name, self._dump(service)),
            )

    def services(self, cluster: str | None = None) -> list[Service]:
        rows = self._connection.execute(
            "SELECT document FROM ecs_services WHERE (? IS NULL OR cluster = ?) ORDER BY name",
            (cluster, cluster),
        )
        return [self._load(Service, row[0]) for row in rows]

    def service(self, cluster: str, name: str) -> Service | None:
        row = self._connection.execute(
            "SELECT document FROM ecs_services WHERE cluster = ? AND name = ?", (cluster, name)
        ).fetchone()
        return self._load(Service, row[0]) if row else None

    def delete_service(self, cluster: str, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ecs_services WHERE cluster = ? AND name = ?", (cluster, name))

    def record_event(self, cluster: str, service: str, event: ServiceEvent) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO ecs_service_events VALUES (?, ?, ?, ?, ?)",
                (event.event_id, cluster, service, event.created_at, event.message),
            )

    def events(self, cluster: str, service: str, limit: int = 100) -> list[ServiceEvent]:
        """Newest first, as describe-services lists them."""
        rows = self._connection.execute(
            "SELECT event_id, created_at, message FROM ecs_service_events "
            "WHERE cluster = ? AND service = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (cluster, service, limit),
        ).fetchall()
        return [ServiceEvent(*row) for row in rows]

    # Application Auto Scaling of services.

    def put_scalable_target(self, target: ScalableTarget) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ecs_scalable_targets VALUES (?, ?)",
                (target.resource_id, self._dump(target)),
            )

    def scalable_targets(self) -> list[ScalableTarget]:
        rows = self._connection.execute(
            "SELECT document FROM ecs_scalable_targets ORDER BY resource_id"
        )
        return [self._load(ScalableTarget, row[0]) for row in rows]

    def delete_scalable_target(self, resource_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ecs_scalable_targets WHERE resource_id = ?", (resource_id,))
            db.execute("DELETE FROM ecs_scaling_policies WHERE resource_id = ?", (resource_id,))
            db.execute("DELETE FROM ecs_step_policies WHERE resource_id = ?", (resource_id,))

    def put_scaling_policy(self, policy: ServiceScalingPolicy) -> None:
        """Create or replace the service's policy of that name, whatever type it had: a name
        names one policy of a resource, as PutScalingPolicy's update does. Target tracking
        and step policies keep a table each, as they always have."""
        tables = ("ecs_scaling_policies", "ecs_step_policies")
        table = tables[1] if isinstance(policy.definition, StepScalingPolicy) else tables[0]
        other = tables[0] if table == tables[1] else tables[1]
        with self._transaction() as db:
            db.execute(
                f"DELETE FROM {other} WHERE resource_id = ? AND policy_name = ?",  # noqa: S608 - two constants
                (policy.resource_id, policy.policy_name),
            )
            db.execute(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)",  # noqa: S608 - two constants
                (policy.resource_id, policy.policy_name, json.dumps(policy_to_document(policy))),
            )

    def scaling_policies(self) -> list[ServiceScalingPolicy]:
        """Every service's policies: target tracking ones first, then step ones."""
        tracking = self._connection.execute(
            "SELECT document FROM ecs_scaling_policies ORDER BY resource_id, policy_name"
        ).fetchall()
        step = self._connection.execute(
            "SELECT document FROM ecs_step_policies ORDER BY resource_id, policy_name"
        ).fetchall()
        return [tracking_policy_from_document(json.loads(row[0])) for row in tracking] + [
            step_policy_from_document(json.loads(row[0])) for row in step
        ]

    def delete_scaling_policy(self, resource_id: str, policy_name: str) -> bool:
        """Deletes the target tracking or step policy of that name."""
        with self._transaction() as db:
            tracking = db.execute(
                "DELETE FROM ecs_scaling_policies WHERE resource_id = ? AND policy_name = ?",
                (resource_id, policy_name),
            ).rowcount
            step = db.execute(
                "DELETE FROM ecs_step_policies WHERE resource_id = ? AND policy_name = ?",
                (resource_id, policy_name),
            ).rowcount
        return tracking + step > 0

    def record_scaling_activity(self, activity: Activity) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO ecs_scaling_activities VALUES (?, ?, ?, ?)",
                (
                    activity.activity_id,
                    activity.resource_id,
                    activity.start_time,
                    self._dump(activity),
                ),
            )

    def scaling_activities(self, resource_id: str | None = None) -> list[Activity]:
        rows = self._connection.execute(
            "SELECT document FROM ecs_scaling_activities WHERE (? IS NULL OR resource_id = ?) "
            "ORDER BY start_time DESC",
            (resource_id, resource_id),
        )
        return [self._load(Activity, row[0]) for row in rows]

    # Tasks.

    def put_task(self, task: Task) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ecs_tasks VALUES (?, ?, ?, ?, ?, ?)",
                (
                    task.task_id,
                    task.cluster,
                    task.service,
                    1 if task.last_status == "STOPPED" else 0,
                    task.created_at,
                    self._dump(task),
                ),
            )

    def tasks(
        self, cluster: str | None = None, service: str | None = None, stopped: bool | None = None
    ) -> list[Task]:
        rows = self._connection.execute(
            "SELECT document FROM ecs_tasks WHERE (? IS NULL OR cluster = ?) "
            "AND (? IS NULL OR service = ?) AND (? IS NULL OR stopped = ?) "
            "ORDER BY created_at, task_id",
            (cluster, cluster, service, service, stopped, stopped),
        )
        return [self._load(Task, row[0]) for row in rows]

    def task(self, task_id: str) -> Task | None:
        row = self._connection.execute(
            "SELECT document FROM ecs_tasks WHERE task_id = ?", (task_id,)
        ).fetchone()
        return self._load(Task, row[0]) if row else None

    def forget_stopped_tasks(self, before: float) -> None:
        """ECS shows a STOPPED task for about an hour after it stopped, then forgets it."""
        old = [
            t.task_id
            for t in self.tasks(stopped=True)
            if (t.stopped_at if t.stopped_at is not None else t.created_at) < before
        ]
        if not old:
            return
        with self._transaction() as db:
            db.executemany("DELETE FROM ecs_tasks WHERE task_id = ?", [(i,) for i in old])
