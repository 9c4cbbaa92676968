"""edge.db's schema: the migrations that create and upgrade it, and the seq floor."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from .errors import DatabaseTooNew
from .inventory.tables import create_set, create_state


def now_us() -> int:
    return time.time_ns() // 1000


def set_seq_floor(conn: sqlite3.Connection, floor: int) -> None:
    """Make the next AUTOINCREMENT seq of ``outbox`` greater than ``floor``.

    A fresh file starts its seqs at the current UNIX time in microseconds. A device whose
    database was wiped, salvaged, or restored from an old copy then continues above every
    seq it can have used before, because seqs advance by one per event, far slower than
    a microsecond clock. This relies on a sane clock: a device that boots with its wall
    clock far in the past could reuse seqs, which central's unique key on (device, seq) sees.
    """
    cur = conn.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'", (floor,)
    )
    if cur.rowcount == 0:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (floor,))


def _m1_outbox(conn: sqlite3.Connection) -> None:
    statements = [
        # payload is the event's exact wire JSON; size = len(payload). AUTOINCREMENT (unlike a
        # plain rowid) never hands out a seq again, also after the highest rows are deleted.
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL,
            type TEXT NOT NULL,
            priority TEXT NOT NULL,
            payload BLOB NOT NULL,
            size INTEGER NOT NULL,
            enqueued_at REAL NOT NULL)""",
        """CREATE TABLE outbox_meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            rows INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0,
            critical_rows INTEGER NOT NULL DEFAULT 0,
            critical_bytes INTEGER NOT NULL DEFAULT 0,
            dead_letters INTEGER NOT NULL DEFAULT 0)""",
        "INSERT INTO outbox_meta (id) VALUES (1)",
        # events dropped by the caps, per type (a dropped new event counts too)
        "CREATE TABLE outbox_evicted (type TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID",
        """CREATE TABLE dead_letter (
            seq INTEGER PRIMARY KEY,
            event_id TEXT,
            type TEXT,
            payload BLOB,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL)""",
        "CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        # The counters are kept by triggers so that every path that adds or removes rows
        # (enqueue, eviction, ack, salvage, a person with the sqlite3 shell) keeps them right,
        # and enqueue reads them instead of running COUNT(*).
        """CREATE TRIGGER outbox_ai AFTER INSERT ON outbox BEGIN
            UPDATE outbox_meta SET rows = rows + 1, bytes = bytes + NEW.size,
                critical_rows = critical_rows + (NEW.priority = 'critical'),
                critical_bytes = critical_bytes + iif(NEW.priority = 'critical', NEW.size, 0)
            WHERE id = 1;
        END""",
        """CREATE TRIGGER outbox_ad AFTER DELETE ON outbox BEGIN
            UPDATE outbox_meta SET rows = rows - 1, bytes = bytes - OLD.size,
                critical_rows = critical_rows - (OLD.priority = 'critical'),
                critical_bytes = critical_bytes - iif(OLD.priority = 'critical', OLD.size, 0)
            WHERE id = 1;
        END""",
        """CREATE TRIGGER outbox_au AFTER UPDATE OF size, priority ON outbox BEGIN
            UPDATE outbox_meta SET bytes = bytes - OLD.size + NEW.size,
                critical_rows = critical_rows - (OLD.priority = 'critical')
                    + (NEW.priority = 'critical'),
                critical_bytes = critical_bytes - iif(OLD.priority = 'critical', OLD.size, 0)
                    + iif(NEW.priority = 'critical', NEW.size, 0)
            WHERE id = 1;
        END""",
        """CREATE TRIGGER dead_letter_ai AFTER INSERT ON dead_letter BEGIN
            UPDATE outbox_meta SET dead_letters = dead_letters + 1 WHERE id = 1;
        END""",
        """CREATE TRIGGER dead_letter_ad AFTER DELETE ON dead_letter BEGIN
            UPDATE outbox_meta SET dead_letters = dead_letters - 1 WHERE id = 1;
        END""",
    ]
    for sql in statements:
        conn.execute(sql)
    set_seq_floor(conn, now_us())


def _m2_codes(conn: sqlite3.Connection) -> None:
    """What the kiosk needs to check QR codes offline (``edge_sync.codes``): central's
    public keys and revoked code scopes, replaced together from each keys message, and
    the one-time codes this device has used."""
    statements = [
        """CREATE TABLE keys (
            kid INTEGER PRIMARY KEY,
            public BLOB NOT NULL,
            not_before TEXT NOT NULL,
            not_after TEXT)""",
        """CREATE TABLE revoked_tokens (
            scope TEXT PRIMARY KEY,
            generation INTEGER NOT NULL,
            until TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE used_tokens (
            token_hash TEXT PRIMARY KEY,
            used_at TEXT NOT NULL) WITHOUT ROWID""",
    ]
    for sql in statements:
        conn.execute(sql)


def _m3_campaigns(conn: sqlite3.Connection) -> None:
    """What the kiosk shows and resolves for campaigns, offline (``edge_sync.campaign_cache``):
    the store's campaign list as central last pushed it (replaced whole per message; its
    version and day in ``sync_state``), and per campaign the fallback-code table (canonical
    fallback code → token), replaced whole per campaign."""
    statements = [
        """CREATE TABLE campaigns (
            id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            entry TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE code_tables (
            campaign_id TEXT PRIMARY KEY,
            issued_at TEXT NOT NULL,
            codes INTEGER NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE fallback_codes (
            code TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            token TEXT NOT NULL,
            PRIMARY KEY (campaign_id, code)) WITHOUT ROWID""",
        "CREATE INDEX fallback_codes_code ON fallback_codes (code)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m4_inventory(conn: sqlite3.Connection) -> None:
    """The store's catalog, stock, nearby stores and staff as central last sent them
    (``edge_sync.inventory``): the state row, and an empty first set of cache tables so
    readers (the kiosk, the pickups logic reading ``staff``) find them before the first
    snapshot. Every snapshot rebuilds the cache tables whole; only the state row is
    permanent."""
    create_state(conn)
    create_set(conn, "", 0)


def _m5_pickups(conn: sqlite3.Connection) -> None:
    """Click-and-collect at the store (``edge_sync.pickups``): the orders central pushed
    (the highest revision of each), with the local handover kept apart from central's
    state so that no upsert can erase a handover this device made; the staff PIN attempts,
    persisted so that restarting the kiosk does not reset the rate limit; and a log of
    what staff did at the desk. Lines, initials and the code hash are personal data:
    ``pickups.purge`` clears them once an order is over (``purged_at``). ``IF NOT EXISTS``:
    tests that rewind a file to an earlier version leave these tables in place."""
    statements = [
        """CREATE TABLE IF NOT EXISTS pickup_orders (
            order_id TEXT PRIMARY KEY,
            revision INTEGER NOT NULL,
            state TEXT NOT NULL,
            items INTEGER NOT NULL,
            lines TEXT,
            initials TEXT,
            code_hash TEXT,
            placed_at TEXT,
            ready_at TEXT,
            collect_by TEXT,
            central_picked_up_at TEXT,
            handed_over_at TEXT,
            handed_over_by TEXT,
            handed_over_how TEXT,
            ended_at TEXT,
            purged_at TEXT,
            received_at TEXT NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS pickup_orders_ended ON pickup_orders (ended_at)",
        """CREATE TABLE IF NOT EXISTS pickup_pin_attempts (
            scope TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            locked_until REAL NOT NULL,
            last_failure_at REAL NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS pickup_log (
            id INTEGER PRIMARY KEY,
            order_id TEXT NOT NULL,
            action TEXT NOT NULL,
            staff_id TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX IF NOT EXISTS pickup_log_order ON pickup_log (order_id)",
    ]
    for sql in statements:
        conn.execute(sql)


#: Applied in order; ``PRAGMA user_version`` is the number applied so far and is bumped in
#: the same transaction as each migration. Append only; never edit a released migration.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m1_outbox,
    _m2_codes,
    _m3_campaigns,
    _m4_inventory,
    _m5_pickups,
]


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> None:
    while True:
        if user_version(conn) > len(MIGRATIONS):
            raise DatabaseTooNew(
                f"edge.db has schema version {user_version(conn)}; "
                f"this version of omnikiosk knows up to {len(MIGRATIONS)}"
            )
        if user_version(conn) == len(MIGRATIONS):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)  # again under the write lock: another process may
            if version < len(MIGRATIONS):  # have migrated while we waited for it
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
