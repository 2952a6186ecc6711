"""The commands of docs/aws-cli.md's "Use the aws CLI and boto3", and the README's taste of
them, run as written: the real ``aws`` CLI and boto3 with the profile ``make up`` writes,
against the demo's stack applied through botocore (on a fake runtime, so no containers
start)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.api import ApiContext
from orchestrator.cli._aws_sdk import AwsSdkCaller
from orchestrator.cli.demo import AWS_CONFIG_DIRECTORY, write_aws_profile
from orchestrator.demo import STACK_FILE
from orchestrator.demo.environment import variables
from orchestrator.demo.stack import apply, load
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import ACCESS_KEY, CREDENTIALS, KEY_ID, SECRET
from tests.support.aws_endpoint import Endpoint, serve

ROOT = Path(__file__).parents[4]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "aws-cli.md"
SECTION = "## Use the aws CLI and boto3"
SETTINGS = {
    "RABBITMQ_USER": "barista",
    "RABBITMQ_PASSWORD": "secret",
    "REDIS_USER": "barista",
    "REDIS_PASSWORD": "secret",
}


def _block(language: str) -> str:
    text = GUIDE.read_text()
    section = text[text.index(SECTION) :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, f"the guide's section has a {language} block"
    return match.group(1)


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Endpoint]:
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(start=0.0), credentials=CREDENTIALS)
    with serve(context) as endpoint:
        apply(AwsSdkCaller(endpoint.url, ACCESS_KEY), load(STACK_FILE, variables(SETTINGS)))
        write_aws_profile(tmp_path / AWS_CONFIG_DIRECTORY / "config", endpoint.url, KEY_ID, SECRET)
        yield endpoint


def _environ() -> dict[str, str]:
    """The user's shell: no AWS settings of its own, the virtualenv's ``aws`` on PATH."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BARISTA_"))}
    return {**clean, "PATH": f"{Path(sys.executable).parent}:{clean.get('PATH', '')}"}


def test_the_guides_aws_cli_commands_run_as_written(demo: Endpoint, tmp_path: Path) -> None:
    result = _run(_block("sh"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "baristas" in result.stdout
    assert "order-api" in result.stdout  # the target group and the ECS service
    assert "TargetTrackingScaling" in result.stdout
    assert "ALBRequestCountPerTarget" in result.stdout  # the counters' service auto scaling


def test_the_readmes_taste_of_the_aws_cli_runs_as_written(demo: Endpoint, tmp_path: Path) -> None:
    [script] = [
        block
        for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)
        if "AWS_PROFILE" in block
    ]
    result = _run(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "baristas" in result.stdout
    assert "order-api" in result.stdout  # the counters: an ECS service


def test_the_guides_boto3_snippet_runs_as_written(demo: Endpoint, tmp_path: Path) -> None:
    config = tmp_path / AWS_CONFIG_DIRECTORY / "config"
    result = subprocess.run(
        [sys.executable, "-c", _block("python")],
        cwd=tmp_path,
        env={**_environ(), "AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "barista"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert names == {"baristas"}, "the demo's one Auto Scaling group (the counters are ECS)"
