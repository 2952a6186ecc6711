"""RabbitMQ 4 backend: SNS-like topics and SQS-like queues over AMQP 0-9-1 (pika).

URL: ``amqp://user:password@host:5672/vhost?management_port=15672``. User and password are
URL-decoded; the vhost is the URL-decoded path ("/" when empty); the management HTTP API
(used only by ``backlog``) is on ``management_port`` of the same host, 15672 by default, with
the same credentials. Other settings are ``RabbitMQConfig`` fields passed as options to
``connect``.

How the contract maps onto RabbitMQ (``RabbitMQBroker.features`` says the same as data):

- topic: a durable fanout exchange named after the topic; a durable subscription is a quorum
  queue ``{topic}.{subscription}`` bound to it; a fire-and-forget one is a server-named
  exclusive queue that lives as long as the connection.
- queue: a durable quorum queue; competing consumers share it; receives are served by one
  long-lived push consumer per queue (basic.consume, manual ack, a prefetch window of what the
  caller holds plus what it asks for; see ``consumer``). Order holds for a single consumer only.
- publish/send: persistent messages, returned only after a publisher confirm; batches keep
  up to ``confirm_window`` publishes in flight.
- delay (send and nack): a holding queue per delay value, ``{queue}.delay.{ms}ms``, whose TTL
  dead-letters into the queue; exact per message, no head-of-line blocking.
- redrive policy: native, with the adapter one step ahead. A message received
  ``max_receive_count`` times (consumers that crashed count) is dead-lettered by the next
  receive, which reports it (``Broker.watch_dead_letters``); the queue's x-delivery-limit is
  ``max_receive_count``, so the broker dead-letters by itself only when that receive's
  process dies first. A nack on the last receive is dead-lettered by the adapter with the
  caller's reason.
- no visibility timeout: a received message stays with its consumer until settled or until
  the consumer's connection closes; no deduplication (``dedup_id`` is refused).
- backlog: visible from a passive queue.declare (current); in flight
  (``messages_unacknowledged``) and delayed (messages in delay queues) from the management
  API, which refreshes quorum queue counts only every few seconds.
- broker restarts: every call reconnects with backoff up to ``timeout`` (30 s), then raises
  BrokerUnavailable; quorum queues and persistent messages survive the restart. A delivery
  received before a reconnect cannot be settled any more (delivery tags belong to the old
  channel): its ack or nack does nothing and the broker delivers it again (at least once).
- threads: one lock serialises the connection; share a broker between threads or, for
  parallel consumers, open one per thread.
"""

from __future__ import annotations

from broker_adapters.rabbitmq.broker import RabbitMQBroker
from broker_adapters.rabbitmq.config import RabbitMQConfig
from broker_adapters.rabbitmq.topics import RabbitMQSubscription

__all__ = ["RabbitMQBroker", "RabbitMQConfig", "RabbitMQSubscription"]
