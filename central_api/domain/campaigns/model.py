"""What a campaign is, as a marketer defines it: validated input with errors that name
the field, and the limits that keep every store's pushed list small.

Every rule is one a JSON Schema can state (patterns, lengths, enums, one visual kind by
its ``kind``), so the OpenAPI document says exactly what is accepted; the two that relate
fields to each other (an end on or after its start, for the campaign and for the offer)
are checked here and named in the error.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from edge_sync.protocol.ids import IDENT_PATTERN

Channel = Literal["direct_mail", "email", "poster"]

#: the languages an offer may be written in; English and German are required
LANGUAGES = ("en", "de", "fr", "it", "es", "nl")
MAX_NAME_CHARS = 120
MAX_OFFER_CHARS = 300
MAX_URL_CHARS = 2000
MAX_ASSET_CHARS = 128
MAX_STORES = 1000
#: running or scheduled campaigns one store's list may hold (the push is bounded)
MAX_CAMPAIGNS_PER_STORE = 20

CAMPAIGN_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"  # an event's campaign_id (a RefId)
#: one line, not blank: at least one visible character, no control characters
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
#: like LINE_PATTERN, but line breaks are allowed (an offer may have two lines)
TEXT_PATTERN = r"^[^\x00-\x09\x0b-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x09\x0b-\x1f\x7f]*$"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
#: http(s), a host name or IPv4 address, an optional port, printable ASCII after it
URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:{_PORT})?([/?#][!-~]*)?$"
_URL_RE = re.compile(URL_PATTERN)
#: a file under the kiosk's assets: relative, no ``..`` segment, no leading ``/``
ASSET_PATTERN = (
    r"^[A-Za-z0-9_-][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)*$"
)

_DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_day(value: Any) -> Any:
    """A calendar day is ``YYYY-MM-DD`` text, nothing else: pydantic's lax dates would
    take a number as Unix seconds, or a date-time at midnight."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY_RE.match(value):
        raise PydanticCustomError("date_format", "a day is YYYY-MM-DD text, such as 2026-12-01")
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise PydanticCustomError(
            "date_value", "not a calendar day: {why}", {"why": str(err)}
        ) from None


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "example": "2026-12-01"}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_url(v: str) -> str:
    """An http(s) URL with a host, said for the case at hand when it is not."""
    if _URL_RE.match(v):
        return v
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(v)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL with a host")
    raise ValueError(
        "must be http(s)://host[:port][/path]: a host name or IPv4 address, a port up to "
        "65535, and ASCII only (percent-encode other characters)"
    )


Url = Annotated[
    str,
    Field(
        max_length=MAX_URL_CHARS,
        json_schema_extra={"pattern": URL_PATTERN},
        examples=["https://shop.example.com/winter"],
    ),
]
OfferLine = Annotated[str, Field(min_length=1, max_length=MAX_OFFER_CHARS, pattern=TEXT_PATTERN)]


class OfferText(_Strict):
    """The offer in each language the kiosk may show; English and German are required."""

    en: OfferLine = Field(examples=["20% off winter boots until Sunday"])
    de: OfferLine = Field(examples=["20 % auf Winterstiefel bis Sonntag"])
    fr: OfferLine | None = None
    it: OfferLine | None = None
    es: OfferLine | None = None
    nl: OfferLine | None = None


class ImageVisual(_Strict):
    kind: Literal["image"]
    url: Url

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        return check_url(v)


class AssetVisual(_Strict):
    kind: Literal["asset"]
    #: a file the kiosk has under its assets, e.g. ``offers/winter.png``
    name: str = Field(max_length=MAX_ASSET_CHARS, pattern=ASSET_PATTERN)


Visual = Annotated[ImageVisual | AssetVisual, Discriminator("kind")]


class Offer(_Strict):
    text: OfferText
    visual: Visual
    #: the days the offer holds (default: the campaign's own)
    valid_from: Day | None = None
    valid_until: Day | None = None

    @model_validator(mode="after")
    def _order(self) -> Offer:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("offer.valid_until must be on or after offer.valid_from")
        return self


_STORE_RE = re.compile(IDENT_PATTERN)


def _stores(value: Any) -> Any:
    """``"all"`` or a list of distinct store ids, sorted; an error names the bad item."""
    if value == "all":
        return value
    if not isinstance(value, list):
        raise PydanticCustomError("stores_type", 'stores is "all" or a list of store ids')
    if not 1 <= len(value) <= MAX_STORES:
        raise PydanticCustomError(
            "stores_length", "stores lists 1 to {n} store ids", {"n": MAX_STORES}
        )
    seen: set[str] = set()
    for i, s in enumerate(value):
        if not isinstance(s, str) or not _STORE_RE.match(s):
            raise PydanticCustomError(
                "store_id", "stores[{i}] is not a store id (a-z, 0-9, _ and -, at most 64)",
                {"i": i},
            )  # fmt: skip
        if s in seen:
            raise PydanticCustomError("store_twice", "store {s} is listed twice", {"s": s})
        seen.add(s)
    return sorted(value)


Stores = Annotated[
    Literal["all"] | list[str],
    PlainValidator(_stores),
    WithJsonSchema(
        {
            "description": '"all", or the store ids the campaign runs in',
            "oneOf": [
                {"type": "string", "enum": ["all"]},
                {"type": "array", "items": {"type": "string", "pattern": IDENT_PATTERN},
                 "minItems": 1, "maxItems": MAX_STORES, "uniqueItems": True},
            ],
        }
    ),
]  # fmt: skip


class CampaignIn(_Strict):
    """A new campaign. ``id`` is the campaign id events carry (made when left out)."""

    id: str | None = Field(default=None, pattern=CAMPAIGN_ID_PATTERN, examples=["cmp-winter"])
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=LINE_PATTERN)
    channel: Channel
    starts_on: Day
    ends_on: Day = Field(description="the last day it runs (inclusive)")
    stores: Stores
    landing_url: Url
    offer: Offer

    @field_validator("landing_url")
    @classmethod
    def _landing(cls, v: str) -> str:
        return check_url(v)

    @model_validator(mode="after")
    def _order(self) -> CampaignIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must be on or after starts_on")
        return self


class CampaignPatch(_Strict):
    """Fields to change; the ones left out stay. The result is checked as a whole."""

    name: str | None = Field(
        default=None, min_length=1, max_length=MAX_NAME_CHARS, pattern=LINE_PATTERN
    )
    channel: Channel | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    stores: Stores | None = None
    landing_url: Url | None = None
    offer: Offer | None = None

    @field_validator("landing_url")
    @classmethod
    def _landing(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v)


def stores_of(stores: str | list[str]) -> tuple[bool, list[str]]:
    """``(all_stores, store ids)`` as stored."""
    return (True, []) if stores == "all" else (False, sorted(stores))
