"""The SQS and SNS APIs of Barista on the comparison's brokers, for ``--through aws-api``.

``barista compare --through aws-api`` needs no running orchestrator: it serves Barista's own
SQS and SNS (the same front door, actions and SNS delivery controller ``barista serve
orchestrator`` runs) on an ephemeral loopback port, over a throwaway store, with a one-off key
pair, in front of the brokers being compared. Each backend is then reached as
``barista-api://KEY:SECRET@127.0.0.1:PORT/<backend>`` (``api_broker``).

An API has one URL per broker, and a Kafka URL sets the queue mode of every Kafka queue the
API makes; so ``served_apis`` serves one API per Kafka queue mode compared, each in front of
the same Kafka.
"""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from orchestrator.api import ApiContext
from orchestrator.api import sns as sns_api
from orchestrator.api import sns_links as sns_routes
from orchestrator.api import sqs as sqs_api
from orchestrator.api.credentials import Credentials
from orchestrator.api.front_door import FrontDoor
from orchestrator.compare.api_broker import api_url
from orchestrator.compare.urls import broker_of
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sns.delivery import DeliveryController, sqs_sender

START_TIMEOUT = 10.0
URL_VARIABLES = {
    "kafka": "BARISTA_KAFKA_URL",
    "rabbitmq": "BARISTA_RABBITMQ_URL",
    "redis": "BARISTA_REDIS_URL",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_apis(backend_urls: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """``served_api`` for the comparison's backends, of which several may be one broker in
    different queue modes: as few APIs as give each backend its own broker URL; yields a
    ``barista-api://`` URL per backend, in ``backend_urls`` order."""
    deployments: list[dict[str, str]] = []  # each: broker -> backend
    for backend in backend_urls:
        broker = broker_of(backend)
        free = next((served for served in deployments if broker not in served), None)
        if free is None:
            free = {}
            deployments.append(free)
        free[broker] = backend
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        for deployment in deployments:
            brokers = {broker: backend_urls[backend] for broker, backend in deployment.items()}
            served = stack.enter_context(served_api(brokers))
            for broker, backend in deployment.items():
                # The path names the comparison's backend (kafka-share: the API whose Kafka
                # queues are on share groups), which the API broker declares features for.
                urls[backend] = urlunsplit(urlsplit(served[broker])._replace(path=f"/{backend}"))
        yield {backend: urls[backend] for backend in backend_urls}


@contextmanager
def served_api(broker_urls: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """While the block runs, the APIs answer; yields a ``barista-api://`` URL per broker
    (``kafka``, ``rabbitmq``, ``redis``: the SQS and SNS backends)."""
    key_id, secret = f"AKIACOMPARE{secrets.token_hex(4).upper()}", secrets.token_urlsafe(30)
    with tempfile.TemporaryDirectory(prefix="barista-compare-") as folder:
        first = next(iter(broker_urls.values()))
        environ = {
            "BARISTA_BROKER_URL": first,
            "BARISTA_SNS_TOPICS": "",  # no demo topic to adopt
            "BARISTA_SQS_QUEUES": "",  # nor demo queue
            **{URL_VARIABLES[backend]: url for backend, url in broker_urls.items()},
        }
        # Only SQS and SNS are served; neither starts or stops instances, so no Docker runtime.
        context = ApiContext(
            Path(folder) / "barista.db", FakeRuntime(), environ, Credentials({key_id: secret})
        )
        door = FrontDoor(
            {"sqs": sqs_api.actions(context), "sns": sns_api.actions(context)},
            context.credentials,
        )
        app = Starlette(
            routes=[
                *sns_routes.routes(context),
                Route("/", door.endpoint, methods=["POST"]),
                Route("/{account}/{queue}", door.endpoint, methods=["POST"]),
            ]
        )
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
                # On a daemon thread: asyncio and h11, as services.lifecycle says why.
                loop="asyncio",
                http="h11",
            )
        )
        serving = threading.Thread(target=server.run, name="compare-api", daemon=True)
        serving.start()
        stopping = threading.Event()
        delivery = DeliveryController(
            context.store_path,
            dict(broker_urls),
            endpoint,
            sqs_sender(sqs_api.service_for(context)),
        )
        delivering = threading.Thread(
            target=delivery.run, args=(stopping, 0.2), name="compare-sns", daemon=True
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not server.started:
                if time.monotonic() > deadline or not serving.is_alive():
                    raise RuntimeError(f"the comparison's API did not start on {endpoint}")
                time.sleep(0.05)
            delivering.start()
            yield {backend: api_url(endpoint, key_id, secret, backend) for backend in broker_urls}
        finally:
            stopping.set()
            if delivering.is_alive():
                delivering.join(timeout=30)
            server.should_exit = True
            serving.join(timeout=10)
            sns_api.shutdown()
            sqs_api.shutdown()
