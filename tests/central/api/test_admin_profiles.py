"""Merge, undo and erasure through the API (cases from Mautic's and PostHog's trackers)."""

from __future__ import annotations

import hashlib

from sqlalchemy import JSON, String, Text, func, select

from central_api.ingest import Ingestor
from central_api.store.profile_tables import consents, erasures, profile_events, profiles
from central_api.store.tables import events, metadata
from tests.central.api.conftest import bearer
from tests.central.api.test_online_events import CONSENT, online, post
from tests.central.test_profiles import shopper_session, snapshot

EMAIL2 = hashlib.sha256(b"grace@example.com").hexdigest()


def two_profiles(client, keys, engine) -> tuple[str, str]:
    """prof-k from a kiosk visit (with consent), then an online customer C2 (with consent)."""
    from tests.central.helpers import batch_msg

    Ingestor(engine).process(
        [batch_msg(shopper_session(1, "sess-k", "prof-k", True, "s1-k1"), device="s1-k1")]
    )
    post(client, keys.integration, [
        online("consent.recorded", CONSENT, customer="C2", email=EMAIL2),
        online("email.clicked", {"campaign_id": "cmp-2", "message_id": "m", "url": "https://x"},
               customer="C2", email=None, channel="email", occurred_at="2026-11-20T10:00:00Z"),
    ])  # fmt: skip
    with engine.connect() as c:
        online_pid = c.execute(select(profiles.c.id).where(profiles.c.id != "prof-k")).scalar_one()
    return "prof-k", online_pid


def test_anonymous_session_never_becomes_its_own_profile(engine):
    from tests.central.helpers import batch_msg

    Ingestor(engine).process(
        [batch_msg(shopper_session(1, "sess-x", "prof-known", True, "s1-k1"), device="s1-k1")]
    )
    with engine.connect() as c:
        assert c.execute(select(profiles.c.id)).scalars().all() == ["prof-known"]
        attached = c.execute(select(func.count()).select_from(profile_events)).scalar_one()
        stored = c.execute(select(func.count()).select_from(events)).scalar_one()
    assert (
        attached == stored
    )  # the whole session, before and after the link, is the known profile's


def test_merge_keeps_points_groups_and_consents_and_undo_restores(client, keys, engine):
    a, b = two_profiles(client, keys, engine)
    before = {a: snapshot(engine, a), b: snapshot(engine, b)}  # keyed by id, order-free
    r = client.post("/api/v1/profiles/merge", json={"profile_ids": [b, a], "reason": "same person, confirmed by staff"},
                    headers=bearer(keys.admin))  # fmt: skip
    assert r.status_code == 200, r.text
    out = r.json()
    # The older profile survives: the online one was first seen on 2026-11-20, the kiosk
    # one on 2026-11-23 (profiles date from their first evidence, not from arrival).
    assert (out["survivor"], out["merged"]) == (b, a)
    a, b = b, a  # from here on: a = survivor, b = merged
    merged = snapshot(engine, a)
    assert len(merged["ledger"]) == len(before[a]["ledger"]) + len(before[b]["ledger"])
    assert (
        merged["profile"]["score_raw"]
        == before[a]["profile"]["score_raw"] + before[b]["profile"]["score_raw"]
    )
    with engine.connect() as c:
        assert (
            c.execute(
                select(func.count()).select_from(consents).where(consents.c.profile_id == a)
            ).scalar_one()
            == 2
        )
        assert (
            c.execute(select(profiles.c.status).where(profiles.c.id == b)).scalar_one() == "merged"
        )
    assert snapshot(engine, b)["ledger"] == []  # never counted twice
    # Merging again, or with itself: 409.
    again = client.post(
        "/api/v1/profiles/merge",
        json={"profile_ids": [a, b], "reason": "x"},
        headers=bearer(keys.admin),
    )
    assert again.status_code == 409
    assert client.post("/api/v1/profiles/merge", json={"profile_ids": [a, "nope"], "reason": "x"},
                       headers=bearer(keys.admin)).status_code == 404  # fmt: skip
    # Undo: both back exactly as they were.
    r = client.post(f"/api/v1/merges/{out['merge_id']}/undo", headers=bearer(keys.admin))
    assert r.status_code == 200, r.text
    assert snapshot(engine, a) == before[a]
    assert snapshot(engine, b) == before[b]
    assert (
        client.post(
            f"/api/v1/merges/{out['merge_id']}/undo", headers=bearer(keys.admin)
        ).status_code
        == 409
    )
    assert client.post("/api/v1/profiles/merge", json={"profile_ids": [a, b], "reason": "x"},
                       headers=bearer(keys.marketer)).status_code == 403  # fmt: skip


def all_text(engine) -> list[str]:
    """Every text and JSON cell in the database."""
    out: list[str] = []
    with engine.connect() as c:
        for table in metadata.sorted_tables:
            cols = [col for col in table.columns if isinstance(col.type, String | Text | JSON)]
            for row in c.execute(select(*cols)) if cols else []:
                out.extend(str(v) for v in row if v is not None)
    return out


def test_erase_leaves_no_row_that_names_the_profile(client, keys, engine):
    a, b = two_profiles(client, keys, engine)
    client.post(
        "/api/v1/profiles/merge",
        json={"profile_ids": [a, b], "reason": "same"},
        headers=bearer(keys.admin),
    )
    names = [a, b, "C2", EMAIL2]
    assert any(n in cell for cell in all_text(engine) for n in names)
    r = client.delete(f"/api/v1/profiles/{a}", headers=bearer(keys.admin))
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["profiles"] == 2
    leftovers = [cell for cell in all_text(engine) for n in names if n in cell]
    assert leftovers == []
    with engine.connect() as c:
        record = c.execute(select(erasures)).mappings().one()
        assert record["counts"]["profiles"] == 2
        # The shopper's anonymous browsing stays (device counts), minus the events that named them.
        assert c.execute(select(func.count()).select_from(events)).scalar_one() > 0
    assert client.delete(f"/api/v1/profiles/{a}", headers=bearer(keys.admin)).status_code == 404
