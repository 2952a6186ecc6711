"""AWS's own walk-throughs, as docs/aws-cli.md gives them ("SNS and SQS with the aws CLI"), on
each real broker: the real ``aws`` CLI with the profile ``make up`` writes, only the endpoint
changed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli.demo import AWS_CONFIG_DIRECTORY, write_aws_profile
from tests.support.aws_auth import KEY_ID, SECRET
from tests.support.brokers import Endpoint as BrokerEndpoint
from tests.support.messaging_lab import messaging_lab

pytestmark = pytest.mark.docker

GUIDE = Path(__file__).parents[2] / "docs" / "aws-cli.md"
DEMO_ENDPOINT = "http://127.0.0.1:8500"


def _block(section: str) -> str:
    text = GUIDE.read_text()
    match = re.search(r"```sh\n(.*?)```", text[text.index(section) :], re.DOTALL)
    assert match, f"the guide's {section!r} has a sh block"
    return match.group(1)


def _run(
    section: str, tmp_path: Path, endpoint: BrokerEndpoint, backend: str
) -> subprocess.CompletedProcess[str]:
    """The guide's commands under ``section`` with the real ``aws`` CLI, against the API on
    the backend's broker, as a user runs them after ``make up`` (only the endpoint changed)."""
    with messaging_lab(tmp_path, endpoint, backend) as lab:
        write_aws_profile(tmp_path / AWS_CONFIG_DIRECTORY / "config", lab.api.url, KEY_ID, SECRET)
        script = _block(section).replace(DEMO_ENDPOINT, lab.api.url)
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BARISTA_"))}
        environ["PATH"] = f"{Path(sys.executable).parent}:{environ.get('PATH', '')}"
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def test_the_sns_fan_out_to_sqs_tutorial(
    tmp_path: Path, endpoint: BrokerEndpoint, backend: str
) -> None:
    result = _run("## SNS and SQS with the aws CLI", tmp_path, endpoint, backend)
    assert result.returncode == 0, result.stderr
    # Each receive prints one body: SNS's envelope around the published message.
    envelopes = [d for d in _documents(result.stdout) if d.get("Type") == "Notification"]
    assert len(envelopes) == 2, result.stdout
    assert {json.loads(e["Message"])["drink"] for e in envelopes} == {"flat white"}
    assert all(e["TopicArn"].endswith(":order-news") for e in envelopes)


# FIFO queues live on Redis (the only backend declaring Features.fifo_queues; the guide's
# commands tag the queue barista:backend=redis).
@pytest.mark.parametrize("backend", ["redis"])
def test_the_sqs_fifo_order_queue_walkthrough(
    tmp_path: Path, endpoint: BrokerEndpoint, backend: str
) -> None:
    result = _run("AWS's FIFO walkthrough", tmp_path, endpoint, backend)
    assert result.returncode == 0, result.stderr
    documents = _documents(result.stdout)
    sends = [d for d in documents if "SequenceNumber" in d]
    assert len(sends) == 4, result.stdout
    numbers = [int(str(d["SequenceNumber"])) for d in sends[:3]]
    assert numbers == sorted(numbers), "sequence numbers increase in send order"
    assert len(set(numbers)) == 3
    duplicate, original = sends[3], sends[0]
    assert (duplicate["MessageId"], duplicate["SequenceNumber"]) == (
        original["MessageId"],
        original["SequenceNumber"],
    ), "the retried send is dropped and answered with the first one's id"
    processed = [
        (group, json.loads(body)["order"])
        for group, body in re.findall(r"^processing (\S+) (.*)$", result.stdout, re.MULTILINE)
    ]
    assert processed == [("customer-1", "1001"), ("customer-1", "1002"), ("customer-2", "2001")]
    assert {"Attributes": {"ApproximateNumberOfMessages": "0"}} in documents


def _documents(text: str) -> list[dict[str, object]]:
    """The JSON objects printed one after another (each command prints one, over lines)."""
    decoder, found, position = json.JSONDecoder(), [], 0
    while (start := text.find("{", position)) != -1:
        document, position = decoder.raw_decode(text, start)
        found.append(document)
    return found
