"""The shop's queues and topic, declared the same way by every service that uses them."""

from __future__ import annotations

from urllib.parse import urlsplit

from broker_adapters import Broker, QueueConfig, RedrivePolicy, connect

# Each backend names its confirm/reconnect budget differently (its own Config); services set
# one BARISTA_BROKER_TIMEOUT and this maps it.
TIMEOUT_OPTION = {"kafka": "confirm_timeout", "amqp": "timeout", "redis": "reconnect_budget"}


def open_broker(url: str, timeout: float) -> Broker:
    """Connect with a confirm/reconnect budget of ``timeout`` seconds."""
    scheme = urlsplit(url).scheme
    option = TIMEOUT_OPTION.get(scheme)
    return connect(url, **({option: timeout} if option else {}))


def declare_orders(
    broker: Broker,
    queue: str,
    dead_letter_queue: str,
    max_receive_count: int,
    visibility_timeout: float,
) -> None:
    broker.declare_queue(dead_letter_queue)
    broker.declare_queue(
        queue,
        QueueConfig(
            visibility_timeout=visibility_timeout,
            redrive_policy=RedrivePolicy(dead_letter_queue, max_receive_count),
        ),
    )
