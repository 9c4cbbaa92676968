"""The demo's store data and device keys: imported through central's imports, and a
second run changes nothing."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from central_api.api.keys import revoke_key, verify_key
from central_api.app import create_app
from central_api.demo_store import (
    demo_pin,
    ensure_demo_device_key,
    import_demo_data,
    product_name,
    write_private,
)
from central_api.store.inventory_tables import products, stock, stores
from edge_sync.protocol import utcnow
from edge_sync.protocol.pins import check_pin


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        return tuple(  # type: ignore[return-value]
            c.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (stores, products, stock)
        )


def test_the_demo_data_imports_once_and_again_changes_nothing(engine: Engine) -> None:
    first = import_demo_data(engine, utcnow())
    assert first["catalog.csv"].rows == first["catalog.csv"].created == 3000
    assert first["stores.csv"].created == 6 and first["stock.csv"].created == 16189
    assert _counts(engine) == (6, 3000, 16189)
    again = import_demo_data(engine, utcnow())
    for name, result in again.items():
        assert result.created == result.updated == 0, name
        assert result.unchanged == result.rows == first[name].rows, name
    assert _counts(engine) == (6, 3000, 16189)


def test_the_demo_device_key_is_kept_while_it_works(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "s001-k1" / "device.key"
    key = ensure_demo_device_key(engine, "s001", path, "s001-k1")
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    made = verify_key(engine, key)
    assert (made.role, made.store_id, made.device_id) == ("device", "s001", "s001-k1")
    assert ensure_demo_device_key(engine, "s001", path, "s001-k1") == key  # kept
    assert ensure_demo_device_key(engine, "s002", path) != key  # another store's: replaced
    revoke_key(engine, verify_key(engine, path.read_text().strip()).key_id)
    fresh = ensure_demo_device_key(engine, "s002", path)
    assert verify_key(engine, fresh).store_id == "s002"
    client = TestClient(create_app(engine))
    r = client.get("/api/v1/stores", headers={"Authorization": f"Bearer {fresh}"})
    assert r.status_code == 403  # a device key reads only its store's feed


def test_the_demo_staff_pin_is_new_each_run_and_one_central_accepts(tmp_path: Path) -> None:
    pins = {demo_pin() for _ in range(50)}
    assert len(pins) > 45  # fresh ones, not a fixed PIN printed in every demo
    for pin in pins:
        assert len(pin) == 6 and check_pin(pin) == pin
    path = tmp_path / "staff.pin"
    write_private(path, pins.pop())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_looked_up_product_is_named_as_in_the_catalog() -> None:
    assert product_name("GW-00001") == "Gardena Spade"
