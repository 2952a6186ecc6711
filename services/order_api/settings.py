"""order-api's configuration, read from ``BARISTA_*`` variables by ``services.settings.load``."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from broker_adapters import BACKENDS
from broker_adapters.core import MAX_VISIBILITY_TIMEOUT
from services.settings import Settings

LEDGER_SCHEMES = ("redis", "rediss", "unix")


class OrderApiSettings(Settings):
    """Queue names and redrive policy must match the baristas': each process declares them."""

    broker_url: str
    ledger_url: str
    orders_queue: str = Field("orders", min_length=1)
    dead_letter_queue: str = Field("orders-dlq", min_length=1)
    events_topic: str = Field("order-events", min_length=1)
    max_receive_count: int = Field(5, ge=1, le=1000)
    visibility_timeout: float = Field(30.0, ge=0, le=MAX_VISIBILITY_TIMEOUT)
    # Seconds a request waits for the broker's confirm before answering 503; also the
    # adapter's own confirm/reconnect budget (services.messaging.open_broker).
    broker_timeout: float = Field(5.0, gt=0, allow_inf_nan=False)
    ledger_namespace: str = Field("barista:ledger", min_length=1)
    port: int = Field(8080, ge=1, le=65535)

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        # Checked here so a typo stops the service at start, naming BARISTA_BROKER_URL.
        if urlsplit(url).scheme not in BACKENDS:
            known = ", ".join(f"{scheme}://" for scheme in BACKENDS)
            raise ValueError(f"must start with one of {known}")
        return url

    @field_validator("ledger_url")
    @classmethod
    def _redis_ledger(cls, url: str) -> str:
        if urlsplit(url).scheme not in LEDGER_SCHEMES:
            known = ", ".join(f"{scheme}://" for scheme in LEDGER_SCHEMES)
            raise ValueError(f"must be a Redis URL ({known})")
        return url
