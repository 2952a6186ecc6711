from __future__ import annotations

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
