"""Dead letters: what central received but could not use, with a typed reason.

Everything here comes from the wire and is made storable first (no NUL characters for
PostgreSQL, bounded sizes): a dead letter that fails to insert would fail the whole
group commit and turn one bad message into a poison one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from edge_sync.protocol import DeadLetterReason

from .sql import BIGINT_MAX, BIGINT_MIN, clean_text
from .tables import dead_letters

#: a dead letter keeps at most this much of the raw event or message
PAYLOAD_LIMIT = 64 * 1024


def raw_text(payload: bytes) -> str:
    """A received message as text for the ``payload`` column (undecodable bytes replaced)."""
    return payload[:PAYLOAD_LIMIT].decode("utf-8", "replace")


def json_text(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """A received value (an event) as JSON text for the ``payload`` column. What the
    wire parser gives is always serialisable; anything else is kept as a short note
    rather than failing the dead letter and with it the whole group commit."""
    try:
        return json.dumps(value, ensure_ascii=False, default=default)
    except (TypeError, ValueError, RecursionError) as err:
        return f"(not serialisable: {type(err).__name__})"


def dead_letter_row(
    *,
    received_at: datetime,
    topic: str,
    reason: DeadLetterReason,
    detail: str,
    payload: str,
    device_id: str | None = None,
    store_id: str | None = None,
    batch_id: str | None = None,
    seq: int | None = None,
    event_id: Any = None,
) -> dict[str, Any]:
    return {
        "received_at": received_at,
        "topic": clean_text(topic, 1024),
        "device_id": device_id,
        "store_id": store_id,
        "batch_id": clean_text(batch_id, 256) if batch_id is not None else None,
        # 0: the event had no usable seq (and none beyond 64 bits reaches here)
        "seq": seq if seq and BIGINT_MIN <= seq <= BIGINT_MAX else None,
        "event_id": clean_text(event_id, 64) if isinstance(event_id, str) else None,
        "reason": reason.value,
        "detail": clean_text(detail, 4096),
        "payload": clean_text(payload, PAYLOAD_LIMIT),
    }


def insert_dead_letters(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(dead_letters.insert(), rows)
