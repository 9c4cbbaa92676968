"""Store data on the wire: a store's snapshot, its deltas and the retained manifest.

Central keeps one version counter per store (its *feed*). Every change a store's
kiosks must see (a product, the store's own stock, a nearby store's stock or details,
the staff list) moves the feed to a new version; central then stores the snapshot at
that version and publishes, in order,

* the delta ``omk/v1/down/{store}/inventory/delta`` (QoS 1)::

    {"format": 1, "store_id": "s042", "from_version": 41, "to_version": 42,
     "sha256": "<sha256 of the canonical changes>", "changes": [[op, …], …]}

  (none when the change set is larger than ``MAX_DELTA_CHANGES``: a device sees the gap
  in the manifest and fetches the snapshot). A version whose orders due for pickup
  changed also carries them all, as the snapshot at ``to_version`` does, with the time
  central built that version::

    {…, "built_at": "2026-12-01T10:00:00Z", "pickups": [<pickup upsert>, …]}

  so a device that follows by delta ends with the orders due that the snapshot would
  give it (pickup messages on ``…/pickups`` are not retained: one sent before a new
  device subscribed never reaches it). ``sha256`` is over ``changes`` only (a device
  that does not read ``pickups`` still checks it); each upsert is checked as on
  ``…/pickups``;
* the manifest ``omk/v1/down/{store}/inventory`` (QoS 1, retained)::

    {"format": 1, "store_id": "s042", "version": 42, "sha256": "<sha256 of the body>",
     "size": 123456, "snapshot_url": "/api/v1/stores/s042/snapshot?version=42",
     "built_at": "2026-12-01T10:00:00Z"}

A device applies a delta whose ``from_version`` is its own version, after checking its
``sha256``; one it has already passed is a duplicate; one further ahead (a gap), a bad
checksum or a manifest newer than what it can reach means fetching the snapshot.

The snapshot (``GET snapshot_url`` with the device's key; the ``sha256`` is over the
body's bytes as served, before any content encoding)::

    {"format": 1, "store_id": "s042", "version": 42, "built_at": "…",
     "store": {STORE_FIELDS…},                       # the device's own store
     "products": [[PRODUCT_FIELDS…], …],
     "stock": [[STOCK_FIELDS…], …],                  # the store's own shelves
     "nearby_stores": [{NEARBY_STORE_FIELDS…}, …],   # by distance, each with stock_as_of
     "nearby_stock": [[NEARBY_STOCK_FIELDS…], …],
     "staff": [{STAFF_FIELDS…}, …],                  # PINs as scrypt hashes (``pins``)
     "pickups": [<pickup upsert>, …]}                # orders due, as on ``…/pickups``

Change ops (lists, the op first):

=========  ==============================================  ===========================
op         the rest                                        meaning
=========  ==============================================  ===========================
``p``      PRODUCT_FIELDS                                  a product created / changed
``s``      STOCK_FIELDS                                    the store's stock of a SKU
``s-``     sku                                             the store no longer stocks it
``n``      NEARBY_STOCK_FIELDS                             a nearby store's stock
``n-``     store_id, sku                                   … no longer stocked there
``ns``     {NEARBY_STORE_FIELDS}                           a nearby store added/changed
``ns-``    store_id                                        no longer nearby (and its stock)
``store``  {STORE_FIELDS}                                  the device's own store changed
``staff``  {STAFF_FIELDS}                                  a staff member added/changed
``staff-`` staff_id                                        a staff member removed
=========  ==============================================  ===========================

Parsing checks the shape of everything (a wrong message is refused whole, with the
reason), not whether a SKU exists: central is the source of that.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from .ids import is_ident, parse_ts

FORMAT = 1
#: a delta carries at most this many changes; more, and the devices take the snapshot
MAX_DELTA_CHANGES = 5000
#: what a device accepts on the delta topic / manifest topic
MAX_DELTA_BYTES = 4 * 1024 * 1024
MAX_MANIFEST_BYTES = 4096
#: what a device accepts as a snapshot body (100,000 products is about 20 MB)
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024

PRODUCT_FIELDS = ("sku", "barcode", "name", "brand", "category", "price_minor", "currency", "image")
STOCK_FIELDS = ("sku", "quantity", "low_threshold")
NEARBY_STOCK_FIELDS = ("store_id", "sku", "quantity", "low_threshold")
STORE_FIELDS = (
    "id", "name", "address", "latitude", "longitude", "timezone", "show_exact_stock",
    "stock_as_of",
)  # fmt: skip
NEARBY_STORE_FIELDS = (*STORE_FIELDS, "distance_km")
STAFF_FIELDS = ("staff_id", "name", "pin_hash")

OPS = ("p", "s", "s-", "n", "n-", "ns", "ns-", "store", "staff", "staff-")


class BadStoreData(ValueError):
    """A manifest, delta or snapshot that is not what central sends; the message says
    what is wrong."""


def canonical(value: Any) -> bytes:
    """The bytes a checksum is taken over: JSON, sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def changes_sha256(changes: list[list[Any]]) -> str:
    return hashlib.sha256(canonical(changes)).hexdigest()


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def snapshot_path(store_id: str, version: int) -> str:
    return f"/api/v1/stores/{store_id}/snapshot?version={version}"


# -- shape checks -------------------------------------------------------------------------


def _text(v: Any, what: str, limit: int = 2000, empty: bool = False) -> str:
    if not isinstance(v, str) or len(v) > limit or (not v and not empty):
        raise BadStoreData(f"{what}: must be {'' if empty else 'non-empty '}text")
    return v


def _count(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise BadStoreData(f"{what}: must be a whole number ≥ 0")
    return v


def _version(v: Any, what: str) -> int:
    return _count(v, what)


def _number(v: Any, what: str, low: float, high: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise BadStoreData(f"{what}: must be a number")
    if not low <= v <= high:
        raise BadStoreData(f"{what}: must be between {low} and {high}")
    return float(v)


def _ident(v: Any, what: str) -> str:
    if not isinstance(v, str) or not is_ident(v):
        raise BadStoreData(f"{what}: must be an id ([a-z0-9_-])")
    return v


def _ts_or_none(v: Any, what: str) -> str | None:
    if v is None:
        return None
    try:
        parse_ts(v)
    except (TypeError, ValueError):
        raise BadStoreData(f"{what}: must be an RFC 3339 UTC time or null") from None
    return str(v)


def _row(v: Any, fields: tuple[str, ...], what: str) -> list[Any]:
    if not isinstance(v, list) or len(v) != len(fields):
        raise BadStoreData(f"{what}: must be a list of {len(fields)} ({', '.join(fields)})")
    return v


def check_product(v: Any, what: str = "product") -> list[Any]:
    r = _row(v, PRODUCT_FIELDS, what)
    _text(r[0], f"{what} sku", 32)
    if not isinstance(r[1], str) or not r[1].isdigit() or len(r[1]) not in (8, 12, 13):
        raise BadStoreData(f"{what} barcode: must be 8, 12 or 13 digits")
    _text(r[2], f"{what} name", 500)
    _text(r[3], f"{what} brand", 500, empty=True)
    _text(r[4], f"{what} category", 500, empty=True)
    _count(r[5], f"{what} price_minor")
    _text(r[6], f"{what} currency", 3)
    _text(r[7], f"{what} image", 2000, empty=True)
    return r


def check_stock(v: Any, what: str = "stock") -> list[Any]:
    r = _row(v, STOCK_FIELDS, what)
    _text(r[0], f"{what} sku", 32)
    _count(r[1], f"{what} quantity")
    _count(r[2], f"{what} low_threshold")
    return r


def check_nearby_stock(v: Any, what: str = "nearby stock") -> list[Any]:
    r = _row(v, NEARBY_STOCK_FIELDS, what)
    _text(r[0], f"{what} store_id", 64)
    check_stock(r[1:], what)
    return r


def _object(v: Any, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise BadStoreData(f"{what}: must be an object")
    missing = [f for f in fields if f not in v]
    if missing:
        raise BadStoreData(f"{what}: missing {', '.join(missing)}")
    return {f: v[f] for f in fields}


def check_store(v: Any, what: str = "store", fields: tuple[str, ...] = STORE_FIELDS) -> dict:
    s = _object(v, fields, what)
    _text(s["id"], f"{what} id", 64)
    _text(s["name"], f"{what} name", 500)
    _text(s["address"], f"{what} address", 1000, empty=True)
    _number(s["latitude"], f"{what} latitude", -90, 90)
    _number(s["longitude"], f"{what} longitude", -180, 180)
    _text(s["timezone"], f"{what} timezone", 64)
    if not isinstance(s["show_exact_stock"], bool):
        raise BadStoreData(f"{what} show_exact_stock: must be true or false")
    _ts_or_none(s["stock_as_of"], f"{what} stock_as_of")
    if "distance_km" in fields:
        _number(s["distance_km"], f"{what} distance_km", 0, 20040)
    return s


def check_nearby_store(v: Any, what: str = "nearby store") -> dict[str, Any]:
    return check_store(v, what, NEARBY_STORE_FIELDS)


def check_staff(v: Any, what: str = "staff") -> dict[str, Any]:
    s = _object(v, STAFF_FIELDS, what)
    _ident(s["staff_id"], f"{what} staff_id")
    _text(s["name"], f"{what} name", 200)
    _text(s["pin_hash"], f"{what} pin_hash", 300)
    return s


def check_change(c: Any, i: int) -> list[Any]:
    what = f"change {i}"
    if not isinstance(c, list) or not c or c[0] not in OPS:
        raise BadStoreData(f"{what}: must be a list starting with one of {', '.join(OPS)}")
    op, rest = c[0], c[1:]
    if op == "p":
        check_product(rest, what)
    elif op == "s":
        check_stock(rest, what)
    elif op == "n":
        check_nearby_stock(rest, what)
    elif op in ("s-", "ns-", "staff-"):
        if len(rest) != 1:
            raise BadStoreData(f"{what}: {op} takes one id")
        _text(rest[0], f"{what} id", 64)
    elif op == "n-":
        if len(rest) != 2:
            raise BadStoreData(f"{what}: n- takes a store id and a SKU")
        _text(rest[0], f"{what} store_id", 64)
        _text(rest[1], f"{what} sku", 32)
    elif len(rest) != 1:
        raise BadStoreData(f"{what}: {op} takes one object")
    elif op == "ns":
        check_nearby_store(rest[0], what)
    elif op == "store":
        check_store(rest[0], what)
    else:
        check_staff(rest[0], what)
    return c


def _json_object(payload: bytes, what: str, limit: int) -> dict[str, Any]:
    if len(payload) > limit:
        raise BadStoreData(f"{what}: {len(payload)} bytes, more than {limit}")
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadStoreData(f"{what}: not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise BadStoreData(f"{what}: must be a JSON object")
    if doc.get("format") != FORMAT:
        raise BadStoreData(f"{what}: format {doc.get('format')!r}, this device reads {FORMAT}")
    return doc


@dataclass(frozen=True, slots=True)
class Manifest:
    store_id: str
    version: int
    sha256: str
    size: int
    snapshot_url: str
    built_at: str


def _sha(v: Any, what: str) -> str:
    if not isinstance(v, str) or len(v) != 64 or any(ch not in "0123456789abcdef" for ch in v):
        raise BadStoreData(f"{what}: must be 64 lower-case hex digits")
    return v


def parse_manifest(payload: bytes, store_id: str) -> Manifest:
    d = _json_object(payload, "manifest", MAX_MANIFEST_BYTES)
    if d.get("store_id") != store_id:
        raise BadStoreData(f"manifest: for store {d.get('store_id')!r}, not {store_id}")
    url = _text(d.get("snapshot_url"), "manifest snapshot_url", 1000)
    if not url.startswith("/"):
        raise BadStoreData("manifest snapshot_url: must be a path on central (/api/…)")
    return Manifest(
        store_id, _version(d.get("version"), "manifest version"), _sha(d.get("sha256"), "manifest sha256"),
        _count(d.get("size"), "manifest size"), url,
        _ts_or_none(d.get("built_at"), "manifest built_at") or "",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Delta:
    store_id: str
    from_version: int
    to_version: int
    sha256: str
    changes: list[list[Any]]
    #: every order due at ``to_version`` (pickup upserts, as in the snapshot), when they
    #: changed in this version; None when they did not (or central does not send them)
    pickups: list[dict[str, Any]] | None = None
    #: when central built ``to_version`` (sent with ``pickups``)
    built_at: str | None = None

    @property
    def checksum_ok(self) -> bool:
        return changes_sha256(self.changes) == self.sha256


def parse_delta(payload: bytes, store_id: str) -> Delta:
    """The delta's shape (``BadStoreData`` if wrong); ``checksum_ok`` is for the caller,
    which answers a bad checksum by fetching the snapshot."""
    d = _json_object(payload, "delta", MAX_DELTA_BYTES)
    if d.get("store_id") != store_id:
        raise BadStoreData(f"delta: for store {d.get('store_id')!r}, not {store_id}")
    frm, to = (
        _version(d.get("from_version"), "delta from_version"),
        _version(d.get("to_version"), "delta to_version"),
    )
    if to <= frm:
        raise BadStoreData(f"delta: to_version {to} is not after from_version {frm}")
    changes = d.get("changes")
    if not isinstance(changes, list) or len(changes) > MAX_DELTA_CHANGES:
        raise BadStoreData(f"delta changes: must be a list of at most {MAX_DELTA_CHANGES}")
    for i, c in enumerate(changes):
        check_change(c, i)
    pickups, built_at = d.get("pickups"), None
    if pickups is not None:
        if not isinstance(pickups, list) or not all(isinstance(p, dict) for p in pickups):
            raise BadStoreData("delta pickups: must be a list of objects")
        built_at = _ts_or_none(d.get("built_at"), "delta built_at")
        if built_at is None:
            raise BadStoreData("delta built_at: needed with pickups")
    return Delta(store_id, frm, to, _sha(d.get("sha256"), "delta sha256"), changes,
                 pickups, built_at)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Snapshot:
    store_id: str
    version: int
    built_at: str
    store: dict[str, Any]
    products: list[list[Any]]
    stock: list[list[Any]]
    nearby_stores: list[dict[str, Any]]
    nearby_stock: list[list[Any]]
    staff: list[dict[str, Any]]
    #: pickup upserts as on ``…/pickups`` (``edge_sync`` checks them where it stores them)
    pickups: list[dict[str, Any]]


def _list(d: dict[str, Any], key: str) -> list[Any]:
    v = d.get(key)
    if not isinstance(v, list):
        raise BadStoreData(f"snapshot {key}: must be a list")
    return v


def parse_snapshot(body: bytes, store_id: str) -> Snapshot:
    d = _json_object(body, "snapshot", MAX_SNAPSHOT_BYTES)
    if d.get("store_id") != store_id:
        raise BadStoreData(f"snapshot: for store {d.get('store_id')!r}, not {store_id}")
    products = _list(d, "products")
    for i, p in enumerate(products):
        check_product(p, f"product {i}")
    stock = _list(d, "stock")
    for i, s in enumerate(stock):
        check_stock(s, f"stock {i}")
    nearby = [
        check_nearby_store(s, f"nearby store {i}") for i, s in enumerate(_list(d, "nearby_stores"))
    ]
    nearby_stock = _list(d, "nearby_stock")
    for i, s in enumerate(nearby_stock):
        check_nearby_stock(s, f"nearby stock {i}")
    staff = [check_staff(s, f"staff {i}") for i, s in enumerate(_list(d, "staff"))]
    pickups = _list(d, "pickups")
    if not all(isinstance(p, dict) for p in pickups):
        raise BadStoreData("snapshot pickups: must be objects")
    return Snapshot(
        store_id, _version(d.get("version"), "snapshot version"),
        _ts_or_none(d.get("built_at"), "snapshot built_at") or "",
        check_store(d.get("store"), "snapshot store"), products, stock, nearby,
        nearby_stock, staff, pickups,
    )  # fmt: skip
