"""SNS delivery policies: how often and how far apart a failed delivery is tried again.

A policy has four phases after the first attempt: immediate retries (no delay), pre-backoff
retries ``minDelayTarget`` apart, backoff retries whose delay grows from ``minDelayTarget`` to
``maxDelayTarget`` along ``backoffFunction``, and post-backoff retries ``maxDelayTarget``
apart. ``numRetries`` counts all four. AWS's documented defaults:

- HTTP/S (customisable per topic and subscription): 3 retries, 20 s apart (linear from 20 s to
  20 s), and no retry policy may take longer than 3,600 s in total;
- SQS (AWS managed, not customisable): 3 immediate, 2 one second apart, 10 with exponential
  backoff from 1 s to 20 s, then 100,000 twenty seconds apart (about 23 days).

AWS does not publish the exact backoff curves; Barista's are, for the fraction ``x`` of the
backoff phase done: linear ``x``, arithmetic ``x²``, geometric ``x³``, exponential
``min·(max/min)^x``. AWS jitters retries; Barista does not, so tests can predict them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")
MAX_HTTP_POLICY_SECONDS = 3600.0
MAX_RETRIES = 100


class DeliveryPolicyError(ValueError):
    """The policy is not one SNS would accept; the message says why."""


@dataclass(frozen=True)
class RetryPolicy:
    """SNS's ``healthyRetryPolicy``, in seconds."""

    num_retries: int = 3
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    min_delay_target: float = 20.0
    max_delay_target: float = 20.0
    backoff_function: str = "linear"

    @property
    def num_backoff_retries(self) -> int:
        return max(
            self.num_retries
            - self.num_no_delay_retries
            - self.num_min_delay_retries
            - self.num_max_delay_retries,
            0,
        )

    def delays(self) -> Iterator[float]:
        """The wait before each retry, in order (``num_retries`` of them)."""
        yield from (0.0 for _ in range(self.num_no_delay_retries))
        yield from (self.min_delay_target for _ in range(self.num_min_delay_retries))
        steps = self.num_backoff_retries
        for step in range(1, steps + 1):
            yield self._backoff(step / steps)
        yield from (self.max_delay_target for _ in range(self.num_max_delay_retries))

    def delay(self, retry: int) -> float | None:
        """The wait before retry number ``retry`` (1-based); None when the policy is spent."""
        if retry > self.num_retries:
            return None
        for number, delay in enumerate(self.delays(), start=1):
            if number == retry:
                return delay
        return None

    def total_seconds(self) -> float:
        return sum(self.delays())

    def _backoff(self, x: float) -> float:
        low, high = self.min_delay_target, self.max_delay_target
        if self.backoff_function == "exponential" and low > 0:
            return float(low * (high / low) ** x)
        curve = {"linear": x, "arithmetic": x**2, "geometric": x**3}.get(self.backoff_function, x)
        return low + (high - low) * curve

    def document(self) -> dict[str, Any]:
        return {
            "minDelayTarget": int(self.min_delay_target),
            "maxDelayTarget": int(self.max_delay_target),
            "numRetries": self.num_retries,
            "numMaxDelayRetries": self.num_max_delay_retries,
            "numNoDelayRetries": self.num_no_delay_retries,
            "numMinDelayRetries": self.num_min_delay_retries,
            "backoffFunction": self.backoff_function,
        }


HTTP_DEFAULT = RetryPolicy()
SQS_DEFAULT = RetryPolicy(
    num_retries=100_015,
    num_no_delay_retries=3,
    num_min_delay_retries=2,
    num_max_delay_retries=100_000,
    min_delay_target=1.0,
    max_delay_target=20.0,
    backoff_function="exponential",
)
_FIELDS = {
    "numRetries": "num_retries",
    "numNoDelayRetries": "num_no_delay_retries",
    "numMinDelayRetries": "num_min_delay_retries",
    "numMaxDelayRetries": "num_max_delay_retries",
    "minDelayTarget": "min_delay_target",
    "maxDelayTarget": "max_delay_target",
    "backoffFunction": "backoff_function",
}


def parse_retry_policy(
    document: Mapping[str, Any], base: RetryPolicy = HTTP_DEFAULT
) -> RetryPolicy:
    """A ``healthyRetryPolicy`` object over ``base``; raises DeliveryPolicyError."""
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _FIELDS:
            raise DeliveryPolicyError(f"DeliveryPolicy: healthyRetryPolicy has no field {key}")
        if key == "backoffFunction":
            if value not in BACKOFF_FUNCTIONS:
                raise DeliveryPolicyError(
                    f"DeliveryPolicy: backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}"
                )
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DeliveryPolicyError(f"DeliveryPolicy: {key} must be a whole number ≥ 0")
        values[_FIELDS[key]] = value
    policy = RetryPolicy(**{**base.__dict__, **values})
    phases = (
        policy.num_no_delay_retries + policy.num_min_delay_retries + policy.num_max_delay_retries
    )
    if policy.num_retries > MAX_RETRIES:
        raise DeliveryPolicyError(f"DeliveryPolicy: numRetries must be at most {MAX_RETRIES}")
    if phases > policy.num_retries:
        raise DeliveryPolicyError(
            "DeliveryPolicy: numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must "
            "not exceed numRetries"
        )
    if not 1 <= policy.min_delay_target <= policy.max_delay_target <= MAX_HTTP_POLICY_SECONDS:
        raise DeliveryPolicyError(
            "DeliveryPolicy: need 1 <= minDelayTarget <= maxDelayTarget <= 3600"
        )
    if policy.total_seconds() > MAX_HTTP_POLICY_SECONDS:
        raise DeliveryPolicyError(
            f"DeliveryPolicy: the retries would take {policy.total_seconds():.0f} s; an HTTP/S "
            f"policy may take at most {MAX_HTTP_POLICY_SECONDS:.0f} s"
        )
    return policy


def parse_subscription_policy(text: str) -> RetryPolicy | None:
    """A subscription's DeliveryPolicy attribute; None when it sets no healthyRetryPolicy."""
    document = _object(text)
    retry = document.get("healthyRetryPolicy")
    if retry is None:
        return None
    if not isinstance(retry, dict):
        raise DeliveryPolicyError("DeliveryPolicy: healthyRetryPolicy must be an object")
    return parse_retry_policy(retry)


def parse_topic_policy(text: str) -> RetryPolicy | None:
    """A topic's DeliveryPolicy (``{"http": {"defaultHealthyRetryPolicy": …}}``)."""
    document = _object(text)
    http = document.get("http", {})
    if not isinstance(http, dict):
        raise DeliveryPolicyError("DeliveryPolicy: http must be an object")
    retry = http.get("defaultHealthyRetryPolicy")
    if retry is None:
        return None
    if not isinstance(retry, dict):
        raise DeliveryPolicyError("DeliveryPolicy: defaultHealthyRetryPolicy must be an object")
    return parse_retry_policy(retry)


def _object(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise DeliveryPolicyError(f"DeliveryPolicy: failed to parse JSON. {error}") from error
    if not isinstance(document, dict):
        raise DeliveryPolicyError("DeliveryPolicy: must be a JSON object")
    return document
