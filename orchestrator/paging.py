"""Token pagination for every service's describe and list actions, one implementation.

AWS pages a listing with a size (``MaxRecords``, ``maxResults``, ``PageSize``…) and a token
(``NextToken``, ``nextToken``, ``Marker``), and its SDKs' paginators follow the token until
none comes back. Barista's token is opaque to callers: URL-safe base64 of a checksum and a small
JSON document naming the listing it belongs to and the sort key of the last item returned. The
next page starts *after* that key, not at an offset, so items created or deleted between two
calls neither repeat nor vanish, and a token stays good across an orchestrator restart.

A token that does not decode, fails its checksum (a tampered one) or belongs to another
listing is refused with the error the caller passes in: each service has its own code for it
(Auto Scaling and EC2 ``InvalidNextToken``, ECS ``InvalidParameterException``, …), and this
module knows no service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from orchestrator.errors import AwsError

T = TypeVar("T")
Key = list[str | float]
Refusal = Callable[[], AwsError]

_CHECKSUM_BYTES = 8


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is None on the last one."""

    items: list[T]
    next_token: str | None = None


def _checksum(document: bytes) -> bytes:
    return hashlib.blake2b(document, digest_size=_CHECKSUM_BYTES).digest()


def encode(listing: str, key: Key) -> str:
    """The token that resumes ``listing`` after the item whose sort key is ``key``."""
    document = json.dumps({"listing": listing, "after": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_checksum(document) + document).decode().rstrip("=")


def decode(listing: str, token: str, refuse: Refusal) -> Key:
    """The sort key a token of ``listing`` carries; ``refuse()`` is raised for any other."""
    try:
        raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode())
        checksum, document = raw[:_CHECKSUM_BYTES], raw[_CHECKSUM_BYTES:]
        if checksum != _checksum(document):
            raise refuse()
        decoded = json.loads(document)
    except (binascii.Error, ValueError, UnicodeError):
        raise refuse() from None
    if not isinstance(decoded, dict) or decoded.get("listing") != listing:
        raise refuse()
    key = decoded.get("after")
    if not isinstance(key, list) or not all(
        isinstance(k, str | float | int) and not isinstance(k, bool) for k in key
    ):
        raise refuse()
    return key


def paginate(
    listing: str,
    items: Sequence[T],
    key: Callable[[T], Key],
    page_size: int,
    token: str | None,
    refuse: Refusal,
    *,
    descending: bool = False,
) -> Page[T]:
    """The page of ``items``, in ``key`` order, that follows ``token`` (None: the first).

    ``key`` must tell every item apart (a tie could fall between two pages and be skipped);
    sorting here, not in each caller, keeps every listing's order stable from page to page.
    ``descending`` lists the highest key first (ECS's ``sort=DESC``).
    """
    remaining = sorted(items, key=key, reverse=descending)
    if token is not None:
        after = decode(listing, token, refuse)
        try:
            if descending:
                remaining = [item for item in remaining if key(item) < after]
            else:
                remaining = [item for item in remaining if key(item) > after]
        except TypeError:  # a key of another shape: not a token this listing gave out
            raise refuse() from None
    page = remaining[:page_size]
    if len(remaining) > page_size:
        return Page(page, encode(listing, key(page[-1])))
    return Page(page)
