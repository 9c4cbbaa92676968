"""Scans across the real spine: the store's campaign list and fallback-code tables reach a
running device and one that was offline (bad ones ignored, the stored ones kept); a scan
at the kiosk goes through the outbox and the daemon to central, which stores the link and
the campaign scan; revocations and new keys reach a device after it was offline and while
it runs."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import create_engine, text

from central_api.domain.identity.erasure import erase_profile
from central_api.domain.identity.identity import ensure_profile
from central_api.domain.tokens.keystore import KeyStore
from central_api.store.db import write_transaction
from edge_sync.protocol import topics, utcnow
from edge_sync.protocol.tokens import Reason, profile_scope, scope_hash
from edge_sync.protocol.tokens.fallback import display, fallback_of
from kiosk.controllers.scan import Outcome, ScanAction
from tests.faults.test_tokens import device_kids, device_revoked, device_rows, kiosk, sign
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for


def campaign(cid: str, days: int = 30) -> dict:
    today = date.today()
    start, end = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=days)).isoformat()
    return {
        "id": cid, "name": f"Campaign {cid}", "channel": "direct_mail", "starts_on": start,
        "ends_on": end, "landing_url": "https://shop.example.com/c",
        "offer": {"text": {"en": f"{cid} offer", "de": f"{cid} Angebot"},
                  "visual": {"kind": "asset", "name": "offers/x.png"},
                  "valid_from": start, "valid_until": end},
    }  # fmt: skip


def campaign_list(s, version: int, *ids: str, store: str | None = None) -> bytes:
    doc = {"v": 1, "store_id": store or s.store, "version": version,
           "as_of": date.today().isoformat(), "campaigns": [campaign(i) for i in ids]}  # fmt: skip
    return json.dumps(doc).encode()


def code_table(cid: str, tokens: list, issued_at: str) -> bytes:
    codes = {fallback_of(t if isinstance(t, str) else t.text): t if isinstance(t, str) else t.text
             for t in tokens}  # fmt: skip
    return json.dumps({"v": 1, "campaign_id": cid, "issued_at": issued_at, "codes": codes}).encode()


def device_list_version(s) -> int | None:
    rows = device_rows(s, "SELECT value FROM sync_state WHERE key = 'campaigns_version'")
    return int(rows[0][0]) if rows else None


def device_tables(s) -> dict[str, int]:
    return dict(device_rows(s, "SELECT campaign_id, codes FROM code_tables"))


def device_campaigns(s) -> list[str]:
    return [r[0] for r in device_rows(s, "SELECT id FROM campaigns ORDER BY position")]


# base32 texts stand in for tokens where only the table lookup matters
TOKEN_A, TOKEN_B, TOKEN_C = ("A" * 120, "B" * 120, "C" * 120)


def test_campaigns_and_code_tables_reach_a_running_device_and_one_that_was_offline(spine):
    s = spine
    s.start_edge()
    with MqttProbe(s.broker.host, s.broker.port, client_id="central-standin") as p:
        p.publish(topics.campaigns(s.store), campaign_list(s, 1, "cmp-1", "cmp-2"), retain=True)
        p.publish(topics.code_table(s.store, "cmp-1"),
                  code_table("cmp-1", [TOKEN_A], "2026-06-01T08:00:00Z"), retain=True)  # fmt: skip
        wait_for(lambda: device_list_version(s) == 1 and device_tables(s) == {"cmp-1": 1},
                 timeout=30, message="the list and the table on the running device")  # fmt: skip
        assert device_campaigns(s) == ["cmp-1", "cmp-2"]
        # a newer list while it runs
        p.publish(topics.campaigns(s.store), campaign_list(s, 2, "cmp-1", "cmp-2", "cmp-3"),
                  retain=True)  # fmt: skip
        wait_for(lambda: device_list_version(s) == 2, timeout=30, message="list version 2")
        # messages that are not central's, sent live (not retained)
        hostile = [
            (topics.campaigns(s.store), b"not json"),
            (topics.campaigns(s.store), campaign_list(s, 9, "cmp-x", store="s999")),
            (topics.campaigns(s.store), campaign_list(s, 9, "cmp-x").replace(b'"v": 1', b'"v": 7')),
            (topics.campaigns(s.store), campaign_list(s, 1, "cmp-old")),  # older: kept quiet
            (topics.code_table(s.store, "cmp-1"), b'{"v": 1}'),
            (topics.code_table(s.store, "cmp-1"), code_table("cmp-2", [TOKEN_B], "2027-01-01T00:00:00Z")),
        ]  # fmt: skip
        # one at a time: the daemon stores only the newest message per topic it has
        for n, (topic, payload) in enumerate(hostile, 1):
            p.publish(topic, payload)
            wait_for(lambda n=n: s.edge.log_text().count("ignoring ") >= n, timeout=30,
                     message=f"hostile message {n} ignored")  # fmt: skip
    log = s.edge.log_text()
    assert log.count("ignoring a campaign list message") == 3
    assert log.count("ignoring a fallback-code table message") == 2
    assert "ignoring campaign list version 1" in log
    assert s.edge.alive and device_list_version(s) == 2 and device_tables(s) == {"cmp-1": 1}
    with kiosk(s) as client:
        assert client.resolve_fallback(display(fallback_of(TOKEN_A))) == TOKEN_A
    # offline: cmp-1 ends (its table cleared), cmp-4 starts with a table
    s.edge.terminate()
    with MqttProbe(s.broker.host, s.broker.port, client_id="central-standin") as p:
        p.publish(topics.campaigns(s.store), campaign_list(s, 3, "cmp-2", "cmp-4"), retain=True)
        p.publish(topics.code_table(s.store, "cmp-1"), b"", retain=True)
        p.publish(topics.code_table(s.store, "cmp-4"),
                  code_table("cmp-4", [TOKEN_B, TOKEN_C], "2026-06-02T08:00:00Z"), retain=True)  # fmt: skip
    s.start_edge()
    wait_for(lambda: device_list_version(s) == 3 and device_tables(s) == {"cmp-4": 2},
             timeout=30, message="the new list and tables after the device was offline")  # fmt: skip
    assert device_campaigns(s) == ["cmp-2", "cmp-4"]
    with kiosk(s) as client:
        assert client.resolve_fallback(fallback_of(TOKEN_C)) == TOKEN_C
        assert [c.id for c in client.campaigns()] == ["cmp-2", "cmp-4"]


def test_a_scan_at_the_kiosk_reaches_central_with_its_profile_and_campaign(spine):
    s = spine
    s.start_central()
    create = s.spawn(["central", "campaign", "create", "--config", str(s.central_cfg),
                      "--id", "cmp-1", "--name", "Boots", "--channel", "direct_mail",
                      "--start", (date.today() - timedelta(days=1)).isoformat(),
                      "--end", (date.today() + timedelta(days=30)).isoformat(),
                      "--stores", s.store, "--landing-url", "https://shop.example.com/b",
                      "--offer-en", "20% off boots", "--offer-de", "20 % auf Stiefel",
                      "--asset", "offers/boots.png"], name="campaign-create")  # fmt: skip
    assert create.wait(60) == 0, create.log_tail()
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1} and device_campaigns(s) == ["cmp-1"], timeout=30,
             message="central's key and campaign list on the device")  # fmt: skip
    mailed = sign(s, "r", "prof-a", campaign_id="cmp-1")
    typed = sign(s, "r", "prof-b", campaign_id="cmp-1")
    check_in = sign(s, "p", "prof-c")
    with MqttProbe(s.broker.host, s.broker.port, client_id="codes-standin") as p:
        p.publish(topics.code_table(s.store, "cmp-1"),
                  code_table("cmp-1", [mailed, typed], utcnow().isoformat()), retain=True)  # fmt: skip
    wait_for(lambda: device_tables(s) == {"cmp-1": 2}, timeout=30, message="the code table")
    url = KeyStore(s.key_dir, "shop.example.com").signer().url(mailed)
    with kiosk(s) as client:
        action = ScanAction(client)
        a = action.scan(url, "sess-a")
        assert a.outcome is Outcome.OFFER and a.offer_text("de") == "20 % auf Stiefel"
        assert action.scan(url, "sess-a").repeat  # scanned twice: recorded once
        b = action.typed(display(fallback_of(typed.text)), "sess-b")
        assert b.outcome is Outcome.OFFER and b.profile_id == "prof-b"
        assert action.scan(check_in.text, "sess-c").outcome is Outcome.CHECKED_IN
        assert action.scan("WIFI:T:WPA;S:x;P:y;;", "sess-c").outcome is Outcome.NOT_OURS
    s.wait_drained(6)
    assert s.dead_letters() == []
    with create_engine(s.db_url).connect() as c:
        links = dict(c.execute(text("SELECT session_id, profile_id FROM session_links")).all())
        rows = c.execute(text("SELECT type, session_id, data FROM events ORDER BY seq")).all()
    assert links == {"sess-a": "prof-a", "sess-b": "prof-b", "sess-c": "prof-c"}
    got = [(t, sess, (d if isinstance(d, dict) else json.loads(d))) for t, sess, d in rows]
    scans = [(sess, d["campaign_id"], d["recipient_id"], d["offer_shown"])
             for t, sess, d in got if t == "campaign.scanned"]  # fmt: skip
    assert scans == [("sess-a", "cmp-1", "prof-a", True), ("sess-b", "cmp-1", "prof-b", True)]
    assert [t for t, _, _ in got].count("visit.linked") == 3
    assert [d["reason"] for t, _, d in got if t == "qr.scanned"] == ["not_ours"]


def test_revocations_and_keys_reach_a_device_after_it_was_offline_and_while_it_runs(spine):
    s = spine
    s.start_central()
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1}, timeout=30, message="central's key on the device")
    code = sign(s, "p", "prof-9")
    s.edge.terminate()
    engine = create_engine(s.db_url)
    with write_transaction(engine) as conn:  # erased while the device is off
        ensure_profile(conn, "prof-9", utcnow())
        erase_profile(conn, "prof-9", "test", utcnow())
    s.start_edge()
    h = scope_hash(profile_scope("prof-9"))
    wait_for(lambda: h in device_revoked(s), timeout=30, message="the revocation after offline")
    with kiosk(s) as client:
        out = ScanAction(client).scan(code.text, "sess-1")
        assert out.outcome.value == Reason.REVOKED.value
    # a new key while the device runs
    rotate = s.spawn(["central", "keys", "rotate", "--config", str(s.central_cfg)], name="rotate")
    assert rotate.wait(60) == 0, rotate.log_tail()
    wait_for(lambda: device_kids(s) == {1, 2}, timeout=30, message="key 2 on the running device")
    with kiosk(s) as client:
        new = sign(s, "p", "prof-10")
        assert new.kid == 2
        assert ScanAction(client).scan(new.text, "sess-2").outcome is Outcome.CHECKED_IN
    assert s.edge.alive
