from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from starlette.testclient import TestClient

from services.health import create_app


def test_healthz_reports_status_and_the_loaded_client_versions():
    response = TestClient(create_app()).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["clients"]["confluent-kafka"] == version("confluent-kafka")
    assert body["clients"]["redis"] == version("redis")
    assert body["clients"]["librdkafka"].count(".") == 2


def test_a_role_reports_and_imports_only_the_clients_it_names():
    # A fresh interpreter: this one has imported every client already.
    code = (
        "import sys; from services.health import health_payload; "
        "body = health_payload(['pika']); "
        "print(sorted(body['clients']), 'confluent_kafka' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['pika'] False"
