"""``omnikiosk central campaign codes|rotate-codes|poster``: printed codes for a campaign.

``codes`` reads a recipients CSV (``recipients``), issues one code per good row in
transactions of ``--chunk`` rows (a run that is interrupted and started again reuses
every code already issued), writes the label sheets, images and merge file
(``codes.mailing``), and pushes the campaign's fallback-code table to its stores when
the broker answers (the running central does it within a minute otherwise). Exit 0 when
every row made a code, 1 when some rows were rejected (the others are all out), 2 when
the file or the command cannot be used at all (nothing is made).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: how long the command waits for the broker before leaving the push to central
BROKER_WAIT_S = 3.0
#: rejected rows printed on the terminal; the rest are in rejected.csv
SHOWN_REJECTED = 20


def add_parsers(sub: Any) -> list[Any]:
    codes = sub.add_parser(
        "codes", help="direct-mail codes: label sheets (A4, Letter), images, a mail-merge CSV"
    )
    codes.add_argument("--campaign", required=True, metavar="ID")
    codes.add_argument(
        "--recipients", required=True, metavar="FILE.csv",
        help="columns recipient_id (required), name, address_1..address_4",
    )  # fmt: skip
    codes.add_argument("--out", required=True, metavar="DIR")
    codes.add_argument(
        "--rotate", action="store_true",
        help="first revoke the campaign's recipient codes and issue new ones",
    )  # fmt: skip
    codes.add_argument("--quiet", action="store_true", help="no progress bar")
    codes.add_argument("--chunk", type=int, default=500, help="rows per transaction")
    rot = sub.add_parser(
        "rotate-codes", help="revoke a campaign's recipient codes; the next `codes` issues new"
    )
    rot.add_argument("--campaign", required=True, metavar="ID")
    poster = sub.add_parser("poster", help="the campaign's generic code: A4 poster, PNG, SVG")
    poster.add_argument("--campaign", required=True, metavar="ID")
    poster.add_argument("--out", required=True, metavar="DIR")
    poster.add_argument("--lang", default="en", help="the offer's language on the poster")
    return [codes, rot, poster]


@contextmanager
def _engine(cfg: Any) -> Iterator[Any]:
    from central_api.store.db import make_engine, migrate, ping

    engine = make_engine(cfg.database.url)
    try:
        ping(engine)
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


def _signer(cfg: Any) -> Any:
    from ..tokens.keystore import KeyStore

    return KeyStore(cfg.tokens.key_dir, cfg.tokens.public_host).signer()


def run(args: argparse.Namespace, cfg: Any) -> int:
    from .records import CampaignError

    try:
        if args.campaign_cmd == "codes":
            return _codes(args, cfg)
        if args.campaign_cmd == "rotate-codes":
            return _rotate(args, cfg)
        return _poster(args, cfg)
    except CampaignError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _rotate(args: argparse.Namespace, cfg: Any) -> int:
    from central_api.store.db import write_transaction
    from edge_sync.protocol import utcnow

    from .codes import rotate
    from .records import get

    with _engine(cfg) as engine, write_transaction(engine) as conn:
        g = rotate(conn, get(conn, args.campaign), utcnow())
    print(
        f"campaign {args.campaign}: recipient codes of generation {g - 1} and older are revoked "
        f"(the kiosks learn it with the next keys message); `campaign codes` now issues "
        f"generation {g}. Poster codes stay valid.",
        file=sys.stderr,
    )
    push_tables(cfg)
    return 0


def _progress(quiet: bool, total: int, what: str) -> Any:
    from tqdm import tqdm

    # disable=None: off when stderr is not a terminal (logs, CI)
    return tqdm(total=total, desc=what, unit=" codes", disable=True if quiet else None)


def _codes(args: argparse.Namespace, cfg: Any) -> int:
    from central_api.codes.labels import LAYOUTS, LabelError, text_block
    from central_api.codes.mailing import Mailed, write_drop, write_rejected
    from central_api.store.db import write_transaction
    from edge_sync.protocol import utcnow

    from . import codes as issuing
    from . import recipients as rcsv
    from .records import get

    if args.chunk < 1:
        print("error: --chunk must be at least 1", file=sys.stderr)
        return 2
    path = Path(args.recipients)
    try:
        data = path.read_bytes()
        found = rcsv.read(data, str(path))
    except OSError as err:
        print(f"error: {path}: {err.strerror or err}", file=sys.stderr)
        return 2
    except rcsv.RecipientsFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    good: list[rcsv.Recipient] = []
    for r in found.good:
        try:
            for layout in LAYOUTS.values():
                text_block(layout, r.label_lines)
            good.append(r)
        except LabelError as err:
            found.rejected.append(rcsv.Rejected(r.line, str(err), (r.recipient_id, *r.label_lines)))
    found.rejected.sort(key=lambda r: r.line)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    signer = _signer(cfg)
    with _engine(cfg) as engine:
        now = utcnow()
        if args.rotate:
            with write_transaction(engine) as conn:
                g = issuing.rotate(conn, get(conn, args.campaign), now)
            print(f"rotated: codes of generation {g - 1} and older are revoked", file=sys.stderr)
        with engine.connect() as conn:
            campaign = get(conn, args.campaign)
        issuing.validity(campaign, now)  # an ended campaign is refused before any work
        issued: dict[str, issuing.IssuedCode] = {}
        profile_of: dict[str, str] = {}
        fresh = 0
        with _progress(args.quiet, len(good), "codes") as bar:
            for i in range(0, len(good), args.chunk):
                part = good[i : i + args.chunk]
                with write_transaction(engine) as conn:
                    pids = issuing.profiles_of(conn, [r.recipient_id for r in part], now)
                    got = issuing.issue(conn, campaign, list(pids.values()), signer, now)
                profile_of.update(pids)
                issued.update(got)
                fresh += sum(1 for c in got.values() if c.issued_at == now)
                bar.update(len(part))
    mailed = [
        Mailed(r, issued[profile_of[r.recipient_id]].token, issued[profile_of[r.recipient_id]].fallback)
        for r in good
    ]  # fmt: skip
    with _progress(args.quiet, len(mailed), "labels") as bar:
        files = write_drop(out, cfg.tokens.public_host, campaign.name, mailed, bar.update)
    rejected_path = write_rejected(out, found.rejected)
    for r in found.rejected[:SHOWN_REJECTED]:
        print(r.message(str(path)), file=sys.stderr)
    more = len(found.rejected) - SHOWN_REJECTED
    if more > 0:
        print(f"… and {more} more rejected rows in {rejected_path}", file=sys.stderr)
    print(
        f"campaign {campaign.id}: {len(mailed)} codes ({fresh} new, {len(mailed) - fresh} "
        f"issued before) in {files['a4']}, {files['letter']} and {files['merge']}"
        + (f"; {len(found.rejected)} rows rejected ({rejected_path})" if found.rejected else ""),
        file=sys.stderr,
    )
    push_tables(cfg)
    return 1 if found.rejected else 0


def _poster(args: argparse.Namespace, cfg: Any) -> int:
    from central_api.codes.poster import PosterText, write_poster
    from edge_sync.protocol import utcnow
    from edge_sync.protocol.tokens import code_url

    from .codes import poster_code
    from .model import LANGUAGES
    from .records import get

    if args.lang not in LANGUAGES:
        print(f"error: --lang is one of {', '.join(LANGUAGES)}", file=sys.stderr)
        return 2
    signer = _signer(cfg)
    with _engine(cfg) as engine, engine.connect() as conn:
        campaign = get(conn, args.campaign)
    token = poster_code(campaign, signer, utcnow())
    offer = campaign.offer_resolved()
    headline = offer["text"].get(args.lang) or offer["text"]["en"]
    dates = f"{offer['valid_from']} – {offer['valid_until']}"
    url = code_url(cfg.tokens.public_host, token)
    paths = write_poster(Path(args.out), url, PosterText(headline, dates, campaign.name))
    print(url)
    print(f"poster of campaign {campaign.id}: {', '.join(str(p) for p in paths.values())}",
          file=sys.stderr)  # fmt: skip
    return 0


def push_tables(cfg: Any) -> None:
    """Publish the stores' code tables now when the broker answers (else central does)."""
    from central_api.store.db import make_engine

    from .code_push import CodeTablePublisher

    engine = make_engine(cfg.database.url)
    publisher = CodeTablePublisher.for_central(engine, cfg.broker, interval_s=3600)
    publisher.start()
    try:
        if publisher.link.wait_connected(BROKER_WAIT_S):
            publisher.sync()
            if publisher.flush(BROKER_WAIT_S):
                print(f"pushed {publisher.tables_current} code tables to the stores",
                      file=sys.stderr)  # fmt: skip
                return
        where = cfg.broker.broker_url().redacted()
        print(f"the broker at {where} did not answer: the running central pushes the stores' "
              "code tables within a minute", file=sys.stderr)  # fmt: skip
    finally:
        publisher.stop()
        engine.dispose()
