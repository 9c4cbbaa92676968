"""Click-and-collect at the store's kiosk, offline: central's pickup orders, staff
unlock by PIN, the pickup desk (find, confirm, refuse) and the purge of personal data.

* ``orders``: the local orders from central's upserts, snapshots and deltas
  (``apply_upserts``; ``replace_from_snapshot`` and ``replace_from_delta``, the hooks
  of the snapshot loader and of a delta's transaction);
* ``staff``: ``StaffUnlock`` (PIN, rate limit) and ``StaffSession``;
* ``desk``: ``PickupDesk``, what the pickup screens call;
* ``purge`` and ``store`` (the sync daemon's side).
"""

from __future__ import annotations

from .desk import REFUSE_REASONS, Handover, PickupDesk, PickupLine, PickupOrder
from .orders import (
    MAX_PICKUPS_MESSAGE_BYTES,
    ApplyResult,
    BadUpsert,
    LocalOrder,
    apply_upserts,
    get_order,
    parse_pickups_message,
    replace_due,
    replace_from_delta,
    replace_from_snapshot,
)
from .purge import KEEP_DAYS, Purged, purge
from .refusals import PickupRefused, Refusal
from .staff import StaffSession, StaffUnlock, UnlockRefused, ensure_staff_table
from .store import PickupStore

__all__ = [
    "KEEP_DAYS", "MAX_PICKUPS_MESSAGE_BYTES", "REFUSE_REASONS", "ApplyResult", "BadUpsert",
    "Handover", "LocalOrder", "PickupDesk", "PickupLine", "PickupOrder", "PickupRefused",
    "PickupStore", "Purged", "Refusal", "StaffSession", "StaffUnlock", "UnlockRefused",
    "apply_upserts", "ensure_staff_table", "get_order", "parse_pickups_message", "purge",
    "replace_due", "replace_from_delta", "replace_from_snapshot",
]  # fmt: skip
