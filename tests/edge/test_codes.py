"""The device's keys and revocations in edge.db, and ``EdgeClient.verify_code`` offline."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_sync import EdgeClient
from edge_sync.codes import CodeStore
from edge_sync.protocol.tokens import (
    InvalidToken,
    Keyring,
    PublicKey,
    Reason,
    Revocation,
    Signer,
    keys_message,
    profile_scope,
    scope_hash,
)
from edge_sync.schema import MIGRATIONS
from tests.edge.conftest import STORE

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
NB, NA = date(2026, 1, 1), date(2026, 12, 31)


def keypair(kid: int) -> tuple[Signer, PublicKey]:
    k = Ed25519PrivateKey.generate()
    return Signer(kid, k, "shop.example.com"), PublicKey.of(
        kid, k.public_key().public_bytes_raw(), datetime(2025, 1, 1, tzinfo=UTC)
    )


S1, P1 = keypair(1)
S2, P2 = keypair(2)


def reason(client: EdgeClient, text: str) -> Reason:
    with pytest.raises(InvalidToken) as exc:
        client.verify_code(text, now=NOW)
    return exc.value.reason


def test_verify_code_uses_what_the_daemon_stored(make_outbox):
    client = EdgeClient(make_outbox())
    code = S1.sign("p", "prof-1", not_before=NB, not_after=NA).text
    assert reason(client, code) is Reason.UNKNOWN_KEY  # nothing stored yet
    assert client.codes.apply(keys_message(Keyring([P1]), [], NOW))
    assert client.verify_code(code, now=NOW).profile_id == "prof-1"
    # The same content again (a retained message on reconnect) changes nothing.
    assert not client.codes.apply(keys_message(Keyring([P1]), [], NOW + timedelta(hours=1)))
    # A rotation and an erasure in one message: both arrive together.
    revoked = [Revocation(scope_hash(profile_scope("prof-1")), 255, NA)]
    assert client.codes.apply(keys_message(Keyring([P1, P2]), revoked, NOW))
    assert reason(client, code) is Reason.REVOKED
    assert client.verify_code(S2.sign("p", "prof-2", not_before=NB, not_after=NA).text, now=NOW)
    # a message without key 1: its codes are unknown here from then on
    assert client.codes.apply(keys_message(Keyring([P2]), [], NOW))
    assert reason(client, S1.sign("p", "prof-3", not_before=NB, not_after=NA).text) is (
        Reason.UNKNOWN_KEY
    )
    client.close()


def test_pickup_codes_are_for_this_store_and_one_time(make_outbox):
    client = EdgeClient(make_outbox())
    client.codes.apply(keys_message(Keyring([P1]), [], NOW))
    here = S1.sign("o", "ord-9", store_id=STORE, not_before=NB, not_after=NA)
    there = S1.sign("o", "ord-9", store_id="s001", not_before=NB, not_after=NA)
    assert reason(client, there.text) is Reason.NOT_FOR_THIS_STORE
    token = client.verify_code(here.text, now=NOW, kinds=["o"])
    client.mark_code_used(token)
    assert reason(client, here.text) is Reason.ALREADY_USED
    check_in = client.verify_code(S1.sign("p", "prof-1", not_before=NB, not_after=NA).text, now=NOW)
    client.mark_code_used(check_in)
    assert client.verify_code(check_in.text, now=NOW)  # only pickup codes are one-time
    client.close()


def test_another_process_sees_the_stored_keys(make_outbox, db_path):
    kiosk = EdgeClient(make_outbox())
    code = S1.sign("c", "cmp-1", not_before=NB, not_after=NA).text
    assert reason(kiosk, code) is Reason.UNKNOWN_KEY
    daemon = CodeStore(db_path)  # the daemon's own connection to the same file
    daemon.apply(keys_message(Keyring([P1]), [], NOW))
    daemon.close()
    assert kiosk.verify_code(code, now=NOW).campaign_id == "cmp-1"
    kiosk.close()


def test_a_device_db_from_before_tokens_upgrades_itself(tmp_path, make_outbox, db_path):
    ob = make_outbox()
    ob.close()
    con = sqlite3.connect(db_path)
    con.executescript(
        "DROP TABLE keys; DROP TABLE revoked_tokens; DROP TABLE used_tokens;"
        # and what later migrations made
        "DROP TABLE campaigns; DROP TABLE code_tables; DROP TABLE fallback_codes;"
    )
    con.execute("PRAGMA user_version = 1")
    con.close()
    client = EdgeClient(make_outbox())
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert {"keys", "revoked_tokens", "used_tokens", "outbox"} <= tables
    client.codes.apply(keys_message(Keyring([P1]), [], NOW))
    assert client.verify_code(S1.sign("p", "prof-1", not_before=NB, not_after=NA).text, now=NOW)
    client.close()
