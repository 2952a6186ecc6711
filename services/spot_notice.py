"""A worker that reads its Spot interruption notice the way EC2 software does, and leaves.

EC2 warns a Spot instance two minutes before it takes it back: the instance metadata
service's ``spot/instance-action`` answers 404 until then, and a JSON document after. This
watcher asks every ``poll`` seconds (IMDSv2: a session token first, then the path with it),
at the address AWS's SDKs read, ``AWS_EC2_METADATA_SERVICE_ENDPOINT``; once the notice is
there it sets ``leaving``: the worker takes no new order and finishes the one in hand, and the
stop that follows at the deadline (SIGTERM) hands back anything it still holds.

Plain ``urllib``: two HTTP calls need no client library, and botocore's metadata fetcher is
not a public API.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger("services.spot_notice")

ENDPOINT_VARIABLE = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
TOKEN_TTL = "21600"  # noqa: S105 - seconds, not a secret
TIMEOUT = 2.0


class InstanceMetadata:
    """IMDSv2 at ``endpoint`` (``http://host:port/…/``): a token, then reads with it."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self._token: str | None = None

    def _fetch_token(self) -> str:
        request = urllib.request.Request(  # noqa: S310 - the orchestrator's own http URL
            self.endpoint + "latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            return str(answer.read().decode())

    def get(self, path: str) -> str | None:
        """The text at ``latest/meta-data/<path>``, or None where it answers 404."""
        for attempt in range(2):
            if self._token is None:
                self._token = self._fetch_token()
            request = urllib.request.Request(  # noqa: S310
                self.endpoint + "latest/meta-data/" + path,
                headers={"X-aws-ec2-metadata-token": self._token},
            )
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                    return str(answer.read().decode())
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code == 401 and attempt == 0:
                    self._token = None
                    continue
                raise
        return None

    def instance_action(self) -> dict[str, Any] | None:
        """The interruption notice (``{"action": "terminate", "time": …}``), or None."""
        text = self.get("spot/instance-action")
        return None if text is None else dict(json.loads(text))


class SpotNoticeWatcher(threading.Thread):
    """Sets ``leaving`` once the notice appears; a failed question is logged and asked again."""

    def __init__(
        self,
        metadata: InstanceMetadata,
        leaving: threading.Event,
        stopping: threading.Event,
        poll: float = 1.0,
    ) -> None:
        super().__init__(name="spot-notice", daemon=True)
        self.metadata = metadata
        self.leaving = leaving
        self.stopping = stopping
        self.poll = poll

    def check_once(self) -> bool:
        try:
            notice = self.metadata.instance_action()
        except (OSError, ValueError) as error:
            log.warning("spot notice unknown", extra={"error": str(error)})
            return False
        if notice is None:
            return False
        log.info(
            "spot interruption notice: finishing the order in hand, taking no more",
            extra={"action": notice.get("action"), "time": notice.get("time")},
        )
        self.leaving.set()
        return True

    def run(self) -> None:
        while not self.stopping.is_set() and not self.leaving.is_set():
            if self.check_once():
                return
            self.stopping.wait(self.poll)
