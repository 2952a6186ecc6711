"""The tests' access key pair, and SigV4 signing for requests tests make to the orchestrator's API.

Every API request must be signed (``orchestrator.api.sigv4``). An in-process app gets
:data:`CREDENTIALS` in its ``ApiContext``; a subprocess orchestrator gets :data:`ENVIRON`; a
Starlette ``TestClient`` signs with ``client.auth = SIGV4`` (so test bodies post as before).
Signing is the ``barista`` CLI's own (botocore's ``SigV4Auth``), so these tests also prove
what the CLI sends verifies.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx2

from orchestrator.api.credentials import ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE, Credentials
from orchestrator.client import AccessKey, signed_headers

KEY_ID = "AKIABARISTATEST00001"
SECRET = "barista-test-secret-key-not-for-production"
ACCESS_KEY = AccessKey(KEY_ID, SECRET)
CREDENTIALS = Credentials({KEY_ID: SECRET})
ENVIRON = {ACCESS_KEY_VARIABLE: KEY_ID, SECRET_KEY_VARIABLE: SECRET}


class SigV4(httpx2.Auth):
    """Signs every request of an httpx2 client (Starlette's ``TestClient`` is one) with
    ``key``, for the service named by the ``/api/{service}/…`` path."""

    requires_request_body = True

    def __init__(self, key: AccessKey = ACCESS_KEY) -> None:
        self.key = key

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        parts = request.url.path.split("/")
        service = parts[2] if len(parts) > 2 and parts[1] == "api" else "barista"
        content_type = request.headers.get("content-type")
        headers = {"Content-Type": content_type} if content_type else {}
        signed = signed_headers(
            self.key, service, str(request.url), request.content, headers, request.method
        )
        request.headers.update(signed)
        yield request


SIGV4 = SigV4()
