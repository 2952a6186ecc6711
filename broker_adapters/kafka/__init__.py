"""Apache Kafka backend (``kafka://``); see ``broker.py`` for how the contract is realised."""

from broker_adapters.kafka.broker import FEATURES, KafkaBroker, KafkaConfig

__all__ = ["FEATURES", "KafkaBroker", "KafkaConfig"]
