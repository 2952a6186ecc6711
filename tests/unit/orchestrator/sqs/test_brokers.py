"""The SQS layer's broker pool: what it promises of each backend before connecting."""

from __future__ import annotations

from broker_adapters.kafka.broker import SHARE_FEATURES
from orchestrator.sqs.brokers import BrokerPool


def test_an_sqs_api_on_a_share_group_url_promises_share_group_queues():
    pool = BrokerPool({"kafka": "kafka://u:p@127.0.0.1:1?queue_mode=share-group"})
    assert pool.features("kafka") == SHARE_FEATURES
    assert pool.features("kafka").visibility_timeout
    assert not BrokerPool({}).features("kafka").visibility_timeout  # consumer groups: none
