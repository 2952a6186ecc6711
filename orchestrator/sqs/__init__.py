"""Amazon SQS over ``broker_adapters``: each queue lives on one broker backend.

``model`` holds a queue's record (attributes, tags, backend, ARN, URL); ``attributes``
validates AWS's queue attributes against their ranges and against what the backend's
``Features`` declare; ``store`` keeps the records in the orchestrator's SQLite file;
``brokers`` shares one connection per broker URL; ``receipts`` keeps the live deliveries that
receipt handles stand for; ``messages`` maps SQS messages to the broker wire format and back;
``checksums`` computes AWS's MD5 digests; ``operations`` is the service the API calls.

What the orchestrator provides on top of the brokers (see ``receipts``): the visibility
timeout on backends that keep none (RabbitMQ, Kafka), long polling and ChangeMessageVisibility.
A receipt handle names a delivery held by this orchestrator process; it does not survive a
restart. When the orchestrator stops, its broker connections close and the messages it held
come back as each broker gives back a dead consumer's messages
(``Features.redelivery_after_crash``): at once on RabbitMQ, after the session timeout on
Kafka, after the visibility timeout on Redis.
"""
