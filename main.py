"""omnikiosk — one entry point for every part (also installed as the ``omnikiosk`` command).

    python main.py central [--config FILE] [--role all|api|ingest]
    python main.py central stats [--config FILE] [--json]
    python main.py central create-key --role admin|marketer|integration [--name NAME] [--config FILE]
    python main.py central create-key --role device --store STORE [--device DEVICE] [--name NAME]
    python main.py central list-keys [--revoked] [--config FILE]
    python main.py central revoke-key KEY_ID [--config FILE]
    python main.py central import-attributes FILE [--config FILE]
    python main.py central import-catalog|import-stores|import-stock FILE [--dry-run] [--config FILE]
    python main.py campaign create|list|show … [--config FILE]   (also as `central campaign`)
    python main.py campaign codes --campaign ID --recipients FILE.csv --out DIR [--rotate]
    python main.py campaign rotate-codes|poster --campaign ID [--out DIR]
    python main.py central keys list|rotate|retire KID [--until TIME] [--config FILE]
    python main.py central orders sweep [--now TIME] [--config FILE]
    python main.py central staff set STORE STAFF_ID --name NAME | remove STORE STAFF_ID | list STORE
    python main.py edge --config FILE
    python main.py edge simulate --config FILE --count N [--rate R] [--seed S] [--key-dir DIR]
                                 [--orders FILE --staff ID --pin-file FILE] [--lookup QUERY]
                                 [--report FILE]
    python main.py config validate FILE [--kind device|central]
    python main.py qr decode IMAGE...
    python main.py demo [--events N] [--devices D] [--keep-running]

Every command runs in the repo's ``.venv`` (``make deps`` creates it): run by another
Python, this file starts itself again with ``.venv/bin/python``. ``--debug`` (before the
command) shows tracebacks for failures that are otherwise one line, e.g. a database that
cannot be reached. Imports are lazy so that, say, ``central`` never loads the kiosk's
GUI toolkit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv"


def _in_project_venv() -> None:
    """Run under the project's .venv: re-exec with its Python when started by another,
    or say in one line what to run when there is none."""
    if Path(sys.prefix).resolve() == VENV.resolve() or os.environ.get("OMK_NO_REEXEC"):
        return
    python = VENV / "bin" / "python"
    if python.exists():
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
    try:
        import uuid_utils  # noqa: F401  (one of the packages only the .venv has)
    except ImportError:
        sys.exit(
            f"error: {VENV} does not exist; run `make deps` (or `make`) in "
            f"{VENV.parent} first, then `.venv/bin/omnikiosk …` or `python main.py …`"
        )


# Commands whose parsers need central's modules (their subcommands come from them).
CENTRAL_COMMANDS = ("central", "campaign")


def _command(argv: list[str]) -> str | None:
    """The command word in ``argv`` (the first one not an option), or None."""
    words = iter(argv)
    for word in words:
        if word == "--log-level":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line. Central's subcommand parsers import central's modules
    (≈ 0.35 s), so they are built only when the command is central's or none is given
    (``--help``): a kiosk's start does not pay for them."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="omnikiosk", description=__doc__.split("\n\n")[0])
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--debug",
        action="store_true",
        help="tracebacks for failures reported in one line, and Alembic's migration log",
    )
    sub = p.add_subparsers(dest="cmd", required=True)

    central_help = "run central (HTTP API + ingest), or central admin commands"
    if _command(argv) not in (*CENTRAL_COMMANDS, None):
        for name, what in (
            ("central", central_help),
            ("campaign", "create, list and show campaigns"),
        ):
            sub.add_parser(name, help=what)  # listed in --help; their words are not parsed
        _add_device_parsers(sub)
        return p
    central = sub.add_parser("central", help=central_help)
    central.add_argument("--config", help="central TOML config (defaults apply without one)")
    central.add_argument("--role", choices=["all", "api", "ingest"], default="all")
    csub = central.add_subparsers(dest="central_cmd")
    stats = csub.add_parser(
        "stats", help="events stored, duplicates ignored, dead letters, devices"
    )
    stats.add_argument("--config", dest="stats_config")
    stats.add_argument("--json", action="store_true")
    ckey = csub.add_parser(
        "create-key", help="create an API key for the HTTP API and print it (shown once)"
    )
    ckey.add_argument(
        "--role", required=True, choices=["admin", "marketer", "integration", "device"]
    )
    ckey.add_argument("--name", help="who or what uses the key")
    ckey.add_argument(
        "--store", help="device keys (required): the one store whose data the key reads"
    )
    ckey.add_argument("--device", help="device keys: the device that holds the key")
    ckey.add_argument("--config", dest="key_config", metavar="FILE")
    lkey = csub.add_parser("list-keys", help="the API keys: id, role, store, last use")
    lkey.add_argument("--revoked", action="store_true", help="revoked keys too")
    lkey.add_argument("--config", dest="key_config", metavar="FILE")
    rkey = csub.add_parser("revoke-key", help="revoke an API key by its id")
    rkey.add_argument("key_id", help="the 16 hex digits after omk_")
    rkey.add_argument("--config", dest="key_config", metavar="FILE")
    iattr = csub.add_parser("import-attributes", help="import profile attributes from a CSV file")
    iattr.add_argument("file", help="CSV with a header: a key column and attribute columns")
    iattr.add_argument("--config", dest="key_config", metavar="FILE")
    from central_api.imports.cli import add_parsers as add_import_parsers

    add_import_parsers(csub)
    from central_api.domain.campaigns.cli import add_parser as add_campaign_parser

    add_campaign_parser(csub)
    from central_api.domain.orders.cli import add_parser as add_orders_parser

    add_orders_parser(csub)
    from central_api.domain.staff.cli import add_parser as add_staff_parser

    add_staff_parser(csub)

    keys = csub.add_parser("keys", help="central's QR signing keys: list, rotate, retire")
    ksub = keys.add_subparsers(dest="keys_cmd", required=True)
    for name, what in (("list", "the keys and their state"), ("rotate", "a new signing key")):
        kp = ksub.add_parser(name, help=what)
        kp.add_argument("--config", dest="key_config", metavar="FILE")
    kret = ksub.add_parser("retire", help="give a key an end date: its codes verify until then")
    kret.add_argument("kid", type=int)
    kret.add_argument("--until", help="RFC 3339 time (default: now)")
    kret.add_argument("--config", dest="key_config", metavar="FILE")

    # The marketer's commands, also at the top level (`main.py campaign codes …`).
    add_campaign_parser(sub)
    _add_device_parsers(sub)
    return p


def _add_device_parsers(sub: argparse._SubParsersAction) -> None:
    """edge, config, kiosk, qr and demo: parsers that import nothing of central."""
    edge = sub.add_parser("edge", help="run the device's sync daemon, or edge tools")
    edge.add_argument("--config", help="device TOML config")
    esub = edge.add_subparsers(dest="edge_cmd")
    sim = esub.add_parser("simulate", help="enqueue synthetic kiosk events through the kiosk's API")
    sim.add_argument("--config", dest="sim_config", required=True)
    sim.add_argument("--count", type=int, required=True)
    sim.add_argument(
        "--rate", type=float, default=0.0, help="events per second (0 = as fast as possible)"
    )
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument(
        "--key-dir",
        help="central's key directory: simulated QR links then carry codes central accepts",
    )
    sim.add_argument(
        "--orders",
        metavar="FILE",
        help="JSON list of orders central made ready for this store ({order_id, items, "
        "token_hash, code}): the staff member hands these over at the device's pickup "
        "desk, each once, by scanning their code (without: no pickups)",
    )
    sim.add_argument("--staff", metavar="ID", help="the staff member who hands orders over")
    sim.add_argument(
        "--pin-file", metavar="FILE", help="the staff member's PIN, on the file's first line"
    )
    sim.add_argument(
        "--lookup", metavar="QUERY", help="after the traffic, search the store's data for this"
    )
    sim.add_argument(
        "--report", metavar="FILE", help="write the desk's and the lookup's outcome as JSON"
    )

    config = sub.add_parser("config", help="configuration tools")
    cfsub = config.add_subparsers(dest="config_cmd", required=True)
    val = cfsub.add_parser(
        "validate",
        help="check a device or central config file",
        description="Check a device or central config file: every bad key path and its "
        "problem, exit 2. Which kind the file is, is guessed from its sections ([device], "
        "[sync] … for a device; [database], [api] … for central) and said; --kind says it.",
    )
    val.add_argument("file")
    val.add_argument(
        "--kind",
        choices=["device", "central"],
        help="check the file as this kind (default: guessed from its sections, and said)",
    )

    kiosk = sub.add_parser("kiosk", help="the kiosk app (Kivy, full screen) on a device's edge.db")
    kiosk.add_argument("--config", required=True, help="the device's config (as for edge)")
    kiosk.add_argument("--landscape", action="store_true", help="1920×1080 (default 1080×1920)")
    kiosk.add_argument("--windowed", action="store_true", help="a window, not full screen")
    kiosk.add_argument("--shots", metavar="DIR", help="save a PNG of every screen and exit")
    kiosk.add_argument("--lang", action="append", choices=["en", "de"],
                       help="with --shots: the languages (default both)")  # fmt: skip
    kiosk.add_argument("--script", metavar="FILE",
                       help="run a scripted person's touches (kiosk/script.py) and exit")  # fmt: skip
    kiosk.add_argument("--out", metavar="DIR", default="var/kiosk-script",
                       help="with --script: where result.json and its screenshots go")  # fmt: skip

    qr = sub.add_parser("qr", help="QR code tools").add_subparsers(dest="qr_cmd", required=True)
    qdec = qr.add_parser("decode", help="read QR codes in images as the kiosk does; JSON lines")
    qdec.add_argument("images", nargs="+", metavar="IMAGE")

    demo = sub.add_parser(
        "demo", help="broker + central + edge daemons, simulated traffic, then the kiosk app"
    )
    demo.add_argument("--events", type=int, default=300, help="events per device")
    demo.add_argument("--devices", type=int, default=2)
    demo.add_argument("--keep-running", action="store_true", help="keep everything up until Ctrl-C")
    demo.add_argument("--dir", default="var/demo", help="where the demo keeps its state")
    demo.add_argument(
        "--kiosk", choices=["auto", "window", "script", "none"], default="auto",
        help="the kiosk app: a window for you (auto: when there is a display), a scripted "
        "shopper under Xvfb (auto: when there is none), or not at all",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _parser(argv).parse_args(argv)
    level = getattr(logging, args.log_level)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.debug and level == logging.INFO:
        # "Context impl SQLiteImpl", "setup plugin …": noise on every start
        logging.getLogger("alembic").setLevel(logging.WARNING)
    from edge_sync.errors import EdgeError

    try:
        return _dispatch(args)
    except Exception as err:
        if args.debug or not isinstance(err, _one_line_errors()):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 3 if isinstance(err, EdgeError) else 2
    except KeyboardInterrupt:
        return 130


def _one_line_errors() -> tuple[type[Exception], ...]:
    """Failures a person can fix from the message alone: printed without a traceback."""
    from edge_sync.errors import EdgeError
    from edge_sync.protocol.settings import ConfigError

    found: list[type[Exception]] = [ConfigError, EdgeError]
    db = sys.modules.get("central_api.store.db")  # not imported: none of its errors raised
    if db is not None:
        found.append(db.DatabaseProblem)
    keystore = sys.modules.get("central_api.domain.tokens.keystore")
    if keystore is not None:
        found.append(keystore.KeyStoreError)
    return tuple(found)


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd == "campaign":
        from central_api.config import load_central_config
        from central_api.domain.campaigns.cli import run as run_campaign

        return run_campaign(args, load_central_config(args.campaign_config))
    if args.cmd == "central":
        from central_api.cli import (
            create_api_key,
            list_api_keys,
            print_stats,
            revoke_api_key,
            run_central,
        )
        from central_api.config import load_central_config

        if args.central_cmd == "stats":
            return print_stats(load_central_config(args.stats_config or args.config), args.json)
        if args.central_cmd == "create-key":
            cfg = load_central_config(args.key_config or args.config)
            return create_api_key(cfg, args.role, args.name, args.store, args.device)
        if args.central_cmd == "list-keys":
            cfg = load_central_config(args.key_config or args.config)
            return list_api_keys(cfg, args.revoked)
        if args.central_cmd == "revoke-key":
            cfg = load_central_config(args.key_config or args.config)
            return revoke_api_key(cfg, args.key_id)
        if args.central_cmd == "campaign":
            from central_api.domain.campaigns.cli import run as run_campaign

            return run_campaign(args, load_central_config(args.campaign_config or args.config))
        if args.central_cmd == "orders":
            from central_api.domain.orders.cli import run as run_orders

            return run_orders(args, load_central_config(args.orders_config or args.config))
        if args.central_cmd == "staff":
            from central_api.domain.staff.cli import run as run_staff

            return run_staff(args, load_central_config(args.staff_config or args.config))

        if args.central_cmd == "keys":
            from central_api import cli_keys

            cfg = load_central_config(args.key_config or args.config)
            if args.keys_cmd == "list":
                return cli_keys.keys_list(cfg)
            if args.keys_cmd == "rotate":
                return cli_keys.keys_rotate(cfg)
            return cli_keys.keys_retire(cfg, args.kid, args.until)
        if args.central_cmd == "import-attributes":
            from central_api.imports.attributes import run_import

            return run_import(
                load_central_config(args.key_config or args.config).database.url, args.file
            )
        if args.central_cmd in ("import-catalog", "import-stores", "import-stock"):
            from central_api.imports.cli import run as run_inventory_import

            cfg = load_central_config(args.import_config or args.config)
            return run_inventory_import(args, cfg.database.url)
        return run_central(load_central_config(args.config), args.role)
    if args.cmd == "edge":
        from edge_sync.config import load_device_config

        if args.edge_cmd == "simulate":
            from edge_sync.simulate import run_simulation

            return run_simulation(
                load_device_config(args.sim_config),
                args.count,
                args.rate,
                args.seed,
                key_dir=args.key_dir,
                orders_file=args.orders,
                staff_id=args.staff,
                pin_file=args.pin_file,
                lookup_query=args.lookup,
                report_file=args.report,
            )
        if not args.config:
            print(
                "error: edge needs --config FILE (see device_config/example.toml)", file=sys.stderr
            )
            return 2
        from edge_sync.daemon import SyncDaemon

        SyncDaemon(load_device_config(args.config)).run()
        return 0
    if args.cmd == "kiosk":
        if args.script:
            from kiosk.shots import scripted

            return scripted(args.config, args.script, args.out, args.landscape)
        if args.shots:
            from kiosk.shots import shots

            return shots(args.config, args.shots, args.landscape, tuple(args.lang or ("en", "de")))
        from kiosk.run import run

        return run(args.config, landscape=args.landscape, fullscreen=not args.windowed)
    if args.cmd == "config":
        return _validate_config(args.file, args.kind)
    if args.cmd == "qr":
        from kiosk.decode_cli import run_decode

        return run_decode(args.images)
    if args.cmd == "demo":
        from central_api.demo import run_demo

        return run_demo(
            events=args.events,
            devices=args.devices,
            keep_running=args.keep_running,
            workdir=args.dir,
            kiosk=args.kiosk if args.kiosk != "auto" else
            ("window" if os.environ.get("DISPLAY") else "script"),
        )  # fmt: skip
    raise AssertionError(args.cmd)


def _validate_config(path: str, kind: str | None) -> int:
    """Exit 0 for a good file; a bad one raises ConfigError (printed by ``main``, exit 2)."""
    from central_api.config import CentralConfig
    from edge_sync.config import DeviceConfig
    from edge_sync.protocol.settings import guess_config_kind, read_toml, validate_config

    models = {"device": DeviceConfig, "central": CentralConfig}
    doc = read_toml(path, allow_empty=False)
    why = "as asked with --kind"
    if kind is None:
        kind, why = guess_config_kind(doc, models, path)
    print(f"{path}: checking as a {kind} config ({why})", file=sys.stderr)
    validate_config(models[kind], doc, path)
    print(f"{path}: valid {kind} configuration")
    return 0


if __name__ == "__main__":
    _in_project_venv()
    sys.exit(main())
