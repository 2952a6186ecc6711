"""The broker's one connection: a lock, the current session, and reconnecting inside a call.

A broker restart must not need the caller to rebuild anything, so every operation runs through
``Connection.call``: on a lost connection it opens a new session and runs the operation again
from the start, with backoff, until the configured timeout; then it raises
``BrokerUnavailable``. A background thread pumps the idle connection so heartbeats flow while
the caller is busy between calls.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import pika.exceptions

from broker_adapters.core import BrokerError, BrokerUnavailable, QueueNotDeclared
from broker_adapters.rabbitmq.config import RabbitMQConfig
from broker_adapters.rabbitmq.session import (
    CONNECTION_ERRORS,
    FATAL_CONNECTION_ERRORS,
    ConfirmTimeout,
    Session,
)

T = TypeVar("T")
LOGGER = logging.getLogger(__name__)

NOT_FOUND = 404
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 1.0
# Errors after which the session is dropped and the operation tried again on a new one.
RECONNECT_ON: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, ConfirmTimeout)


class Retry(Exception):
    """A transient refusal (say, the broker nacked a publish): back off and try again."""


class Connection:
    """Serialises all use of pika (which is not thread-safe) and replaces lost sessions."""

    def __init__(self, config: RabbitMQConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._session: Session | None = None
        self._generation = 0
        self.call(lambda _session, _deadline: None)
        self._keeper: threading.Thread | None = None
        if config.heartbeat > 0:
            self._keeper = threading.Thread(
                target=_keep_alive,
                args=(weakref.ref(self), self._closed, config.heartbeat / 4),
                name=f"rabbitmq-heartbeat-{config.host}:{config.port}",
                daemon=True,
            )
            self._keeper.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def call(self, operation: Callable[[Session, float], T]) -> T:
        """Run ``operation(session, deadline)`` on a live session, reconnecting until the timeout.

        An operation that fails half-way is run again from the start on the new connection:
        publishes skip what was already confirmed, declares are idempotent, and a receive that
        lost its connection lost its deliveries with it (the broker requeued them).
        """
        deadline = time.monotonic() + self.config.timeout
        backoff = FIRST_BACKOFF
        while True:
            with self._lock:
                if self._closed.is_set():
                    raise BrokerError("this broker is closed")
                try:
                    return operation(self._connected(), deadline)
                except FATAL_CONNECTION_ERRORS as error:
                    self._drop_session()
                    raise BrokerError(f"RabbitMQ refused the connection: {error!r}") from error
                except pika.exceptions.ChannelClosedByBroker as error:
                    raise _channel_error(error) from error
                except RECONNECT_ON as error:
                    LOGGER.warning("RabbitMQ connection lost (%r); reconnecting", error)
                    self._drop_session()
                    last_error: BaseException = error
                except Retry as error:
                    LOGGER.info("RabbitMQ refused for now (%s); retrying", error)
                    last_error = error
            if time.monotonic() + backoff > deadline:
                raise BrokerUnavailable(
                    f"RabbitMQ at {self.config.host}:{self.config.port} did not answer within "
                    f"{self.config.timeout:.0f} s: {last_error!r}",
                ) from last_error
            self.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def is_current(self, channel: Any) -> bool:
        """Whether ``channel`` belongs to the live session, so its delivery tags still count."""
        with self._lock:
            return self._session is not None and bool(channel.is_open)

    def settle(self, channel: Any, action: Callable[[Any], None]) -> bool:
        """Run ``action(channel)`` if the channel is still live; False (nothing done) if not."""
        with self._lock:
            if self._session is None or not channel.is_open:
                return False
            try:
                action(channel)
            except CONNECTION_ERRORS:
                self._drop_session()
                return False
            return True

    def wait(self, seconds: float) -> None:
        """Pause without the lock (other threads may use the connection); close() ends it."""
        self._closed.wait(seconds)

    def close(self) -> None:
        """Close the session: the broker puts every unsettled message back."""
        self._closed.set()
        with self._lock:
            self._drop_session()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=self.config.socket_timeout)

    def _connected(self) -> Session:
        if self._session is None or not self._session.is_open:
            self._drop_session()
            self._generation += 1
            self._session = Session(self.config, self._generation)
        return self._session

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def pump(self) -> None:
        """Answer heartbeats while the caller is busy elsewhere (from the keep-alive thread)."""
        if not self._lock.acquire(blocking=False):
            return  # an operation is running and services the connection itself
        try:
            if self._session is not None and self._session.is_open:
                self._session.pump()
        except CONNECTION_ERRORS:
            self._drop_session()
        finally:
            self._lock.release()


def _channel_error(error: pika.exceptions.ChannelClosedByBroker) -> BrokerError:
    if error.reply_code == NOT_FOUND:
        return QueueNotDeclared(f"RabbitMQ: {error.reply_text}")
    return BrokerError(f"RabbitMQ closed the channel: {error.reply_code} {error.reply_text}")


def _keep_alive(connection: weakref.ref[Connection], stop: threading.Event, every: float) -> None:
    """Pump the connection now and then; ends with close() or when the broker is collected."""
    while not stop.wait(every):
        alive = connection()
        if alive is None:
            return
        alive.pump()
        del alive
