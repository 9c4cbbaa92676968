"""The three imports on both backends: good files, every kind of bad row with its line
and message, all or nothing, re-import, stock replacement and its versions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from central_api.imports import catalog, stock, stores
from central_api.imports.csvbase import ImportFailed
from central_api.imports.runner import Kind

from .helpers import (
    CATALOG,
    CATALOG_HEADER,
    STOCK,
    STOCK_HEADER,
    STORE_HEADER,
    STORES,
    T0,
    csv,
    run,
    seed,
    snapshot,
    table,
)


def refused(engine: Engine, kind: Kind, raw: bytes) -> list[str]:
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as err:
        run(engine, kind, raw, at=5)
    assert snapshot(engine) == before, "a refused file changed the tables"
    return [str(e) for e in err.value.errors]


def test_good_files_land_in_the_tables(engine: Engine) -> None:
    seed(engine)
    s = {r["id"]: r for r in table(engine, "stores")}
    assert s["s-muc"]["latitude"] == 48.1372 and s["s-muc"]["show_exact_stock"] is True
    assert s["s-ber"]["show_exact_stock"] is False and s["s-aug"]["show_exact_stock"] is False
    assert s["s-muc"]["stock_version"] == 1 and s["s-muc"]["stock_as_of"] == T0
    assert s["s-aug"]["stock_version"] == 0 and s["s-aug"]["stock_as_of"] is None
    p = {r["sku"]: r for r in table(engine, "products")}
    assert p["A-1"]["price_minor"] == 2499 and p["A-1"]["currency"] == "EUR"
    assert p["A-2"]["price_minor"] == 1950 and p["A-3"]["barcode"] == "0036000291452"
    assert p["A-1"]["image"] == "products/spade.png" and p["A-2"]["image"] == ""
    assert {r["version"] for r in p.values()} == {1}
    st = {(r["store_id"], r["sku"]): r for r in table(engine, "stock")}
    assert st["s-muc", "A-2"]["quantity"] == 3 and st["s-muc", "A-2"]["low_threshold"] == 3
    assert all(r["version"] == 1 and r["removed_at"] is None for r in st.values())
    assert {v["scope"]: v["version"] for v in table(engine, "versions")} == {
        "catalog": 1, "stores": 1, "staff": 0,  # (staff: 0014, for the stores' feeds)
    }  # fmt: skip


def test_reimport_is_idempotent(engine: Engine) -> None:
    seed(engine)
    before = snapshot(engine)
    r1 = run(engine, stores.KIND, csv(STORE_HEADER, STORES), at=1)
    r2 = run(engine, catalog.KIND, csv(CATALOG_HEADER, CATALOG), at=1)
    r3 = run(engine, stock.KIND, csv(STOCK_HEADER, STOCK), at=1)
    assert (r1.unchanged, r1.created, r1.updated, r1.version) == (3, 0, 0, 1)
    assert (r2.unchanged, r2.created, r2.updated, r2.version) == (3, 0, 0, 1)
    assert (r3.unchanged, r3.created, r3.updated, r3.removed) == (4, 0, 0, 0)
    after = snapshot(engine)
    # only the "as of" time moves: the stock was stated again
    for s in before["stores"]:
        if s["stock_as_of"] is not None:
            s["stock_as_of"] = T0.replace(minute=1)
    assert after == before


def test_catalog_upsert_bumps_only_changed_rows(engine: Engine) -> None:
    seed(engine)
    changed = [[*CATALOG[0][:5], "26.99", "EUR", ""], ["B-9", "5901234123457", "Rake", "Wolf",
               "Garden/Tools", "9.99", "EUR", ""]]  # fmt: skip
    r = run(engine, catalog.KIND, csv(CATALOG_HEADER, changed), at=2)
    assert (r.created, r.updated, r.unchanged, r.version) == (1, 1, 0, 2)
    p = {x["sku"]: x for x in table(engine, "products")}
    assert p["A-1"]["price_minor"] == 2699 and p["A-1"]["version"] == 2
    assert p["B-9"]["version"] == 2 and p["A-2"]["version"] == 1  # left out: kept as it was


def test_stock_replaces_the_named_stores_only(engine: Engine) -> None:
    seed(engine)
    # s-muc: A-1 changes, A-2 is left out, A-3 is new; s-ber is not named
    r = run(engine, stock.KIND, csv(STOCK_HEADER, [["s-muc", "A-1", "8", "3"],
                                                   ["s-muc", "A-3", "1", "2"]]), at=3)  # fmt: skip
    assert (r.created, r.updated, r.unchanged, r.removed, r.stores) == (1, 1, 0, 1, 1)
    assert r.versions == {"s-muc": 2}
    st = {(x["store_id"], x["sku"]): x for x in table(engine, "stock")}
    gone = st["s-muc", "A-2"]
    assert gone["quantity"] == 0 and gone["removed_at"] is not None and gone["version"] == 2
    assert st["s-muc", "A-1"]["quantity"] == 8 and st["s-muc", "A-1"]["version"] == 2
    assert st["s-muc", "A-3"]["version"] == 2
    assert st["s-ber", "A-1"]["version"] == 1 and st["s-ber", "A-3"]["quantity"] == 7
    # the delta a later feed sends: s-muc's rows above version 1
    assert sorted(k[1] for k, x in st.items() if k[0] == "s-muc" and x["version"] > 1) == [
        "A-1", "A-2", "A-3",
    ]  # fmt: skip
    # listed again: the tombstone comes back at a new version
    r = run(engine, stock.KIND, csv(STOCK_HEADER, [["s-muc", "A-1", "8", "3"],
                                                   ["s-muc", "A-2", "5", "1"],
                                                   ["s-muc", "A-3", "1", "2"]]), at=4)  # fmt: skip
    assert (r.updated, r.unchanged, r.removed, r.versions) == (1, 2, 0, {"s-muc": 3})
    back = {(x["store_id"], x["sku"]): x for x in table(engine, "stock")}["s-muc", "A-2"]
    assert back["removed_at"] is None and back["quantity"] == 5 and back["version"] == 3


def test_every_kind_of_bad_catalog_row(engine: Engine) -> None:
    seed(engine)
    rows = [
        ["A-1", "4006381333931", "Spade", "Fiskars", "Garden/Tools", "24.99", "EUR", ""],  # 2 ok
        ["bad sku", "4006381333931", "X", "B", "C", "1", "EUR", ""],  # 3
        ["B-2", "4006381333932", "X", "B", "C", "1", "EUR", ""],  # 4
        ["B-3", "5901234123457", "", "B", "C", "1.999", "EUR", "../x.png"],  # 5
        ["B-4", "5901234123457", "X", "B", "C//D", "1", "XYZ", ""],  # 6
        ["A-1", "4006381333931", "Spade", "Fiskars", "Garden/Tools", "24.99", "EUR", ""],  # 7
        ["B-5", "96385074", "X", "B", "C", "1", "EUR", ""],  # 8: A-2's barcode
        ["B-6", "1", "2"],  # 9
    ]
    errors = refused(engine, catalog.KIND, csv(CATALOG_HEADER, rows))
    assert errors == [
        "line 3: sku: 'bad sku' is not a SKU: 1 to 32 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
        "line 4: barcode: 4006381333932: check digit 2 is wrong for an EAN-13; expected 1",
        "line 5: name: must not be empty",
        "line 5: price: 1.999 has more decimals than EUR's 2",
        "line 5: image: '../x.png' is neither an http(s) URL nor an asset path (relative, such as products/spade.png: letters, digits, _ - . and /, no ..)",
        "line 6: category: 'C//D' is not a category path: names with / between them, such as Garden/Tools, none empty",
        "line 6: currency: 'XYZ' is not a currency this central prices in (ISO 4217: AUD, BGN, CAD, CHF, CZK, DKK, EUR, GBP, HUF, ISK, JPY, MXN, NOK, NZD, PLN, RON, SEK, TRY, USD)",
        "line 7: SKU A-1 is also on line 2",
        "line 8: barcode: 96385074 is already SKU A-2's barcode",
        "line 9: 3 fields, the header has 8",
    ]  # fmt: skip


def test_every_kind_of_bad_stock_row(engine: Engine) -> None:
    seed(engine)
    rows = [
        ["s-muc", "A-1", "4", "2"],  # 2 ok
        ["s-muc", "A-2", "-1", "2"],  # 3
        ["s-muc", "A-3", "2.5", "x"],  # 4
        ["s-nowhere", "A-1", "1", "1"],  # 5
        ["s-muc", "NOPE", "1", "1"],  # 6
        ["s-muc", "A-1", "5", "2"],  # 7
        ["S-MUC", "A-1", "5", "2"],  # 8
    ]
    errors = refused(engine, stock.KIND, csv(STOCK_HEADER, rows))
    assert errors == [
        "line 3: quantity: '-1' is negative; it must be 0 or more",
        "line 4: quantity: '2.5' is not a whole number from 0 to 1,000,000,000",
        "line 4: low_threshold: 'x' is not a whole number from 0 to 1,000,000,000",
        "line 5: store_id: no store s-nowhere; import it first",
        "line 6: sku: no product NOPE in the catalog",
        "line 7: store s-muc, SKU A-1 is also on line 2",
        "line 8: store_id: 'S-MUC' is not a store id: 1 to 64 of a-z 0-9 _ -, lower case, starting with a letter or digit",
    ]  # fmt: skip


def test_every_kind_of_bad_store_row(engine: Engine) -> None:
    rows = [
        ["s1", "One", "Street 1", "48.1", "11.5", "Europe/Berlin", "true"],  # 2 ok
        ["s2", "Two", "Street 2", "91", "11.5", "Europe/Berlin", ""],  # 3
        ["s3", "Three", "", "48.1", "-181", "Mars/Olympus", "perhaps"],  # 4
        ["s4", "Four", "Street 4", "north", "11.5", "Europe/Berlin", ""],  # 5
    ]
    errors = refused(engine, stores.KIND, csv(STORE_HEADER, rows))
    assert errors == [
        "line 3: latitude: 91 is outside -90 to 90",
        "line 4: address: must not be empty",
        "line 4: longitude: -181 is outside -180 to 180",
        "line 4: timezone: 'Mars/Olympus' is not an IANA time zone, such as Europe/Berlin",
        "line 4: show_exact_stock: 'perhaps' is not true or false (yes/no, 1/0; empty is false)",
        "line 5: latitude: 'north' is not a coordinate in decimal degrees, such as 48.1372",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "line 1: empty file: a header is required"),
        (b"sku,barcode\n", "line 1: missing columns: name, brand, category, price, currency"),
        (
            CATALOG_HEADER[0].encode()
            + b",sku,"
            + b",".join(h.encode() for h in CATALOG_HEADER[1:]),
            "line 1: sku: column given twice",
        ),
        (",".join([*CATALOG_HEADER, "colour"]).encode(), "line 1: colour: unknown column"),
        ("\ufeffsku".encode("utf-16"), "line 1: the file is UTF-16"),
        ("sku,name\nä".encode("cp1252"), "line 2: not UTF-8 text (byte 0xe4)"),
        (b'sku,barcode,name,brand,category,price,currency\n"A,1', "line 2: not CSV"),
    ],
)
def test_files_refused_whole(engine: Engine, raw: bytes, message: str) -> None:
    errors = refused(engine, catalog.KIND, raw)
    assert any(e.startswith(message) for e in errors), errors


def test_one_bad_row_anywhere_writes_nothing(engine: Engine) -> None:
    seed(engine)
    good = [["s-muc", "A-1", str(n % 50), "2"] for n in range(1)]
    for at in (0, 1, 2):  # first, middle, last
        rows = [["s-ber", "A-1", "5", "2"], ["s-ber", "A-3", "6", "1"]]
        rows.insert(at, ["s-ber", "A-2", "many", "2"])
        refused(engine, stock.KIND, csv(STOCK_HEADER, good + rows))
    # and a refusal found by the database (an unknown SKU) after many good rows
    refused(engine, stock.KIND, csv(STOCK_HEADER, [*good, ["s-ber", "ZZ", "1", "1"]]))


def test_excel_exports_bom_crlf_semicolons_decimal_commas(engine: Engine) -> None:
    text = "\ufeffID;Name;Address;Latitude;Longitude;Timezone;Show_Exact_Stock;;\r\n"
    text += "s-x;Xstore;Straße 1, Ort;48,1372;11,5756;Europe/Berlin;WAHR;;\r\n;;;;;;;;\r\n"
    with pytest.raises(ImportFailed) as err:  # Excel's German TRUE is not taken
        run(engine, stores.KIND, text.encode("utf-8"))
    assert [str(e) for e in err.value.errors] == [
        "line 2: show_exact_stock: 'wahr' is not true or false (yes/no, 1/0; empty is false)",
    ]
    text = text.replace("WAHR", "1")
    r = run(engine, stores.KIND, text.encode("utf-8"))
    assert r.created == 1
    s = table(engine, "stores")[0]
    assert (s["address"], s["latitude"], s["longitude"]) == ("Straße 1, Ort", 48.1372, 11.5756)
    assert s["show_exact_stock"] is True
    cat = (
        "sku;barcode;name;brand;category;price;currency\r\nA-1;4006381333931;N;B;C;1.234,50;EUR\r\n"
    )
    errors = refused(engine, catalog.KIND, cat.encode())
    assert errors == ["line 2: price: '1.234,50' is not a price: write a decimal point and "
                      "no thousands separators, such as 1299.50"]  # fmt: skip
    r = run(engine, catalog.KIND, cat.replace("1.234,50", "1234,50").encode())
    assert table(engine, "products")[0]["price_minor"] == 123450


def test_dry_run_counts_and_writes_nothing(engine: Engine) -> None:
    seed(engine)
    before = snapshot(engine)
    r = run(engine, stock.KIND, csv(STOCK_HEADER, [["s-muc", "A-1", "1", "1"]]), dry_run=True)
    assert (r.updated, r.removed, r.versions) == (1, 1, {"s-muc": 2})
    assert snapshot(engine) == before


def test_migration_0011_down_and_up(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from central_api.store import make_engine, migrate, write_transaction
    from central_api.store.db import alembic_config

    engine = make_engine(db_url)
    try:
        migrate(engine)
        run(engine, stores.KIND, csv(STORE_HEADER, STORES))
        with write_transaction(engine) as conn:
            command.downgrade(alembic_config(conn), "0010")
        assert not {"stores", "products", "stock", "inventory_versions"} & set(
            inspect(engine).get_table_names()
        )
        migrate(engine)
        assert {v["scope"]: v["version"] for v in table(engine, "versions")} == {
            "catalog": 0,
            "stores": 0,
            "staff": 0,  # (0014's counter; 0011 is undone and redone beneath it)
        }
        assert run(engine, stores.KIND, csv(STORE_HEADER, STORES)).created == 3
    finally:
        engine.dispose()
