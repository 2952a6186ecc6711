"""Service configuration from the environment, with errors that name the variable to fix.

Each process (every service, and ``barista serve orchestrator``) declares one pydantic model;
field ``broker_url`` is read from ``BARISTA_BROKER_URL``. A missing or bad value stops the
process at start with every problem listed, never later.

Why not pydantic-settings: its environment source reads ``os.environ`` only, while every caller
here hands the environment in (the tests give a dict, ``barista demo`` a merged ``.env``); reading
a given mapping means overriding its private ``_load_env_vars``. What it would add over the
model (prefix, empty-means-unset) is the dozen lines of :func:`load`, which also redact a URL's
password in the error, something pydantic-settings' errors would print.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

PREFIX = "BARISTA_"

Model = TypeVar("Model", bound=BaseModel)


class SettingsError(ValueError):
    """One or more environment variables are missing or invalid."""


class Settings(BaseModel):
    """Base for service settings: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _redacted(value: str) -> str:
    """A value fit for an error message: a URL's password is replaced by ***."""
    parts = urlsplit(value)
    if parts.password is None:
        return value
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def load(model: type[Model], environ: Mapping[str, str]) -> Model:
    """Build ``model`` from ``BARISTA_*`` variables; raise SettingsError naming each bad one."""
    values = {
        field: environ[env_name(field)]
        for field in model.model_fields
        if env_name(field) in environ and environ[env_name(field)] != ""
    }
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            given = f" (got {_redacted(values[field])!r})" if field in values else ""
            problems.append(f"{env_name(field)}: {item['msg']}{given}")
        raise SettingsError("bad configuration:\n  " + "\n  ".join(problems)) from None
