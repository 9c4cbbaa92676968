"""Operations tables (Step 2): stored rule versions, and outgoing webhooks with their log.

``webhook_deliveries`` is an outbox: rows are inserted inside the transaction that derived
the event they announce, and ``central_api.webhook_worker`` sends them afterwards, so a
crossing is announced if and only if it was committed.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from .base import AutoBigInt, UTCDateTime, metadata

#: every rules file ever activated; a version's text never changes once stored
rules_versions = Table(
    "rules_versions",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("text", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    #: the API key id that stored it ("builtin" for the default rule set)
    Column("created_by", String(64), nullable=True),
    #: when it last became the active version
    Column("activated_at", UTCDateTime(), nullable=True),
)

#: one row (id = 1), naming the active version; absent until a version is first stored.
#: A single row makes "exactly one active" hold by construction, and gives every
#: process one cheap value to compare with its cached rule set per transaction.
rules_active = Table(
    "rules_active",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("version", String(64), ForeignKey("rules_versions.version"), nullable=False),
    Column("activated_at", UTCDateTime(), nullable=False),
    CheckConstraint("id = 1", name="singleton"),
)

DELIVERY_STATUSES = ("pending", "delivered", "failed")

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("url", Text(), nullable=False),
    # Kept as is: signing needs the secret itself (a hash would not do, unlike API keys).
    Column("secret", String(128), nullable=False),
    #: event types sent to it, e.g. ["threshold.crossed"]
    Column("events", JSON(), nullable=False),
    Column("active", Boolean(), nullable=False, server_default=true()),
    Column("created_at", UTCDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column(
        "webhook_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("webhooks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    #: what is announced, e.g. "threshold:{profile}:{threshold}:{event id}"; unique per
    #: webhook, so re-deriving a profile never sends the same crossing twice
    Column("event_key", String(255), nullable=False),
    Column("event_type", String(64), nullable=False),
    #: the profile the payload names, so that erasing a profile can delete its deliveries
    Column("profile_id", String(64), nullable=True),
    Column("payload", JSON(), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    #: attempts started (counted when a worker claims the delivery)
    Column("attempts", Integer(), nullable=False, server_default="0"),
    #: when it may be tried (again); while a worker holds it, the end of its lease
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_status_code", Integer(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    UniqueConstraint("webhook_id", "event_key"),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "webhook_id", "id"),
    Index(None, "profile_id"),
)
