"""The SNS and SQS APIs on one real broker, with SNS's delivery controller running, as
``barista serve orchestrator`` runs them: for tests that drive both through boto3 or the
``aws`` CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.api import ApiContext
from orchestrator.api import sns_links as routes
from orchestrator.api import sqs as sqs_api
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sns import service as sns_service
from orchestrator.sns.delivery import DeliveryController, sqs_sender
from orchestrator.time_scale import TimeScale
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve
from tests.support.brokers import Endpoint as BrokerEndpoint


@dataclass(frozen=True)
class Lab:
    api: Endpoint
    broker_url: str
    sns: Any
    sqs: Any


@contextmanager
def messaging_lab(tmp_path: Path, endpoint: BrokerEndpoint, backend: str) -> Iterator[Lab]:
    """The API (SNS and SQS) on the backend's broker, and the delivery controller running."""
    environ = {
        "BARISTA_BROKER_URL": endpoint.url,
        "BARISTA_SNS_TOPICS": "",
        "BARISTA_SQS_QUEUES": "",
    }
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(), environ, CREDENTIALS)
    stopping = threading.Event()
    try:
        with serve(context, routes.routes(context)) as api:
            controller = DeliveryController(
                context.store_path,
                {backend: endpoint.url},
                api.url,
                sqs_sender(sqs_api.service_for(context)),
                time_scale=TimeScale(100.0),
            )
            thread = threading.Thread(target=controller.run, args=(stopping, 0.2), daemon=True)
            thread.start()
            try:
                yield Lab(api, endpoint.url, api.client("sns"), api.client("sqs"))
            finally:
                stopping.set()
                thread.join(timeout=30)
    finally:
        sns_service.shutdown()
        sqs_api.shutdown()
