"""``omnikiosk central campaign create|list|show``: campaigns from the command line
(``codes``, ``rotate-codes`` and ``poster``: ``cli_codes``).

``create`` takes the fields as options (or ``--file`` with the JSON body the API takes),
checks them as the API does (every bad field on its own line, exit 2), stores the
campaign and then publishes the stores' lists itself when the broker answers; when it
does not, the running central publishes them within a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .model import LANGUAGES, CampaignIn

#: how long ``create`` waits for the broker before leaving the push to central
BROKER_WAIT_S = 3.0


def add_parser(csub: Any) -> None:
    """The ``campaign`` subcommand under ``central``."""
    camp = csub.add_parser("campaign", help="create, list and show campaigns")
    sub = camp.add_subparsers(dest="campaign_cmd", required=True)
    c = sub.add_parser("create", help="create a campaign and push it to its stores")
    c.add_argument("--file", help="a JSON file with the body POST /api/v1/campaigns takes")
    c.add_argument("--id", help="the campaign id events carry (made when left out)")
    c.add_argument("--name")
    c.add_argument("--channel", choices=["direct_mail", "email", "poster"])
    c.add_argument("--start", metavar="YYYY-MM-DD", help="the first day it runs")
    c.add_argument("--end", metavar="YYYY-MM-DD", help="the last day it runs")
    c.add_argument("--stores", metavar="all|S1,S2", help='"all" or store ids, comma-separated')
    c.add_argument("--landing-url")
    for lang in LANGUAGES:
        c.add_argument(f"--offer-{lang}", metavar="TEXT", help=f"the offer in {lang}")
    c.add_argument("--image-url", help="the offer's picture, by URL")
    c.add_argument("--asset", help="the offer's picture, a file under the kiosk's assets")
    c.add_argument("--offer-from", metavar="YYYY-MM-DD", help="default: --start")
    c.add_argument("--offer-until", metavar="YYYY-MM-DD", help="default: --end")
    c.add_argument("--json", action="store_true", help="print the campaign as JSON")
    ls = sub.add_parser("list", help="every campaign with its status")
    ls.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one campaign, as JSON")
    show.add_argument("campaign_id")
    from .cli_codes import add_parsers as add_code_parsers

    for p in (c, ls, show, *add_code_parsers(sub)):
        p.add_argument("--config", dest="campaign_config", metavar="FILE")


def _body(args: argparse.Namespace) -> dict[str, Any]:
    if args.file:
        try:
            doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SystemExit(f"error: {args.file}: {err}") from None
        if not isinstance(doc, dict):
            raise SystemExit(f"error: {args.file}: expected a JSON object")
        return doc
    visual: dict[str, Any] | None = None
    if args.image_url is not None and args.asset is not None:
        raise SystemExit("error: give --image-url or --asset, not both")
    if args.image_url is not None:
        visual = {"kind": "image", "url": args.image_url}
    elif args.asset is not None:
        visual = {"kind": "asset", "name": args.asset}
    text = {lang: v for lang in LANGUAGES if (v := getattr(args, f"offer_{lang}")) is not None}
    stores: Any = args.stores
    if stores is not None and stores != "all":
        stores = [s.strip() for s in stores.split(",") if s.strip()]
    doc = {
        "id": args.id, "name": args.name, "channel": args.channel, "starts_on": args.start,
        "ends_on": args.end, "stores": stores, "landing_url": args.landing_url,
        "offer": {"text": text, "visual": visual, "valid_from": args.offer_from,
                  "valid_until": args.offer_until},
    }  # fmt: skip
    # Left-out options are left out, so that a missing one reads "field required".
    doc["offer"] = {k: v for k, v in doc["offer"].items() if v is not None}
    return {k: v for k, v in doc.items() if v is not None}


_OPTION = {"starts_on": "--start", "ends_on": "--end", "offer.valid_from": "--offer-from",
           "offer.valid_until": "--offer-until", "offer.visual": "--image-url/--asset",
           "offer.visual.name": "--asset", "offer.visual.url": "--image-url"}  # fmt: skip


def _problems(err: ValidationError, from_file: bool) -> list[str]:
    out = []
    for e in err.errors(include_url=False):
        field = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("asset", "image")))
        if not from_file:
            name = _OPTION.get(field) or "--" + field.replace("offer.text.", "offer-").replace(
                "_", "-"
            )
            field = f"{field} ({name})" if field else name
        out.append(f"error: {field or 'campaign'}: {e['msg']}")
    return out


def _show(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, default=str, ensure_ascii=False)


def run(args: argparse.Namespace, cfg: Any) -> int:
    # (imported here: building main.py's parser must not load the database layer)
    from central_api.store.db import make_engine, migrate, open_existing, ping, write_transaction
    from edge_sync.protocol import utcnow

    from .records import CampaignError, all_campaigns, create, get, today_of

    if args.campaign_cmd in ("codes", "rotate-codes", "poster"):
        from . import cli_codes

        return cli_codes.run(args, cfg)
    if args.campaign_cmd == "create":
        try:
            spec = CampaignIn.model_validate(_body(args))
        except ValidationError as err:
            print("\n".join(_problems(err, bool(args.file))), file=sys.stderr)
            return 2
        engine = make_engine(cfg.database.url)
        try:
            ping(engine)
            migrate(engine)
            now = utcnow()
            with write_transaction(engine) as conn:
                c = create(conn, spec, now, "cli")
        except CampaignError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
        print(_show(c.as_dict(today_of(now))) if args.json else f"created campaign {c.id}")
        _push(cfg)
        return 0
    engine = open_existing(cfg.database.url)
    try:
        with engine.connect() as conn:
            if args.campaign_cmd == "show":
                try:
                    c = get(conn, args.campaign_id)
                except CampaignError as err:
                    print(f"error: {err}", file=sys.stderr)
                    return 1
                print(_show(c.as_dict(today_of(utcnow()))))
                return 0
            campaigns = all_campaigns(conn)
    finally:
        engine.dispose()
    today = today_of(utcnow())
    if args.json:
        print(_show([c.as_dict(today) for c in campaigns]))
        return 0
    for c in campaigns:
        stores = "all" if c.all_stores else ",".join(c.stores)
        print(f"{c.id}\t{c.status(today)}\t{c.channel}\t{c.starts_on}..{c.ends_on}\t{stores}\t"
              f"{c.name}")  # fmt: skip
    if not campaigns:
        print("no campaigns", file=sys.stderr)
    return 0


def _push(cfg: Any) -> None:
    """Publish the stores' lists now when the broker answers (else central does it)."""
    from central_api.store.db import make_engine

    from .push import CampaignPublisher

    engine = make_engine(cfg.database.url)
    publisher = CampaignPublisher.for_central(engine, cfg.broker, interval_s=3600)
    publisher.start()
    try:
        if publisher.link.wait_connected(BROKER_WAIT_S):
            publisher.sync()  # (the connect may have made the link's thread do it already)
            if publisher.flush(BROKER_WAIT_S):
                n = publisher.stores_current
                print(f"pushed the campaign lists of {n} stores", file=sys.stderr)
                return
        where = cfg.broker.broker_url().redacted()
        print(f"the broker at {where} did not answer: the running central pushes the stores' "
              "lists within a minute", file=sys.stderr)  # fmt: skip
    finally:
        publisher.stop()
        engine.dispose()
