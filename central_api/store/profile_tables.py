"""Profiles, identity and what central derives per profile.

Derived tables (``score_ledger``, ``touchpoints``, ``stages_reached``,
``threshold_crossings``) are rewritten for a profile from its whole set of events each
time one of its events arrives, inside the ingest transaction; they are never appended
to blindly, which keeps them independent of arrival order and duplicates.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .base import AutoBigInt, UTCDateTime, metadata

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    #: "active", or "merged" (then merged_into names the survivor)
    Column("status", String(16), nullable=False, server_default="active"),
    Column("merged_into", String(64), nullable=True),
    #: explicit fit attributes (segment, distance_km, …), set by the attributes API/import
    Column("attributes", JSON(), nullable=False),
    #: the rules' derived attributes (lifetime_value, …), rewritten by every derivation
    Column("derived_attributes", JSON(), nullable=True),
    # What the derivation last computed (a cache of the tables below, for listing).
    Column("grade", String(4), nullable=True),
    Column("lifecycle_stage", String(32), nullable=True),
    Column("funnel_stage", String(32), nullable=True),
    Column("score_raw", Float(), nullable=False, server_default="0"),
    #: decayed score = score_ref_sum × 2^(−(t − score_ref_at) / half-life)
    Column("score_ref_sum", Float(), nullable=False, server_default="0"),
    Column("score_ref_at", UTCDateTime(), nullable=True),
    #: ``scoring.score_order``: sorting by (score_sign, score_key) is sorting by score
    Column("score_sign", SmallInteger(), nullable=False, server_default="0"),
    Column("score_key", Float(), nullable=False, server_default="0"),
    Column("rules_version", String(64), nullable=True),
    #: raised by every re-derivation: what an ingest worker remembers of the profile
    #: (``domain.profiles.profile_cache``) is current while this is unchanged
    Column("revision", BigInteger(), nullable=False, server_default="0"),
    Index("ix_profiles_score", "score_sign", "score_key", "id"),
)

#: external identities: ("customer_id", "C123"), ("email_sha256", "…")
profile_aliases = Table(
    "profile_aliases",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("value", String(128), nullable=False),
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("kind", "value"),
    Index(None, "profile_id"),
)

#: a kiosk session that a signed token (visit.linked) tied to a profile
session_links = Table(
    "session_links",
    metadata,
    Column("device_id", String(64), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("linked_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("device_id", "session_id"),
    Index(None, "profile_id"),
)

#: which events belong to which profile (kiosk events through their session, online
#: events through an alias); the derivations read a profile's facts through this
profile_events = Table(
    "profile_events",
    metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("event_id", String(36), nullable=False),
    PrimaryKeyConstraint("profile_id", "event_id"),
    Index(None, "event_id"),
)

#: online touchpoints (POST /api/v1/events); kiosk events are in ``events``
online_events = Table(
    "online_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("v", Integer(), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("source", String(64), nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("email_sha256", String(64), nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("data", JSON(), nullable=False),
    Index(None, "type", "occurred_at"),
)

consents = Table(
    "consents",
    metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("granted", Boolean(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("event_id", String(36), nullable=False),
    PrimaryKeyConstraint("profile_id", "event_id", "purpose"),
)

score_ledger = Table(
    "score_ledger",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("rules_version", String(64), nullable=False),
    Column("score_group", String(32), nullable=False),
    Column("points", Float(), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    UniqueConstraint("profile_id", "event_id", "rule_id", "rules_version"),
    Index(None, "profile_id", "occurred_at"),
)

touchpoints = Table(
    "touchpoints",
    metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("task", String(32), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("store_id", String(64), nullable=True),
    Column("campaign_id", String(64), nullable=True),
    PrimaryKeyConstraint("profile_id", "event_id"),
    Index(None, "profile_id", "occurred_at"),
)

stages_reached = Table(
    "stages_reached",
    metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("first_reached_at", UTCDateTime(), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("campaign_id", String(64), nullable=True),
    Column("store_id", String(64), nullable=True),
    PrimaryKeyConstraint("profile_id", "stage"),
    Index(None, "stage", "first_reached_at"),
)

threshold_crossings = Table(
    "threshold_crossings",
    metadata,
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("threshold_id", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("score", Float(), nullable=False),
    Column("stage", String(32), nullable=True),
    PrimaryKeyConstraint("profile_id", "threshold_id", "event_id"),
)

#: a merge, with what it moved, so it can be undone
merges = Table(
    "merges",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("survivor_id", String(64), nullable=False),
    Column("merged_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("undo", JSON(), nullable=False),
    Column("undone_at", UTCDateTime(), nullable=True),
)

#: that an erasure happened; no personal data (not even the profile id)
erasures = Table(
    "erasures",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("counts", JSON(), nullable=False),
)

#: anonymous campaign counts: work without consent, name nobody
campaign_counts = Table(
    "campaign_counts",
    metadata,
    Column("campaign_id", String(64), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("day", String(10), nullable=False),
    Column("scans", Integer(), nullable=False, server_default="0"),
    PrimaryKeyConstraint("campaign_id", "store_id", "day"),
)

#: click-and-collect orders: whose they are, so a pickup at the kiosk counts for them
orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("profile_id", String(64), ForeignKey("profiles.id"), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("placed_at", UTCDateTime(), nullable=False),
    Column("pickup_store_id", String(64), nullable=True),
)

#: kiosk pickup events by order, so an order placed later finds its pickups
order_events = Table(
    "order_events",
    metadata,
    Column("order_id", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    PrimaryKeyConstraint("order_id", "event_id"),
)
