from __future__ import annotations

import pytest
from pydantic import Field

from services.settings import Settings, SettingsError, load


class Example(Settings):
    broker_url: str
    port: int = Field(default=8080, ge=1, le=65535)


def test_values_come_from_barista_variables():
    settings = load(Example, {"BARISTA_BROKER_URL": "redis://h:6379", "BARISTA_PORT": "9000"})
    assert (settings.broker_url, settings.port) == ("redis://h:6379", 9000)


def test_every_bad_variable_is_named():
    with pytest.raises(SettingsError) as error:
        load(Example, {"BARISTA_PORT": "0"})
    message = str(error.value)
    assert "BARISTA_BROKER_URL: Field required" in message
    assert "BARISTA_PORT: Input should be greater than or equal to 1 (got '0')" in message


def test_a_password_in_a_bad_url_is_not_echoed():
    class Strict(Settings):
        broker_url: int

    with pytest.raises(SettingsError) as error:
        load(Strict, {"BARISTA_BROKER_URL": "amqp://user:s3cret@host:5672/"})
    assert "s3cret" not in str(error.value)
    assert "amqp://user:***@host:5672/" in str(error.value)
