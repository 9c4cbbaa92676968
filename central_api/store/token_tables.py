"""Revoked QR codes (central's side of the list pushed to every kiosk on ``down/all/keys``).

One row per revoked scope, by hash only (``edge_sync.protocol.tokens.keyring``): a
profile's erasure leaves a row that does not name the profile. ``until`` is the last
day a code in that scope could still be valid; the row may go after it.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, String, Table

from .base import UTCDateTime, metadata

token_revocations = Table(
    "token_revocations",
    metadata,
    Column("scope_hash", String(32), primary_key=True),
    #: codes of this scope with a generation up to this one are revoked (255: all)
    Column("generation", Integer, nullable=False),
    Column("until", Date, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=False),
    Index(None, "until"),
)
