"""AWS actions called the way the ``aws`` CLI and boto3 call them: through botocore, over the
orchestrator's AWS front door, signed with SigV4.

``barista demo apply`` uses this, so the demo's stack is built by the same client code a user's
own scripts run, and a stack step that works here works with ``aws … --cli-input-json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from orchestrator.arns import REGION
from orchestrator.cli._client import UsageError
from orchestrator.client import AccessKey, EndpointUnreachable, NoCredentials, ServiceError


class AwsSdkCaller:
    """``call(service, action, params)`` through botocore clients, one per service.

    Raises :class:`ServiceError` with AWS's code for a refusal, :class:`UsageError` for
    parameters botocore's model refuses before sending, :class:`EndpointUnreachable` when
    nothing answers, and :class:`NoCredentials` on the first call when there is no key.
    """

    def __init__(self, endpoint: str, key: AccessKey | None, timeout: float = 60.0) -> None:
        self.endpoint = endpoint
        self._key = key
        self._config = Config(read_timeout=timeout, retries={"mode": "standard", "max_attempts": 3})
        self._session = botocore.session.Session()
        self._clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if self._key is None:
            raise NoCredentials
        if service not in self._clients:
            self._clients[service] = self._session.create_client(
                service,
                region_name=REGION,
                endpoint_url=self.endpoint,
                aws_access_key_id=self._key.access_key_id,
                aws_secret_access_key=self._key.secret_access_key,
                aws_session_token=self._key.session_token,
                config=self._config,
            )
        return self._clients[service]

    def call(self, service: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        method = getattr(self._client(service), xform_name(action))
        try:
            response: dict[str, Any] = method(**params)
        except ClientError as error:
            detail = error.response.get("Error", {})
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise ServiceError(
                str(detail.get("Code")), str(detail.get("Message")), action, status
            ) from None
        except ParamValidationError as error:
            raise UsageError(f"{service} {action}: {error}") from None
        except EndpointConnectionError as error:
            raise EndpointUnreachable(self.endpoint, error) from None
        response.pop("ResponseMetadata", None)
        return response
