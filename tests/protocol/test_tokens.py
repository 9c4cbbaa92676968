"""QR tokens: the format, every rejection reason, key rotation, and the size of a code."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from qrcode.constants import ERROR_CORRECT_M

from edge_sync.protocol.tokens import (
    MESSAGES,
    InvalidToken,
    Keyring,
    Kind,
    PublicKey,
    Reason,
    Revocation,
    Revocations,
    Signer,
    TooLong,
    campaign_scope,
    keys_message,
    parse_keys_message,
    profile_scope,
    scope_hash,
    token_scope,
    verify,
)
from edge_sync.protocol.tokens.codec import QR_V7_M_ALNUM, max_payload_for

HOST = "shop.example-retailer.com"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NB, NA = date(2026, 1, 1), date(2026, 12, 31)
PROFILE = "p-0123456789abcdef0123"  # central's own profile ids: p- and 20 hex digits
T_KEY = datetime(2025, 1, 1, tzinfo=UTC)


def keypair(kid: int = 1, not_after: datetime | None = None) -> tuple[Signer, PublicKey]:
    private = Ed25519PrivateKey.generate()
    public = PublicKey.of(kid, private.public_key().public_bytes_raw(), T_KEY, not_after)
    return Signer(kid, private, HOST), public


SIGNER, PUBLIC = keypair()
RING = Keyring([PUBLIC])


def code(kind: str = "p", subject: str = PROFILE, **kw) -> str:
    kw.setdefault("not_before", NB)
    kw.setdefault("not_after", NA)
    if kind == "r":
        kw.setdefault("campaign_id", "cmp-1")
    if kind == "o":
        kw.setdefault("store_id", "s042")
    return SIGNER.url(SIGNER.sign(kind, subject, **kw))


def reason_of(text: object, ring: Keyring = RING, **kw) -> Reason:
    kw.setdefault("now", NOW)
    with pytest.raises(InvalidToken) as exc:
        verify(text, ring, **kw)
    return exc.value.reason


def qr_version(text: str) -> int:
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    q.add_data(text)
    q.make(fit=True)
    return q.version


@pytest.mark.parametrize(
    ("kind", "subject", "extra", "profile", "campaign", "store"),
    [
        ("p", PROFILE, {}, PROFILE, None, None),
        ("r", "prof-17", {"campaign_id": "cmp-2"}, "prof-17", "cmp-2", None),
        ("c", "spring-26", {}, None, "spring-26", None),
        ("o", "100042", {"store_id": "s042"}, None, None, "s042"),
    ],
)
def test_every_kind_round_trips_as_url_bare_token_lower_case_and_bytes(
    kind, subject, extra, profile, campaign, store
):
    token = SIGNER.sign(kind, subject, not_before=NB, not_after=NA, generation=3, **extra)
    url = SIGNER.url(token)
    assert url == f"HTTPS://{HOST.upper()}/Q/{token.text}"
    for text in (url, url.lower(), f"https://{HOST}/q/{token.text}", token.text,
                 token.text.lower(), f"  {url}\n", url.encode()):  # fmt: skip
        got = verify(text, RING, now=NOW, store_id="s042")
        assert got.fields == token.fields
        assert got.token_hash == token.token_hash and got.text == token.text
    assert (got.kind.value, got.subject, got.profile_id) == (kind, subject, profile)
    assert (got.campaign_id, got.store_id, got.fields.generation) == (campaign, store, 3)
    assert got.kid == 1


def longest(kind: str) -> tuple[str, dict]:
    """The longest ids a code of this kind can carry with HOST (the signer refuses more)."""
    room = max_payload_for(HOST) - 7  # the fixed header
    if kind == "p":
        return "p-" + "ab" * (room - 1), {}
    if kind == "c":
        return "C" * ((room - 1) * 8 // 6), {}
    if kind == "r":
        left = room - 11  # a central profile id: one header byte, ten bytes of hex
        return PROFILE, {"campaign_id": "K" * ((left - 1) * 8 // 6)}
    return "O" * ((room - 1 - 5) * 8 // 6), {"store_id": "s0042"}  # store: 1 + 4 bytes


@pytest.mark.parametrize("kind", ["p", "c", "r", "o"])
def test_the_longest_code_of_every_kind_fits_qr_version_7_at_level_m(kind):
    subject, extra = longest(kind)
    token = SIGNER.sign(kind, subject, not_before=NB, not_after=NA, **extra)
    url = SIGNER.url(token)
    assert qr_version(url) <= 7, (kind, len(url))
    assert len(url) <= QR_V7_M_ALNUM
    print(f"longest {kind} code: {len(url)} characters, QR version {qr_version(url)}-M")
    # One character more in an id and the signer refuses, saying what to shorten.
    longer = {k: v + "X" for k, v in extra.items()} if extra and kind != "o" else extra
    bigger = subject + ("ab" if kind == "p" else "X") if not extra or kind == "o" else subject
    with pytest.raises(TooLong, match="use shorter ids"):
        SIGNER.sign(kind, bigger, not_before=NB, not_after=NA, **longer)


def test_typical_codes_are_small():
    assert qr_version(code("p")) <= 7
    assert qr_version(code("r", PROFILE, campaign_id="cmp-12")) <= 7
    assert qr_version(code("o", "ord-100000000042", store_id="s042")) <= 7


def test_forged_tampered_and_foreign_codes():
    forger, _ = keypair(kid=1)  # same key id, another key
    forged = forger.url(forger.sign("p", PROFILE, not_before=NB, not_after=NA))
    assert reason_of(forged) is Reason.BAD_SIGNATURE
    # The same payload with another profile and the original signature.
    mine = SIGNER.sign("p", PROFILE, not_before=NB, not_after=NA)
    other = SIGNER.sign("p", "p-" + "ff" * 10, not_before=NB, not_after=NA)
    raw_mine = base64.b32decode(mine.text + "=" * (-len(mine.text) % 8))
    raw_other = base64.b32decode(other.text + "=" * (-len(other.text) % 8))
    spliced = base64.b32encode(raw_other[:-64] + raw_mine[-64:]).decode().rstrip("=")
    assert reason_of(spliced) is Reason.BAD_SIGNATURE
    stranger, _ = keypair(kid=9)
    assert reason_of(stranger.url(stranger.sign("p", PROFILE, not_before=NB, not_after=NA))) is (
        Reason.UNKNOWN_KEY
    )


def test_validity_days_are_inclusive_utc():
    text = code(not_before=date(2026, 6, 1), not_after=date(2026, 6, 1))
    assert verify(text, RING, now=datetime(2026, 6, 1, 0, 0, tzinfo=UTC))
    assert verify(text, RING, now=datetime(2026, 6, 1, 23, 59, 59, tzinfo=UTC))
    assert reason_of(text, now=datetime(2026, 6, 2, tzinfo=UTC)) is Reason.EXPIRED
    assert reason_of(text, now=datetime(2026, 5, 31, 23, 59, tzinfo=UTC)) is Reason.NOT_YET_VALID


def test_revoked_by_profile_campaign_generation_or_code():
    p, r = code("p", generation=2), code("r", generation=2)
    t = verify(p, RING, now=NOW)
    by_profile = Revocations([Revocation(scope_hash(profile_scope(PROFILE)), 255, NA)])
    assert reason_of(p, revoked=by_profile) is Reason.REVOKED
    assert reason_of(r, revoked=by_profile) is Reason.REVOKED  # the recipient is the profile
    older = Revocations([Revocation(scope_hash(campaign_scope("cmp-1")), 1, NA)])
    assert verify(r, RING, now=NOW, revoked=older)  # generation 2 is newer than the revoked 1
    rotated = Revocations([Revocation(scope_hash(campaign_scope("cmp-1")), 2, NA)])
    assert reason_of(r, revoked=rotated) is Reason.REVOKED
    assert verify(p, RING, now=NOW, revoked=rotated)  # a check-in code is in no campaign
    one = Revocations([Revocation(scope_hash(token_scope(t.token_hash)), 255, NA)])
    assert reason_of(p, revoked=one) is Reason.REVOKED
    assert verify(code("p", generation=3), RING, now=NOW, revoked=one)


def test_wrong_kind_other_store_and_used_pickup():
    assert reason_of(code("o"), kinds=["p", "r"]) is Reason.WRONG_KIND
    assert reason_of(code("c", "cmp-1"), kinds=[Kind.PROFILE]) is Reason.WRONG_KIND
    pickup = code("o", "ord-1", store_id="s042")
    assert verify(pickup, RING, now=NOW, store_id="s042")
    assert reason_of(pickup, store_id="s007") is Reason.NOT_FOR_THIS_STORE
    h = verify(pickup, RING, now=NOW).token_hash
    assert reason_of(pickup, used={h}) is Reason.ALREADY_USED
    assert reason_of(pickup, used=lambda x: x == h) is Reason.ALREADY_USED
    assert verify(code("p"), RING, now=NOW, used={h})  # only pickup codes are one-time


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "hello", "https://shop.example-retailer.com/q/", "HTTPS://x.com/Q/ABC1",
        "https://shop.example-retailer.com/q/" + "A" * 141 + "?utm=1", "ftp://x.com/q/AAAA",
        "A" * 141, "2" * 7, "€uro", "AAAAAAA=", "\x00" * 10, "K" * 5000, b"\xff\xfe\x00",
        b"A" * 10_000, None, 17, 3.5, ["A"], {"t": "A"}, bytearray(b"AAAA"),
    ],
)  # fmt: skip
def test_garbage_binary_and_oversized_input_is_malformed(text):
    assert reason_of(text) is Reason.MALFORMED


def test_non_canonical_base32_is_malformed():
    # base32 of 88 bytes leaves one unused bit in the last character: setting it must not
    # give the same code a second text
    token = SIGNER.sign("p", PROFILE, not_before=NB, not_after=NA)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    unused = (len(token.text) * 5) - (len(token.text) * 5 // 8) * 8
    assert unused > 0
    last = alphabet.index(token.text[-1])
    variant = token.text[:-1] + alphabet[last | 1]
    assert variant != token.text
    assert reason_of(variant) is Reason.MALFORMED


def test_retired_key_verifies_until_its_end_and_not_after():
    """Rotation: a new key signs; codes of the old key verify until it is retired."""
    old_signer, old_public = keypair(kid=1)
    new_signer, new_public = keypair(kid=2)
    old_code = old_signer.url(old_signer.sign("p", PROFILE, not_before=NB, not_after=NA))
    new_code = new_signer.url(new_signer.sign("p", PROFILE, not_before=NB, not_after=NA))
    both = Keyring([old_public, new_public])
    assert verify(old_code, both, now=NOW).kid == 1
    assert verify(new_code, both, now=NOW).kid == 2
    end = NOW + timedelta(days=30)
    retired = Keyring([PublicKey.of(1, old_public.public, T_KEY, end), new_public])
    assert verify(old_code, retired, now=end - timedelta(seconds=1)).kid == 1
    assert reason_of(old_code, retired, now=end) is Reason.EXPIRED
    assert verify(new_code, retired, now=end).kid == 2


def test_every_reason_has_plain_words_in_english_and_german():
    assert set(MESSAGES) == set(Reason)
    for texts in MESSAGES.values():
        assert texts["en"] and texts["de"] and texts["en"] != texts["de"]
    err = InvalidToken(Reason.EXPIRED)
    assert err.message("de") == "Dieser Code ist abgelaufen."
    assert err.message("fr") == err.message("en")


def test_signer_refuses_what_no_code_can_say():
    for kwargs in (
        {"kind": "p", "subject": "has space"},
        {"kind": "p", "subject": ""},
        {"kind": "p", "subject": "p-1", "campaign_id": "c1"},
        {"kind": "r", "subject": "p-1"},
        {"kind": "o", "subject": "o-1"},
        {"kind": "o", "subject": "o-1", "store_id": "Bad Store"},
        {"kind": "p", "subject": "p-1", "generation": 256},
    ):
        kind, subject = kwargs.pop("kind"), kwargs.pop("subject")
        with pytest.raises(ValueError):
            SIGNER.sign(kind, subject, not_before=NB, not_after=NA, **kwargs)
    with pytest.raises(ValueError, match="before"):
        SIGNER.sign("p", "p-1", not_before=NA, not_after=NB)
    # longer than central keeps revocations: such a code could outlive its revocation
    with pytest.raises(ValueError, match="at most"):
        SIGNER.sign("p", "p-1", not_before=NB, not_after=date.today() + timedelta(days=1200))


def test_keys_message_round_trip_and_hostile_messages():
    revoked = [Revocation(scope_hash(profile_scope(PROFILE)), 255, NA)]
    msg = keys_message(RING, revoked, NOW)
    back = parse_keys_message(msg.model_dump_json().encode())
    assert back == msg
    assert [k.kid for k in back.keyring()] == [1]
    assert reason_of(code(), back.keyring(), revoked=back.revocations()) is Reason.REVOKED
    good = json.loads(msg.model_dump_json())
    dup = {**good, "keys": good["keys"] * 2}
    bad_key = {**good, "keys": [{**good["keys"][0], "public": "A" * 42}]}
    extra = {**good, "surprise": 1}
    many = {**good, "revoked": [good["revoked"][0]] * 50_001}
    deep = {**good, "keys": [[[[[[[]]]]]]]}
    for doc in (dup, bad_key, extra, many, deep, [], "keys", None, {"v": 2}):
        with pytest.raises(ValueError):
            parse_keys_message(json.dumps(doc).encode())
    for payload in (b"", b"{", b"\xff" * 10, b"[" * 100_000, b" " * (4 * 2**20 + 1)):
        with pytest.raises(ValueError):
            parse_keys_message(payload)
