"""A signed client for Barista's API: what ``barista``'s AWS-CLI-shaped commands and ``barista
demo`` send their requests with.

:class:`Client` calls ``POST {endpoint}/api/{service}/{Action}`` with a JSON body, signed with
AWS Signature Version 4 (botocore's ``SigV4Auth``, as the AWS CLI signs), and returns the JSON
answer or raises AWS's refusal as :class:`ServiceError`. The key is
``BARISTA_ACCESS_KEY_ID``/``BARISTA_SECRET_ACCESS_KEY`` when set, else what botocore's standard
chain finds (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ``~/.aws``). The command-line side (option
tables, shorthand, output) stays in ``orchestrator.cli``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.arns import REGION

DEFAULT_ENDPOINT = "http://127.0.0.1:8500"
ENDPOINT_VARIABLE = "BARISTA_ENDPOINT_URL"
ACCESS_KEY_VARIABLE = "BARISTA_ACCESS_KEY_ID"
SECRET_KEY_VARIABLE = "BARISTA_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name, not a secret
# Barista is one region; the signature carries it, and the orchestrator accepts any.
# The name a request is signed for is the service's signing name, where AWS's differs from the
# path segment (botocore's models: ``signingName``).
SIGNING_NAMES = {"cloudwatch": "monitoring", "elbv2": "elasticloadbalancing"}


class ServiceError(Exception):
    """The API refused the request; ``code`` and ``message`` are AWS's, ``status`` the HTTP
    status it came with (403 for a refused signature), when there was an HTTP exchange."""

    def __init__(self, code: str, message: str, action: str, status: int | None = None) -> None:
        super().__init__(
            f"An error occurred ({code}) when calling the {action} operation: {message}"
        )
        self.code = code
        self.message = message
        self.action = action
        self.status = status


class NoCredentials(Exception):
    """Nothing to sign requests with (AWS CLI: "Unable to locate credentials", exit 253)."""

    def __init__(self) -> None:
        super().__init__(
            f"Unable to locate credentials. Set {ACCESS_KEY_VARIABLE} and {SECRET_KEY_VARIABLE} "
            "(`make up` writes them to .env), or AWS_PROFILE=barista with AWS_CONFIG_FILE as "
            "`barista demo urls` prints it."
        )


class EndpointUnreachable(Exception):
    """Nothing answered at the endpoint: the orchestrator is not running there."""

    def __init__(self, endpoint: str, reason: object) -> None:
        super().__init__(
            f'Could not connect to the endpoint URL: "{endpoint}" ({reason}). Is the '
            f"orchestrator running? Start the stack with `make up`, or point --endpoint-url "
            f"(or {ENDPOINT_VARIABLE}) at its API."
        )
        self.endpoint = endpoint


# (url, JSON body, timeout) -> (HTTP status, response body): a stand-in for the whole HTTP
# exchange, server included (tests), so it gets the request unsigned.
Transport = Callable[[str, bytes, float], tuple[int, bytes]]


@dataclass(frozen=True)
class AccessKey:
    """An access key pair to sign with (and the session token of temporary credentials)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def access_key(environ: Mapping[str, str] = os.environ) -> AccessKey | None:
    """``BARISTA_ACCESS_KEY_ID``/``BARISTA_SECRET_ACCESS_KEY`` when both are set, else what
    botocore's credential chain finds (environment, ``AWS_PROFILE``, shared files, SSO, …),
    else None. The instance metadata service is not asked: Barista runs on your machine, and
    asking it costs a timeout off EC2."""
    key_id = environ.get(ACCESS_KEY_VARIABLE, "").strip()
    secret = environ.get(SECRET_KEY_VARIABLE, "").strip()
    if key_id and secret:
        return AccessKey(key_id, secret)
    import botocore.session  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    resolver.remove("iam-role")
    found = resolver.load_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return AccessKey(str(frozen.access_key), str(frozen.secret_key), frozen.token)


def signed_headers(
    key: AccessKey,
    service: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    method: str = "POST",
) -> dict[str, str]:
    """``headers`` plus ``X-Amz-Date`` and an ``Authorization`` by botocore's ``SigV4Auth``
    for ``method`` ``url`` with ``body``, signed for ``service``'s signing name."""
    # botocore loads only to sign: `barista --help` need not pay for it.
    from botocore import auth, awsrequest, credentials  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

    request = awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = credentials.Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    auth.SigV4Auth(signer, SIGNING_NAMES.get(service, service), REGION).add_auth(request)
    return {str(name): str(value) for name, value in request.headers.items()}


def _send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - the endpoint is the user's own setting
        url, data=body, method="POST", headers=dict(headers)
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass(frozen=True)
class Client:
    """Calls ``POST {endpoint}/api/{service}/{Action}``, signed, and returns the JSON response.

    Raises :class:`ServiceError` for AWS-shaped refusals (a refused signature included),
    :class:`EndpointUnreachable` when nothing listens, and :class:`NoCredentials` when there is
    no key to sign with. ``credentials`` None means :func:`access_key` from the environment,
    looked up at the first call. A ``transport`` given in place of HTTP gets the request
    unsigned. ``timeout`` is generous because some actions (ForceDelete) stop containers.
    """

    endpoint: str = DEFAULT_ENDPOINT
    transport: Transport | None = None
    timeout: float = 300.0
    credentials: AccessKey | None = field(default=None, repr=False)
    _resolved: list[AccessKey] = field(default_factory=list, init=False, repr=False, compare=False)

    def _key(self) -> AccessKey:
        if self.credentials is not None:
            return self.credentials
        if not self._resolved:
            found = access_key()
            if found is None:
                raise NoCredentials
            self._resolved.append(found)
        return self._resolved[0]

    def call(self, service: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{self.endpoint.rstrip('/')}/api/{service}/{action}"
        payload = json.dumps(params).encode()
        try:
            if self.transport is not None:
                status, body = self.transport(url, payload, self.timeout)
            else:
                headers = {"Content-Type": "application/json"}
                headers = signed_headers(self._key(), service, url, payload, headers)
                status, body = _send(url, payload, headers, self.timeout)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise EndpointUnreachable(self.endpoint, reason) from None
        try:
            document = json.loads(body) if body else {}
        except json.JSONDecodeError:
            document = None
        if status == 200 and isinstance(document, dict):
            return document
        if isinstance(document, dict) and isinstance(document.get("Error"), dict):
            problem = document["Error"]
            code, message = str(problem.get("Code")), str(problem.get("Message"))
            raise ServiceError(code, message, action, status)
        text = body.decode(errors="replace")[:200]
        raise ServiceError(f"HTTP {status}", text or "no response body", action, status)


def endpoint_url(explicit: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """``--endpoint-url``, else ``BARISTA_ENDPOINT_URL``, else the orchestrator's default port."""
    return explicit or environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT
