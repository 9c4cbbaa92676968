"""A store's campaign list as the device reads it from ``omk/v1/down/{store}/campaigns``.

Central publishes it retained (``central_api.domain.campaigns.push``)::

    {"v": 1, "store_id": "s042", "version": 17, "as_of": "2026-12-01",
     "campaigns": [{"id", "name", "channel", "starts_on", "ends_on", "landing_url",
                    "offer": {"text": {"en", "de", …}, "visual": {…},
                              "valid_from", "valid_until"}}, …]}

A list is newer than another when its ``(version, as_of)`` is greater: ``version``
counts campaign changes anywhere, and ``as_of`` (a UTC day) moves on when a day ends a
campaign without a change. Keys this version does not know are ignored, so a central
that adds a field to the offer does not leave older kiosks on a stale list; what the
kiosk shows (ids, days, the offer's English and German text) must be there and right.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from .ids import IDENT_PATTERN

#: central's lists stay under 256 KiB; anything much larger is not central's
MAX_LIST_BYTES = 1024 * 1024
MAX_CAMPAIGNS = 100
MAX_TEXT_CHARS = 2000

CampaignId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


def _day(value: Any) -> Any:
    # YYYY-MM-DD text only: pydantic's lax dates would read a number as Unix seconds
    if isinstance(value, str) and len(value) == 10:
        return value
    raise ValueError("a day is YYYY-MM-DD text")


Day = Annotated[date, BeforeValidator(_day)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OfferText(_Lenient):
    model_config = ConfigDict(extra="allow", frozen=True)

    en: Text
    de: Text

    def get(self, lang: str) -> str:
        """The offer in ``lang``, else in English."""
        extra = self.model_extra or {}
        value = getattr(self, lang, None) if lang in ("en", "de") else extra.get(lang)
        return value if isinstance(value, str) and value else self.en


class Visual(_Lenient):
    kind: Literal["image", "asset"]
    url: Text | None = None
    name: Text | None = None


class Offer(_Lenient):
    text: OfferText
    visual: Visual
    valid_from: Day
    valid_until: Day


class CampaignEntry(_Lenient):
    id: CampaignId
    name: Text
    channel: Text
    starts_on: Day
    ends_on: Day
    landing_url: Text | None = None
    offer: Offer

    def status(self, today: date) -> Literal["scheduled", "running", "ended"]:
        """Where ``today`` is relative to the days the offer holds in this store: the
        campaign's days and the offer's own, whichever are narrower."""
        if today < max(self.starts_on, self.offer.valid_from):
            return "scheduled"
        if today > min(self.ends_on, self.offer.valid_until):
            return "ended"
        return "running"


class CampaignList(_Lenient):
    v: Literal[1]
    store_id: Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
    version: int = Field(ge=0, le=2**63 - 1)
    as_of: Day
    campaigns: list[CampaignEntry] = Field(max_length=MAX_CAMPAIGNS)

    @property
    def order_key(self) -> tuple[int, date]:
        return (self.version, self.as_of)


def parse_campaign_list(payload: bytes) -> CampaignList:
    """A list from the wire; ``ValueError`` (with why) for anything else, also the empty
    payload that clears a retained message (central always sends a list, maybe empty)."""
    from .wirejson import Malformed, loads  # wirejson imports the envelope: import late

    if not payload:
        raise ValueError("an empty message (the retained list was cleared), not a list")
    if len(payload) > MAX_LIST_BYTES:
        raise ValueError(f"campaign list of {len(payload)} bytes, limit {MAX_LIST_BYTES}")
    try:
        parsed = loads(payload, 6)
    except Malformed as err:
        raise ValueError(f"campaign list is not JSON: {err}") from None
    if parsed.flaws:
        raise ValueError(f"campaign list: {parsed.flaws[0].detail}")
    try:
        return CampaignList.model_validate(parsed.doc)
    except Exception as err:  # pydantic's ValidationError, with every problem
        raise ValueError(f"campaign list: {str(err)[:300]}") from None
