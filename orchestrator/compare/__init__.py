"""The SNS-vs-SQS comparison: the same scripted experiments on every broker, side by side.

``barista compare`` (and ``make compare``) runs six experiments per backend through
``broker_adapters`` on fresh uuid-named topics and queues, and prints what was *observed*
next to what AWS SNS and SQS do:

- ``fanout``: a topic with two subscriptions vs a queue with two competing consumers;
- ``subscribers``: durable vs fire-and-forget subscribers that were away;
- ``ordering``: order within message groups, one consumer and two competing ones;
- ``crash``: redelivery of messages held by a SIGKILLed consumer (``crash_consumer``);
- ``poison``: a message nacked every time, on its way to the dead-letter queue;
- ``duplicates``: a repeated deduplication id, and a consumer slower than its visibility.

``observations`` holds the typed results, ``aws`` the reference facts, ``rows`` and ``render``
the table and JSON, ``runner`` the orchestration, ``urls`` where the brokers are. Nothing here
hard-codes what a broker should do: a backend's own ``Features`` and ``UnsupportedSemantic``
decide what is refused, and everything else is measured.
"""
