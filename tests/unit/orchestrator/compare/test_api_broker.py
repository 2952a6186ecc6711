"""The comparison's API broker: its URL and what it declares on each backend."""

from __future__ import annotations

import pytest

from broker_adapters import backend_class
from broker_adapters.kafka.broker import KafkaShareBroker
from orchestrator.compare.api_broker import api_broker_class, api_url, connect_api
from orchestrator.compare.opening import open_broker


def test_the_url_names_the_endpoint_key_and_backend_and_opens_an_api_broker():
    url = api_url("http://127.0.0.1:8500", "AKIAEXAMPLE", "s3cret", "redis")
    assert url == "barista-api://AKIAEXAMPLE:s3cret@127.0.0.1:8500/redis"
    broker = open_broker(url)
    try:
        assert broker.features.name == "redis through SQS/SNS"
        assert broker.sqs.meta.endpoint_url == "http://127.0.0.1:8500"
    finally:
        broker.close()


@pytest.mark.parametrize(
    "url", ["barista-api://k:s@127.0.0.1:8500/", "barista-api://k:s@127.0.0.1:8500/sqs"]
)
def test_a_url_without_a_known_backend_is_refused(url: str):
    with pytest.raises(ValueError, match=r"<kafka\|kafka-share\|rabbitmq\|redis>"):
        connect_api(url)


@pytest.mark.parametrize(("backend", "scheme"), [("kafka", "kafka"), ("rabbitmq", "amqp")])
def test_the_apis_add_a_visibility_timeout_and_take_no_dedup_ids(backend: str, scheme: str):
    native = backend_class(scheme).features
    through = api_broker_class(backend).features
    assert native.visibility_timeout is False
    assert through.visibility_timeout is True
    assert through.deduplication is False
    assert through.fire_and_forget_subscriptions is False
    assert through.ordering == native.ordering


def test_the_share_group_column_declares_kafkas_share_group_queues_and_tags_them_kafka():
    """Through the APIs, kafka-share is the kafka backend of an API whose Kafka URL puts
    queues on share groups: its queues are tagged kafka, its features are the share groups'."""
    through = api_broker_class("kafka-share").features
    assert through.counts_crash_redeliveries == KafkaShareBroker.features.counts_crash_redeliveries
    assert through.ordering == KafkaShareBroker.features.ordering == "single-consumer"
    assert api_broker_class("kafka").features.ordering == "group"
    broker = connect_api("barista-api://k:s@127.0.0.1:8500/kafka-share")
    try:
        assert broker._tags() == {"barista:backend": "kafka"}
    finally:
        broker.close()
