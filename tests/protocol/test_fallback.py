"""Fallback codes: derived from the token, typed back in any reasonable way, typos caught."""

from __future__ import annotations

import contextlib
import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_sync.protocol.tokens import fallback
from edge_sync.protocol.tokens.fallback import BadFallback, display, fallback_of, parse

from .test_tokens import SIGNER

TOKEN = SIGNER.sign(
    "r",
    "p-0123456789abcdef0123",
    campaign_id="spring",
    not_before=date(2026, 1, 1),
    not_after=date(2026, 12, 31),
).text


def test_a_code_is_twelve_crockford_characters_and_stable():
    code = fallback_of(TOKEN)
    assert len(code) == 12
    assert all(c in fallback.ALPHABET for c in code[:11])
    assert code[11] in fallback.CHECK_SYMBOLS
    assert fallback_of(TOKEN) == code
    other = SIGNER.sign(
        "r",
        "p-0123456789abcdef0123",
        campaign_id="spring",
        generation=1,
        not_before=date(2026, 1, 1),
        not_after=date(2026, 12, 31),
    ).text
    assert fallback_of(other) != code


def test_typed_forms_read_back():
    code = fallback_of(TOKEN)
    shown = display(code)
    assert shown.count("-") == 2 and shown.replace("-", "") == code
    assert parse(shown) == code
    assert parse(f"  {shown.lower()} ") == code
    assert parse(code.replace("1", "l").replace("0", "o")) == code


def test_every_single_substitution_and_neighbour_swap_is_caught():
    code = fallback_of(TOKEN)
    for pos, c in itertools.product(range(12), fallback.CHECK_SYMBOLS):
        typo = code[:pos] + c + code[pos + 1 :]
        if typo == code:
            continue
        with pytest.raises(BadFallback):
            parse(typo)
    for pos in range(11):
        swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
        if swapped != code:
            with pytest.raises(BadFallback):
                parse(swapped)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("7KQ2-M9XD", "has 12 characters; this has 8"),
        ("7KQ2-M9XD-4TRU5", "this has 13"),
        ("7KQ2-M9XD-4T%*", "character 11 ('%')"),
        ("x" * 500, "far too long"),
        (b"7KQ2M9XD4TR*", "not text"),
    ],
)
def test_bad_input_says_what_to_check(typed, says):
    with pytest.raises(BadFallback) as err:
        parse(typed)
    assert says in str(err.value)


@given(st.text(max_size=40))
def test_parse_never_raises_anything_else(text):
    with contextlib.suppress(BadFallback):
        assert len(parse(text)) == 12
