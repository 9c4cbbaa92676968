"""Campaigns: what a marketer defines once at central and every store's kiosks show.

``campaign_changes`` is the campaigns' change log: its sequence is the ``version`` of the
lists pushed to the stores, so any create, update or end makes every list newer. An
autoincrement key (not ``max + 1``) keeps two concurrent changes from taking one number.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from .base import AutoBigInt, UTCDateTime, metadata

CAMPAIGN_CHANNELS = ("direct_mail", "email", "poster")

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text(), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("starts_on", Date(), nullable=False),
    Column("ends_on", Date(), nullable=False),
    #: true: every store, and ``stores`` is empty
    Column("all_stores", Boolean(), nullable=False),
    #: the store ids, sorted
    Column("stores", JSON(), nullable=False),
    Column("landing_url", Text(), nullable=False),
    #: ``{"text": {lang: text}, "visual": {...}, "valid_from", "valid_until"}``
    Column("offer", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    #: set when the campaign was ended early; it then leaves every store's list
    Column("ended_at", UTCDateTime(), nullable=True),
    #: 1 when created, + 1 per change
    Column("revision", Integer(), nullable=False),
    CheckConstraint("channel IN ('direct_mail', 'email', 'poster')", name="channel"),
    CheckConstraint("ends_on >= starts_on", name="dates"),
)

campaign_changes = Table(
    "campaign_changes",
    metadata,
    Column("seq", AutoBigInt, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    #: the API key id, or "cli"
    Column("by", String(64), nullable=True),
    CheckConstraint("action IN ('created', 'updated', 'ended')", name="action"),
    Index(None, "campaign_id", "seq"),
)
