"""The store's campaign list and fallback-code tables in edge.db: replaced whole, newest
wins, older and bad messages change nothing; and the kiosk's reads through EdgeClient."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from datetime import date, timedelta

import pytest

from edge_sync import EdgeClient
from edge_sync.campaign_cache import Applied, CampaignCache
from edge_sync.client import UnknownFallback
from edge_sync.downlink import Downlink
from edge_sync.protocol import topics
from edge_sync.protocol.campaign_list import parse_campaign_list
from edge_sync.protocol.tokens.code_table import parse_code_table
from edge_sync.protocol.tokens.fallback import BadFallback, fallback_of
from edge_sync.schema import MIGRATIONS
from tests.edge.conftest import STORE
from tests.kiosk.scan_helpers import TODAY, campaign_entry, list_doc, sign, table_doc


def lst(*ids: str, version: int = 1, as_of: date = TODAY, store: str = STORE):
    return parse_campaign_list(
        json.dumps(list_doc([campaign_entry(i) for i in ids], version, as_of, store)).encode()
    )


def table(cid: str, tokens, issued_at: str):
    return parse_code_table(json.dumps(table_doc(cid, tokens, issued_at)).encode())


def test_the_list_is_replaced_whole_and_only_by_a_newer_one(db_path, make_outbox):
    make_outbox()
    cache = CampaignCache(db_path)
    assert cache.list_state() is None and cache.campaigns(TODAY) == []
    assert cache.apply_list(lst("cmp-1", "cmp-2", version=5)) is Applied.STORED
    assert [c.id for c in cache.campaigns(TODAY)] == ["cmp-1", "cmp-2"]
    assert cache.apply_list(lst("cmp-1", "cmp-2", version=5)) is Applied.SAME
    assert cache.apply_list(lst("cmp-9", version=4)) is Applied.OLDER  # a racing central
    assert cache.apply_list(lst("cmp-9", version=5, as_of=TODAY - timedelta(days=1))) is (
        Applied.OLDER
    )
    assert cache.campaign("cmp-9") is None
    # the same version on a later day is newer (a campaign ended overnight)
    assert cache.apply_list(lst("cmp-2", version=5, as_of=TODAY + timedelta(days=1))) is (
        Applied.STORED
    )
    assert cache.campaign("cmp-1") is None and cache.campaign("cmp-2") is not None
    assert cache.apply_list(lst(version=6, as_of=TODAY + timedelta(days=1))) is Applied.STORED
    assert cache.campaigns(TODAY) == [] and cache.list_state().version == 6
    cache.close()


def test_the_kiosk_reads_what_the_daemon_stored(db_path, make_outbox):
    kiosk = EdgeClient(make_outbox())
    daemon = CampaignCache(db_path)  # the daemon's own connection to the same file
    daemon.apply_list(lst("cmp-1"))
    entry = kiosk.campaign("cmp-1")
    assert entry is not None and entry.offer.text.get("de") == "cmp-1: 20 % auf Stiefel"
    assert [c.id for c in kiosk.campaigns(TODAY)] == ["cmp-1"]
    assert kiosk.campaigns(date(2026, 7, 1)) == []  # after its last day
    assert kiosk.campaign_list().current(TODAY)
    assert not kiosk.campaign_list().current(TODAY + timedelta(days=1))
    daemon.apply_list(lst("cmp-2", version=2))
    assert [c.id for c in kiosk.campaigns(TODAY)] == ["cmp-2"]  # the kiosk sees the new list
    daemon.close()
    kiosk.close()


def test_code_tables_are_replaced_whole_per_campaign_and_cleared(db_path, make_outbox):
    kiosk = EdgeClient(make_outbox())
    cache = CampaignCache(db_path)
    a, b, c = (sign("r", f"p-0{i}", campaign_id="cmp-1") for i in "abc")
    other = sign("r", "p-0d", campaign_id="cmp-2")
    assert cache.apply_code_table("cmp-1", table("cmp-1", [a, b], "2026-06-01T08:00:00Z")) is (
        Applied.STORED
    )
    cache.apply_code_table("cmp-2", table("cmp-2", [other], "2026-06-01T08:00:00Z"))
    assert kiosk.resolve_fallback(fallback_of(a.text)) == a.text
    # a newer table replaces the campaign's whole table: a is gone, c is in
    new = table("cmp-1", [b, c], "2026-06-02T08:00:00.000001Z")
    assert cache.apply_code_table("cmp-1", new) is Applied.STORED
    with pytest.raises(UnknownFallback):
        kiosk.resolve_fallback(fallback_of(a.text))
    assert kiosk.resolve_fallback(fallback_of(c.text)) == c.text
    assert cache.apply_code_table("cmp-1", new) is Applied.SAME
    old = table("cmp-1", [a], "2026-06-02T08:00:00Z")  # a microsecond older
    assert cache.apply_code_table("cmp-1", old) is Applied.OLDER
    assert cache.code_tables() == {"cmp-1": 2, "cmp-2": 1}
    # an empty payload (central removing it) and a table with no codes both clear
    assert cache.apply_code_table("cmp-1", None) is Applied.CLEARED
    assert cache.apply_code_table("cmp-1", None) is Applied.SAME
    cache.apply_code_table("cmp-2", table("cmp-2", [], "2026-06-03T08:00:00Z"))
    assert cache.code_tables() == {}
    with pytest.raises(UnknownFallback):
        kiosk.resolve_fallback(fallback_of(other.text))
    with pytest.raises(ValueError, match="is for 'cmp-2'"):
        cache.apply_code_table("cmp-1", table("cmp-2", [other], "2026-06-04T08:00:00Z"))
    with pytest.raises(BadFallback):
        kiosk.resolve_fallback("7KQ2-M9XD")
    cache.close()
    kiosk.close()


def test_bad_messages_are_ignored_with_a_log_line_and_the_stored_data_kept(
    db_path, make_outbox, caplog
):
    make_outbox()
    down = Downlink(STORE, db_path)
    tok = sign("r", "p-0a", campaign_id="cmp-1")
    good_list = json.dumps(list_doc([campaign_entry("cmp-1")], version=3)).encode()
    good_table = json.dumps(table_doc("cmp-1", [tok], "2026-06-01T08:00:00Z")).encode()
    campaigns_topic, table_topic = topics.campaigns(STORE), topics.code_table(STORE, "cmp-1")
    assert down.offer(campaigns_topic, good_list) and down.offer(table_topic, good_table)
    assert not down.offer(topics.ack(STORE, "s042-k1"), b"{}")  # not for the downlink
    down.apply()
    assert down.applied == {"campaigns": 1, "codes": 1}
    entry = campaign_entry("cmp-2")
    bad = [
        (campaigns_topic, b"not json"),
        (campaigns_topic, b""),
        (campaigns_topic, b"[" * 100_000),
        (campaigns_topic, json.dumps(list_doc([entry], version=9, store="s001")).encode()),
        (campaigns_topic, json.dumps(list_doc([{**entry, "starts_on": 1}], version=9)).encode()),
        (campaigns_topic, json.dumps({**list_doc([entry], version=9), "v": 2}).encode()),
        (campaigns_topic, b" " * (2 * 2**20)),
        (table_topic, b"{}"),
        (table_topic, json.dumps(table_doc("cmp-2", [tok], "2026-06-09T08:00:00Z")).encode()),
        (
            table_topic,
            json.dumps(
                {
                    **table_doc("cmp-1", [], "2026-06-09T08:00:00Z"),
                    "codes": {"0000-0000-0000": tok.text},
                }
            ).encode(),
        ),
        (topics.store_down(STORE, "codes/bad+id"), good_table),
    ]
    for topic, payload in bad:
        down.offer(topic, payload)
        down.apply()
    ignored = [r.getMessage() for r in caplog.records if "ignoring a" in r.getMessage()]
    assert len(ignored) == len(bad), ignored
    assert sum(down.ignored.values()) == len(bad)
    assert any("too large" in m for m in ignored) and any("for store 's001'" in m for m in ignored)
    kiosk = EdgeClient(make_outbox())
    assert [c.id for c in kiosk.campaigns(TODAY)] == ["cmp-1"]
    assert kiosk.campaign_list().version == 3
    assert kiosk.resolve_fallback(fallback_of(tok.text)) == tok.text
    down.close()
    kiosk.close()


def test_a_device_db_from_before_campaigns_upgrades_itself(db_path, make_outbox):
    make_outbox().close()
    con = sqlite3.connect(db_path)
    con.executescript("DROP TABLE campaigns; DROP TABLE code_tables; DROP TABLE fallback_codes;")
    con.execute("PRAGMA user_version = 2")
    con.close()
    kiosk = EdgeClient(make_outbox())
    assert kiosk.campaign_list() is None and kiosk.campaigns(TODAY) == []
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    con.close()
    kiosk.close()


def test_a_large_table_is_stored_in_one_transaction(db_path, make_outbox):
    """200,000 codes (a campaign's limit): how long the daemon's loop is busy with them."""
    make_outbox()
    # Signing 200k codes takes minutes; the table is the same work for any token texts.
    tokens = [base64.b32encode(i.to_bytes(80, "big")).decode() for i in range(200_000)]
    codes = {fallback_of(t): t for t in tokens}
    keys = list(codes)
    payload = json.dumps({"v": 1, "campaign_id": "big", "issued_at": "2026-06-01T08:00:00Z",
                          "codes": codes}).encode()  # fmt: skip
    cache = CampaignCache(db_path)
    t0 = time.perf_counter()
    parsed = parse_code_table(payload)
    t1 = time.perf_counter()
    assert cache.apply_code_table("big", parsed) is Applied.STORED
    t2 = time.perf_counter()
    print(f"\n200k-code table: {len(payload) / 2**20:.1f} MiB, parse {t1 - t0:.2f}s, "
          f"store {t2 - t1:.2f}s")  # fmt: skip
    assert cache.code_tables() == {"big": 200_000}
    assert cache.resolve(keys[7]) == tokens[7]
    cache.close()


def test_a_list_without_a_campaign_removes_its_table(db_path, make_outbox):
    make_outbox()
    cache = CampaignCache(db_path)
    a, b = sign("r", "p-0a", campaign_id="cmp-1"), sign("r", "p-0b", campaign_id="cmp-2")
    cache.apply_list(lst("cmp-1", "cmp-2", version=1))
    cache.apply_code_table("cmp-1", table("cmp-1", [a], "2026-06-01T08:00:00Z"))
    cache.apply_code_table("cmp-2", table("cmp-2", [b], "2026-06-01T08:00:00Z"))
    # cmp-1 ended while the device was offline for longer than its broker session
    cache.apply_list(lst("cmp-2", version=2))
    assert cache.code_tables() == {"cmp-2": 1}
    assert cache.resolve(fallback_of(a.text)) is None
    assert cache.resolve(fallback_of(b.text)) == b.text
    cache.close()
