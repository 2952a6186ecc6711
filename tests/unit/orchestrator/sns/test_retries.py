"""SNS delivery policies: AWS's documented defaults and the phases of a custom policy."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.sns.retries import (
    HTTP_DEFAULT,
    SQS_DEFAULT,
    DeliveryPolicyError,
    RetryPolicy,
    parse_retry_policy,
    parse_subscription_policy,
    parse_topic_policy,
)


def test_the_http_default_is_three_retries_twenty_seconds_apart() -> None:
    assert list(HTTP_DEFAULT.delays()) == [20.0, 20.0, 20.0]
    assert HTTP_DEFAULT.delay(4) is None


def test_the_sqs_policy_follows_awss_managed_phases() -> None:
    first = list(itertools.islice(SQS_DEFAULT.delays(), 16))
    assert first[:3] == [0.0, 0.0, 0.0]  # immediate retries
    assert first[3:5] == [1.0, 1.0]  # pre-backoff, 1 s apart
    backoff = first[5:15]
    assert backoff == sorted(backoff)
    assert backoff[-1] == pytest.approx(20.0)
    assert first[15] == 20.0  # post-backoff, 20 s apart
    assert SQS_DEFAULT.num_retries == 100_015


def test_a_custom_policy_has_four_phases() -> None:
    policy = RetryPolicy(
        num_retries=8,
        num_no_delay_retries=1,
        num_min_delay_retries=2,
        num_max_delay_retries=1,
        min_delay_target=2,
        max_delay_target=10,
        backoff_function="linear",
    )
    assert list(policy.delays()) == [0.0, 2, 2, 4.0, 6.0, 8.0, 10.0, 10]


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_every_backoff_function_climbs_from_min_to_max(function: str) -> None:
    policy = RetryPolicy(
        num_retries=5, min_delay_target=1, max_delay_target=16, backoff_function=function
    )
    delays = list(policy.delays())
    assert delays == sorted(delays)
    assert delays[-1] == pytest.approx(16)


def test_parsing_subscription_and_topic_policies() -> None:
    policy = parse_subscription_policy(
        '{"healthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 5}}'
    )
    assert policy is not None
    assert (policy.num_retries, policy.min_delay_target, policy.max_delay_target) == (5, 1, 5)
    assert parse_subscription_policy('{"throttlePolicy": {"maxReceivesPerSecond": 1}}') is None
    topic = parse_topic_policy('{"http": {"defaultHealthyRetryPolicy": {"numRetries": 1}}}')
    assert topic is not None
    assert topic.num_retries == 1


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"numRetries": 101}, "at most 100"),
        ({"numRetries": 2, "numNoDelayRetries": 3}, "must not exceed"),
        ({"minDelayTarget": 0}, "minDelayTarget"),
        ({"minDelayTarget": 30, "maxDelayTarget": 20}, "minDelayTarget"),
        ({"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60}, "at most 3600"),
        ({"backoffFunction": "cubic"}, "backoffFunction"),
        ({"numRetries": -1}, "whole number"),
        ({"retries": 3}, "no field"),
    ],
)
def test_invalid_policies_are_refused(document: dict[str, object], reason: str) -> None:
    with pytest.raises(DeliveryPolicyError, match=reason):
        parse_retry_policy(document)
