"""SNS records in the orchestrator's SQLite file (tables ``sns_*``): topics, subscriptions,
and the FIFO topics' deduplication ids (kept for SNS's five-minute window)."""

from __future__ import annotations

from orchestrator.sns.model import Subscription, Topic
from orchestrator.sqlite import DocumentStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sns_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sns_topics (name TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sns_subscriptions (
    id TEXT PRIMARY KEY, topic TEXT NOT NULL, token TEXT NOT NULL, created REAL NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sns_deduplication (
    topic TEXT NOT NULL, dedup_id TEXT NOT NULL, message_id TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (topic, dedup_id)
);
"""


class SnsStore(DocumentStore):
    SCHEMA = _SCHEMA
    PREFIX = "sns"
    SCHEMA_VERSION = 1

    # Topics

    def topic(self, name: str) -> Topic | None:
        row = self._connection.execute(
            "SELECT document FROM sns_topics WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else self._load(Topic, row[0])

    def topics(self) -> list[Topic]:
        return self._all(Topic, "SELECT document FROM sns_topics ORDER BY name")

    def create_topic(self, topic: Topic) -> Topic:
        """Insert unless a topic of that name exists; returns the stored topic."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO sns_topics (name, document) VALUES (?, ?)",
                (topic.name, self._dump(topic)),
            )
        stored = self.topic(topic.name)
        assert stored is not None
        return stored

    def put_topic(self, topic: Topic) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO sns_topics (name, document) VALUES (?, ?)",
                (topic.name, self._dump(topic)),
            )

    def delete_topic(self, name: str) -> list[Subscription]:
        """Delete the topic and its subscriptions; returns the subscriptions deleted."""
        gone = self.subscriptions(name)
        with self._transaction() as db:
            db.execute("DELETE FROM sns_topics WHERE name = ?", (name,))
            db.execute("DELETE FROM sns_subscriptions WHERE topic = ?", (name,))
            db.execute("DELETE FROM sns_deduplication WHERE topic = ?", (name,))
        return gone

    # Subscriptions

    def subscription(self, subscription_id: str) -> Subscription | None:
        row = self._connection.execute(
            "SELECT document FROM sns_subscriptions WHERE id = ?", (subscription_id,)
        ).fetchone()
        return None if row is None else self._load(Subscription, row[0])

    def subscription_by_token(self, token: str) -> Subscription | None:
        row = self._connection.execute(
            "SELECT document FROM sns_subscriptions WHERE token = ?", (token,)
        ).fetchone()
        return None if row is None else self._load(Subscription, row[0])

    def subscriptions(self, topic: str | None = None) -> list[Subscription]:
        return self._all(
            Subscription,
            "SELECT document FROM sns_subscriptions WHERE (? IS NULL OR topic = ?) "
            "ORDER BY created, id",
            topic,
            topic,
        )

    def put_subscription(self, subscription: Subscription) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO sns_subscriptions (id, topic, token, created, document) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    subscription.id,
                    subscription.topic,
                    subscription.token,
                    subscription.created,
                    self._dump(subscription),
                ),
            )

    def delete_subscription(self, subscription_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sns_subscriptions WHERE id = ?", (subscription_id,))

    # FIFO deduplication

    def deduplicate(
        self, topic: str, dedup_id: str, message_id: str, now: float, window: float
    ) -> str | None:
        """Record ``dedup_id``; if it was seen within ``window`` seconds, return the earlier
        message id instead (and record nothing)."""
        with self._transaction() as db:
            db.execute("DELETE FROM sns_deduplication WHERE at < ?", (now - window,))
            row = db.execute(
                "SELECT message_id FROM sns_deduplication WHERE topic = ? AND dedup_id = ?",
                (topic, dedup_id),
            ).fetchone()
            if row is not None:
                return str(row[0])
            db.execute(
                "INSERT INTO sns_deduplication VALUES (?, ?, ?, ?)",
                (topic, dedup_id, message_id, now),
            )
            return None

    def record_message_id(self, topic: str, dedup_id: str, message_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE sns_deduplication SET message_id = ? WHERE topic = ? AND dedup_id = ?",
                (message_id, topic, dedup_id),
            )

    def forget_deduplication(self, topic: str, dedup_id: str) -> None:
        """Forget a reservation whose publish failed, so a retry is not taken for a duplicate."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM sns_deduplication WHERE topic = ? AND dedup_id = ?",
                (topic, dedup_id),
            )
