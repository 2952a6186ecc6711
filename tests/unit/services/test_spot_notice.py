"""The barista's Spot notice watcher against the orchestrator's real metadata routes: nothing
until the notice, then ``leaving``; a token refused after a restart is fetched again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.api import ApiContext
from orchestrator.api.instance_metadata import Tokens, routes
from orchestrator.instance_types import limits
from orchestrator.instances import Lifecycle, metadata_endpoint
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.notices import Notice, NoticeKind
from orchestrator.spot.store import SpotStore
from services.spot_notice import InstanceMetadata, SpotNoticeWatcher
from tests.support.aws_endpoint import serve

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, list[Tokens]]]:
    runtime = FakeRuntime(start=START)
    cpus, memory = limits("t3.micro")
    runtime.launch(
        "web",
        "i-1",
        template_name="web",
        template_version=1,
        data=LaunchTemplateData(image="x", cpus=cpus, memory_mib=memory),
        availability_zone="az-a",
        lifecycle=Lifecycle.SPOT,
        protected=False,
    )
    context = ApiContext(tmp_path / "db", runtime)
    tokens = [Tokens()]

    class Rotating(Tokens):
        """The orchestrator's key as of now: swapping it is a restart."""

        def issue(self, instance_id: str, ttl: int) -> str:
            return tokens[0].issue(instance_id, ttl)

        def valid(self, instance_id: str, token: str | None) -> bool:
            return tokens[0].valid(instance_id, token)

    with serve(context, routes(context, Rotating())) as endpoint:
        yield endpoint.url, context.store_path, tokens


def test_leaving_once_the_notice_is_there(served: tuple[str, Path, list[Tokens]]) -> None:
    url, store_path, tokens = served
    metadata = InstanceMetadata(metadata_endpoint(url, "i-1"))
    leaving, stopping = threading.Event(), threading.Event()
    watcher = SpotNoticeWatcher(metadata, leaving, stopping, poll=0.05)
    assert not watcher.check_once()
    assert metadata.get("instance-life-cycle") == "spot"
    notice = Notice(
        instance_id="i-1",
        group="web",
        instance_type="t3.micro",
        availability_zone="az-a",
        kind=NoticeKind.INTERRUPTION,
        noticed_at=START,
        action_time=START + 120,
    )
    with SpotStore(store_path) as store:
        store.put_notice(notice)
    tokens[0] = Tokens()  # the orchestrator restarted: the old token is refused, a new one asked
    watcher.start()
    watcher.join(timeout=10)
    assert leaving.is_set()
    assert metadata.instance_action() == {"action": "terminate", "time": "2026-11-28T00:02:00Z"}
    with SpotStore(store_path) as store:
        store.put_notice(
            replace(
                notice,
                instance_id="i-1",
                action_time=None,
                kind=NoticeKind.REBALANCE,
                rebalance_at=START,
            )
        )
    assert metadata.instance_action() is None
