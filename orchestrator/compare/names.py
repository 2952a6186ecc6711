"""Fresh names per run, so experiments never see each other's (or an earlier run's) messages."""

from __future__ import annotations

import uuid


def fresh(experiment: str) -> str:
    """``compare-{experiment}-{8 hex}``: valid as a Kafka topic, RabbitMQ queue and Redis key."""
    return f"compare-{experiment}-{uuid.uuid4().hex[:8]}"
