"""Campaign recipient codes central issued (direct mail), and each campaign's code generation.

``campaign_codes`` holds one row per campaign and recipient profile: the code that
recipient got, so that issuing again gives the same code (even after a key rotation)
until the campaign's codes are rotated. ``campaign_code_generations`` holds the
generation new codes are signed with; rotating raises it and revokes the older ones
(``tokens.revocations``). Neither table holds personal data: the retailer's recipient
id becomes a profile alias, and only the profile id is kept here.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table

from .base import UTCDateTime, metadata

campaign_codes = Table(
    "campaign_codes",
    metadata,
    Column("campaign_id", String(64), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("generation", Integer, nullable=False),
    #: the bare token text (upper-case base32)
    Column("token", String(400), nullable=False),
    #: its canonical fallback code (``tokens.fallback.fallback_of``), 12 characters
    Column("fallback", String(12), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("campaign_id", "profile_id"),
    Index(None, "profile_id"),
)

campaign_code_generations = Table(
    "campaign_code_generations",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    #: the generation recipient codes are signed with now; older ones are revoked
    Column("generation", Integer, nullable=False),
    Column("rotated_at", UTCDateTime, nullable=False),
)
