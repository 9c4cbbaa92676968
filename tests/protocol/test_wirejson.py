"""The bounded JSON reader: the same values as ``json.loads`` for ordinary JSON, and
flaws noted at their place (never an exception) for depth, Unicode and long numbers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_sync.protocol import DeadLetterReason, wirejson
from edge_sync.protocol.wirejson import TOO_DEEP, Malformed, _Parser

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False)
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=5), inner, max_size=4
        )
    ),
    max_leaves=30,
)


def slow(payload: bytes, max_depth: int = 64) -> wirejson.Parsed:
    """The bounded parser itself (``loads`` only uses it when the fast one fails)."""
    return _Parser(payload.decode("utf-8", "surrogateescape"), max_depth).parse()


def same(a: Any, b: Any) -> bool:
    return repr(a) == repr(b) or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    )


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 2]), st.booleans())
def test_ordinary_json_reads_as_json_loads_reads_it(value: Any, indent, ascii_only) -> None:
    payload = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    expected = json.loads(payload)
    parsed = slow(payload)
    assert parsed.flaws == []
    assert repr(parsed.doc) == repr(expected)
    assert repr(wirejson.loads(payload, 64).doc) == repr(expected)


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b"[1,]", b'{"a" 1}', b'{"a":1,}', b"01", b"1.", b'"\\x"', b'"a\nb"', b"nul",
     b"[1] 2", b"\xff", b'{"a": [}', b"[" * 5 + b"]" * 4, b'{1: 2}', b"\xef\xbb\xbf{}"],
)  # fmt: skip
def test_what_is_not_json_is_malformed_on_both_paths(payload: bytes) -> None:
    with pytest.raises(Malformed):
        wirejson.loads(payload, 64)
    with pytest.raises(Malformed):
        slow(payload)


def test_nan_and_infinity_as_json_loads_reads_them() -> None:
    doc = slow(b"[NaN, Infinity, -Infinity, 1e999, -0]").doc
    assert math.isnan(doc[0]) and doc[1:4] == [math.inf, -math.inf, math.inf] and doc[4] == 0


def test_too_deep_subtrees_are_replaced_where_they_are() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # far past any recursion limit
    payload = b'{"events": [{"seq": 1, "data": {"x": %s}}, {"seq": 2, "data": {}}]}' % deep
    parsed = wirejson.loads(payload, 4)  # x's list would be level 5
    assert parsed.doc == {"events": [{"seq": 1, "data": {"x": TOO_DEEP}}, {"seq": 2, "data": {}}]}
    (flaw,) = parsed.flaws
    assert flaw.reason is DeadLetterReason.TOO_DEEP
    assert flaw.path[:4] == ("events", 0, "data", "x")
    assert "events[0].data.x" in flaw.detail
    # exactly at the limit is fine, one more is not
    assert slow(b"[" * 8 + b"]" * 8, 8).flaws == []
    assert [f.reason for f in slow(b"[" * 9 + b"]" * 9, 8).flaws] == [DeadLetterReason.TOO_DEEP]
    # brackets inside strings do not count
    assert slow(b'[["]]]]"], 1]', 1).doc == [TOO_DEEP, 1]


def test_bad_strings_and_keys_are_repaired_and_noted() -> None:
    payload = b'{"events": [{"a": "\\ud800"}, {"b\\udc00": 1}, {"c": "caf\xe9"}, {"d": "ok"}]}'
    parsed = wirejson.loads(payload, 8)
    assert parsed.doc["events"] == [
        {"a": "\ufffd"},
        {"b\ufffd": 1},
        {"c": "caf\ufffd"},
        {"d": "ok"},
    ]
    assert [(f.reason, f.path[:2]) for f in parsed.flaws] == [
        (DeadLetterReason.BAD_UNICODE, ("events", i)) for i in range(3)
    ]
    json.dumps(parsed.doc).encode("utf-8")  # everything in it can be written again
    # a surrogate pair is one valid character
    assert wirejson.loads(b'"\\ud83d\\ude00"', 8).doc == "\U0001f600"


def test_numbers_too_long_to_read_are_noted() -> None:
    parsed = wirejson.loads(b"[1, %s, 3]" % (b"9" * 5000), 8)
    assert parsed.doc == [1, None, 3]
    assert [f.reason for f in parsed.flaws] == [DeadLetterReason.OUT_OF_RANGE]
    assert wirejson.loads(b"9" * 4300, 8).doc == int("9" * 4300)


def test_one_flaw_kept_per_event() -> None:
    bad = b'{"a": "\\ud800", "b": "\\ud800"}'
    parsed = wirejson.loads(b'{"events": [%s]}' % b", ".join([bad] * 1000), 8)
    assert len(parsed.flaws) == 1000


def test_depth_over() -> None:
    assert not wirejson.depth_over(1, 0)
    assert not wirejson.depth_over({"a": [1]}, 2)
    assert wirejson.depth_over({"a": [1]}, 1)
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    assert wirejson.depth_over(nested, 32)  # iterative: no RecursionError
