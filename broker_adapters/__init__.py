"""One messaging API (SNS-like topics, SQS-like queues) over Kafka, RabbitMQ and Redis.

Nothing here knows about orders or Docker. The API itself arrives with the broker_adapters
issue; this package exists now so that the dependency direction (services and orchestrator
use broker_adapters, never the reverse) is fixed from the first commit.
"""
