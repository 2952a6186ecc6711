"""The SNS API on an in-process endpoint over a fake runtime and an in-memory broker: the
topic's backend is "redis" by its URL, but every connection is the same ``RecordingBroker``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.api import ApiContext
from orchestrator.api import sns_links as routes
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sns import service
from orchestrator.sns.delivery import DeliveryController
from orchestrator.sqs.brokers import BrokerPool
from orchestrator.time_scale import TimeScale
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve
from tests.unit.services.fakes import RecordingBroker

BROKER_URL = "redis://barista:secret@127.0.0.1:6379/0"


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def context(
    tmp_path: Path, broker: RecordingBroker, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiContext]:
    monkeypatch.setattr(
        service, "BrokerPool", lambda urls: BrokerPool(urls, opener=lambda _url: broker)
    )
    yield ApiContext(
        tmp_path / "barista.db",
        FakeRuntime(start=0.0),
        environ={"BARISTA_BROKER_URL": BROKER_URL},
        credentials=CREDENTIALS,
    )
    service.shutdown()


@pytest.fixture
def endpoint(context: ApiContext) -> Iterator[Endpoint]:
    with serve(context, routes.routes(context)) as served:
        yield served


@pytest.fixture
def sns(endpoint: Endpoint) -> Any:
    return endpoint.client("sns")


class QueueRecorder:
    """A QueueSender that records what SNS sends to each queue ARN."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.missing: set[str] = set()

    def __call__(self, arn: str, entry: Mapping[str, Any]) -> None:
        from orchestrator.errors import AwsError  # noqa: PLC0415

        if arn in self.missing:
            raise AwsError("QueueDoesNotExist", f"{arn} does not exist")
        self.sent.append((arn, dict(entry)))

    def to(self, arn: str) -> list[dict[str, Any]]:
        return [entry for target, entry in self.sent if target == arn]


@pytest.fixture
def queues() -> QueueRecorder:
    return QueueRecorder()


@pytest.fixture
def controller(
    context: ApiContext, endpoint: Endpoint, broker: RecordingBroker, queues: QueueRecorder
) -> Iterator[DeliveryController]:
    """Delivery at 1000 times AWS's pace (a 20 s retry waits 20 ms); call ``reconcile()``."""
    delivery = DeliveryController(
        context.store_path,
        {"redis": BROKER_URL},
        endpoint.url,
        queues,
        time_scale=TimeScale(1000.0),
        opener=lambda _url: broker,
    )
    yield delivery
    delivery.close()
