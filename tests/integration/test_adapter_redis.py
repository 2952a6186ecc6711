"""The Redis backend's own behaviour, beyond the contract suite: its key layout (what other
clients see and may write), its adapter-made semantics (per-receive visibility, dead-lettering
of crash loops inside the receive script, receipts), long polling, and riding out restarts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from broker_adapters import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    UnsupportedSemantic,
    connect,
)
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE
from broker_adapters.redis import RedisBroker, RedisConfig
from tests.support.brokers import Endpoint, redis_client, start_redis
from tests.support.containers import Credentials, free_loopback_port
from tests.support.receiving import receive_count, receive_until, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def client(redis_server: Endpoint) -> Iterator[redis.Redis]:
    """A plain redis-py client: what another program sharing the server sees."""
    plain = redis_client(redis_server.port, redis_server.credentials)
    yield plain
    plain.close()


@pytest.fixture
def brokers(redis_server: Endpoint) -> Iterator[list[Broker]]:
    """Broker instances (each one a consumer of its own); all closed after the test."""
    opened: list[Broker] = []
    yield opened
    for broker in reversed(opened):
        broker.close()


def open_broker(endpoint: Endpoint, opened: list[Broker], **options: object) -> Broker:
    broker = connect(endpoint.url, **options)
    opened.append(broker)
    return broker


@pytest.fixture
def broker(redis_server: Endpoint, brokers: list[Broker]) -> Broker:
    return open_broker(redis_server, brokers)


# What other clients see and may write


def test_the_queue_config_is_stored_where_other_tools_can_read_it(
    broker: Broker, client: redis.Redis, unique_name: str
):
    dlq = f"{unique_name}-dlq"
    config = QueueConfig(visibility_timeout=7, redrive_policy=RedrivePolicy(dlq, 4))
    broker.declare_queue(unique_name, config)
    broker.declare_queue(unique_name, config)  # idempotent

    assert client.hgetall(f"barista:queue:{unique_name}:config") == {
        b"visibility_timeout": b"7",
        b"deduplication_window": b"300",
        b"dead_letter_queue": dlq.encode(),
        b"max_receive_count": b"4",
    }
    assert client.hgetall(f"barista:queue:{dlq}:config") == {
        b"visibility_timeout": b"30",
        b"deduplication_window": b"300",
    }
    for stream in (unique_name, dlq):
        [group] = client.xinfo_groups(f"barista:queue:{stream}")
        assert group["name"] == b"workers"


def test_an_entry_added_by_a_plain_client_is_received_with_the_entry_id_as_message_id(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    entry_id = client.xadd(
        f"barista:queue:{unique_name}",
        {"body": b'{"drink": "flat white"}', "customer": "alice"},
    ).decode()

    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1)

    message = delivery.message
    assert (message.id, message.body, message.attempt) == (
        entry_id,
        b'{"drink": "flat white"}',
        1,
    )
    assert message.timestamp == int(entry_id.split("-")[0]) / 1000
    assert message.headers == {"customer": "alice"}


def test_a_message_is_one_entry_with_body_wire_headers_and_user_headers_as_json(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    sent = broker.send(
        unique_name, b"\x00binary\xff", group_id="table-2", headers={"body": "not the body"}
    )

    [(_, fields)] = client.xrange(f"barista:queue:{unique_name}")

    assert fields[b"body"] == b"\x00binary\xff"
    assert fields[b"barista-id"] == sent.encode()
    assert fields[b"barista-group-id"] == b"table-2"
    assert fields[b"headers"] == b'{"body": "not the body"}'
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1)
    assert delivery.message.body == b"\x00binary\xff"
    assert delivery.message.headers == {"body": "not the body"}


def test_acked_entries_are_deleted_so_the_stream_holds_only_visible_and_in_flight(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    broker.send_batch(unique_name, [OutgoingMessage(b"cup") for _ in range(5)])
    held = receive_count(lambda: broker.receive(unique_name, 3, wait=2), 3, ack=False)
    held[0].ack()

    assert client.xlen(f"barista:queue:{unique_name}") == 4
    assert broker.backlog(unique_name).visible == 2
    assert broker.backlog(unique_name).in_flight == 2


def test_a_delayed_message_waits_in_a_sorted_set_and_counts_as_delayed(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    sent = broker.send(unique_name, b"later", delay=1)

    assert client.zscore(f"barista:queue:{unique_name}:delayed", sent) is not None
    assert client.xlen(f"barista:queue:{unique_name}") == 0
    assert broker.backlog(unique_name).delayed == 1
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, timeout=10)
    assert delivery.message.id == sent
    assert broker.backlog(unique_name).delayed == 0


def test_a_dedup_id_is_a_key_that_expires_with_the_window(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name, QueueConfig(deduplication_window=60))
    sent = broker.send(unique_name, b"order 9", dedup_id="order-9")

    key = f"barista:queue:{unique_name}:dedup:order-9"
    assert client.get(key) == sent.encode()
    assert 0 < client.pttl(key) <= 60_000


def test_delete_queue_removes_every_key_of_the_queue(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"now", dedup_id="a")
    broker.send(unique_name, b"later", delay=60)
    receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)

    broker.delete_queue(unique_name)

    assert client.keys(f"barista:queue:{unique_name}*") == []
    with pytest.raises(QueueNotDeclared):
        broker.receive(unique_name)


def test_a_queue_deleted_by_another_client_is_reported_as_not_declared(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    client.delete(f"barista:queue:{unique_name}")

    with pytest.raises(QueueNotDeclared, match="no longer exists"):
        broker.receive(unique_name)


def test_names_that_could_collide_with_key_suffixes_are_refused(broker: Broker):
    with pytest.raises(ValueError, match="letters, digits"):
        broker.declare_queue("orders:config")
    with pytest.raises(ValueError, match="letters, digits"):
        broker.publish("menu updates", b"x")


# Adapter-made queue semantics


def test_the_visibility_timeout_is_chosen_per_receive(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name, QueueConfig(visibility_timeout=600))
    sent = broker.send(unique_name, b"quick")
    receive_count(
        lambda: broker.receive(unique_name, 1, wait=2, visibility_timeout=1), 1, ack=False
    )

    [again] = receive_count(lambda: broker.receive(unique_name, 1, wait=1), 1, timeout=10)

    assert (again.message.id, again.message.attempt) == (sent, 2)


def test_a_consumer_that_crashes_on_every_receive_is_dead_lettered_without_any_nack(
    broker: Broker, unique_name: str
):
    dlq = f"{unique_name}-dlq"
    broker.declare_queue(
        unique_name, QueueConfig(visibility_timeout=0.5, redrive_policy=RedrivePolicy(dlq, 2))
    )
    sent = broker.send(unique_name, b"crashes the barista", headers={"origin": "counter-1"})
    attempts: list[int] = []

    def crash_on_it() -> list:
        # Receives and never settles: what a consumer that dies on the message looks like.
        attempts.extend(d.message.attempt for d in broker.receive(unique_name, 1, wait=1))
        return broker.receive(dlq, 1)

    [letter] = receive_until(crash_on_it, lambda got: len(got) >= 1, timeout=20, ack=False)

    assert attempts == [1, 2]
    assert letter.message.id == sent
    assert letter.message.attempt == 3, "two receives on the queue, then one on the DLQ"
    assert letter.message.headers == {
        "origin": "counter-1",
        DEAD_LETTER_REASON: "max receive count exceeded",
        DEAD_LETTER_SOURCE: unique_name,
    }
    assert broker.backlog(unique_name).total == 0


def test_a_nack_after_the_visibility_timeout_ran_out_leaves_the_new_holder_alone(
    redis_server: Endpoint, brokers: list[Broker], unique_name: str
):
    first, second = open_broker(redis_server, brokers), open_broker(redis_server, brokers)
    for broker in (first, second):
        broker.declare_queue(unique_name)
    broker_sent = first.send(unique_name, b"slow")
    [late] = receive_count(
        lambda: first.receive(unique_name, 1, wait=2, visibility_timeout=0.5), 1, ack=False
    )
    [current] = receive_count(lambda: second.receive(unique_name, 1, wait=1), 1, ack=False)
    assert current.message.id == broker_sent

    assert late.nack(requeue=True) is True
    assert late.outcome is Outcome.REQUEUED
    assert first.receive(unique_name, 1, wait=0.5) == [], "still in flight with the second"
    assert current.ack() is True
    assert second.backlog(unique_name).total == 0


def blocked_in_xread(client: redis.Redis) -> bool:
    """Whether some client is blocked in XREAD: a long poll that is really waiting."""
    return any(entry["cmd"] == "xread" and "b" in entry["flags"] for entry in client.client_list())


# A long poll that would sleep through the whole test unless something wakes it.
SLEEPY = {"socket_timeout": 30.0, "long_poll_slice": 25.0}


def test_a_long_poll_wakes_when_another_consumer_nacks(
    redis_server: Endpoint, brokers: list[Broker], client: redis.Redis, unique_name: str
):
    holder = open_broker(redis_server, brokers)
    waiter = open_broker(redis_server, brokers, **SLEEPY)
    for broker in (holder, waiter):
        broker.declare_queue(unique_name, QueueConfig(visibility_timeout=600))
    holder.send(unique_name, b"handed back")
    [held] = receive_count(lambda: holder.receive(unique_name, 1, wait=2), 1, ack=False)
    got: list = []
    polling = threading.Thread(target=lambda: got.extend(waiter.receive(unique_name, 1, wait=20)))
    polling.start()
    try:
        assert wait_for(lambda: blocked_in_xread(client), timeout=10)
        nacked_at = time.monotonic()
        held.nack(requeue=True)
    finally:
        polling.join(30)

    assert [d.message.attempt for d in got] == [2]
    assert time.monotonic() - nacked_at < 15, "woken by the nack, not by the end of the wait"


def test_a_long_poll_wakes_when_a_message_is_sent(
    redis_server: Endpoint, brokers: list[Broker], client: redis.Redis, unique_name: str
):
    waiter = open_broker(redis_server, brokers, **SLEEPY)
    sender = open_broker(redis_server, brokers)
    for broker in (waiter, sender):
        broker.declare_queue(unique_name)
    got: list = []
    polling = threading.Thread(target=lambda: got.extend(waiter.receive(unique_name, 1, wait=20)))
    polling.start()
    try:
        assert wait_for(lambda: blocked_in_xread(client), timeout=10)
        sent_at = time.monotonic()
        sent = sender.send(unique_name, b"wake up")
    finally:
        polling.join(30)

    assert [d.message.id for d in got] == [sent]
    assert time.monotonic() - sent_at < 15, "woken by the send, not by the end of the wait"


def test_close_hands_unsettled_deliveries_back_at_once(
    redis_server: Endpoint, brokers: list[Broker], unique_name: str
):
    leaving, staying = open_broker(redis_server, brokers), open_broker(redis_server, brokers)
    for broker in (leaving, staying):
        broker.declare_queue(unique_name, QueueConfig(visibility_timeout=600))
    sent = leaving.send(unique_name, b"unfinished")
    receive_count(lambda: leaving.receive(unique_name, 1, wait=2), 1, ack=False)

    leaving.close()

    [again] = receive_count(lambda: staying.receive(unique_name, 1, wait=1), 1, timeout=5)
    assert (again.message.id, again.message.attempt) == (sent, 2)


def test_declare_forgets_idle_consumers_that_hold_nothing(
    redis_server: Endpoint, brokers: list[Broker], client: redis.Redis, unique_name: str
):
    gone = open_broker(redis_server, brokers)
    gone.declare_queue(unique_name)
    gone.send(unique_name, b"x")
    receive_count(lambda: gone.receive(unique_name, 1, wait=2), 1)
    stream = f"barista:queue:{unique_name}"
    assert [c["name"] for c in client.xinfo_consumers(stream, "workers")] == [
        gone.consumer_name.encode()
    ]
    pruning = open_broker(redis_server, brokers, prune_idle_consumers_after=0.05)

    def pruned() -> bool:
        pruning.declare_queue(unique_name)
        return client.xinfo_consumers(stream, "workers") == []

    assert wait_for(pruned, timeout=10)


def test_queue_operations_survive_a_script_cache_flush(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"before")
    client.script_flush()  # what a restarted server looks like to EVALSHA

    broker.send_batch(unique_name, [OutgoingMessage(b"after")])
    got = receive_count(lambda: broker.receive(unique_name, 10, wait=2), 2)

    assert sorted(d.message.body for d in got) == [b"after", b"before"]


# Topics


def test_a_durable_ack_keeps_the_entry_for_the_other_subscriptions(
    broker: Broker, client: redis.Redis, unique_name: str
):
    kitchen = broker.subscribe(unique_name, "kitchen")
    loyalty = broker.subscribe(unique_name, "loyalty")
    sent = broker.publish(unique_name, b"order ready")

    [delivery] = receive_count(lambda: kitchen.receive(1, wait=2), 1)
    assert client.xlen(f"barista:topic:{unique_name}") == 1
    [other] = receive_count(lambda: loyalty.receive(1, wait=2), 1)
    assert delivery.message.id == other.message.id == sent


def test_a_nacked_subscription_delivery_comes_again_with_its_attempt_counted(
    broker: Broker, unique_name: str
):
    subscription = broker.subscribe(unique_name, "notifier")
    sent = broker.publish(unique_name, b"order ready")
    [first] = receive_count(lambda: subscription.receive(1, wait=2), 1, ack=False)
    assert first.nack(requeue=True) is True

    [again] = receive_count(lambda: subscription.receive(1, wait=2), 1)

    assert (again.message.id, again.message.attempt) == (sent, 2)


def test_delete_subscription_destroys_its_consumer_group(
    broker: Broker, client: redis.Redis, unique_name: str
):
    broker.subscribe(unique_name, "kitchen")
    broker.subscribe(unique_name, "loyalty")

    broker.delete_subscription(unique_name, "kitchen")

    groups = client.xinfo_groups(f"barista:topic:{unique_name}")
    assert [group["name"] for group in groups] == [b"loyalty"]


def test_topic_streams_are_trimmed_to_about_the_configured_length(
    redis_server: Endpoint, brokers: list[Broker], client: redis.Redis, unique_name: str
):
    broker = open_broker(redis_server, brokers, topic_max_length=100)
    for _ in range(5):
        broker.publish_batch(unique_name, [OutgoingMessage(b"x") for _ in range(100)])

    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default), never below the bound.
    assert 100 <= client.xlen(f"barista:topic:{unique_name}") < 500


def test_a_plain_publish_reaches_fire_and_forget_subscriptions_as_all_body(
    broker: Broker, client: redis.Redis, unique_name: str
):
    live = broker.subscribe(unique_name, "display", durable=False)
    client.publish(f"barista:topic:{unique_name}", b"hello from redis-cli")

    [delivery] = receive_count(lambda: live.receive(1, wait=2), 1, ack=False)

    assert delivery.message.body == b"hello from redis-cli"
    assert delivery.message.id.startswith("body-")
    assert delivery.nack() is True
    assert delivery.outcome is Outcome.DROPPED, "nothing can requeue a Pub/Sub message"


def test_topics_refuse_delay_and_deduplication(broker: Broker, unique_name: str):
    with pytest.raises(UnsupportedSemantic):
        broker.publish_batch(unique_name, [OutgoingMessage(b"x", delay=5)])


# Connecting


def test_options_come_from_keywords_or_the_url_query(redis_server: Endpoint):
    with connect(f"{redis_server.url}/0?reconnect_budget=2.5", topic_max_length=10) as broker:
        assert isinstance(broker, RedisBroker)
        assert broker.config.reconnect_budget == 2.5
        assert broker.config.topic_max_length == 10
    with pytest.raises(TypeError, match="known options are"):
        connect(redis_server.url, reconnect_budgett=1)


def test_wrong_credentials_fail_at_once_rather_than_being_retried(redis_server: Endpoint):
    url = redis_server.url.replace(redis_server.credentials.password, "wrong")
    started = time.monotonic()
    with pytest.raises(BrokerError, match="refused") as raised:
        connect(url)
    assert not isinstance(raised.value, BrokerUnavailable)
    assert time.monotonic() - started < 5


def test_an_unreachable_server_is_unavailable_after_the_reconnect_budget():
    url = f"redis://user:pw@127.0.0.1:{free_loopback_port()}"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="reconnect budget"):
        connect(url, reconnect_budget=1)
    assert 1 <= time.monotonic() - started < 10


def test_the_config_refuses_a_long_poll_slice_the_socket_timeout_would_cut():
    with pytest.raises(ValueError, match="long_poll_slice"):
        RedisConfig(socket_timeout=1, long_poll_slice=1)


# Restarts


@pytest.fixture
def own_redis() -> Iterator[Endpoint]:
    """A Redis of the test's own, since the test restarts it."""
    endpoint = start_redis(Credentials.generate("restart-redis"))
    try:
        yield endpoint
    finally:
        endpoint.container.stop()


def test_subscriptions_ride_out_a_restart_without_being_rebuilt(
    own_redis: Endpoint, unique_name: str
):
    with connect(own_redis.url) as broker:
        durable = broker.subscribe(unique_name, "kitchen")
        live = broker.subscribe(unique_name, "display", durable=False)
        published = broker.publish(unique_name, b"before the restart")

        own_redis.container.get_wrapped_container().restart(timeout=10)

        [kept] = receive_count(lambda: durable.receive(1, wait=2), 1, timeout=30)
        assert kept.message.id == published

        def heard_after_restart() -> list:
            # Pub/Sub keeps nothing: publish until the resubscribed connection hears one.
            broker.publish(unique_name, b"after the restart")
            return live.receive(1, wait=0.5)

        def heard(got: list) -> bool:
            # What was published before the restart may still be in the socket's buffer.
            return any(d.message.body == b"after the restart" for d in got)

        assert heard(receive_until(heard_after_restart, heard, timeout=30))


# Redis replays the AOF's MULTI/EXEC blocks (how it logs a script's writes) as the default
# user and re-checks its ACL at EXEC. With that user switched off, Redis 8.0 drops every such
# block on restart ("-NOPERM ACLs rules changed …", redis/redis#14541): acks, receives, delayed
# and deduplicated sends were lost. images/redis/start.sh keeps the default user on with a
# random password instead; this test guards that.
def test_queue_state_written_by_scripts_survives_a_restart(own_redis: Endpoint, unique_name: str):
    with connect(own_redis.url) as broker:
        broker.declare_queue(unique_name, QueueConfig(visibility_timeout=1))
        done = broker.send(unique_name, b"acked before the restart")
        held = broker.send(unique_name, b"in flight across the restart")
        later = broker.send(unique_name, b"delayed across the restart", delay=1)
        for delivery in receive_count(lambda: broker.receive(unique_name, 2, wait=2), 2, ack=False):
            if delivery.message.id == done:
                delivery.ack()

        own_redis.container.get_wrapped_container().restart(timeout=10)

        got = receive_count(lambda: broker.receive(unique_name, 10, wait=2), 2, timeout=30)
        assert sorted((d.message.id, d.message.attempt) for d in got) == sorted(
            [(held, 2), (later, 1)]
        )
        assert broker.receive(unique_name, 10, wait=1) == [], "the acked message stays acked"


def test_a_long_poll_waiting_through_a_restart_receives_what_is_sent_after_it(
    own_redis: Endpoint, unique_name: str
):
    with connect(own_redis.url) as waiter, connect(own_redis.url) as sender:
        for broker in (waiter, sender):
            broker.declare_queue(unique_name)
        got: list = []
        errors: list[BaseException] = []

        def poll() -> None:
            try:
                got.extend(waiter.receive(unique_name, 1, wait=20))
            except BaseException as error:  # reported by the test thread
                errors.append(error)

        polling = threading.Thread(target=poll)
        polling.start()
        own_redis.container.get_wrapped_container().restart(timeout=10)
        sent = sender.send(unique_name, b"first order after the restart")
        polling.join(30)

    assert not errors, errors
    assert [d.message.id for d in got] == [sent]
