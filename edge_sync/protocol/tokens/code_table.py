"""The fallback-code table a store holds for one campaign, pushed by central.

Retained on ``omk/v1/down/{store}/codes/{campaign_id}`` (``topics.code_table``): every
recipient code of the campaign that can be used in that store, keyed by its fallback
code (``fallback.fallback_of``). A kiosk that is offline resolves a typed fallback code
to its token here and then verifies the token as if it had been scanned. A message
replaces the store's table for that campaign whole; an empty retained payload (or one
with no codes) removes it, which is how an ended campaign's table goes away.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..timefmt import Rfc3339Time
from .codec import MAX_TEXT
from .fallback import BadFallback, parse

#: one campaign's codes in one store; a direct-mail drop larger than this is split
#: into campaigns (central refuses to issue more codes for a campaign than this)
MAX_CODES = 200_000
#: 200,000 codes at about 190 bytes each, with room to spare
MAX_TABLE_BYTES = 48 * 1024 * 1024


class CodeTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    v: int = Field(1, ge=1, le=1)
    campaign_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    #: when central built it; a device keeps the newest it has seen per campaign
    issued_at: Rfc3339Time
    #: canonical fallback code → bare token text
    codes: dict[str, str] = Field(default_factory=dict, max_length=MAX_CODES)

    @field_validator("codes")
    @classmethod
    def _codes(cls, v: dict[str, str]) -> dict[str, str]:
        for code, token in v.items():
            try:
                if parse(code) != code:
                    raise ValueError(f"fallback code {code[:20]!r} is not canonical")
            except BadFallback as err:
                raise ValueError(f"fallback code {code[:20]!r}: {err}") from None
            if not (0 < len(token) <= MAX_TEXT) or not token.isascii():
                raise ValueError(f"the token for {code} is not a token text")
        return v


def parse_code_table(payload: bytes) -> CodeTable | None:
    """A table from the wire; None for the empty payload that clears it; ``ValueError``
    (with why) for anything else."""
    from ..wirejson import Malformed, loads  # wirejson imports the envelope: import late

    if not payload:
        return None
    if len(payload) > MAX_TABLE_BYTES:
        raise ValueError(f"code table of {len(payload)} bytes, limit {MAX_TABLE_BYTES}")
    try:
        parsed = loads(payload, 3)
    except Malformed as err:
        raise ValueError(f"code table is not JSON: {err}") from None
    if parsed.flaws:
        raise ValueError(f"code table: {parsed.flaws[0].detail}")
    doc: Any = parsed.doc
    try:
        return CodeTable.model_validate(doc)
    except Exception as err:  # pydantic's ValidationError, with every problem
        raise ValueError(f"code table: {str(err)[:300]}") from None
