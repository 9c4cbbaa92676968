"""The pushed fallback-code table: what it accepts, and what it refuses with a reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from edge_sync.protocol import topics
from edge_sync.protocol.tokens.code_table import CodeTable, parse_code_table
from edge_sync.protocol.tokens.fallback import fallback_of

from .test_tokens import SIGNER


def _token(n: int) -> str:
    return SIGNER.sign(
        "r",
        f"p-{n:020x}",
        campaign_id="spring",
        not_before=date(2026, 1, 1),
        not_after=date(2026, 12, 31),
    ).text


def _doc(**over) -> dict:
    tokens = [_token(n) for n in range(3)]
    doc = {
        "campaign_id": "spring",
        "issued_at": "2026-11-30T10:00:00Z",
        "codes": {fallback_of(t): t for t in tokens},
    }
    return doc | over


def test_a_table_round_trips_and_the_empty_payload_clears():
    doc = _doc()
    table = parse_code_table(json.dumps(doc).encode())
    assert isinstance(table, CodeTable)
    assert table.codes == doc["codes"]
    assert table.issued_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert parse_code_table(b"") is None
    assert topics.code_table("s042", "spring") == "omk/v1/down/s042/codes/spring"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"{not json", "not JSON"),
        (b'{"a":' * 10 + b"1" + b"}" * 10, "code table"),
        (json.dumps(_doc(codes={"7KQ2M9XD4TR": "X"})).encode(), "has 12 characters"),
        (json.dumps(_doc(codes={"7kq2m9xd4tr*": "X"})).encode(), "7kq2m9xd4tr*"),
        (json.dumps(_doc(campaign_id="a/b")).encode(), "campaign_id"),
        (json.dumps(_doc(extra=1)).encode(), "extra"),
    ],
)
def test_bad_tables_are_refused_saying_why(payload, says):
    with pytest.raises(ValueError) as err:
        parse_code_table(payload)
    assert says in str(err.value)
