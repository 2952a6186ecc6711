from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestrator.compare.urls import (
    BackendUnreachable,
    backend_url,
    check_reachable,
    compose_urls,
    default_urls,
    first_address,
    read_env_file,
    redact,
    redact_text,
)

ENV_FILE = """\
# made by make up
KAFKA_USER=barista
KAFKA_PASSWORD=k/pass+word
RABBITMQ_USER=barista
RABBITMQ_PASSWORD="r-secret"
REDIS_USER=barista
REDIS_PASSWORD=s3cret
KAFKA_PORT=19092
RABBITMQ_PORT=25672
RABBITMQ_MANAGEMENT_PORT=35672
REDIS_PORT=46379
"""


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ENV_FILE)
    return path


def test_the_env_file_gives_the_compose_stacks_urls_with_encoded_credentials(env_file):
    urls = default_urls({}, env_file)
    assert urls == {
        "kafka": "kafka://barista:k%2Fpass%2Bword@127.0.0.1:19092?queue_mode=consumer-group",
        "kafka-share": "kafka://barista:k%2Fpass%2Bword@127.0.0.1:19092?queue_mode=share-group",
        "rabbitmq": "amqp://barista:r-secret@127.0.0.1:25672?management_port=35672",
        "redis": "redis://barista:s3cret@127.0.0.1:46379",
    }


def test_barista_url_variables_win_over_the_env_file(env_file):
    urls = default_urls({"BARISTA_REDIS_URL": "redis://other:6379/2"}, env_file)
    assert urls["redis"] == "redis://other:6379/2"
    assert urls["kafka"].endswith("@127.0.0.1:19092?queue_mode=consumer-group")


def test_process_environment_wins_over_the_env_file_as_with_compose(env_file):
    urls = default_urls({"REDIS_PORT": "6380", "REDIS_PASSWORD": "from-shell"}, env_file)
    assert urls["redis"] == "redis://barista:from-shell@127.0.0.1:6380"


def test_without_an_env_file_the_compose_defaults_apply(tmp_path):
    urls = default_urls({}, tmp_path / "missing.env")
    assert urls["redis"] == compose_urls({})["redis"]
    assert urls["kafka"] == "kafka://127.0.0.1:9092?queue_mode=consumer-group"
    assert urls["rabbitmq"] == "amqp://127.0.0.1:5672?management_port=15672"


def test_env_file_comments_blanks_and_quotes(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# comment\n\nA=1\nB='two words'\nnot a setting\nC=x=y\n")
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "x=y"}


def test_redact_hides_only_the_password():
    assert redact("amqp://barista:secret@host:5672?management_port=15672") == (
        "amqp://barista:***@host:5672?management_port=15672"
    )
    assert redact("redis://host:6379") == "redis://host:6379"
    assert "k%2Fpass" not in redact("kafka://u:k%2Fpass@h:9092")


def test_redact_text_removes_plain_and_encoded_passwords():
    url = "kafka://u:k%2Fpass@h:9092"
    text = "auth failed for u with k/pass (k%2Fpass)"
    assert redact_text(text, url) == "auth failed for u with *** (***)"


def test_first_address_of_a_kafka_url_with_several_servers():
    assert first_address("kafka://u:p@a:9093,b:9094") == ("a", 9093)
    assert first_address("redis://host") == ("host", 6379)


def test_an_unreachable_broker_is_named_with_its_password_redacted():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: the connection is refused at once.
    with pytest.raises(BackendUnreachable) as raised:
        check_reachable(f"redis://barista:hunter2@127.0.0.1:{port}")
    message = str(raised.value)
    assert f"redis://barista:***@127.0.0.1:{port}" in message
    assert "hunter2" not in message


def test_a_kafka_url_of_either_mode_is_measured_in_the_mode_each_column_names():
    given = "kafka://u:p@h:9092?queue_mode=share-group"
    assert backend_url("kafka", given) == "kafka://u:p@h:9092?queue_mode=consumer-group"
    assert backend_url("kafka-share", given) == given
    assert backend_url("redis", "redis://h:6379") == "redis://h:6379"
    urls = default_urls({"BARISTA_KAFKA_URL": given}, Path("/nonexistent/.env"))
    assert urls["kafka"] == "kafka://u:p@h:9092?queue_mode=consumer-group"
    assert urls["kafka-share"] == given
