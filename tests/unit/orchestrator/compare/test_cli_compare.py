from __future__ import annotations

import json
import socket

import pytest

from orchestrator.cli import _build_parser, main
from orchestrator.cli.compare import selected_urls


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_defaults_are_every_backend_and_a_table(tmp_path):
    args = _build_parser().parse_args(["compare", "--env-file", str(tmp_path / ".env")])
    assert (args.backend, args.output) == ("all", "table")
    assert list(selected_urls(args, {})) == ["kafka", "kafka-share", "rabbitmq", "redis"]


def test_one_backend_and_its_url_option_win_over_the_environment(tmp_path):
    args = _build_parser().parse_args(
        ["compare", "--backend", "redis", "--redis-url", "redis://opt:6379", "--output", "json"]
    )
    assert args.output == "json"
    assert selected_urls(args, {"BARISTA_REDIS_URL": "redis://env:6379"}) == {
        "redis": "redis://opt:6379"
    }


def test_the_url_variable_is_used_without_an_option(tmp_path):
    args = _build_parser().parse_args(
        ["compare", "--backend", "kafka", "--env-file", str(tmp_path / "none")]
    )
    assert selected_urls(args, {"BARISTA_KAFKA_URL": "kafka://env:9092"}) == {
        "kafka": "kafka://env:9092?queue_mode=consumer-group"
    }


def test_the_share_group_backend_runs_on_the_kafka_url_option(tmp_path):
    args = _build_parser().parse_args(
        ["compare", "--backend", "kafka-share", "--kafka-url", "kafka://opt:9092"]
    )
    assert selected_urls(args, {}) == {"kafka-share": "kafka://opt:9092?queue_mode=share-group"}


def test_an_unknown_backend_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--backend", "activemq"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'activemq'" in capsys.readouterr().err


def test_an_unreachable_broker_is_a_clear_error_not_a_traceback(capsys):
    port = closed_port()
    code = main(
        [
            "compare",
            "--backend",
            "redis",
            "--redis-url",
            f"redis://barista:hunter2@127.0.0.1:{port}",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert f"cannot reach redis://barista:***@127.0.0.1:{port}" in err
    assert "Traceback" not in err
    assert "hunter2" not in out + err
    assert "no connection" in out


def test_json_output_for_an_unreachable_broker_is_still_valid_json(capsys):
    port = closed_port()
    code = main(
        [
            "compare",
            "--backend",
            "kafka",
            "--kafka-url",
            f"kafka://u:p@127.0.0.1:{port}",
            "--output",
            "json",
        ]
    )
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert code == 1
    [backend] = data["backends"]
    assert backend["ok"] is False
    assert backend["url"] == f"kafka://u:***@127.0.0.1:{port}?queue_mode=consumer-group"
