"""redis-py's errors as this package's, around every receive and ack (no server needed)."""

from __future__ import annotations

import pytest
import redis.exceptions

from broker_adapters.core import BrokerError, BrokerUnavailable, QueueNotDeclared
from broker_adapters.redis.config import RedisConfig
from broker_adapters.redis.keys import queue_keys
from broker_adapters.redis.streams import StreamReceiver, StreamSpec


@pytest.fixture
def receiver() -> StreamReceiver:
    spec = StreamSpec(queue_keys("orders"), True, None, "queue 'orders'", QueueNotDeclared)
    client = redis.Redis(host="127.0.0.1", port=1)  # never called: no connection is made
    return StreamReceiver(client, None, RedisConfig(), "c-1", spec)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raised", "expected", "words"),
    [
        (redis.exceptions.ConnectionError("gone"), BrokerUnavailable, "did not answer ack on"),
        (redis.exceptions.AuthenticationError("bad"), BrokerError, "refused ack on"),
        (redis.exceptions.ResponseError("WRONGTYPE"), BrokerError, "failed ack on"),
    ],
)
def test_a_redis_error_names_the_operation_and_the_queue(
    receiver: StreamReceiver, raised: Exception, expected: type[BrokerError], words: str
):
    translated = pytest.raises(expected, match=f"{words} queue 'orders'")
    with translated as caught, receiver.guarded("ack"):
        raise raised
    assert caught.value.__cause__ is raised


def test_a_vanished_group_is_the_streams_missing_error(receiver: StreamReceiver):
    missing = pytest.raises(QueueNotDeclared, match="queue 'orders' no longer exists in Redis")
    with missing, receiver.guarded("receive"):
        raise redis.exceptions.ResponseError("NOGROUP No such key 'barista:queue:orders'")


def test_errors_already_ours_or_not_redis_pass_through_unchanged(receiver: StreamReceiver):
    ours = BrokerUnavailable("the budget ran out")
    with pytest.raises(BrokerUnavailable) as caught, receiver.guarded("ack"):
        raise ours
    assert caught.value is ours
    with pytest.raises(ValueError, match="a bug"), receiver.guarded("ack"):
        raise ValueError("a bug")
