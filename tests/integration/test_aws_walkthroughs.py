"""AWS's own walk-throughs, as the README gives them, on each real broker: the real ``aws`` CLI
with the profile ``make up`` writes, only the endpoint changed (README: "SNS and SQS with the
aws CLI")."""

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

README = Path(__file__).parents[2] / "README.md"
DEMO_ENDPOINT = "http://127.0.0.1:8500"


def _block(section: str) -> str:
    text = README.read_text()
    match = re.search(r"```sh\n(.*?)```", text[text.index(section) :], re.DOTALL)
    assert match, f"the README's {section!r} has a sh block"
    return match.group(1)


def test_the_sns_fan_out_to_sqs_tutorial(
    tmp_path: Path, endpoint: BrokerEndpoint, backend: str
) -> None:
    with messaging_lab(tmp_path, endpoint, backend) as lab:
        write_aws_profile(tmp_path / AWS_CONFIG_DIRECTORY / "config", lab.api.url, KEY_ID, SECRET)
        script = _block("## SNS and SQS with the aws CLI").replace(DEMO_ENDPOINT, lab.api.url)
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BARISTA_"))}
        environ["PATH"] = f"{Path(sys.executable).parent}:{environ.get('PATH', '')}"
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    # Each receive prints one body: SNS's envelope around the published message.
    envelopes = [d for d in _documents(result.stdout) if d.get("Type") == "Notification"]
    assert len(envelopes) == 2, result.stdout
    assert {json.loads(e["Message"])["drink"] for e in envelopes} == {"flat white"}
    assert all(e["TopicArn"].endswith(":order-news") for e in envelopes)


def _documents(text: str) -> list[dict[str, object]]:
    """The JSON objects printed one after another (each command prints one, over lines)."""
    decoder, found, position = json.JSONDecoder(), [], 0
    while (start := text.find("{", position)) != -1:
        document, position = decoder.raw_decode(text, start)
        found.append(document)
    return found
