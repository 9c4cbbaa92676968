"""The store's pickup orders on the device: central's upserts, kept by revision.

Central sends every change of an order a store must know of on
``omk/v1/down/{store}/pickups`` (QoS 1, not retained; ``central_api.domain.orders.push``)
and every order still due in the store's snapshot, and in the delta of each feed
version where they changed (``replace_due``). Each upsert is the order in full at
one ``revision``; the device keeps the highest revision it saw, so a repeat, or an older
copy that arrives late, changes nothing. A malformed upsert is refused with the reason
and counted, and the others in the same message are kept.

Central's ``state`` and this device's handover are kept apart (``handed_over_*``): an
upsert never erases a handover made here, so "already handed over at … by …" holds
until central's own record of it comes back, and after. An order that is not (or no
longer) ready for pickup has its personal data (lines, initials, code hash) cleared at
once (``purge.strip``); its minimal record answers a second scan for a while.

Nothing here commits: the callers (the downlink's transaction, the snapshot loader's
swap, a delta's transaction) own the transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..protocol.ids import format_ts, parse_ts, utcnow

READY = "ready_for_pickup"
STATES = ("placed", READY, "picked_up", "no_show", "cancelled")
FINAL = ("picked_up", "no_show", "cancelled")

#: what a device accepts on the pickups topic (central sends at most 200 upserts a message)
MAX_PICKUPS_MESSAGE_BYTES = 1024 * 1024
MAX_LINES = 500
MAX_INITIALS = 8
PAYLOAD_VERSION = 1

#: what an order id may be (central's RefId)
ORDER_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_HASH_RE = re.compile(r"^[0-9a-f]{16,64}$")
_TIMES = ("placed_at", "ready_at", "collect_by", "picked_up_at")


class BadUpsert(ValueError):
    """An upsert that is not what central sends; the message says which field."""


@dataclass(frozen=True, slots=True)
class Upsert:
    order_id: str
    revision: int
    state: str
    items: int
    lines: list[dict[str, Any]]
    initials: str | None
    code_hash: str | None
    placed_at: str | None
    ready_at: str | None
    collect_by: str | None
    picked_up_at: str | None


@dataclass(slots=True)
class ApplyResult:
    stored: int = 0
    #: a revision at or below the stored one: a duplicate or a late older copy
    unchanged: int = 0
    #: (position in the list, order id when readable, reason)
    refused: list[tuple[int, str | None, str]] = field(default_factory=list)
    #: orders that left the list because a snapshot no longer holds them
    withdrawn: int = 0


def _int(v: Any, what: str, low: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low or v > 2**63 - 1:
        raise BadUpsert(f"{what}: must be an integer of at least {low}, got {v!r}")
    return v


def _opt_text(v: Any, what: str, limit: int) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > limit:
        raise BadUpsert(f"{what}: must be text of at most {limit} characters or null")
    return v


def _ts(v: Any, what: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > 40:
        raise BadUpsert(f"{what}: must be an RFC 3339 time or null")
    try:
        return format_ts(parse_ts(v))  # one fixed form: text order is time order
    except ValueError:
        raise BadUpsert(f"{what}: {v!r} is not an RFC 3339 time with a timezone") from None


def _line(v: Any, i: int) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise BadUpsert(f"line {i}: must be an object")
    sku = v.get("sku")
    if not isinstance(sku, str) or not 0 < len(sku) <= 64:
        raise BadUpsert(f"line {i} sku: must be text of 1 to 64 characters")
    name = _opt_text(v.get("name"), f"line {i} name", 200)
    return {"sku": sku, "name": name, "quantity": _int(v.get("quantity"), f"line {i} quantity", 1)}


def parse_upsert(v: Any) -> Upsert:
    """One upsert as central's ``push.upsert`` writes it (``initials`` optional); fields
    it does not know are ignored, so central may add some."""
    if not isinstance(v, dict):
        raise BadUpsert("an upsert must be an object")
    order_id = v.get("order_id")
    if not isinstance(order_id, str) or not ORDER_ID_RE.match(order_id):
        raise BadUpsert(f"order_id: {order_id!r} is not an order id")
    state = v.get("state")
    if state not in STATES:
        raise BadUpsert(f"state: {state!r} is not one of {', '.join(STATES)}")
    lines = v.get("lines")
    if not isinstance(lines, list) or len(lines) > MAX_LINES:
        raise BadUpsert(f"lines: must be a list of at most {MAX_LINES}")
    code_hash = v.get("code_hash")
    if code_hash is not None and (not isinstance(code_hash, str) or not _HASH_RE.match(code_hash)):
        raise BadUpsert("code_hash: must be 16 to 64 lower-case hex digits or null")
    times = {k: _ts(v.get(k), k) for k in _TIMES}
    return Upsert(
        order_id, _int(v.get("revision"), "revision"), state, _int(v.get("items"), "items"),
        [_line(ln, i) for i, ln in enumerate(lines)],
        _opt_text(v.get("initials"), "initials", MAX_INITIALS), code_hash, **times,
    )  # fmt: skip


def parse_pickups_message(payload: bytes, store_id: str) -> list[Any]:
    """The upserts of one message on ``…/pickups`` (each still to be checked by
    ``apply_upserts``). Raises ``ValueError`` for a message that is not central's."""
    if len(payload) > MAX_PICKUPS_MESSAGE_BYTES:
        raise ValueError(f"{len(payload)} bytes, more than {MAX_PICKUPS_MESSAGE_BYTES}")
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(doc, dict) or doc.get("v") != PAYLOAD_VERSION:
        raise ValueError(f"not a version {PAYLOAD_VERSION} pickups message")
    if doc.get("store_id") != store_id:
        raise ValueError(f"the upserts are for store {doc.get('store_id')!r}")
    upserts = doc.get("upserts")
    if not isinstance(upserts, list):
        raise ValueError("upserts: must be a list")
    return upserts


_UPSERT = """INSERT INTO pickup_orders (order_id, revision, state, items, lines, initials,
    code_hash, placed_at, ready_at, collect_by, central_picked_up_at, ended_at, purged_at,
    received_at) VALUES (:order_id, :revision, :state, :items, :lines, :initials, :code_hash,
    :placed_at, :ready_at, :collect_by, :picked_up_at, :ended_at, NULL, :received_at)
ON CONFLICT (order_id) DO UPDATE SET revision = excluded.revision, state = excluded.state,
    items = excluded.items, lines = excluded.lines, initials = excluded.initials,
    code_hash = excluded.code_hash, placed_at = excluded.placed_at,
    ready_at = excluded.ready_at, collect_by = excluded.collect_by,
    central_picked_up_at = excluded.central_picked_up_at,
    ended_at = CASE WHEN excluded.ended_at IS NULL AND pickup_orders.handed_over_at IS NULL
        THEN NULL ELSE coalesce(pickup_orders.ended_at, excluded.ended_at) END,
    purged_at = NULL, received_at = excluded.received_at
WHERE excluded.revision > pickup_orders.revision"""

_CLEAR = """UPDATE pickup_orders SET lines = NULL, initials = NULL, code_hash = NULL,
    purged_at = coalesce(purged_at, :now), ended_at = coalesce(ended_at, :now)
WHERE order_id = :order_id"""
#: after an upsert: an order over, or handed over here, keeps no personal data
_CLEAR_IF_OVER = _CLEAR + " AND (state != 'ready_for_pickup' OR handed_over_at IS NOT NULL)"


def _store(conn: sqlite3.Connection, u: Upsert, now: str) -> bool:
    ready = u.state == READY
    row = {
        "order_id": u.order_id, "revision": u.revision, "state": u.state, "items": u.items,
        "lines": json.dumps(u.lines, ensure_ascii=False) if ready else None,
        "initials": u.initials if ready else None, "code_hash": u.code_hash if ready else None,
        "placed_at": u.placed_at, "ready_at": u.ready_at, "collect_by": u.collect_by,
        "picked_up_at": u.picked_up_at,
        "ended_at": None if ready else (u.picked_up_at or now), "received_at": now,
    }  # fmt: skip
    if conn.execute(_UPSERT, row).rowcount == 0:
        return False
    # it left the store's list, or went out of this door: only the minimal record stays
    conn.execute(_CLEAR_IF_OVER, {"now": now, "order_id": u.order_id})
    return True


def apply_upserts(
    conn: sqlite3.Connection, upserts: list[Any], now: datetime | None = None
) -> ApplyResult:
    """Store each upsert whose revision is above the stored one. No commit."""
    stamp = format_ts(now or utcnow())
    result = ApplyResult()
    for i, raw in enumerate(upserts):
        try:
            u = parse_upsert(raw)
        except BadUpsert as err:
            oid = raw.get("order_id") if isinstance(raw, dict) else None
            result.refused.append((i, oid if isinstance(oid, str) else None, str(err)))
            continue
        if _store(conn, u, stamp):
            result.stored += 1
        else:
            result.unchanged += 1
    return result


def replace_due(
    conn: sqlite3.Connection, pickups: list[Any], built_at: str | None, now: datetime | None = None
) -> ApplyResult:
    """Make the stored orders those due in ``pickups``, central's list of every order
    due in the store at ``built_at`` (a snapshot's, or a delta's). No commit.

    Each is applied like an upsert (so a newer revision already stored by a message
    stays, and an order handed over here stays handed over). An order stored here as
    ready that the list no longer holds has left it (its upsert was lost, e.g. the
    device was offline past its broker session): it is marked ``withdrawn`` and its
    personal data cleared, unless it became ready after ``built_at`` or was handed over
    here (that record must stay)."""
    when = now or utcnow()
    result = apply_upserts(conn, list(pickups), when)
    listed = {p.get("order_id") for p in pickups if isinstance(p, dict)}
    stale = [
        oid
        for (oid,) in conn.execute(
            "SELECT order_id FROM pickup_orders WHERE state = ? AND handed_over_at IS NULL"
            " AND (ready_at IS NULL OR ready_at <= ?)",
            (READY, format_ts(parse_ts(built_at or format_ts(when)))),
        )
        if oid not in listed
    ]
    stamp = format_ts(when)
    for oid in stale:
        conn.execute("UPDATE pickup_orders SET state = 'withdrawn' WHERE order_id = ?", (oid,))
        conn.execute(_CLEAR, {"now": stamp, "order_id": oid})
    result.withdrawn = len(stale)
    return result


def replace_from_snapshot(
    conn: sqlite3.Connection, snapshot: Any, now: datetime | None = None
) -> ApplyResult:
    """The snapshot hook: run inside the snapshot loader's swap transaction (no commit).
    ``snapshot.pickups`` is every order due in the store when central built it
    (``replace_due``)."""
    return replace_due(conn, snapshot.pickups, snapshot.built_at, now)


def replace_from_delta(
    conn: sqlite3.Connection, delta: Any, now: datetime | None = None
) -> ApplyResult | None:
    """The delta hook: run inside the delta's transaction (no commit). A delta of a
    version whose orders due changed carries them all (``delta.pickups``), and they are
    stored as a snapshot's are (``replace_due``); None for a delta without them."""
    if delta.pickups is None:
        return None
    return replace_due(conn, delta.pickups, delta.built_at, now)


@dataclass(frozen=True, slots=True)
class LocalOrder:
    """An order as stored here. ``lines`` and ``initials`` are None once purged."""

    order_id: str
    revision: int
    state: str
    items: int
    lines: list[dict[str, Any]] | None
    initials: str | None
    code_hash: str | None
    ready_at: str | None
    collect_by: str | None
    central_picked_up_at: str | None
    handed_over_at: str | None
    handed_over_by: str | None
    handed_over_how: str | None
    purged_at: str | None

    @property
    def handed_over(self) -> bool:
        return self.handed_over_at is not None or self.state == "picked_up"


_COLUMNS = (
    "order_id, revision, state, items, lines, initials, code_hash, ready_at, collect_by,"
    " central_picked_up_at, handed_over_at, handed_over_by, handed_over_how, purged_at"
)


def get_order(conn: sqlite3.Connection, order_id: str) -> LocalOrder | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM pickup_orders WHERE order_id = ?", (order_id,)
    ).fetchone()
    if row is None:
        return None
    values = list(row)
    values[4] = json.loads(values[4]) if values[4] is not None else None
    return LocalOrder(*values)


def ready_orders(conn: sqlite3.Connection) -> list[str]:
    """Ids of the orders waiting for their customer here (for a staff list screen)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT order_id FROM pickup_orders WHERE state = ? AND handed_over_at IS NULL"
            " AND purged_at IS NULL ORDER BY ready_at, order_id",
            (READY,),
        )
    ]
