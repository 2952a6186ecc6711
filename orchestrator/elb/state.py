"""The load balancers' desired state, in the same SQLite file as the Auto Scaling store.

The ASG ``Store`` owns ``PRAGMA user_version``; these tables are named ``elb_*`` and keep their
own schema version in ``elb_schema``, so either schema can move without the other. Documents
are JSON written by pydantic from the model's dataclasses. Besides the resources, three tables
hold what the reconciler needs to survive a restart: explicit target registrations, target
groups attached to Auto Scaling groups, and deregistrations (when draining began, and whether
it is over, so an instance still running after its drain is not registered again).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.elb.model import Listener, LoadBalancer, Rule, Target, TargetGroup
from orchestrator.sqlite import DocumentStore, SchemaVersionError

ELB_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS elb_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS elb_load_balancers (
    arn TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS elb_listeners (
    arn TEXT PRIMARY KEY, load_balancer_arn TEXT NOT NULL, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS elb_rules (
    arn TEXT PRIMARY KEY, listener_arn TEXT NOT NULL, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS elb_target_groups (
    arn TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS elb_targets (
    target_group_arn TEXT NOT NULL, target_id TEXT NOT NULL, port INTEGER NOT NULL,
    PRIMARY KEY (target_group_arn, target_id, port)
);
CREATE TABLE IF NOT EXISTS elb_deregistrations (
    target_group_arn TEXT NOT NULL, target_id TEXT NOT NULL, port INTEGER NOT NULL,
    started_at REAL NOT NULL, drained INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_group_arn, target_id, port)
);
CREATE TABLE IF NOT EXISTS elb_attachments (
    auto_scaling_group_name TEXT NOT NULL, target_group_arn TEXT NOT NULL,
    PRIMARY KEY (auto_scaling_group_name, target_group_arn)
);
"""


# Raised when the elb_* tables were written by a newer Barista.
ElbSchemaVersionError = SchemaVersionError


@dataclass(frozen=True)
class Deregistration:
    """A target leaving its group: draining since ``started_at`` until ``drained``."""

    target_group_arn: str
    target: Target
    started_at: float
    drained: bool = False


class ElbStore(DocumentStore):
    """Load balancer resources and target bookkeeping; every write is its own transaction.

    Like the ASG ``Store``, one connection per store, used from one thread at a time.
    """

    SCHEMA = _SCHEMA
    PREFIX = "elb"
    SCHEMA_VERSION = ELB_SCHEMA_VERSION

    # Load balancers, listeners, rules, target groups: documents keyed by ARN.

    def put_load_balancer(self, value: LoadBalancer) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO elb_load_balancers VALUES (?, ?, ?)",
                (value.load_balancer_arn, value.load_balancer_name, self._dump(value)),
            )

    def load_balancers(self) -> list[LoadBalancer]:
        return self._all(LoadBalancer, "SELECT document FROM elb_load_balancers ORDER BY name")

    def put_listener(self, value: Listener) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO elb_listeners VALUES (?, ?, ?)",
                (value.listener_arn, value.load_balancer_arn, self._dump(value)),
            )

    def listeners(self) -> list[Listener]:
        return self._all(Listener, "SELECT document FROM elb_listeners ORDER BY arn")

    def put_rule(self, value: Rule) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO elb_rules VALUES (?, ?, ?)",
                (value.rule_arn, value.listener_arn, self._dump(value)),
            )

    def rules(self) -> list[Rule]:
        return self._all(Rule, "SELECT document FROM elb_rules ORDER BY arn")

    def put_target_group(self, value: TargetGroup) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO elb_target_groups VALUES (?, ?, ?)",
                (value.target_group_arn, value.target_group_name, self._dump(value)),
            )

    def target_groups(self) -> list[TargetGroup]:
        return self._all(TargetGroup, "SELECT document FROM elb_target_groups ORDER BY name")

    def delete_load_balancer(self, load_balancer_arn: str) -> None:
        """Deletes the load balancer with its listeners and their rules, as AWS does."""
        with self._transaction() as db:
            listener_arns = [
                arn
                for (arn,) in db.execute(
                    "SELECT arn FROM elb_listeners WHERE load_balancer_arn = ?",
                    (load_balancer_arn,),
                )
            ]
            for listener_arn in listener_arns:
                db.execute("DELETE FROM elb_rules WHERE listener_arn = ?", (listener_arn,))
            db.execute(
                "DELETE FROM elb_listeners WHERE load_balancer_arn = ?", (load_balancer_arn,)
            )
            db.execute("DELETE FROM elb_load_balancers WHERE arn = ?", (load_balancer_arn,))

    def delete_listener(self, listener_arn: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM elb_rules WHERE listener_arn = ?", (listener_arn,))
            db.execute("DELETE FROM elb_listeners WHERE arn = ?", (listener_arn,))

    def delete_rule(self, rule_arn: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM elb_rules WHERE arn = ?", (rule_arn,))

    def delete_target_group(self, target_group_arn: str) -> None:
        with self._transaction() as db:
            for table in ("elb_targets", "elb_deregistrations", "elb_attachments"):
                db.execute(
                    f"DELETE FROM {table} WHERE target_group_arn = ?",  # noqa: S608 (fixed names)
                    (target_group_arn,),
                )
            db.execute("DELETE FROM elb_target_groups WHERE arn = ?", (target_group_arn,))

    # Targets registered through the API (RegisterTargets), with their ports resolved.

    def register_targets(self, target_group_arn: str, targets: list[Target]) -> None:
        """Register, cancelling any deregistration of the same targets (AWS does the same)."""
        with self._transaction() as db:
            for target in targets:
                key = (target_group_arn, target.id, target.port)
                db.execute("INSERT OR IGNORE INTO elb_targets VALUES (?, ?, ?)", key)
                db.execute(
                    "DELETE FROM elb_deregistrations "
                    "WHERE target_group_arn = ? AND target_id = ? AND port = ?",
                    key,
                )

    def registered_targets(self, target_group_arn: str) -> list[Target]:
        rows = self._connection.execute(
            "SELECT target_id, port FROM elb_targets WHERE target_group_arn = ? "
            "ORDER BY target_id, port",
            (target_group_arn,),
        ).fetchall()
        return [Target(target_id, port) for target_id, port in rows]

    def deregister_targets(self, target_group_arn: str, targets: list[Target], now: float) -> None:
        """Remove registrations and start draining; an ongoing drain keeps its start time."""
        with self._transaction() as db:
            for target in targets:
                key = (target_group_arn, target.id, target.port)
                db.execute(
                    "DELETE FROM elb_targets "
                    "WHERE target_group_arn = ? AND target_id = ? AND port = ?",
                    key,
                )
                db.execute(
                    "INSERT OR IGNORE INTO elb_deregistrations VALUES (?, ?, ?, ?, 0)",
                    (*key, now),
                )

    def deregistrations(self, target_group_arn: str | None = None) -> list[Deregistration]:
        query = (
            "SELECT target_group_arn, target_id, port, started_at, drained FROM elb_deregistrations"
        )
        args: tuple[str, ...] = ()
        if target_group_arn is not None:
            query += " WHERE target_group_arn = ?"
            args = (target_group_arn,)
        return [
            Deregistration(arn, Target(target_id, port), started_at, bool(drained))
            for arn, target_id, port, started_at, drained in self._connection.execute(query, args)
        ]

    def mark_drained(self, target_group_arn: str, target: Target) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE elb_deregistrations SET drained = 1 "
                "WHERE target_group_arn = ? AND target_id = ? AND port = ?",
                (target_group_arn, target.id, target.port),
            )

    def forget_deregistration(self, target_group_arn: str, target: Target) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM elb_deregistrations "
                "WHERE target_group_arn = ? AND target_id = ? AND port = ?",
                (target_group_arn, target.id, target.port),
            )

    # AttachLoadBalancerTargetGroups: an Auto Scaling group's instances are targets.

    def attach_target_groups(self, group_name: str, target_group_arns: list[str]) -> None:
        with self._transaction() as db:
            for target_group_arn in target_group_arns:
                db.execute(
                    "INSERT OR IGNORE INTO elb_attachments VALUES (?, ?)",
                    (group_name, target_group_arn),
                )

    def detach_target_groups(self, group_name: str, target_group_arns: list[str]) -> None:
        with self._transaction() as db:
            for target_group_arn in target_group_arns:
                db.execute(
                    "DELETE FROM elb_attachments "
                    "WHERE auto_scaling_group_name = ? AND target_group_arn = ?",
                    (group_name, target_group_arn),
                )

    def attachments(self) -> dict[str, list[str]]:
        """Auto Scaling group name -> target group ARNs attached to it."""
        attached: dict[str, list[str]] = {}
        for group_name, target_group_arn in self._connection.execute(
            "SELECT auto_scaling_group_name, target_group_arn FROM elb_attachments "
            "ORDER BY auto_scaling_group_name, target_group_arn"
        ):
            attached.setdefault(group_name, []).append(target_group_arn)
        return attached
