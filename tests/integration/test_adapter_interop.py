"""Plain protocol clients interoperate with the adapters (the wire format in
broker_adapters/README.md): an order sent with kcat, redis-cli or amqp-publish is received by
a consumer using the adapter."""

from __future__ import annotations

import json

import pytest

from broker_adapters import Broker, connect
from tests.support.brokers import Endpoint
from tests.support.tools import require_tool, run_tool

pytestmark = pytest.mark.docker

ORDER = {"order_id": "o-1001", "customer": "ada", "items": [{"item": "flat white", "size": "M"}]}


def receive_one(broker: Broker, queue: str):
    [delivery] = broker.receive(queue, 1, wait=10)
    delivery.ack()
    return delivery.message


def test_an_order_produced_with_kcat_reaches_an_adapter_consumer(kafka: Endpoint, unique_name: str):
    kcat = require_tool("kcat")
    body = json.dumps(ORDER)
    with connect(kafka.url) as broker:
        broker.declare_queue(unique_name)
        run_tool(
            [
                kcat, "-b", f"127.0.0.1:{kafka.port}", "-X", "security.protocol=SASL_PLAINTEXT",
                "-X", "sasl.mechanisms=PLAIN", "-X", f"sasl.username={kafka.credentials.user}",
                "-X", f"sasl.password={kafka.credentials.password}",
                "-P", "-t", unique_name, "-k", "table-7", "-H", "barista-group-id=table-7",
            ],
            stdin=body,
        )  # fmt: skip
        message = receive_one(broker, unique_name)
    assert json.loads(message.body) == ORDER
    assert message.group_id == "table-7"
    assert message.attempt == 1
    assert message.id.startswith(f"{unique_name}-")


def test_an_order_added_with_redis_cli_reaches_an_adapter_consumer(
    redis_server: Endpoint, unique_name: str
):
    redis_cli = require_tool("redis-cli")
    creds = redis_server.credentials
    with connect(redis_server.url) as broker:
        broker.declare_queue(unique_name)
        entry_id = run_tool(
            [
                redis_cli, "-p", str(redis_server.port), "--no-auth-warning",
                "--user", creds.user, "--pass", creds.password,
                "XADD", f"barista:queue:{unique_name}", "*",
                "body", json.dumps(ORDER), "barista-group-id", "table-7",
            ],
        ).strip()  # fmt: skip
        message = receive_one(broker, unique_name)
    assert json.loads(message.body) == ORDER
    assert message.group_id == "table-7"
    assert message.id == entry_id


def test_an_order_published_with_amqp_publish_reaches_an_adapter_consumer(
    rabbitmq: Endpoint, unique_name: str
):
    amqp_publish = require_tool("amqp-publish")
    creds = rabbitmq.credentials
    url = f"amqp://{creds.user}:{creds.password}@127.0.0.1:{rabbitmq.port}"
    with connect(rabbitmq.url) as broker:
        broker.declare_queue(unique_name)
        run_tool(
            [
                amqp_publish, "--url", url,
                "-r", unique_name, "-p", "-C", "application/json", "-b", json.dumps(ORDER),
            ],
        )  # fmt: skip
        message = receive_one(broker, unique_name)
    assert json.loads(message.body) == ORDER
    assert message.attempt == 1
