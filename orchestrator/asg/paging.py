"""``NextToken`` pagination, as EC2 Auto Scaling's describe actions page with ``MaxRecords``.

A token is opaque to callers: URL-safe base64 of a small JSON document naming which listing it
belongs to and the sort key of the last item returned. The next page starts *after* that key,
not at an offset, so items created or deleted between two calls neither repeat nor vanish.
A token that does not decode, or belongs to another listing, is refused with AWS's
``InvalidNextToken``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from orchestrator.errors import AwsError

T = TypeVar("T")
Key = list[str | float]


def invalid_next_token() -> AwsError:
    return AwsError("InvalidNextToken", "The NextToken value is not valid.")


def encode(listing: str, key: Key) -> str:
    document = json.dumps({"listing": listing, "after": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode(listing: str, token: str) -> Key:
    """The sort key a token of ``listing`` carries, or InvalidNextToken."""
    try:
        padded = token + "=" * (-len(token) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_next_token() from None
    if not isinstance(document, dict) or document.get("listing") != listing:
        raise invalid_next_token()
    key = document.get("after")
    if not isinstance(key, list) or not all(isinstance(k, str | float | int) for k in key):
        raise invalid_next_token()
    return key


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is None on the last one."""

    items: list[T]
    next_token: str | None = None


def paginate(
    listing: str,
    items: Sequence[T],
    key: Callable[[T], Key],
    max_records: int,
    next_token: str | None,
) -> Page[T]:
    """A page of ``items`` (sorted ascending by ``key``) after ``next_token``."""
    remaining = list(items)
    if next_token is not None:
        after = decode(listing, next_token)
        try:
            remaining = [item for item in remaining if key(item) > after]
        except TypeError:  # a key of the wrong shape: not a token this listing gave out
            raise invalid_next_token() from None
    page = remaining[:max_records]
    if len(remaining) > max_records:
        return Page(page, encode(listing, key(page[-1])))
    return Page(page)
