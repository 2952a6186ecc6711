from __future__ import annotations

import uuid

from broker_adapters import BrokerUnavailable, UnsupportedSemantic, connect
from broker_adapters.memory import MemoryBroker
from orchestrator.compare import runner
from orchestrator.compare.observations import Failed, Unsupported


def test_refusals_and_errors_are_recorded_and_an_unavailable_broker_stops_the_run(monkeypatch):
    called = []

    def refuses(url, broker):
        called.append("refuses")
        raise UnsupportedSemantic("no such thing here")

    def breaks(url, broker):
        called.append("breaks")
        raise ValueError("bad arithmetic with p4ssw0rd")

    def times_out(url, broker):
        called.append("times_out")
        raise BrokerUnavailable("kafka: timed out")

    def never(url, broker):
        called.append("never")
        raise AssertionError("must not run after the broker stopped answering")

    monkeypatch.setattr(runner, "check_reachable", lambda url: None)
    monkeypatch.setattr(
        runner, "open_broker", lambda url: connect(f"memory://compare-{uuid.uuid4().hex}")
    )
    monkeypatch.setattr(
        runner,
        "RUNS",
        {
            "fan-out": refuses,
            "offline-subscriber": breaks,
            "ordering": times_out,
            "crash-redelivery": never,
        },
    )
    seen = []
    report = runner.run_backend(
        "fake",
        "kafka://u:p4ssw0rd@127.0.0.1:1",
        ["fan-out", "offline-subscriber", "ordering", "crash-redelivery"],
        progress=lambda backend, name, result, seconds: seen.append(name),
    )
    assert called == ["refuses", "breaks", "times_out"]
    assert report.results["fan-out"] == Unsupported("no such thing here")
    assert report.results["offline-subscriber"] == Failed("ValueError: bad arithmetic with ***")
    ordering = report.results["ordering"]
    assert isinstance(ordering, Failed)
    assert "user and password" in ordering.error
    skipped = report.results["crash-redelivery"]
    assert isinstance(skipped, Failed)
    assert skipped.error.startswith("not run: ")
    assert seen == ["fan-out", "offline-subscriber", "ordering", "crash-redelivery"]
    declared = MemoryBroker.features.redelivery_after_crash
    assert report.features["redelivery_after_crash"] == declared
    assert "name" not in report.features
    assert report.url == "kafka://u:***@127.0.0.1:1"
    assert not report.ok


def test_a_connect_failure_is_reported_with_the_password_hidden(monkeypatch):
    def refuse(url):
        raise RuntimeError(f"auth failed for {url}")

    monkeypatch.setattr(runner, "check_reachable", lambda url: None)
    monkeypatch.setattr(runner, "open_broker", refuse)
    report = runner.run_backend("redis", "redis://u:s3cr3t@127.0.0.1:1")
    assert report.error is not None
    assert "s3cr3t" not in report.error
    assert report.results == {}
