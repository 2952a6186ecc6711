"""What every store of the control plane shares: one SQLite file, WAL, short transactions.

The Auto Scaling store (``orchestrator.asg.store``), the load balancers' (``orchestrator.elb``)
and ECS's (``orchestrator.ecs``) keep their tables in the same file, so one volume holds the
whole desired state and the dashboard can read it while controllers write. Each store owns its
tables and its schema version; only the Auto Scaling store uses ``PRAGMA user_version``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")


class SchemaVersionError(RuntimeError):
    """The file was written by a newer Barista; refusing beats silently misreading it."""


class SqliteStore:
    """One connection, used from one thread at a time (open one store per thread); every
    write is its own ``BEGIN IMMEDIATE`` transaction, so concurrent writers queue instead of
    failing (``busy_timeout``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection = sqlite3.connect(self.path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
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
        """Create or upgrade this store's tables; called once per connection."""
        raise NotImplementedError


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter_of(kind: type[Any]) -> TypeAdapter[Any]:
    """One pydantic adapter per document type for the process: building one costs more than
    a whole API request that opens a store (a quarter of an SQS call, by ``make bench-sqs``'s
    profile). ``setdefault`` keeps it safe across threads: at worst two are built, one kept."""
    adapter = _ADAPTERS.get(kind)
    return adapter if adapter is not None else _ADAPTERS.setdefault(kind, TypeAdapter(kind))


class DocumentStore(SqliteStore):
    """A store of typed documents (pydantic-validated JSON) with its own versioned tables.

    Subclasses name their ``SCHEMA`` (``CREATE TABLE IF NOT EXISTS`` statements, including a
    one-column ``{PREFIX}_schema (version)`` table), ``PREFIX`` and ``SCHEMA_VERSION``.
    """

    SCHEMA: ClassVar[str]
    PREFIX: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]

    def _migrate(self) -> None:
        with self._transaction() as db:
            for statement in self.SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            table = f"{self.PREFIX}_schema"
            row = db.execute(f"SELECT version FROM {table}").fetchone()  # noqa: S608 - a class constant
            if row is None:
                db.execute(f"INSERT INTO {table} (version) VALUES (?)", (self.SCHEMA_VERSION,))  # noqa: S608
            elif row[0] > self.SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path} has {self.PREFIX.upper()} schema version {row[0]}; this "
                    f"Barista knows {self.SCHEMA_VERSION} at most"
                )

    @staticmethod
    def _adapter(kind: type[T]) -> TypeAdapter[T]:
        adapter: TypeAdapter[T] = _adapter_of(kind)
        return adapter

    def _dump(self, value: object) -> str:
        return self._adapter(type(value)).dump_json(value).decode()

    def _load(self, kind: type[T], document: str) -> T:
        return self._adapter(kind).validate_json(document)

    def _all(self, kind: type[T], query: str, *args: object) -> list[T]:
        rows = self._connection.execute(query, args).fetchall()
        return [self._load(kind, document) for (document,) in rows]
