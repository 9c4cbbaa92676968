"""Central verifies again the QR token a link or a campaign scan carries, and dead-letters
one that does not hold up as ``bad_token``; the other events of its batch are stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from central_api.domain.identity.erasure import erase_profile
from central_api.domain.tokens.check import TokenCheck
from central_api.domain.tokens.revocations import in_force, revoke
from central_api.ingest import Ingestor
from central_api.store.db import write_transaction
from central_api.store.profile_tables import profiles, session_links
from central_api.store.tables import dead_letters, events
from edge_sync.protocol import Ack
from edge_sync.protocol.tokens import (
    Keyring,
    PublicKey,
    Signer,
    Token,
    campaign_scope,
    profile_scope,
    scope_hash,
)
from tests.central.helpers import T0, batch_msg, event

_KEY = Ed25519PrivateKey.generate()
SIGNER = Signer(1, _KEY, "shop.example.com")
RING = Keyring([PublicKey.of(1, _KEY.public_key().public_bytes_raw(), datetime(2025, 1, 1, tzinfo=UTC))])  # fmt: skip
NB, NA = date(2026, 1, 1), date(2026, 12, 31)


def sign(kind: str = "p", subject: str = "prof-1", **kw) -> Token:
    kw.setdefault("not_before", NB)
    kw.setdefault("not_after", NA)
    return SIGNER.sign(kind, subject, **kw)


def link(seq: int, tok: Token, session: str = "sess-1", **data_over) -> dict:
    data = {"token": tok.text, "profile_id": tok.profile_id, "method": "qr",
            "token_kind": tok.kind.value, "campaign_id": tok.fields.campaign_id,
            "token_hash": tok.token_hash, **data_over}  # fmt: skip
    return event(seq, "visit.linked", v=2, data=data, session_id=session)


def scan(seq: int, tok: Token, **data_over) -> dict:
    data = {"token": tok.text, "campaign_id": tok.campaign_id,
            "recipient_id": tok.profile_id, "token_hash": tok.token_hash, **data_over}  # fmt: skip
    return event(seq, "campaign.scanned", v=2, data=data)


@pytest.fixture
def strict(engine) -> Ingestor:
    return Ingestor(engine, tokens=TokenCheck(RING))


def answer(ingestor: Ingestor, evs: list[dict]) -> Ack:
    (out,) = ingestor.process([batch_msg(evs, at=T0)])
    return Ack.model_validate_json(out.payload)


def rejected(ack: Ack) -> dict[int, str]:
    return {r.seq: r.reason.value for r in ack.rejected}


def stored_ids(engine) -> set[str]:
    with engine.connect() as c:
        return set(c.execute(select(events.c.id)).scalars())


def test_good_links_and_scans_are_stored_and_link_their_session(engine, strict):
    p, r, c = sign("p", "prof-1"), sign("r", "prof-2", campaign_id="cmp-1"), sign("c", "cmp-9")
    evs = [event(1), link(2, p), scan(3, r), link(4, r, session="sess-2"), scan(5, c)]
    ack = answer(strict, evs)
    assert ack.rejected == [] and ack.acked == [(1, 5)]
    with engine.connect() as conn:
        links = {r.session_id: r.profile_id for r in conn.execute(select(session_links))}
    assert links == {"sess-1": "prof-1", "sess-2": "prof-2"}


def test_tampered_forged_or_mismatched_tokens_are_bad_token_and_the_rest_is_stored(engine, strict):
    good = sign("p", "prof-1")
    # A device that swaps the profile in the token's text (one base32 character).
    i = len(good.text) - 70
    c = "A" if good.text[i] != "A" else "B"
    tampered = good.text[:i] + c + good.text[i + 1 :]
    forger = Signer(1, Ed25519PrivateKey.generate(), "shop.example.com")
    forged = forger.sign("p", "prof-666", not_before=NB, not_after=NA)
    evs = [
        event(1),
        link(2, good, token=tampered),
        link(3, forged),
        link(4, good, profile_id="prof-999"),  # a valid token, another customer claimed
        link(5, sign("p", "prof-1", not_after=date(2026, 3, 1))),  # expired when it happened
        # a pickup code does not link a visit
        link(6, sign("o", "ord-1", store_id="s1"), profile_id="prof-1", token_kind="p"),
        scan(7, sign("c", "cmp-1"), campaign_id="cmp-2"),
        link(8, good),
        event(9, "visit.linked", data={"profile_id": "prof-5", "method": "qr"}),  # v1
    ]
    ack = answer(strict, evs)
    assert ack.acked == [(1, 1), (8, 8)]
    assert rejected(ack) == dict.fromkeys([2, 3, 4, 5, 6, 7, 9], "bad_token")
    details = {r.seq: r.detail for r in ack.rejected}
    assert "bad_signature" in details[3] and "profile_id 'prof-999'" in details[4]
    assert "expired" in details[5] and "wrong_kind" in details[6]
    assert "v1 carries no QR token" in details[9]
    assert stored_ids(engine) == {evs[0]["id"], evs[7]["id"]}
    with engine.connect() as conn:
        assert set(conn.execute(select(profiles.c.id)).scalars()) == {"prof-1"}
        dead = conn.execute(select(dead_letters.c.reason, dead_letters.c.seq)).all()
    assert sorted(dead) == [("bad_token", s) for s in (2, 3, 4, 5, 6, 7, 9)]


def test_a_bare_ingestor_accepts_untokened_v1_links_only(engine, ingestor):
    ack = answer(ingestor, [event(1, "visit.linked", data={"profile_id": "p-1", "method": "qr"}),
                            link(2, sign())])  # fmt: skip
    assert ack.acked == [(1, 1)] and rejected(ack) == {2: "bad_token"}


def test_revoked_tokens_are_refused_from_the_commit_of_the_revocation(engine, strict):
    p = sign("p", "prof-1")
    r1 = sign("r", "prof-2", campaign_id="cmp-1", generation=1)
    r2 = sign("r", "prof-3", campaign_id="cmp-1", generation=2)
    assert answer(strict, [link(1, p)]).acked == [(1, 1)]
    with write_transaction(engine) as conn:
        erase_profile(conn, "prof-1", "test", T0)  # revokes the profile's codes
        revoke(conn, [campaign_scope("cmp-1")], T0, generation=1)  # rotated: gen 1 and older
    with engine.connect() as conn:
        hashes = {r.scope for r in in_force(conn, T0.date())}
    assert hashes == {scope_hash(profile_scope("prof-1")), scope_hash(campaign_scope("cmp-1"))}
    ack = answer(strict, [link(2, p, session="s-2"), link(3, r1, session="s-3"),
                          link(4, r2, session="s-4"), scan(5, r1), event(6)])  # fmt: skip
    assert rejected(ack) == {2: "bad_token", 3: "bad_token", 5: "bad_token"}
    assert ack.acked == [(4, 4), (6, 6)]
    assert all(r.detail == "token is revoked" for r in ack.rejected)
    with engine.connect() as conn:
        # the erased profile is not made again by a link arriving after its erasure
        assert set(conn.execute(select(profiles.c.id)).scalars()) == {"prof-3"}


def test_a_resent_batch_with_a_bad_token_is_answered_the_same(engine, strict):
    evs = [event(1), link(2, sign("p", "prof-1"), profile_id="prof-2")]
    first, again = answer(strict, evs), answer(strict, evs)
    assert first == again and rejected(first) == {2: "bad_token"}
    with engine.connect() as conn:
        n = conn.execute(select(dead_letters.c.payload)).scalars().all()
    assert len(n) == 2 and all(json.loads(p)["seq"] == 2 for p in n)


def test_erasing_a_recipient_removes_the_scans_that_name_them(engine, strict):
    r = sign("r", "prof-2", campaign_id="cmp-1")
    other = sign("r", "prof-4", campaign_id="cmp-1")
    evs = [link(1, r), scan(2, r), scan(3, other)]
    assert answer(strict, evs).acked == [(1, 3)]
    with write_transaction(engine) as conn:
        erase_profile(conn, "prof-2", "test", T0)
    assert stored_ids(engine) == {evs[2]["id"]}
