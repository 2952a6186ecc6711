"""EC2's instance metadata service (IMDSv2) for Barista's instances, on the orchestrator's
HTTP port: where EC2 software looks for a Spot interruption notice.

An instance is told its address through ``AWS_EC2_METADATA_SERVICE_ENDPOINT``
(``http://<orchestrator>/metadata/<instance id>/``), which AWS's SDKs and CLI honour; they add
``latest/api/token`` and ``latest/meta-data/…`` themselves. The instance id in the path stands
in for what EC2 knows from the network (which instance is asking).

- ``PUT …/latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1-21600) answers a
  token; every ``GET`` needs it in ``X-aws-ec2-metadata-token`` (401 without a valid one, as
  IMDSv2 with tokens required answers). Tokens are HMACs of the instance id and expiry with a
  key of this process: after a restart the SDKs' retry fetches a new one.
- ``GET …/latest/meta-data/<path>``: ``instance-id``, ``instance-type``,
  ``instance-life-cycle`` (``spot`` / ``on-demand``), ``placement/availability-zone``,
  ``spot/instance-action`` (404 until the market gives the instance its two-minute notice,
  then ``{"action": "terminate", "time": …}``), ``events/recommendations/rebalance`` (404 until
  a rebalance recommendation, then ``{"noticeTime": …}``), ``autoscaling/target-lifecycle-state``
  (the state the instance is headed for: ``InService``, ``Terminated`` once its group has
  begun terminating it, or its warm pool's ``Warmed:Stopped`` / ``Warmed:Running`` /
  ``Warmed:Hibernated``). Times are the orchestrator's AWS clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orchestrator.api import ApiContext
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool import target_lifecycle_state
from orchestrator.instances import Instance
from orchestrator.spot.store import SpotStore

PREFIX = "/metadata/{instance_id}/latest"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"  # noqa: S105 - a header's name
MAX_TTL = 21_600  # six hours, IMDSv2's limit


def _imds_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Tokens:
    """IMDSv2 session tokens: ``instance id:expiry:hmac``, checked without any state."""

    def __init__(self, key: bytes | None = None, wall: Callable[[], float] = time.time) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._wall = wall

    def _mac(self, instance_id: str, expiry: int) -> str:
        message = f"{instance_id}:{expiry}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, instance_id: str, ttl: int) -> str:
        expiry = int(self._wall()) + ttl
        return f"{expiry}.{self._mac(instance_id, expiry)}"

    def valid(self, instance_id: str, token: str | None) -> bool:
        if not token or "." not in token:
            return False
        expiry_text, mac = token.split(".", 1)
        if not expiry_text.isdigit() or int(expiry_text) < self._wall():
            return False
        return hmac.compare_digest(mac, self._mac(instance_id, int(expiry_text)))


def routes(context: ApiContext, tokens: Tokens | None = None) -> list[Route]:
    """The metadata service's two routes over the context's store and runtime."""
    issued = tokens or Tokens()
    runtime = context.runtime

    def instance(instance_id: str) -> Instance | None:
        return next((i for i in runtime.instances() if i.instance_id == instance_id), None)

    def answer(found: Instance, path: str) -> Response:
        simple = {
            "instance-id": found.instance_id,
            "instance-type": found.instance_type,
            "instance-life-cycle": found.lifecycle.value,
            "placement/availability-zone": found.availability_zone,
        }
        if path in simple:
            value = simple[path]
            return _not_found() if value is None else PlainTextResponse(value)
        if path in ("spot/instance-action", "events/recommendations/rebalance"):
            with SpotStore(context.store_path) as store:
                notice = store.notice(found.instance_id)
            if path == "spot/instance-action":
                if notice is None or notice.action_time is None:
                    return _not_found()
                body = {"action": "terminate", "time": _imds_time(notice.action_time)}
            else:
                if notice is None or notice.rebalance_at is None:
                    return _not_found()
                body = {"noticeTime": _imds_time(notice.rebalance_at)}
            return PlainTextResponse(json.dumps(body))
        if path == "autoscaling/target-lifecycle-state":
            with Store(context.store_path) as store:
                record = store.instance_lifecycles().get(found.instance_id)
                pool = store.warm_pools().get(found.group)
            return PlainTextResponse(target_lifecycle_state(record, pool))
        return _not_found()

    async def token(request: Request) -> Response:
        ttl_text = request.headers.get(TTL_HEADER, "")
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= MAX_TTL:
            return PlainTextResponse(
                f"{TTL_HEADER} must be a whole number of seconds from 1 to {MAX_TTL}.", 400
            )
        instance_id = request.path_params["instance_id"]
        found = await run_in_threadpool(instance, instance_id)
        if found is None:
            return _not_found()
        return PlainTextResponse(
            issued.issue(instance_id, int(ttl_text)), headers={TTL_HEADER: ttl_text}
        )

    async def meta_data(request: Request) -> Response:
        instance_id = request.path_params["instance_id"]
        if not issued.valid(instance_id, request.headers.get(TOKEN_HEADER)):
            return PlainTextResponse("Unauthorized", 401)
        found = await run_in_threadpool(instance, instance_id)
        if found is None:
            return _not_found()
        return await run_in_threadpool(answer, found, request.path_params["path"].strip("/"))

    return [
        Route(f"{PREFIX}/api/token", token, methods=["PUT"]),
        Route(f"{PREFIX}/meta-data/{{path:path}}", meta_data, methods=["GET"]),
    ]


def _not_found() -> Response:
    return PlainTextResponse("Not Found", 404)
