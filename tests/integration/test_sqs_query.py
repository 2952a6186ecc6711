"""SQS's Query protocol, as SDKs from before AWS's 2023 switch to JSON speak it, on each broker.

The client is botocore itself (its ``QuerySerializer`` and ``QueryParser``) loading SQS's model
in its Query edition, so every request and answer is the Query wire format an older SDK sends
and expects. A request written out by hand, as AWS's API reference shows them, checks the
names on the wire do not depend on botocore's reading of the same traits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import botocore.session
import httpx2
import pytest
from botocore.config import Config

from orchestrator.api import ApiContext
from orchestrator.api import sqs as sqs_api
from orchestrator.api.front_door import query_model
from orchestrator.client import signed_headers
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sqs import checksums
from tests.support.aws_auth import ACCESS_KEY
from tests.support.aws_endpoint import CREDENTIALS, KEY_ID, REGION, SECRET, Endpoint, serve
from tests.support.brokers import Endpoint as BrokerEndpoint
from tests.support.receiving import wait_for

# The API layer is the same on every broker: make test keeps Redis, make test-matrix all.
pytestmark = [pytest.mark.docker, pytest.mark.matrix(ci="redis")]

NAMESPACE = "{http://queue.amazonaws.com/doc/2012-11-05/}"


@pytest.fixture
def api(tmp_path: Path, endpoint: BrokerEndpoint) -> Iterator[Endpoint]:
    environ = {"BARISTA_BROKER_URL": endpoint.url}
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(), environ, CREDENTIALS)
    try:
        with serve(context) as served:
            yield served
    finally:
        sqs_api.shutdown()


def post_form(url: str, form: dict[str, str]) -> httpx2.Response:
    """A Query request, form-encoded and signed for SQS, as an SDK would post it."""
    body = urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers.update(signed_headers(ACCESS_KEY, "sqs", url, body, headers, "POST"))
    return httpx2.post(url, content=body, headers=headers, timeout=30)


def query_client(api: Endpoint, models: Path) -> Any:
    """botocore's SQS client with the Query edition of the model in front of its own."""
    edition = query_model("sqs")
    assert edition is not None
    folder = models / "sqs" / "2012-11-05"
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(edition._service_description))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(models))
    return session.create_client(
        "sqs",
        endpoint_url=api.url,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )


def test_an_sdk_speaking_query_uses_every_kind_of_member(
    api: Endpoint, tmp_path: Path, unique_name: str
):
    sqs = query_client(api, tmp_path / "models")
    assert sqs.meta.service_model.protocol == "query"
    url = sqs.create_queue(
        QueueName=unique_name,
        Attributes={"VisibilityTimeout": "40"},
        tags={"team": "espresso"},
    )["QueueUrl"]
    assert sqs.get_queue_url(QueueName=unique_name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix=unique_name)["QueueUrls"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["team"] == "espresso"
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "40"

    one = sqs.send_message(
        QueueUrl=url,
        MessageBody="flat white",
        MessageAttributes={"table": {"DataType": "Number", "StringValue": "4"}},
    )
    assert one["MD5OfMessageBody"] == checksums.md5_of_body("flat white")
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "cortado"},
            {"Id": "b", "MessageBody": "mocha", "DelaySeconds": 901},
        ],
    )
    assert [entry["Id"] for entry in batch["Successful"]] == ["a"]
    assert [entry["Code"] for entry in batch["Failed"]] == ["InvalidParameterValue"]

    received: list[dict[str, Any]] = []
    while len(received) < 2:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=5,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        assert got, f"only {len(received)} of 2 messages arrived within a long poll"
        received.extend(got)
    by_body = {message["Body"]: message for message in received}
    assert set(by_body) == {"flat white", "cortado"}
    assert by_body["flat white"]["MessageAttributes"]["table"] == {
        "DataType": "Number",
        "StringValue": "4",
    }
    assert by_body["flat white"]["MD5OfMessageAttributes"] == one["MD5OfMessageAttributes"]
    assert by_body["cortado"]["Attributes"]["ApproximateReceiveCount"] == "1"

    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": "keep",
                "ReceiptHandle": by_body["cortado"]["ReceiptHandle"],
                "VisibilityTimeout": 60,
            }
        ],
    )
    assert [entry["Id"] for entry in changed["Successful"]] == ["keep"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
            for n, message in enumerate(received)
        ],
    )
    assert sorted(entry["Id"] for entry in deleted["Successful"]) == ["0", "1"]
    # Approximate, as on AWS: Kafka's count follows the group's committed offsets, which
    # librdkafka commits every few seconds.
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    assert wait_for(
        lambda: (
            set(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values())
            == {"0"}
        ),
        timeout=20,
        interval=0.5,
    ), "the deleted messages are still counted"

    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        sqs.get_queue_url(QueueName=f"{unique_name}-nowhere")
    assert missing.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    sqs.delete_queue(QueueUrl=url)


def test_a_hand_written_query_request_posted_to_the_queue_url(api: Endpoint, unique_name: str):
    """The form of AWS's API reference, posted to the queue's own URL without ``QueueUrl``,
    as the oldest SDKs do; the answer is the documented XML."""
    url = api.client("sqs").create_queue(QueueName=unique_name)["QueueUrl"]
    form = {
        "Action": "SendMessage",
        "Version": "2012-11-05",
        "MessageBody": "This is a test message",
        "MessageAttribute.1.Name": "my_attribute_name_1",
        "MessageAttribute.1.Value.StringValue": "my_attribute_value_1",
        "MessageAttribute.1.Value.DataType": "String",
    }
    answer = post_form(url, form)
    assert answer.status_code == 200, answer.text
    root = ElementTree.fromstring(answer.content)
    assert root.tag == f"{NAMESPACE}SendMessageResponse"
    result = root.find(f"{NAMESPACE}SendMessageResult")
    assert result is not None
    assert result.findtext(f"{NAMESPACE}MD5OfMessageBody") == "fafb00f5732ab283681e124bf8747ed1"
    assert result.findtext(f"{NAMESPACE}MD5OfMessageAttributes") == checksums.md5_of_attributes(
        {"my_attribute_name_1": {"DataType": "String", "StringValue": "my_attribute_value_1"}}
    )
    assert root.findtext(f"{NAMESPACE}ResponseMetadata/{NAMESPACE}RequestId")

    receive = {
        "Action": "ReceiveMessage",
        "Version": "2012-11-05",
        "AttributeName.1": "All",
        "MessageAttributeName.1": "All",
        "WaitTimeSeconds": "5",
    }
    answer = post_form(url, receive)
    assert answer.status_code == 200, answer.text
    message = ElementTree.fromstring(answer.content).find(
        f"{NAMESPACE}ReceiveMessageResult/{NAMESPACE}Message"
    )
    assert message is not None
    assert message.findtext(f"{NAMESPACE}Body") == "This is a test message"
    attributes = {
        node.findtext(f"{NAMESPACE}Name"): node.findtext(f"{NAMESPACE}Value")
        for node in message.findall(f"{NAMESPACE}Attribute")
    }
    assert attributes["ApproximateReceiveCount"] == "1"
    [custom] = message.findall(f"{NAMESPACE}MessageAttribute")
    assert custom.findtext(f"{NAMESPACE}Name") == "my_attribute_name_1"
    assert custom.findtext(f"{NAMESPACE}Value/{NAMESPACE}StringValue") == "my_attribute_value_1"

    unknown = post_form(
        url, {"Action": "SendMessage", "Version": "2012-11-05", "MessageBody": "x", "Colour": "red"}
    )
    assert unknown.status_code == 400
    assert "Colour" in unknown.text
