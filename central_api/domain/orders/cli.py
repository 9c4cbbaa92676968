"""``omnikiosk central orders sweep``: move orders not collected in time to no_show now
(central does the same every ``[orders] sweep_interval_s``; running both is safe)."""

from __future__ import annotations

import sys
from typing import Any

from edge_sync.protocol.ids import parse_ts

from ...config import CentralConfig


def add_parser(csub: Any) -> None:
    """The ``orders`` subcommand under ``central``."""
    orders = csub.add_parser("orders", help="click-and-collect orders: sweep no-shows")
    sub = orders.add_subparsers(dest="orders_cmd", required=True)
    s = sub.add_parser("sweep", help="orders ready for more than [orders] no_show_days → no_show")
    s.add_argument("--config", dest="orders_config", help="central TOML config")
    s.add_argument(
        "--now",
        help="the time to sweep as of (RFC 3339; default: now), e.g. to see what a later "
        "sweep would move",
    )


def run(args: Any, cfg: CentralConfig) -> int:
    from ...store.db import open_existing
    from .sweep import sweep

    try:
        now = parse_ts(args.now) if args.now else None
    except ValueError:
        print(f"error: --now {args.now!r} is not an RFC 3339 time", file=sys.stderr)
        return 2
    engine = open_existing(cfg.database.url)
    try:
        moved = sweep(engine, cfg.orders.no_show_days, now)
    finally:
        engine.dispose()
    for order_id in moved:
        print(order_id)
    print(
        f"{len(moved)} order(s) not collected within {cfg.orders.no_show_days} days are "
        "now no_show",
        file=sys.stderr,
    )
    return 0
