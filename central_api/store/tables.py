"""Central's tables (SQLAlchemy Core). Migrations in ``migrations/versions`` must match this.

Free text that arrives from the wire (ids in topics, versions, reasons, payloads) is
``Text`` rather than a bounded ``String``: a value too long for a column would fail the
whole group-commit transaction on PostgreSQL and turn one bad message into a poison one.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .base import AutoBigInt, UTCDateTime, metadata

DEVICE_STATES = ("online", "offline", "unknown")


events = Table(
    "events",
    metadata,
    # The event's identity everywhere (UUIDv7); the primary key is also UNIQUE(id).
    Column("id", String(36), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("v", Integer, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("mono_ns", BigInteger, nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("clock_synced", Boolean, nullable=False),
    Column("session_id", String(64)),
    # json, not jsonb, on PostgreSQL: jsonb refuses "\u0000" inside strings, which the
    # event schemas allow, and one such event would fail the whole transaction.
    Column("data", JSON, nullable=False),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("device_id", "seq"),
    Index(None, "type", "occurred_at"),
    Index(None, "device_id", "session_id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("topic", Text, nullable=False),
    Column("device_id", Text),
    Column("store_id", Text),
    Column("batch_id", Text),
    Column("seq", BigInteger),
    Column("event_id", Text),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    # the raw event JSON, or the raw message; at most 64 KiB
    Column("payload", Text, nullable=False),
    Index(None, "reason"),
    Index(None, "device_id", "seq"),
)

device_type_counts = Table(
    "device_type_counts",
    metadata,
    Column("device_id", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_id", "type"),
)

ingest_counters = Table(
    "ingest_counters",
    metadata,
    Column("name", String(64), nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("name"),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(64), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("state", String(16), nullable=False, server_default="unknown"),
    Column("state_changed_at", UTCDateTime),
    Column("state_reason", Text),
    Column("first_seen_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),
    Column("boot_id", Text),
    Column("version", Text),
    Column("config_version", BigInteger),
    # from the latest heartbeat
    Column("queue_depth", BigInteger),
    Column("queue_bytes", BigInteger),
    Column("oldest_unsent_age_s", Float),
    Column("evicted_total", BigInteger),
    Column("dead_letters_device", BigInteger),
    Column("disk_free_bytes", BigInteger),
    Column("clock_synced", Boolean),
    Column("inflight_batches", BigInteger),
    Column("uptime_s", Float),
    Column("last_heartbeat_at", UTCDateTime),
    Column("last_status_at", UTCDateTime),
    # what the device reported after salvaging a corrupt outbox file
    Column("db_recovered", JSON),
    # the interval the device says it sends heartbeats at (NULL: it has not said)
    Column("heartbeat_s", Float),
    PrimaryKeyConstraint("device_id"),
    CheckConstraint("state IN ('online', 'offline', 'unknown')", name="state"),
)

#: names kept in ``ingest_counters`` (how they add up: ``central_api/ingest/group.py``)
COUNTER_NAMES = (
    "events_stored",
    "duplicates_ignored",
    "dead_letters",
    "messages",
    "messages_dead_lettered",
    "batches",
    "signals",
    "events_received",
    "events_rejected",
    "rejections_folded",
)

#: roles an API key can hold; ``admin`` may call every route
API_KEY_ROLES = ("admin", "marketer", "integration")

api_keys = Table(
    "api_keys",
    metadata,
    # the public half of ``omk_<key_id>_<secret>``: shown in listings, used to revoke
    Column("key_id", String(32), nullable=False),
    # hex SHA-256 of the whole key; the key itself is never stored (see api/keys.py)
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("name", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # refreshed at most once a minute, so that using a key is not a write per request
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    # a device key reads its own store's data only (api/auth.py ``require_store``); the
    # device id, when given, says which device holds it (listings, revoking a lost one)
    Column("store_id", String(64)),
    Column("device_id", String(64)),
    PrimaryKeyConstraint("key_id"),
    CheckConstraint("role IN ('admin', 'marketer', 'integration', 'device')", name="role"),
    CheckConstraint(
        "(role = 'device' AND store_id IS NOT NULL) "
        "OR (role <> 'device' AND store_id IS NULL AND device_id IS NULL)",
        name="device_store",
    ),
    Index(None, "created_at", "key_id"),
)

# The other tables live in modules by subdomain; importing them registers them on ``metadata``.
from . import campaign_tables as _campaign_tables  # noqa: E402, F401
from . import code_tables as _code_tables  # noqa: E402, F401
from . import feed_tables as _feed_tables  # noqa: E402, F401
from . import inventory_tables as _inventory_tables  # noqa: E402, F401
from . import ops_tables as _ops_tables  # noqa: E402, F401
from . import order_tables as _order_tables  # noqa: E402, F401
from . import profile_tables as _profile_tables  # noqa: E402, F401
from . import token_tables as _token_tables  # noqa: E402, F401
