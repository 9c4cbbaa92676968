"""Direct-mail codes at central: the same recipient gets the same code (across runs and
key rotations) until the campaign's codes are rotated, rotation revokes the old ones and
not the posters, erasure removes a recipient's codes, the command reports bad rows and
makes the rest, an interrupted run (killed) resumes, and the stores get the table their
kiosks resolve typed fallback codes with (and lose it when the campaign ends)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from central_api.domain.campaigns.code_push import CodeTablePublisher
from central_api.domain.campaigns.codes import issue, poster_code, profiles_of, rotate
from central_api.domain.campaigns.records import end
from central_api.domain.identity.erasure import erase_profile
from central_api.domain.tokens.revocations import revoked_among
from central_api.store.code_tables import campaign_codes
from central_api.store.db import write_transaction
from central_api.store.profile_tables import profile_aliases
from edge_sync.protocol import topics, utcnow
from edge_sync.protocol.settings import BrokerSettings
from edge_sync.protocol.tokens import InvalidToken, verify
from edge_sync.protocol.tokens.code_table import parse_code_table
from edge_sync.protocol.tokens.fallback import fallback_of
from tests.support import REPO_ROOT
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

from .mail_world import config_file, key_store, make_campaign, stored_codes


def central(config: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--log-level", "ERROR", "central",
         "campaign", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, **kw,
    )  # fmt: skip


def test_same_recipient_same_code_until_rotated(engine, tmp_path):
    keys = key_store(tmp_path)
    camp = make_campaign(engine)
    now = utcnow()
    with write_transaction(engine) as conn:
        pids = profiles_of(conn, ["C-1", "C-2"], now)
        first = issue(conn, camp, list(pids.values()), keys.signer(), now)
        poster = poster_code(camp, keys.signer(), now)
    keys.rotate()  # a new signing key: stored codes stay what they were
    with write_transaction(engine) as conn:
        assert profiles_of(conn, ["C-2", "C-1"], now) == pids
        again = issue(conn, camp, list(pids.values()), keys.signer(), now)
    assert {p: c.token for p, c in again.items()} == {p: c.token for p, c in first.items()}
    with write_transaction(engine) as conn:
        assert rotate(conn, camp, now) == 1
        rotated = issue(conn, camp, [pids["C-1"]], keys.signer(), now)
        revoked = revoked_among(
            conn, verify(first[pids["C-1"]].token, keys.keyring()).scope_hashes()
        )
    new, old = rotated[pids["C-1"]], first[pids["C-1"]]
    assert new.generation == 1 and new.token != old.token and new.fallback != old.fallback
    ring = keys.keyring()
    try:
        verify(old.token, ring, revoked=revoked)
        raise AssertionError("a rotated code still verifies")
    except InvalidToken as err:
        assert err.reason.value == "revoked"
    fresh = verify(new.token, ring, revoked=revoked)
    assert fresh.profile_id == pids["C-1"] and fresh.campaign_id == camp.id
    # the poster (generation 255) is left valid by the rotation
    assert verify(poster, ring, revoked=revoked).kind.value == "c"
    assert stored_codes(engine, camp.id)[pids["C-2"]][0] == 0  # not re-issued yet
    with write_transaction(engine) as conn:
        erase_profile(conn, pids["C-1"], "test", now)
    assert set(stored_codes(engine, camp.id)) == {pids["C-2"]}


def test_the_command_reports_bad_rows_makes_the_rest_and_pushes_the_table(
    engine, broker, tmp_path, db_url
):
    key_store(tmp_path)
    camp = make_campaign(engine)
    config = config_file(tmp_path, db_url, broker.url)
    csv = tmp_path / "r.csv"
    csv.write_bytes(b"\xef\xbb\xbfrecipient_id;name;address_1\r\nC1;Ann Lee;1 Main St\r\n"
                    b"C2;Bob;\r\nC1;Twice;\r\nC3;\xe9;x\r\n")  # fmt: skip
    with MqttProbe(broker.host, broker.port) as store:
        store.subscribe(topics.code_tables("s2"))
        r = central(config, "codes", "--campaign", camp.id, "--recipients", str(csv),
                    "--out", str(tmp_path / "out"))  # fmt: skip
        assert r.returncode == 1, r.stderr
        assert f"{csv}: line 4: recipient C1 is already on line 2" in r.stderr
        assert f"{csv}: line 5: name: bytes that are not UTF-8" in r.stderr
        assert "pushed 2 code tables" in r.stderr
        msg = store.wait_message(topics.code_table("s2", camp.id))
    table = parse_code_table(msg.payload)
    assert msg.retain or table is not None
    codes = stored_codes(engine, camp.id)
    assert table is not None and table.codes == {fb: tok for _, tok, fb in codes.values()}
    merge = (tmp_path / "out" / "merge.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in merge] == ["recipient_id", "C1", "C2"]
    rejected = (tmp_path / "out" / "rejected.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in rejected] == ["line", "4", "5"]
    for name in ("labels-a4.pdf", "labels-letter.pdf"):
        assert (tmp_path / "out" / name).read_bytes().startswith(b"%PDF")
    assert all(fallback_of(tok) == fb for _, tok, fb in codes.values())

    # An ended campaign's table is cleared by an empty retained message.
    with write_transaction(engine) as conn:
        end(conn, camp.id, utcnow(), "test")
    with MqttProbe(broker.host, broker.port) as store:
        store.subscribe(topics.code_table("s1", camp.id))
        assert store.wait_message(topics.code_table("s1", camp.id)).payload  # the table
        pub = CodeTablePublisher.for_central(engine, BrokerSettings(url=broker.url),
                                             interval_s=3600)  # fmt: skip
        pub.start()
        try:
            wait_for(lambda: [m for m in list(store.messages) if not m.payload] or None, 10,
                     message="the empty message that clears the table")  # fmt: skip
        finally:
            pub.stop()
    with MqttProbe(broker.host, broker.port) as late:
        late.publish("test/marker", b"x", retain=True)
        late.subscribe(topics.code_tables("s1"))
        late.subscribe("test/marker")  # retained messages come in subscription order
        late.wait_message("test/marker")
        assert [m.topic for m in list(late.messages)] == ["test/marker"]


def test_a_killed_run_resumes_with_the_codes_it_issued(engine, tmp_path, db_url):
    key_store(tmp_path)
    camp = make_campaign(engine)
    config = config_file(tmp_path, db_url, "mqtt://127.0.0.1:1")
    n = 700
    csv = tmp_path / "r.csv"
    csv.write_text("recipient_id,name\n" + "".join(f"C{i},Person {i}\n" for i in range(n)))
    out = tmp_path / "out"
    args = [sys.executable, str(REPO_ROOT / "main.py"), "--log-level", "ERROR", "central",
            "campaign", "codes", "--campaign", camp.id, "--recipients", str(csv), "--out",
            str(out), "--chunk", "20", "--config", str(config)]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    def issued() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(campaign_codes)).scalar_one()

    try:
        wait_for(lambda: issued() >= 100, 60, message="the first codes")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    before = stored_codes(engine, camp.id)
    assert 100 <= len(before) < n, "the run was not cut short"
    assert not (out / "labels-a4.pdf").exists() and not (out / "merge.csv").exists()
    r = central(config, "codes", "--campaign", camp.id, "--recipients", str(csv),
                "--out", str(out), "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"{n} codes ({n - len(before)} new, {len(before)} issued before)" in r.stderr
    after = stored_codes(engine, camp.id)
    assert len(after) == n and all(after[p] == c for p, c in before.items())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(profile_aliases)).scalar_one() == n
    merge = (out / "merge.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(merge) == n + 1 and merge[-1].split(",")[-6:-2] == ["labels-letter.pdf", "24",
                                                                    "4", "1"]  # fmt: skip
    assert not list(out.glob(".*.part"))
    assert json.dumps(sorted(os.listdir(out))) == json.dumps(
        ["codes", "labels-a4.pdf", "labels-letter.pdf", "merge.csv", "rejected.csv"]
    )
