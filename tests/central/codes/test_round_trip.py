"""Every kind of code through the print path and back: issued or signed at central, drawn
on the label sheets (A4 and Letter) and as PNG, the PDFs rasterised at 300 dpi by
``pdftoppm``, every label decoded as the kiosk decodes a camera frame, verified, and the
event a kiosk sends for it stored at a real central through a real broker, with the
right profile and campaign."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select

from central_api.codes.labels import LAYOUTS
from central_api.codes.mailing import Mailed, write_drop
from central_api.config import CentralConfig
from central_api.domain.campaigns.codes import issue, poster_code, profiles_of
from central_api.domain.campaigns.recipients import Recipient
from central_api.domain.tokens.check import KeyringFile, TokenCheck
from central_api.ingest import Ingestor
from central_api.service import IngestService
from central_api.store.db import write_transaction
from central_api.store.profile_tables import session_links
from central_api.store.tables import events
from edge_sync.protocol import format_ts, new_event_id, topics, utcnow
from edge_sync.protocol.tokens import Token, verify
from edge_sync.protocol.tokens.fallback import fallback_of
from kiosk.qr_decode import decode_frame
from tests.support.mqtt import MqttProbe

from .mail_world import HOST, key_store, make_campaign

DPI = 300


def crops(png: Path, layout_name: str, count: int) -> list[np.ndarray]:
    """The first ``count`` labels of a rasterised sheet page, one image each."""
    layout = LAYOUTS[layout_name]
    page = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    scale = DPI / 72
    out = []
    for i in range(count):
        _, row, col = layout.position(i)
        x, y = layout.origin(row, col)
        top = layout.page[1] - (y + layout.height)
        out.append(page[round(top * scale) : round((top + layout.height) * scale),
                        round(x * scale) : round((x + layout.width) * scale)])  # fmt: skip
    return out


def rasterise(pdf: Path) -> Path:
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-f", "1", "-l", "1",
                    str(pdf), str(prefix)], check=True, timeout=60)  # fmt: skip
    (page,) = pdf.parent.glob(f"{prefix.name}-*1.png")
    return page


def kiosk_event(seq: int, type_: str, data: dict, session: str) -> dict:
    return {
        "id": new_event_id(), "seq": seq, "type": type_, "v": 2 if type_ != "pickup.confirmed"
        else 1, "store_id": "s1", "device_id": "s1-k1", "occurred_at": format_ts(utcnow()),
        "mono_ns": seq, "boot_id": "b", "clock_synced": True, "session_id": session,
        "data": data,
    }  # fmt: skip


def events_for(kind: str, tok: Token, seq: int) -> list[dict]:
    """What a kiosk sends for a scanned code of each kind."""
    session = f"sess-{kind}-{seq}"
    if kind == "o":
        data = {"order_id": tok.subject, "staff_id": "st-1", "items": 1, "method": "qr",
                "token_hash": tok.token_hash}  # fmt: skip
        return [kiosk_event(seq, "pickup.confirmed", data, session)]
    out = []
    if kind in "pr":
        data = {"token": tok.text, "profile_id": tok.profile_id, "method": "qr",
                "token_kind": kind, "campaign_id": tok.fields.campaign_id,
                "token_hash": tok.token_hash}  # fmt: skip
        out.append(kiosk_event(seq, "visit.linked", data, session))
    if kind in "cr":
        data = {"token": tok.text, "campaign_id": tok.campaign_id, "recipient_id": tok.profile_id,
                "offer_shown": True, "token_hash": tok.token_hash}  # fmt: skip
        out.append(kiosk_event(seq + 1, "campaign.scanned", data, session))
    return out


def test_every_kind_prints_decodes_verifies_and_reaches_central(engine, broker, tmp_path, db_url):
    keys = key_store(tmp_path)
    signer = keys.signer()
    camp = make_campaign(engine)
    now = utcnow()
    today = now.date()
    with write_transaction(engine) as conn:
        pids = profiles_of(conn, ["C-1", "C-2", "C-3"], now)
        issued = issue(conn, camp, [pids["C-1"], pids["C-2"]], signer, now)
    days = {"not_before": today, "not_after": today + timedelta(days=30)}
    codes = [  # (kind, token text, what its label shows)
        ("r", issued[pids["C-1"]].token, ["Ann Lee", "1 Main St", "Springfield"]),
        ("r", issued[pids["C-2"]].token, ["Bob Roe"]),
        ("c", poster_code(camp, signer, now), []),
        ("p", signer.sign("p", pids["C-3"], **days).text, ["Cleo Check-in"]),
        ("o", signer.sign("o", "ord-77", store_id="s1", **days).text, ["Order ord-77"]),
    ]
    mailed = [Mailed(Recipient(i + 2, f"X{i}", lines[0] if lines else "", tuple(lines[1:])),
                     text, fallback_of(text)) for i, (_, text, lines) in enumerate(codes)]  # fmt: skip
    out = tmp_path / "out"
    files = write_drop(out, HOST, camp.name, mailed)

    ring = keys.keyring()
    scanned: dict[str, list[Token]] = {}
    # The per-code PNG files and every label of both sheets, at 300 dpi.
    merge = (out / "merge.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    images = [out / line.split(",")[-2] for line in merge]
    sources = {"png": [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in images]}
    for name in ("a4", "letter"):
        sources[name] = crops(rasterise(files[name]), name, len(codes))
    for source, frames in sources.items():
        for (kind, text, _), frame in zip(codes, frames, strict=True):
            found = decode_frame(frame).texts
            assert len(found) == 1, (source, kind, found)
            tok = verify(found[0], ring, store_id="s1")
            assert tok.text == text and tok.kind.value == kind, (source, kind)
            scanned.setdefault(kind, []).append(tok)
    assert {k: len(v) for k, v in scanned.items()} == {"r": 6, "c": 3, "p": 3, "o": 3}

    cfg = CentralConfig.model_validate(
        {"broker": {"url": broker.url}, "ingest": {"client_id": "t-mail-central"}}
    )
    service = IngestService(cfg, Ingestor(engine, tokens=TokenCheck(KeyringFile(keys))))
    service.start()
    try:
        assert service.link.wait_connected(10)
        evs = []
        for kind in "rcpo":
            for tok in {t.text: t for t in scanned[kind]}.values():
                evs.extend(events_for(kind, tok, len(evs) * 2 + 1))
        with MqttProbe(broker.host, broker.port, client_id="s1-k1") as dev:
            dev.subscribe(topics.ack("s1", "s1-k1"))
            batch = {"batch_id": "b-mail", "device_id": "s1-k1", "store_id": "s1", "events": evs}
            dev.publish(topics.events("s1", "s1-k1"), json.dumps(batch).encode())
            ack = json.loads(dev.wait_message(topics.ack("s1", "s1-k1"), timeout=30).payload)
        assert ack["rejected"] == [], ack
    finally:
        service.stop()
    with engine.connect() as conn:
        stored = {r.id: r for r in conn.execute(select(events))}
        links = {r.session_id: r.profile_id for r in conn.execute(select(session_links))}
    assert set(stored) == {e["id"] for e in evs}
    # whose code each token is: the profile it must link, the campaign it must count for
    owner = {issued[pids[c]].token: pids[c] for c in ("C-1", "C-2")} | {codes[3][1]: pids["C-3"]}
    for e in evs:
        row = stored[e["id"]]
        if e["type"] == "visit.linked":
            assert links[e["session_id"]] == owner[e["data"]["token"]]
        elif e["type"] == "campaign.scanned":
            assert row.data["campaign_id"] == camp.id
            assert row.data["recipient_id"] == owner.get(e["data"]["token"])
        else:
            assert row.data["order_id"] == "ord-77" and row.type == "pickup.confirmed"
    assert sorted(links.values()) == sorted([pids["C-1"], pids["C-2"], pids["C-3"]])
