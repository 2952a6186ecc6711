"""The Redis backend: SNS-like topics and SQS-like queues on Redis streams (Redis >= 7).

URL: ``redis://[user:password@]host[:port][/db][?option=value&…]``; options are the fields
of ``RedisConfig`` (given as keyword arguments to ``connect``/``from_url``, or in the query).

Capabilities (``RedisBroker.features``), and how they are made:

- queues: one stream per queue and one consumer group, ``workers``; every Broker instance is
  one consumer of it, with a unique name. A receive is one Lua script (``scripts.TAKE``):
  it moves due delayed messages into the stream, reclaims in-flight entries whose visibility
  timeout ran out, and reads new entries with XREADGROUP, all atomically. Visibility timeouts
  are per receive call, as in SQS, kept by the adapter in a sorted set of deadlines.
- acked queue entries are deleted (XACK + XDEL), so XLEN = visible + in flight.
- dead-lettering is the adapter's (``native_dead_letter`` is False), but it is done inside
  the receive script: a message whose consumer keeps crashing is moved to the dead-letter
  queue on the receive after its ``max_receive_count``-th, even if no consumer ever nacks.
- ``Message.attempt`` is the entry's delivery count in the group (which crash redeliveries
  increase too) plus ``barista-prior-attempts``.
- delay (send and nack) and deduplication (a ``SET NX PX`` key per dedup id, for the queue's
  deduplication window) are supported; the reply to the send script is the confirmation.
- ordering: on a standard queue, send order for one consumer; competing consumers each take
  the next entries, so one message group can be processed concurrently
  (``ordering = "single-consumer"``).
- FIFO queues (``QueueConfig(fifo=True)``, ``fifo_queues`` is True): SQS FIFO's semantics.
  Every message needs a group; a group's messages are received in send order, and none of
  them while one is in flight (for anyone), while other groups flow to competing consumers in
  parallel. Not a stream: per-group lists, a sorted set of ready groups and one of in-flight
  entries, each operation one Lua script (``fifo.py``, ``fifo_scripts.py``). Visibility
  timeouts, ``change_visibility``, receive counts that survive crashes, dead-lettering after
  ``max_receive_count`` (to a FIFO dead-letter queue, which frees the group), deduplication,
  release on close and backlog work as for standard queues. ``send_batch_sequenced`` answers
  each message's sequence number (SQS's SequenceNumber); received messages carry it.
- topics: each publish is one MULTI/EXEC of ``XADD`` (for durable subscriptions: one consumer
  group each, created at ``$``) and ``PUBLISH`` (for fire-and-forget ones: Pub/Sub, which
  keeps nothing for an absent subscriber). Topic streams are trimmed with ``MAXLEN ~``
  (``RedisConfig.topic_max_length``): that bounds what a long-absent subscription can catch up.
- reconnecting: every call retries through a Redis restart for up to
  ``RedisConfig.reconnect_budget`` seconds, then raises ``BrokerUnavailable``. Delivery is at
  least once: a send whose reply was lost in a disconnect is sent again (a duplicate unless
  it has a dedup id). A message is as durable as Redis's persistence makes it: the project's
  image runs with AOF, ``appendfsync everysec`` (a clean restart keeps everything; a crash of
  the server may lose the last second).

Keys (``{queue}``, ``{topic}``, ``{subscription}`` are names of letters, digits, ``-``,
``_`` and ``.``):

========================================================  ====================================
``barista:queue:{queue}``                                  stream of the queue; group ``workers``
``barista:queue:{queue}:config``                           hash: ``visibility_timeout``,
                                                           ``deduplication_window`` (s),
                                                           ``dead_letter_queue``,
                                                           ``max_receive_count`` (informative:
                                                           each process applies its own
                                                           declaration)
``barista:queue:{queue}:inflight``                         zset: entry id -> visibility deadline
                                                           (ms since the epoch, server clock)
``barista:queue:{queue}:delayed``                          zset: message id -> due time (ms)
``barista:queue:{queue}:delayed:messages``                 hash: message id -> the entry's
                                                           fields (MessagePack, from Lua)
``barista:queue:{queue}:dedup:{dedup id}``                 string: the message id; expires after
                                                           the deduplication window
``barista:queue:{queue}:wakeup``                           stream (1 entry): wakes long polls
                                                           when a message becomes visible
                                                           without a new entry (nack, delay)
``barista:topic:{topic}``                                  stream of the topic (a consumer group
                                                           per durable subscription) and the
                                                           Pub/Sub channel of the same name
``barista:topic:{topic}:subscription:{subscription}:…``    ``inflight`` and ``wakeup``, as for
                                                           a queue
========================================================  ====================================

A FIFO queue has no stream: its keys are ``barista:queue:{queue}:fifo:…`` (described in
``fifo_scripts.py``) beside the same ``config`` (with ``fifo`` = ``true``), ``wakeup`` and
``dedup`` keys; plain clients read it with ``HGETALL`` and ``LRANGE`` but write it only through
the scripts, which keep the groups' bookkeeping.

A dead-letter queue is an ordinary queue; its entries carry ``barista-dead-letter-reason``
and ``barista-dead-letter-source``. Entry fields and the Pub/Sub payload are described in
``codec.py``. Interoperating with plain clients: ``redis-cli XADD barista:queue:orders '*'
body '{"drink": "flat white"}'`` is received like any message (id = the entry id);
``redis-cli PUBLISH barista:topic:orders 'hello'`` reaches fire-and-forget subscriptions. A
plain client must not read a queue's ``workers`` group itself: entries it takes have no
deadline, so the adapter would never redeliver them.
"""

from __future__ import annotations

from broker_adapters.redis.broker import RedisBroker
from broker_adapters.redis.config import RedisConfig

__all__ = ["RedisBroker", "RedisConfig"]
