"""Whatever the camera reads or staff type, the scan action answers with a typed outcome
and a message in English and German, never raises, and only puts valid events in the
outbox. (The plugin fails the test if anything is logged as an exception.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync.protocol import REGISTRY
from edge_sync.protocol.tokens.fallback import fallback_of
from kiosk.controllers.scan import ACCEPTED, Outcome, ScanAction, ScanOutcome
from tests.kiosk.scan_helpers import (
    NOW,
    SIGNER,
    STORE,
    Device,
    campaign_entry,
    list_doc,
    sign,
    table_doc,
)

GOOD = [sign("p", "p-0a"), sign("r", "p-0b", campaign_id="cmp-1"), sign("c", "cmp-1"),
        sign("c", "cmp-x"), sign("o", "ord-1", store_id=STORE), sign("o", "ord-2", store_id="s9")]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real code, damaged the way print and cameras damage them (or not at all)."""
    text = draw(st.sampled_from(GOOD)).text
    if draw(st.booleans()):
        text = SIGNER.url(draw(st.sampled_from(GOOD)))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["flip", "cut", "drop", "lower", "insert"]))
        c = draw(st.characters(codec="ascii"))
        if op == "flip":
            text = text[:i] + c + text[i + 1 :]
        elif op == "cut":
            text = text[:i]
        elif op == "drop":
            text = text[:i] + text[i + 1 :]
        elif op == "lower":
            text = text.lower()
        else:
            text = text[:i] + c + text[i:]
        if not text:
            break
    return text


SCANNED = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=600),
    mutated(),
    st.sampled_from([t.text for t in GOOD]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=10, max_size=700),
)
TYPED = st.one_of(
    st.text(max_size=40),
    st.sampled_from([fallback_of(t.text) for t in GOOD[:3]]),
    st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U -iloIL", min_size=10, max_size=16),
)


@pytest.fixture(scope="module")
def fuzz_device(tmp_path_factory) -> Iterator[Device]:
    d = Device(tmp_path_factory.mktemp("fuzz") / "edge.db")
    d.keys()
    d.campaigns(list_doc([campaign_entry("cmp-1")]))
    d.table(table_doc("cmp-1", GOOD[1:3], "2026-06-01T08:00:00Z"))
    yield d
    d.close()


def check(device: Device, run) -> None:
    before = device.outbox.max_seq()
    out = run(ScanAction(device.client))
    assert isinstance(out, ScanOutcome) and isinstance(out.outcome, Outcome)
    assert out.outcome is not Outcome.NOT_RECORDED  # the outbox has room: only a bug gets here
    assert out.message("en") and out.message("de")
    assert (out.token is not None) is (out.outcome in ACCEPTED)
    rows = device.outbox.fetch(before, 100, 2**30)
    assert [json.loads(r.payload)["type"] for r in rows] == list(out.recorded)
    for r in rows:
        e = json.loads(r.payload)
        REGISTRY.validate_data(e["type"], e["v"], e["data"])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scanned=SCANNED, session=st.sampled_from(["s1", "s2", None]))
def test_any_scan_is_answered_and_never_raises(fuzz_device, scanned, session):
    check(fuzz_device, lambda a: a.scan(scanned, session, now=NOW))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed=TYPED, session=st.sampled_from(["s1", "s2"]))
def test_any_typed_code_is_answered_and_never_raises(fuzz_device, typed, session):
    check(fuzz_device, lambda a: a.typed(typed, session, now=NOW))
