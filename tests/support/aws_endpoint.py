"""An orchestrator API on an ephemeral loopback port, for the real ``aws`` CLI and boto3.

The app is the one ``barista serve orchestrator`` serves (``create_app``), run by uvicorn on a
thread, so a test drives it exactly as a user's SDK would: over HTTP, signed with SigV4.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

from orchestrator.api import ApiContext, create_app
from tests.support.aws_auth import CREDENTIALS, KEY_ID, SECRET
from tests.support.receiving import wait_for

REGION = "us-east-1"

__all__ = ["CREDENTIALS", "KEY_ID", "SECRET", "Endpoint", "serve"]


@dataclass(frozen=True)
class Endpoint:
    url: str

    def client(self, service: str, **options: Any) -> Any:
        """A boto3 client for ``service`` at this endpoint, with the test's keys and no
        retries (a test wants the first answer, not a retried one)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=options.pop("aws_access_key_id", KEY_ID),
            aws_secret_access_key=options.pop("aws_secret_access_key", SECRET),
            config=Config(retries={"max_attempts": 1}, **options),
        )

    def environ(self) -> dict[str, str]:
        """What the ``aws`` CLI needs in its environment to reach this endpoint."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_MAX_ATTEMPTS": "1",
        }

    def aws(
        self, *arguments: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The real AWS CLI (awscli from PyPI), ``--output json``."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("aws")), *arguments, "--output", "json"],
            env={**self.environ(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(
    context: ApiContext,
    extra_routes: Sequence[Any] = (),
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> Iterator[Endpoint]:
    """Serve ``create_app(context)`` until the block ends; on loopback unless ``host`` says
    where else (a Docker network's gateway, for containers to reach it)."""
    port = port if port is not None else _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context, extra_routes),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started, timeout=10), "the API should start"
        yield Endpoint(f"http://{host}:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
