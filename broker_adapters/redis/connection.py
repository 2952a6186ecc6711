"""The redis-py client, how it rides out a Redis restart, and how its errors are reported.

Reconnecting happens inside redis-py: every command runs under ``BudgetRetry``, which retries
on connection errors and timeouts with exponential backoff until ``reconnect_budget`` seconds
have passed, and then lets the error through, which ``translate_errors`` turns into
``BrokerUnavailable``. A caller never rebuilds anything after a restart: the pool reconnects,
Pub/Sub connections resubscribe, and scripts are reloaded on ``NOSCRIPT``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.exceptions
from redis.backoff import AbstractBackoff, ExponentialWithJitterBackoff
from redis.retry import Retry

from broker_adapters.core import BrokerError, BrokerUnavailable
from broker_adapters.redis.config import RedisConfig

T = TypeVar("T")

# Connection-level errors that mean "not now", not "never": retried within the budget.
RETRYABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    socket.timeout,
)
# A connection idle this long (s) is PINGed before use; for a Pub/Sub subscription, the PING
# is how a connection that died silently is noticed while it only listens.
HEALTH_CHECK_INTERVAL = 30
# Subclasses of ConnectionError that no amount of retrying fixes.
FATAL: tuple[type[Exception], ...] = (
    redis.exceptions.AuthenticationError,
    redis.exceptions.AuthorizationError,
)


class BudgetRetry(Retry):
    """redis-py's Retry bounded by time instead of a count of attempts.

    A count cannot express "ride out a restart of up to N seconds": how many attempts fit
    depends on how fast each one fails (refused at once, or a connect timeout).
    """

    def __init__(self, budget: float, backoff: AbstractBackoff) -> None:
        super().__init__(backoff, retries=-1, supported_errors=RETRYABLE)
        self.budget = budget

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BudgetRetry)
            and self.budget == other.budget
            and super().__eq__(other) is True
        )

    __hash__ = Retry.__hash__

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        deadline = time.monotonic() + self.budget
        self._backoff.reset()  # type: ignore[no-untyped-call]
        failures = 0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if isinstance(error, FATAL) or (is_retryable and not is_retryable(error)):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                time.sleep(min(self._backoff.compute(failures), remaining))


def make_client(url: str, config: RedisConfig) -> redis.Redis:
    retry = BudgetRetry(
        config.reconnect_budget,
        ExponentialWithJitterBackoff(cap=config.retry_backoff_cap, base=config.retry_backoff_base),
    )
    return redis.Redis.from_url(
        url,
        socket_timeout=config.socket_timeout,
        socket_connect_timeout=config.socket_connect_timeout,
        socket_keepalive=True,
        retry=retry,
        retry_on_error=list(RETRYABLE),
        health_check_interval=HEALTH_CHECK_INTERVAL,
    )


class ErrorTranslation:
    """Raises redis-py's errors as this package's, naming the operation that failed.

    A class rather than a generator context manager: it wraps every receive and every ack,
    and ``contextlib.contextmanager`` costs several microseconds per use (a generator, a
    wrapper object and their frames), a visible share of a Redis ack."""

    __slots__ = ("_budget", "_what")

    def __init__(self, what: str, budget: float) -> None:
        self._what = what
        self._budget = budget

    def described(self) -> str:
        """The failed operation in words (built only when something failed)."""
        return self._what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        if error is None:
            return
        translated = self.translated(error)
        if translated is None:
            return
        raise translated from error

    def translated(self, error: BaseException) -> BrokerError | None:
        """This package's error for ``error``; None for one that is not redis-py's."""
        if not isinstance(error, FATAL + RETRYABLE + (redis.exceptions.RedisError,)):
            return None
        what = self.described()
        if isinstance(error, FATAL):
            return BrokerError(f"Redis refused {what}: {error}")
        if isinstance(error, RETRYABLE):
            return BrokerUnavailable(
                f"Redis did not answer {what} within the reconnect budget "
                f"({self._budget:g} s): {error}",
            )
        return BrokerError(f"Redis failed {what}: {error}")


def translate_errors(what: str, budget: float) -> ErrorTranslation:
    """``with translate_errors("ack on queue 'orders'", budget):`` see ``ErrorTranslation``."""
    return ErrorTranslation(what, budget)
