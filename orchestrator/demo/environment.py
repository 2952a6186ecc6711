"""The demo's settings: the process environment over the compose project's ``.env`` file.

Compose reads ``.env`` for the stack, and an exported variable wins over it; the demo commands
read them the same way, so ``make up BACKEND=kafka`` and the e2e test's own ports and
credentials reach both. From these come the URLs the demo's containers use inside the compose
network: the chosen broker's (``BACKEND``) and the ledger's (Redis, whichever the backend).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from orchestrator.env_file import read_env_file

BACKENDS = ("kafka", "rabbitmq", "redis")
DEFAULT_BACKEND = "rabbitmq"
# How the demo's Kafka queues are consumed (KAFKA_QUEUE_MODE): consumer groups keep order per
# customer but let at most one barista per partition brew; share groups let every barista brew.
KAFKA_QUEUE_MODES = ("consumer-group", "share-group")
DEFAULT_KAFKA_QUEUE_MODE = "consumer-group"
DEFAULT_PROJECT = "barista"  # images/compose.sh's default COMPOSE_PROJECT_NAME


__all__ = ["DemoSettingError", "demo_environ", "read_env_file", "variables"]


class DemoSettingError(ValueError):
    """A setting the demo needs is missing or wrong; the message names it."""


def demo_environ(environ: Mapping[str, str], env_file: Path | None) -> dict[str, str]:
    """``.env`` with the process environment on top (Compose's precedence)."""
    return {**(read_env_file(env_file) if env_file else {}), **environ}


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise DemoSettingError(f"{name} is not set (make up writes it to .env)")
    return value


def backend(environ: Mapping[str, str]) -> str:
    chosen = environ.get("BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise DemoSettingError(f"BACKEND={chosen} is not one of {', '.join(BACKENDS)}")
    return chosen


def _login(environ: Mapping[str, str], prefix: str) -> str:
    user = quote(_required(environ, f"{prefix}_USER"), safe="")
    password = quote(_required(environ, f"{prefix}_PASSWORD"), safe="")
    return f"{user}:{password}"


def kafka_queue_mode(environ: Mapping[str, str]) -> str:
    chosen = environ.get("KAFKA_QUEUE_MODE") or DEFAULT_KAFKA_QUEUE_MODE
    if chosen not in KAFKA_QUEUE_MODES:
        raise DemoSettingError(
            f"KAFKA_QUEUE_MODE={chosen} is not one of {', '.join(KAFKA_QUEUE_MODES)}"
        )
    return chosen


def broker_url(environ: Mapping[str, str]) -> str:
    """The chosen broker's URL on the compose network (service names, container ports); a
    Kafka URL carries KAFKA_QUEUE_MODE when it is not the adapter's default."""
    match backend(environ):
        case "kafka":
            url = f"kafka://{_login(environ, 'KAFKA')}@kafka:19092"
            mode = kafka_queue_mode(environ)
            return url if mode == DEFAULT_KAFKA_QUEUE_MODE else f"{url}?queue_mode={mode}"
        case "rabbitmq":
            return f"amqp://{_login(environ, 'RABBITMQ')}@rabbitmq:5672?management_port=15672"
        case _:
            return ledger_url(environ)


def ledger_url(environ: Mapping[str, str]) -> str:
    return f"redis://{_login(environ, 'REDIS')}@redis:6379"


def project_name(environ: Mapping[str, str]) -> str:
    return environ.get("COMPOSE_PROJECT_NAME") or DEFAULT_PROJECT


def variables(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``${NAME}`` in the stack file may name: the environment, and these derived ones."""
    return {
        **environ,
        "BACKEND": backend(environ),
        "BROKER_URL": broker_url(environ),
        "LEDGER_URL": ledger_url(environ),
        "COMPOSE_PROJECT_NAME": project_name(environ),
        # docker-compose.yml names its network this way, for the workers to join.
        "NETWORK": f"{project_name(environ)}_default",
    }
