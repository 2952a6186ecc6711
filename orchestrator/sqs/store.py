"""SQS queue records in the orchestrator's SQLite file (tables ``sqs_*``)."""

from __future__ import annotations

from orchestrator.sqlite import DocumentStore
from orchestrator.sqs.model import Queue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sqs_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sqs_queues (name TEXT PRIMARY KEY, document TEXT NOT NULL);
"""


class SqsStore(DocumentStore):
    SCHEMA = _SCHEMA
    PREFIX = "sqs"
    SCHEMA_VERSION = 1

    def get(self, name: str) -> Queue | None:
        row = self._connection.execute(
            "SELECT document FROM sqs_queues WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else self._load(Queue, row[0])

    def all(self) -> list[Queue]:
        return self._all(Queue, "SELECT document FROM sqs_queues ORDER BY name")

    def put(self, queue: Queue) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO sqs_queues (name, document) VALUES (?, ?)",
                (queue.name, self._dump(queue)),
            )

    def create(self, queue: Queue) -> bool:
        """Insert unless a queue of that name exists; True if inserted."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO sqs_queues (name, document) VALUES (?, ?)",
                (queue.name, self._dump(queue)),
            )
            return cursor.rowcount == 1

    def delete(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sqs_queues WHERE name = ?", (name,))
