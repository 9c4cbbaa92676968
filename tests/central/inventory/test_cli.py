"""``main.py central import-…`` as an operator runs them: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

from central_api.store import make_engine, migrate
from tests.central.api.test_cli import central
from tests.support import REPO_ROOT

from .helpers import STOCK_HEADER, csv, snapshot

DEMO = REPO_ROOT / "assets" / "demo"


def test_import_the_demo_then_a_bad_file(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    r = central(config, "import-stock", str(DEMO / "stock.csv"))
    # central makes its database; an import never does
    assert r.returncode == 2, r.stderr
    assert "no central database" in r.stderr or "holds no central database" in r.stderr
    engine = make_engine(db_url)
    migrate(engine)
    try:
        for what, count in (("stores", 6), ("catalog", 3000)):
            r = central(config, f"import-{what}", str(DEMO / f"{what}.csv"))
            assert r.returncode == 0, r.stderr
            assert (
                f"{count} {'products' if what == 'catalog' else 'stores'}: {count} new" in r.stdout
            )
        r = central(config, "import-stock", str(DEMO / "stock.csv"), "--dry-run")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("dry run, nothing written:") and "for 6 stores" in r.stdout
        assert snapshot(engine)["stock"] == []
        r = central(config, "import-stock", str(DEMO / "stock.csv"))
        assert r.returncode == 0 and "for 6 stores:" in r.stdout and " 0 unchanged" in r.stdout

        before = snapshot(engine)
        bad = tmp_path / "bad.csv"
        bad.write_bytes(
            csv(STOCK_HEADER, [["s001", "GW-00001", "-2", "1"], ["s001", "XX", "1", "1"]])
        )
        r = central(config, "import-stock", str(bad))
        assert r.returncode == 1, r.stderr
        assert r.stderr.splitlines() == [
            f"{bad}: line 2: quantity: '-2' is negative; it must be 0 or more",
            f"{bad}: line 3: sku: no product XX in the catalog",
            "error: 2 bad lines; nothing was imported",
        ]
        assert r.stdout == "" and snapshot(engine) == before
        r = central(config, "import-catalog", str(tmp_path / "missing.csv"))
        assert r.returncode == 2 and "missing.csv: No such file or directory" in r.stderr
    finally:
        engine.dispose()
