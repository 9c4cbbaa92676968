"""Click-and-collect orders at central: the order, its history, the pickup confirmations
devices sent, the conflicts staff must look at, and the pickups still to push to stores.

``orders`` (in ``profile_tables``) stays what it was: which profile an order id belongs
to, for journeys and attribution. An order placed through ``POST /api/v1/orders`` also
has a row there, made by the ``order.placed`` fact the API records for it.

Store ids are plain strings (no foreign key to a stores table).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
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

ORDER_STATES = ("placed", "ready_for_pickup", "picked_up", "no_show", "cancelled")

order_records = Table(
    "order_records",
    metadata,
    #: central's id, short enough for a pickup code (``o-`` and 10 characters)
    Column("id", String(16), primary_key=True),
    #: the e-commerce system's id: POST /api/v1/orders is idempotent by it
    Column("external_id", String(64), nullable=False),
    #: sha256 of the request body in canonical JSON, and the body, for "what differs"
    Column("request_sha256", String(64), nullable=False),
    Column("request", JSON(), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("lines", JSON(), nullable=False),
    Column("items", Integer(), nullable=False),
    Column("value", Float(), nullable=False),
    Column("state", String(20), nullable=False),
    #: raised by every change: devices keep the highest revision of an order they saw
    Column("revision", BigInteger(), nullable=False, server_default="1"),
    Column("placed_at", UTCDateTime(), nullable=False),
    #: the id of the ``order.placed`` online event recorded for it
    Column("placed_event_id", String(36), nullable=False),
    Column("ready_at", UTCDateTime(), nullable=True),
    #: when the state last changed (store time for a pickup)
    Column("state_at", UTCDateTime(), nullable=False),
    # The pickup code issued by "ready" (one-time; its text so its QR can be served again)
    Column("code_text", Text(), nullable=True),
    Column("code_hash", String(64), nullable=True),
    Column("code_not_after", Date(), nullable=True),
    #: what the staff screen shows of the customer ("J.D."), when the shop sent it; goes
    #: with the order at erasure
    Column("customer_initials", String(16), nullable=True),
    # The winning pickup confirmation (the earliest by store time)
    Column("picked_up_at", UTCDateTime(), nullable=True),
    Column("picked_up_by", String(64), nullable=True),
    Column("picked_up_device", String(64), nullable=True),
    Column("pickup_event_id", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("external_id"),
    CheckConstraint(
        "state IN ('placed', 'ready_for_pickup', 'picked_up', 'no_show', 'cancelled')",
        name="state",
    ),
    Index(None, "store_id", "state", "id"),
    Index(None, "state", "ready_at"),
    Index(None, "profile_id"),
)

#: every change of an order, and what devices reported that changed nothing (refusals)
order_history = Table(
    "order_history",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("order_id", String(16), nullable=False),
    #: the state the order went to, or "refused" / "conflict" (state unchanged)
    Column("state", String(20), nullable=False),
    #: when it happened: the store's time for what a device reports
    Column("at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    #: who: an API key id, a staff id, or "sweeper"
    Column("by", String(64), nullable=False),
    #: "api", "device:{device id}", "sweeper"
    Column("source", String(80), nullable=False),
    Column("event_id", String(36), nullable=True),
    Column("detail", JSON(), nullable=True),
    Index(None, "order_id", "id"),
)

#: every ``pickup.confirmed`` central stored, by order: the winner is the earliest
#: ``(occurred_at, event_id)``, whatever order they arrived in
order_confirmations = Table(
    "order_confirmations",
    metadata,
    Column("order_id", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("method", String(16), nullable=False),
    Column("token_hash", String(64), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("order_id", "event_id"),
)

#: one per confirmation that did not become the order's handover, for staff to check
order_conflicts = Table(
    "order_conflicts",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False),
    #: the confirmation that is not the handover
    Column("event_id", String(36), nullable=False),
    #: double_pickup, unknown_order, order_cancelled, wrong_code
    Column("kind", String(24), nullable=False),
    #: for double_pickup: the confirmation that is (the earliest by store time)
    Column("winner_event_id", String(36), nullable=True),
    Column("store_id", String(64), nullable=False),
    Column("message", Text(), nullable=False),
    Column("detail", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("order_id", "event_id"),
    Index(None, "store_id", "id"),
)

#: orders whose state a store must be told (``omk/v1/down/{store}/pickups``), written in
#: the transaction that changed them and removed once the broker has the upsert
pickup_pushes = Table(
    "pickup_pushes",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("order_id", String(16), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
