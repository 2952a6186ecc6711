"""`barista compare` on real brokers: what it observes agrees with each backend's Features.

The experiments run once per backend (through the same runner as the CLI, on the session
brokers) and each test checks one experiment's observation against what the backend declares:
fan-out gives every subscription everything, competing consumers split the work with no loss,
a poison message reaches the dead-letter queue, and so on. A wrong measurement or a broken
adapter fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from broker_adapters import connect
from orchestrator.compare import crash, duplicates, fanout, ordering, poison, subscribers
from orchestrator.compare.observations import (
    BackendReport,
    CrashRedelivery,
    Duplicates,
    FanOut,
    OfflineSubscriber,
    Ordering,
    PoisonMessage,
    Unsupported,
)
from orchestrator.compare.runner import run_backend
from tests.support.brokers import Endpoint

# The runner and its observations are one layer above the brokers, whose semantics the contract
# suite checks on every backend: make test compares on Redis, make test-matrix (and make
# compare) on every backend.
pytestmark = [pytest.mark.docker, pytest.mark.matrix(ci="redis")]


@pytest.fixture(scope="module")
def reports() -> dict[str, BackendReport]:
    """One comparison run per backend, shared by this module's tests."""
    return {}


@pytest.fixture
def report(reports: dict[str, BackendReport], backend: str, endpoint: Endpoint) -> BackendReport:
    if backend not in reports:
        reports[backend] = run_backend(backend, endpoint.url)
    return reports[backend]


@pytest.fixture
def features(endpoint: Endpoint):
    with connect(endpoint.url) as broker:
        return broker.features


def observed(report: BackendReport, name: str, kind: type) -> Any:
    result = report.results[name]  # type: ignore[index]
    assert isinstance(result, kind), f"{report.backend} {name}: {result}"
    return result


def test_every_experiment_ran_and_the_url_is_redacted(report: BackendReport, endpoint: Endpoint):
    assert report.error is None
    assert report.ok, report.results
    assert endpoint.credentials.password not in report.url
    assert report.features["durable_subscriptions"] is True


def test_a_topic_fans_out_to_every_subscription_and_a_queue_splits_the_work(report):
    fan_out: FanOut = observed(report, "fan-out", FanOut)
    assert fan_out.per_subscription == (fanout.MESSAGES, fanout.MESSAGES)
    assert sum(fan_out.per_consumer) == fanout.MESSAGES
    assert (fan_out.queue_lost, fan_out.queue_duplicates) == (0, 0)
    assert min(fan_out.per_consumer) > 0, f"work was not shared: {fan_out.per_consumer}"


def test_a_durable_subscriber_misses_nothing_and_a_fire_and_forget_one_everything(report, features):
    offline: OfflineSubscriber = observed(report, "offline-subscriber", OfflineSubscriber)
    if features.durable_subscriptions:
        assert offline.durable_missed == 0
    else:
        assert isinstance(offline.durable_missed, Unsupported)
    if features.fire_and_forget_subscriptions:
        assert offline.fire_and_forget_missed == subscribers.WHILE_AWAY
    else:
        assert isinstance(offline.fire_and_forget_missed, Unsupported)


def test_order_per_group_holds_where_the_backend_declares_it(report, features):
    result: Ordering = observed(report, "ordering", Ordering)
    assert result.single_consumer_groups_in_order == ordering.GROUPS
    if features.ordering == "group":
        assert result.competing_groups_in_order == ordering.GROUPS
        assert result.competing_group_overlaps == 0
    else:
        assert 0 <= result.competing_groups_in_order <= ordering.GROUPS


def test_a_crashed_consumers_messages_are_redelivered_as_declared(report, features):
    result: CrashRedelivery = observed(report, "crash-redelivery", CrashRedelivery)
    assert result.held == crash.HELD
    assert result.redelivered == crash.HELD
    expected_attempt = 2 if features.counts_crash_redeliveries else 1
    assert set(result.attempts) == {expected_attempt}
    assert result.seconds_to_first is not None
    if features.visibility_timeout:
        # Not before the visibility timeout the crashed consumer asked for.
        assert result.seconds_to_first >= crash.VISIBILITY_TIMEOUT - 0.2


def test_a_poison_message_reaches_the_dead_letter_queue_with_its_reason(report):
    result: PoisonMessage = observed(report, "poison-message", PoisonMessage)
    assert result.dead_lettered
    assert result.receive_attempts == tuple(range(1, poison.MAX_RECEIVE_COUNT + 1))
    assert result.reason_kept
    assert result.source_kept


def test_duplicates_are_dropped_or_refused_as_declared(report, features):
    result: Duplicates = observed(report, "duplicates", Duplicates)
    if features.deduplication:
        assert result.dedup_copies_delivered == 1
    else:
        assert isinstance(result.dedup_copies_delivered, Unsupported)
        assert "dedup" in result.dedup_copies_delivered.reason.lower()
    if features.visibility_timeout:
        assert result.slow_consumer_deliveries >= 2
    else:
        assert result.slow_consumer_deliveries == 1
    assert result.window == duplicates.WINDOW
