"""``omnikiosk central import-catalog|import-stock|import-stores FILE [--dry-run]``."""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS = {
    "import-catalog": ("catalog", "import products from a CSV file (upsert by SKU)"),
    "import-stores": ("stores", "import stores from a CSV file (upsert by id)"),
    "import-stock": ("stock", "replace the stock of the stores in a CSV file"),
}


def add_parsers(csub: Any) -> None:
    for name, (_, what) in COMMANDS.items():
        p = csub.add_parser(name, help=what, description=what + "; see docs/imports.md")
        p.add_argument("file", help="a CSV file with a header (UTF-8; , or ; separated)")
        p.add_argument(
            "--dry-run", action="store_true", help="check everything and say what would change"
        )
        p.add_argument("--config", dest="import_config", metavar="FILE")


def kind_of(command: str) -> Any:
    from . import catalog, stock, stores

    return {"catalog": catalog.KIND, "stores": stores.KIND, "stock": stock.KIND}[
        COMMANDS[command][0]
    ]


def run(args: argparse.Namespace, database_url: str) -> int:
    from .runner import run_cli

    return run_cli(database_url, kind_of(args.central_cmd), args.file, args.dry_run)
