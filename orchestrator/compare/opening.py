"""How every experiment opens a connection: the adapter for a broker's URL, or the SQS and
SNS APIs for a ``barista-api://`` URL (``api_broker``), so each experiment runs either way."""

from __future__ import annotations

from urllib.parse import urlsplit

from broker_adapters import Broker, connect

API_SCHEME = "barista-api"


def open_broker(url: str) -> Broker:
    """A connection for ``url``; boto3 is imported only when the APIs are asked for."""
    if urlsplit(url).scheme == API_SCHEME:
        from orchestrator.compare.api_broker import connect_api  # noqa: PLC0415

        return connect_api(url)
    return connect(url)
