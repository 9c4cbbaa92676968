"""Keyset pagination: ``?limit=`` (1..500, default 50) and an opaque ``?cursor=``.

A page is ``{"items": […], "limit": n, "next": cursor | null}``; pass ``next`` back as
``cursor`` for the following page. The cursor encodes the sort key of the last item
returned (not an offset), so rows inserted or deleted meanwhile neither repeat nor skip
items, and each page costs the same however deep it is. It is base64url JSON, tagged
with the listing it belongs to; clients must treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from .errors import ApiError, problem_type

T = TypeVar("T")
K = TypeVar("K", bound=tuple[Any, ...])

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_CHARS = 1024


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (1..{MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="the `next` value of the previous page; omit for the first page",
        ),
    ] = None,
) -> PageParams:
    return PageParams(limit, cursor)


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int = Field(description="the page size asked for")
    next: str | None = Field(description="cursor of the next page; null on the last page")


def encode_cursor(listing: str, position: Sequence[str | int]) -> str:
    raw = json.dumps([listing, *position], separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(raw.encode("ascii")).rstrip(b"=").decode("ascii")


def invalid_cursor(detail: str = "not a cursor this listing returned") -> ApiError:
    return ApiError(
        422,
        f"invalid cursor: {detail}",
        type_=problem_type("invalid-cursor"),
        errors=[
            {"location": "query", "field": "cursor", "detail": detail, "type": "invalid_cursor"}
        ],
    )


def decode_cursor(cursor: str, listing: str, types: Sequence[type]) -> tuple[Any, ...]:
    """The position in ``cursor``, checked against the listing and the key's types."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError):  # (UnicodeDecodeError, JSONDecodeError included)
        raise invalid_cursor() from None
    if not isinstance(doc, list) or len(doc) != len(types) + 1 or doc[0] != listing:
        raise invalid_cursor()
    position = tuple(doc[1:])
    for value, kind in zip(position, types, strict=True):
        # bool is an int in Python, but never a valid key part
        if not isinstance(value, kind) or isinstance(value, bool):
            raise invalid_cursor()
        if isinstance(value, str) and ("\x00" in value or len(value) > 256):
            raise invalid_cursor()
    return position


def page_in_memory(
    items: Sequence[T], key: Callable[[T], K], after: K | None, limit: int
) -> tuple[list[T], K | None]:
    """One page of ``items`` (any order) sorted by ``key``, and the position of its last
    item when more follow. Sorting here, not in SQL, keeps the order the same as Python's
    comparisons of the cursor on every backend (PostgreSQL collations sort text
    differently)."""
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [x for x in ordered if key(x) > after]
    page = ordered[:limit]
    return page, (key(page[-1]) if len(ordered) > limit else None)
