"""QR tokens across the real spine: central's keys and revocations reach a running device
and one that was offline; central rejects a tampered link from a raw MQTT client; the
simulated kiosks' links carry codes central accepts."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text

from central_api.domain.identity.erasure import erase_profile
from central_api.domain.identity.identity import ensure_profile
from central_api.domain.tokens.keystore import KeyStore
from central_api.store.db import write_transaction
from edge_sync.client import EdgeClient
from edge_sync.config import load_device_config
from edge_sync.protocol import new_event_id, topics, utcnow
from edge_sync.protocol.tokens import InvalidToken, Reason, profile_scope, scope_hash
from tests.faults.harness import simulated_mix
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for


def device_rows(s, sql: str) -> list[tuple]:
    if not s.edge_db.exists():
        return []
    con = sqlite3.connect(s.edge_db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        con.close()


def device_kids(s) -> set[int]:
    return {r[0] for r in device_rows(s, "SELECT kid FROM keys")}


def device_revoked(s) -> set[str]:
    return {r[0] for r in device_rows(s, "SELECT scope FROM revoked_tokens")}


def sign(s, kind: str, subject: str, **kw):
    today = date.today()
    return KeyStore(s.key_dir, "shop.example.com").signer().sign(
        kind, subject, not_before=today - timedelta(days=1), not_after=today + timedelta(days=30),
        **kw,
    )  # fmt: skip


def kiosk(s) -> EdgeClient:
    return EdgeClient.from_config(load_device_config(s.device_cfg))


def test_simulated_links_are_accepted_and_keys_reach_the_device(spine):
    s = spine
    s.start_central()
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1}, timeout=30, message="central's key on the device")
    sim = s.simulate(400)
    assert sim.wait(60) == 0, sim.log_tail()
    count, mix = simulated_mix(sim.log_text())
    assert mix["visit.linked"] > 0 and mix["campaign.scanned"] > 0
    s.wait_drained(count)
    s.assert_exactly_once(count)
    assert s.dead_letters() == []
    with create_engine(s.db_url).connect() as c:
        linked = c.execute(text("SELECT count(*) FROM session_links")).scalar_one()
    assert linked == mix["visit.linked"]
    # The kiosk checks a code offline with what the daemon stored.
    with kiosk(s) as client:
        url = KeyStore(s.key_dir, "shop.example.com").signer().url(sign(s, "p", "prof-1"))
        got = client.verify_code(url.lower(), kinds=["p", "r"])
        assert got.profile_id == "prof-1" and got.kid == 1
        with pytest.raises(InvalidToken) as exc:
            client.verify_code(sign(s, "o", "ord-1", store_id="s999").text)
        assert exc.value.reason is Reason.NOT_FOR_THIS_STORE


def test_a_tampered_link_from_a_raw_client_is_bad_token_and_the_rest_is_stored(spine):
    s = spine
    s.start_central()
    good = sign(s, "p", "prof-7")
    # a device swaps the subject's bytes for another customer's, keeping the signature
    other = sign(s, "p", "prof-8")
    tampered = other.text[:-103] + good.text[-103:]
    rogue = "s001-k9"

    def ev(seq: int, type_: str, data: dict, v: int = 1) -> dict:
        return {"id": new_event_id(), "seq": seq, "type": type_, "v": v, "store_id": s.store,
                "device_id": rogue, "occurred_at": utcnow().isoformat().replace("+00:00", "Z"),
                "mono_ns": seq, "boot_id": "b", "clock_synced": True, "session_id": f"x{seq}",
                "data": data}  # fmt: skip

    def linked(token, profile: str) -> dict:
        return {"token": token if isinstance(token, str) else token.text, "profile_id": profile,
                "method": "qr", "token_kind": "p", "token_hash": good.token_hash}  # fmt: skip

    search = {"query": "tent", "results": 1, "in_stock_results": 1}
    evs = [
        ev(1, "product.searched", search),
        ev(2, "visit.linked", linked(tampered, "prof-8"), v=2),
        ev(3, "visit.linked", linked(good, "prof-7"), v=2),
        ev(4, "visit.linked", {"profile_id": "prof-9", "method": "qr"}),
        ev(5, "product.searched", search),
    ]
    batch = {"batch_id": "rogue-1", "device_id": rogue, "store_id": s.store, "events": evs}
    with MqttProbe(s.broker.host, s.broker.port, client_id=f"rogue-{uuid.uuid4().hex[:6]}") as p:
        p.subscribe(topics.ack(s.store, rogue))
        p.publish(topics.events(s.store, rogue), json.dumps(batch))
        ack = json.loads(p.wait_message(topics.ack(s.store, rogue), timeout=30).payload)
    assert ack["acked"] == [[1, 1], [3, 3], [5, 5]]
    assert {r["seq"]: r["reason"] for r in ack["rejected"]} == {2: "bad_token", 4: "bad_token"}
    assert [d["reason"] for d in s.dead_letters()] == ["bad_token", "bad_token"]
    for e in (evs[0], evs[2], evs[4]):
        assert s.central_has(e["id"])
    with create_engine(s.db_url).connect() as c:
        owners = set(c.execute(text("SELECT profile_id FROM session_links")).scalars())
    assert owners == {"prof-7"}


def test_an_erasure_revokes_the_codes_on_a_running_device(spine):
    s = spine
    s.start_central()
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1}, timeout=30, message="central's key on the device")
    code = sign(s, "r", "prof-3", campaign_id="cmp-1")
    with kiosk(s) as client:
        assert client.verify_code(code.text).profile_id == "prof-3"
    engine = create_engine(s.db_url)
    with write_transaction(engine) as conn:
        ensure_profile(conn, "prof-3", utcnow())
        erase_profile(conn, "prof-3", "test", utcnow())
    h = scope_hash(profile_scope("prof-3"))
    wait_for(lambda: h in device_revoked(s), timeout=30, message="the revocation on the device")
    with kiosk(s) as client, pytest.raises(InvalidToken) as exc:
        client.verify_code(code.text)
    assert exc.value.reason is Reason.REVOKED
    assert "nicht mehr gültig" in exc.value.message("de")
    assert s.edge.alive


def test_a_device_offline_during_a_rotation_gets_the_new_key_when_it_connects(spine):
    s = spine
    s.start_central()
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1}, timeout=30, message="central's key on the device")
    s.edge.terminate()
    rotate = s.spawn(["central", "keys", "rotate", "--config", str(s.central_cfg)], name="rotate")
    assert rotate.wait(60) == 0, rotate.log_tail()
    s.central.wait_for_log("published 2 keys", timeout=30)
    new_code = sign(s, "p", "prof-5")
    assert new_code.kid == 2
    with kiosk(s) as client, pytest.raises(InvalidToken) as exc:
        client.verify_code(new_code.text)  # the device has not heard of key 2 yet
    assert exc.value.reason is Reason.UNKNOWN_KEY
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1, 2}, timeout=30, message="both keys on the device")
    with kiosk(s) as client:
        assert client.verify_code(new_code.text).kid == 2


def test_hostile_keys_messages_are_ignored_and_the_stored_keys_kept(spine):
    s = spine
    s.start_central()
    s.start_edge()
    wait_for(lambda: device_kids(s) == {1}, timeout=30, message="central's key on the device")
    hostile = [b"not json", b"[" * 50_000, json.dumps({"v": 1, "keys": "x"}).encode(),
               b"{" + b" " * (5 * 2**20) + b"}"]  # fmt: skip
    with MqttProbe(s.broker.host, s.broker.port, client_id="intruder") as p:
        for n, payload in enumerate(hostile, 1):
            p.publish(topics.KEYS, payload)
            wait_for(lambda n=n: s.edge.log_text().count("ignoring a keys message") >= n,
                     timeout=30, message=f"hostile keys message {n} ignored")  # fmt: skip
    assert s.edge.alive and device_kids(s) == {1}
    with kiosk(s) as client:
        assert client.verify_code(sign(s, "p", "prof-1").text).kid == 1
