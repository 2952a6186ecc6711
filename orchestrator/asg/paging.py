"""EC2 Auto Scaling's ``NextToken`` pages (``MaxRecords``): the shared
:mod:`orchestrator.paging`, bound to Auto Scaling's refusal of a bad token,
``InvalidNextToken``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from orchestrator import paging
from orchestrator.errors import AwsError
from orchestrator.paging import Key, Page, encode

__all__ = ["Key", "Page", "decode", "encode", "invalid_next_token", "paginate"]

T = TypeVar("T")


def invalid_next_token() -> AwsError:
    return AwsError("InvalidNextToken", "The NextToken value is not valid.")


def decode(listing: str, token: str) -> Key:
    """The sort key a token of ``listing`` carries, or InvalidNextToken."""
    return paging.decode(listing, token, invalid_next_token)


def paginate(
    listing: str,
    items: Sequence[T],
    key: Callable[[T], Key],
    max_records: int,
    next_token: str | None,
) -> Page[T]:
    """A page of ``items`` (in ``key`` order) after ``next_token``."""
    return paging.paginate(listing, items, key, max_records, next_token, invalid_next_token)
