"""The verifier fuzzed: whatever it is given, it answers with a Token or InvalidToken, and
a code changed in any way (a flipped bit, a character, a cut) never verifies."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync.protocol.tokens import InvalidToken, Keyring, PublicKey, Reason, Signer, verify
from edge_sync.protocol.tokens.codec import to_text

NOW = datetime(2026, 6, 1, tzinfo=UTC)
_PRIVATE = Ed25519PrivateKey.generate()
RING = Keyring(
    [PublicKey.of(1, _PRIVATE.public_key().public_bytes_raw(), datetime(2025, 1, 1, tzinfo=UTC))]
)
SIGNER = Signer(1, _PRIVATE, "shop.example-retailer.com")
CODES = [
    SIGNER.sign("p", "p-0123456789abcdef0123", not_before=date(2026, 1, 1),
                not_after=date(2026, 12, 31)),
    SIGNER.sign("r", "prof-7", campaign_id="cmp-3", not_before=date(2026, 1, 1),
                not_after=date(2026, 12, 31), generation=4),
    SIGNER.sign("c", "spring.26", not_before=date(2026, 1, 1), not_after=date(2026, 12, 31)),
    SIGNER.sign("o", "4711", store_id="s_042", not_before=date(2026, 1, 1),
                not_after=date(2026, 12, 31)),
]  # fmt: skip
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def raw(token_text: str) -> bytes:
    return base64.b32decode(token_text + "=" * (-len(token_text) % 8))


def outcome(text: object) -> Reason | None:
    """None when it verifies; else the reason. Any other exception fails the test."""
    try:
        verify(text, RING, now=NOW)
    except InvalidToken as err:
        assert isinstance(err.reason, Reason)
        assert err.message("en") and err.message("de")
        return err.reason
    return None


def test_the_unchanged_codes_verify():
    for t in CODES:
        assert outcome(SIGNER.url(t)) is None
        assert outcome(t.text) is None


@FUZZ
@given(st.one_of(st.text(max_size=700), st.binary(max_size=700)))
def test_random_text_and_bytes(value):
    assert outcome(value) in (Reason.MALFORMED, Reason.UNKNOWN_KEY, Reason.BAD_SIGNATURE)


@FUZZ
@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcxyz", min_size=100, max_size=200),
    st.sampled_from(["", "https://shop.example-retailer.com/q/", "HTTPS://A.B/Q/"]),
)
def test_random_base32_in_a_code_url(body, prefix):
    assert outcome(prefix + body) in (
        Reason.MALFORMED, Reason.UNKNOWN_KEY, Reason.BAD_SIGNATURE,
    )  # fmt: skip


@FUZZ
@given(st.sampled_from(CODES), st.data())
def test_flipped_bits_never_verify(token, data):
    signed = bytearray(raw(token.text))
    n = data.draw(st.integers(1, 4))
    for bit in data.draw(st.lists(st.integers(0, len(signed) * 8 - 1), min_size=n, max_size=n,
                                  unique=True)):  # fmt: skip
        signed[bit // 8] ^= 1 << (bit % 8)
    assert outcome(to_text(bytes(signed))) in (
        Reason.MALFORMED, Reason.UNKNOWN_KEY, Reason.BAD_SIGNATURE,
    )  # fmt: skip


@FUZZ
@given(st.sampled_from(CODES), st.data())
def test_changed_characters_and_cuts_never_verify(token, data):
    text = SIGNER.url(token)
    start = len(text) - len(token.text)
    how = data.draw(st.sampled_from(["char", "cut", "insert", "drop"]))
    i = data.draw(st.integers(start, len(text) - 1))
    if how == "char":
        c = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567018/=-"))
        changed = text[:i] + c + text[i + 1 :]
        if changed.upper() == text.upper():
            return
    elif how == "cut":
        changed = text[:i]
    elif how == "insert":
        changed = text[:i] + data.draw(st.text(min_size=1, max_size=3)) + text[i:]
    else:
        changed = text[:i] + text[i + 1 :]
    assert outcome(changed) is not None


@FUZZ
@given(st.sampled_from(CODES), st.binary(min_size=1, max_size=40))
def test_bytes_appended_to_a_signed_code_never_verify(token, tail):
    # the signature is read from the end: it moves, and payload and signature disagree
    assert outcome(to_text(raw(token.text) + tail)) is not None
