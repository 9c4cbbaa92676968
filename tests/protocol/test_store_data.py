"""Store data's wire contract: what the parsers accept, what they refuse and why, and
the PIN hashes central makes and devices check."""

from __future__ import annotations

import json

import pytest

from edge_sync.protocol import pins
from edge_sync.protocol import store_data as sd

PRODUCT = ["SKU-1", "4006381333931", "Gel pen", "Stabilo", "Office/Pens", 199, "EUR", ""]
STORE = {
    "id": "s001", "name": "Marienplatz", "address": "Marienplatz 1, München",
    "latitude": 48.137, "longitude": 11.575, "timezone": "Europe/Berlin",
    "show_exact_stock": False, "stock_as_of": "2026-12-01T08:00:00Z",
}  # fmt: skip
NEARBY = {**STORE, "id": "s002", "distance_km": 3.2}
STAFF = {"staff_id": "anna", "name": "Anna", "pin_hash": "scrypt$14$8$1$a$b"}


def _delta(changes, **over) -> bytes:
    doc = {
        "format": 1, "store_id": "s001", "from_version": 4, "to_version": 5,
        "sha256": sd.changes_sha256(changes), "changes": changes,
    }  # fmt: skip
    doc.update(over)
    return json.dumps(doc).encode()


def _snapshot(**over) -> bytes:
    doc = {
        "format": 1, "store_id": "s001", "version": 5, "built_at": "2026-12-01T09:00:00Z",
        "store": STORE, "products": [PRODUCT], "stock": [["SKU-1", 4, 2]],
        "nearby_stores": [NEARBY], "nearby_stock": [["s002", "SKU-1", 0, 2]],
        "staff": [STAFF], "pickups": [{"order_id": "o-00000000"}],
    }  # fmt: skip
    doc.update(over)
    return json.dumps(doc).encode()


def test_every_op_parses_and_the_checksum_holds() -> None:
    changes = [
        ["p", *PRODUCT], ["s", "SKU-1", 3, 1], ["s-", "SKU-1"], ["n", "s002", "SKU-1", 9, 2],
        ["n-", "s002", "SKU-1"], ["ns", NEARBY], ["ns-", "s002"], ["store", STORE],
        ["staff", STAFF], ["staff-", "anna"],
    ]  # fmt: skip
    d = sd.parse_delta(_delta(changes), "s001")
    assert (d.from_version, d.to_version, len(d.changes)) == (4, 5, 10)
    assert d.checksum_ok


def test_a_changed_change_fails_the_checksum_not_the_parse() -> None:
    payload = json.loads(_delta([["s", "SKU-1", 3, 1]]))
    payload["changes"][0][2] = 30
    d = sd.parse_delta(json.dumps(payload).encode(), "s001")
    assert not d.checksum_ok


def test_the_checksum_does_not_depend_on_key_order_or_spacing() -> None:
    a = [["store", {"id": "s001", "name": "x"}]]
    b = json.loads('[["store", {"name": "x",  "id": "s001"}]]')
    assert sd.changes_sha256(a) == sd.changes_sha256(b)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "must be a JSON object"),
        (_delta([], format=2), "format 2, this device reads 1"),
        (_delta([], store_id="s009"), "for store 's009', not s001"),
        (_delta([], from_version=5), "to_version 5 is not after from_version 5"),
        (_delta([], from_version=-1), "delta from_version: must be a whole number"),
        (_delta([["x", 1]]), "change 0: must be a list starting with one of"),
        (_delta([["s", "SKU-1", -1, 0]]), "change 0 quantity: must be a whole number"),
        (_delta([["s", "SKU-1", True, 0]]), "change 0 quantity"),
        (_delta([["p", *PRODUCT[:-1]]]), "must be a list of 8"),
        (_delta([["p", PRODUCT[0], "12345", *PRODUCT[2:]]]), "barcode: must be 8, 12 or 13"),
        (_delta([["ns", {**NEARBY, "latitude": 91}]]), "latitude: must be between -90"),
        (_delta([["ns", {k: v for k, v in NEARBY.items() if k != "distance_km"}]]), "missing"),
        (_delta([["staff", {**STAFF, "staff_id": "Anna Smith"}]]), "staff_id: must be an id"),
        (_delta([["n-", "s002"]]), "n- takes a store id and a SKU"),
        (_delta([], sha256="ABC"), "sha256: must be 64 lower-case hex digits"),
        (_delta([], pickups={}, built_at="2026-12-01T09:00:00Z"), "pickups: must be a list"),
        (_delta([], pickups=["o-1"], built_at="2026-12-01T09:00:00Z"), "list of objects"),
        (_delta([], pickups=[]), "delta built_at: needed with pickups"),
        (_delta([], pickups=[], built_at="yesterday"), "built_at: must be an RFC 3339"),
    ],
)
def test_a_bad_delta_is_refused_with_its_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(sd.BadStoreData, match=None) as e:
        sd.parse_delta(payload, "s001")
    assert reason in str(e.value)


def test_the_orders_due_ride_along_outside_the_checksum_and_are_optional() -> None:
    """Old central: no ``pickups``, nothing to store; new central: the list and when it
    was built, with the checksum over the changes only (what an old device checks)."""
    plain = sd.parse_delta(_delta([["s", "SKU-1", 3, 1]]), "s001")
    assert plain.pickups is None and plain.built_at is None
    due = [{"order_id": "o-00000000"}]
    d = sd.parse_delta(_delta([], pickups=due, built_at="2026-12-01T09:00:00Z"), "s001")
    assert d.checksum_ok and d.changes == []
    assert d.pickups == due and d.built_at == "2026-12-01T09:00:00Z"
    none_due = sd.parse_delta(_delta([], pickups=[], built_at="2026-12-01T09:00:00Z"), "s001")
    assert none_due.pickups == []  # every order left the list: not the same as no field


def test_a_delta_past_the_change_limit_is_refused() -> None:
    changes = [["s-", f"SKU-{i}"] for i in range(sd.MAX_DELTA_CHANGES + 1)]
    with pytest.raises(sd.BadStoreData, match="at most 5000"):
        sd.parse_delta(_delta(changes), "s001")


def test_the_manifest_names_a_path_on_central() -> None:
    doc = {
        "format": 1, "store_id": "s001", "version": 7, "sha256": "a" * 64, "size": 10,
        "snapshot_url": sd.snapshot_path("s001", 7), "built_at": "2026-12-01T09:00:00Z",
    }  # fmt: skip
    m = sd.parse_manifest(json.dumps(doc).encode(), "s001")
    assert (m.version, m.snapshot_url) == (7, "/api/v1/stores/s001/snapshot?version=7")
    doc["snapshot_url"] = "https://elsewhere.example/snap"
    with pytest.raises(sd.BadStoreData, match="must be a path on central"):
        sd.parse_manifest(json.dumps(doc).encode(), "s001")
    with pytest.raises(sd.BadStoreData, match="more than 4096"):
        sd.parse_manifest(b" " * 5000, "s001")


def test_a_snapshot_parses_whole_or_not_at_all() -> None:
    s = sd.parse_snapshot(_snapshot(), "s001")
    assert (s.version, s.store["id"], len(s.products), s.nearby_stores[0]["distance_km"]) == (
        5, "s001", 1, 3.2,
    )  # fmt: skip
    with pytest.raises(sd.BadStoreData, match="nearby stock 0 quantity"):
        sd.parse_snapshot(_snapshot(nearby_stock=[["s002", "SKU-1", "9", 2]]), "s001")
    with pytest.raises(sd.BadStoreData, match="snapshot stock: must be a list"):
        sd.parse_snapshot(_snapshot(stock=None), "s001")
    with pytest.raises(sd.BadStoreData, match="snapshot store show_exact_stock"):
        sd.parse_snapshot(_snapshot(store={**STORE, "show_exact_stock": "yes"}), "s001")


def test_a_pin_hash_verifies_its_pin_and_nothing_else() -> None:
    h = pins.hash_pin("482913", log2_n=10)
    assert h.startswith("scrypt$10$8$1$")
    assert pins.verify_pin("482913", h)
    assert not pins.verify_pin("482914", h)
    assert pins.hash_pin("482913", log2_n=10) != h  # salted
    for broken in ("", "scrypt$10$8$1$!!$!!", "md5$x", h.replace("scrypt$10", "scrypt$30")):
        assert not pins.verify_pin("482913", broken)


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("12345", "6 to 12 digits"),
        ("12a456", "digits only"),
        ("٤٨٢٩١٣", "digits only"),
        ("111111", "too easy"),
        ("234567", "too easy"),
        ("876543", "too easy"),
    ],
)
def test_an_easy_or_malformed_pin_is_refused(pin: str, reason: str) -> None:
    with pytest.raises(pins.BadPin, match=reason):
        pins.check_pin(pin)
