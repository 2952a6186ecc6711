"""`barista compare --through aws-api`: the same experiments through Barista's SQS and SNS
APIs (boto3), in front of the same real brokers.

What a user of the AWS SDKs sees differs from the adapters' view in the ways SQS and SNS
differ from the brokers: the visibility timeout holds on every backend (Barista's SQS layer
keeps the receipts), ApproximateReceiveCount counts a crashed consumer's receive, a standard
queue refuses a deduplication id, SNS has no fire-and-forget subscriber and a dead-lettered
message carries no reason. Each test checks one of those against the observation.
"""

from __future__ import annotations

from typing import Any

import pytest

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
from orchestrator.compare.through_api import served_api
from tests.support.brokers import Endpoint

# The API layer is the same on every broker: make test keeps Redis, make test-matrix all.
pytestmark = [pytest.mark.docker, pytest.mark.matrix(ci="redis")]


@pytest.fixture(scope="module")
def reports() -> dict[str, BackendReport]:
    return {}


@pytest.fixture
def report(reports: dict[str, BackendReport], backend: str, endpoint: Endpoint) -> BackendReport:
    if backend not in reports:
        with served_api({backend: endpoint.url}) as urls:
            reports[backend] = run_backend(backend, urls[backend])
    return reports[backend]


def observed(report: BackendReport, name: str, kind: type) -> Any:
    result = report.results[name]  # type: ignore[index]
    assert isinstance(result, kind), f"{report.backend} {name}: {result}"
    return result


def test_every_experiment_ran_through_the_apis(report: BackendReport, endpoint: Endpoint):
    assert report.error is None
    assert report.ok, report.results
    assert report.url.startswith("barista-api://")
    assert ":***@" in report.url, "the API's secret key is not shown"
    assert "Barista's SQS layer" in str(report.features["redelivery_after_crash"])


def test_sns_fans_out_to_subscribed_queues_and_a_queue_splits_the_work(report):
    fan_out: FanOut = observed(report, "fan-out", FanOut)
    assert fan_out.per_subscription == (fanout.MESSAGES, fanout.MESSAGES)
    assert sum(fan_out.per_consumer) == fanout.MESSAGES
    assert (fan_out.queue_lost, fan_out.queue_duplicates) == (0, 0)


def test_a_subscribed_queue_keeps_what_arrives_while_away(report):
    offline: OfflineSubscriber = observed(report, "offline-subscriber", OfflineSubscriber)
    assert offline.published_while_away == subscribers.WHILE_AWAY
    assert offline.durable_missed == 0
    assert isinstance(offline.fire_and_forget_missed, Unsupported)
    assert "SNS" in offline.fire_and_forget_missed.reason


def test_one_consumer_sees_every_group_in_order(report):
    result: Ordering = observed(report, "ordering", Ordering)
    assert result.single_consumer_groups_in_order == ordering.GROUPS


def test_a_crashed_consumers_messages_come_back_after_the_visibility_timeout(report):
    result: CrashRedelivery = observed(report, "crash-redelivery", CrashRedelivery)
    assert (result.held, result.redelivered) == (crash.HELD, crash.HELD)
    assert set(result.attempts) == {2}, "ApproximateReceiveCount counts the crashed receive"
    assert result.seconds_to_first is not None
    assert result.seconds_to_first >= crash.VISIBILITY_TIMEOUT - 0.2


def test_the_redrive_policy_dead_letters_the_poison_without_a_reason(report):
    result: PoisonMessage = observed(report, "poison-message", PoisonMessage)
    assert result.dead_lettered
    assert result.receive_attempts == tuple(range(1, poison.MAX_RECEIVE_COUNT + 1))
    assert not result.reason_kept, "SQS has no call that gives a dead-letter reason"


def test_a_standard_queue_refuses_deduplication_and_redelivers_to_a_slow_consumer(report):
    result: Duplicates = observed(report, "duplicates", Duplicates)
    assert isinstance(result.dedup_copies_delivered, Unsupported)
    assert "MessageDeduplicationId" in result.dedup_copies_delivered.reason
    assert result.slow_consumer_deliveries >= 2
    assert result.window == duplicates.WINDOW
