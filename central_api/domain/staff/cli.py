"""``omnikiosk central staff set|remove|list``: a store's staff, from the command line.

``set`` reads the PIN from a prompt (asked twice, not echoed) or, when stdin is not a
terminal, from its first line, so a PIN never appears in the shell's history or the
process list.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from ...config import CentralConfig


def add_parser(csub: Any) -> None:
    """The ``staff`` subcommand under ``central``."""
    staff = csub.add_parser("staff", help="a store's staff: set (name and PIN), remove, list")
    sub = staff.add_subparsers(dest="staff_cmd", required=True)
    s = sub.add_parser("set", help="create or change a member; the PIN is read from stdin")
    s.add_argument("store")
    s.add_argument("staff_id")
    s.add_argument("--name", required=True)
    r = sub.add_parser("remove", help="remove a member (their PIN stops working)")
    r.add_argument("store")
    r.add_argument("staff_id")
    ls = sub.add_parser("list", help="a store's members (never their PIN hashes)")
    ls.add_argument("store")
    for p in (s, r, ls):
        p.add_argument("--config", dest="staff_config", help="central TOML config")


def read_pin() -> str | None:
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass("PIN: ")
    if getpass.getpass("PIN again: ") != pin:
        print("error: the two PINs differ; nothing was changed", file=sys.stderr)
        return None
    return pin


def run(args: Any, cfg: CentralConfig) -> int:
    from edge_sync.protocol import utcnow
    from edge_sync.protocol.pins import BadPin

    from ...store.db import open_existing, write_transaction
    from ..inventory.stores import UnknownStore
    from .staff import UnknownStaff, list_members, remove_member, set_member

    pin = read_pin() if args.staff_cmd == "set" else None
    if args.staff_cmd == "set" and pin is None:
        return 2
    engine = open_existing(cfg.database.url)
    try:
        with write_transaction(engine) as conn:
            if args.staff_cmd == "set":
                assert pin is not None
                m, changed = set_member(conn, args.store, args.staff_id, args.name, pin, utcnow())
                what = "set" if changed else "unchanged (same name and PIN)"
                print(f"{m.store_id}/{m.staff_id} {what}, version {m.version}", file=sys.stderr)
            elif args.staff_cmd == "remove":
                v = remove_member(conn, args.store, args.staff_id, utcnow())
                print(f"{args.store}/{args.staff_id} removed, version {v}", file=sys.stderr)
            else:
                for m in list_members(conn, args.store):
                    print(f"{m.staff_id}\t{m.name}")
    except BadPin as err:
        print(f"error: PIN: {err}; nothing was changed", file=sys.stderr)
        return 2
    except (UnknownStore, UnknownStaff) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"error: {err}; nothing was changed", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0
