"""Property (hypothesis), through the real ingest path and database: any permutation,
grouping and duplication of a set of events gives identical scores, grades, stages,
journeys and funnel counts."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from central_api.domain.journeys.funnel import StageRow, funnel
from central_api.ingest import Ingestor
from central_api.store.profile_tables import stages_reached
from tests.central.helpers import batch_msg
from tests.central.test_profiles import shopper_session, snapshot

_runs = itertools.count()


def funnel_counts(engine, profile: str) -> list:
    with engine.connect() as c:
        rows = [
            StageRow(r.profile_id, r.stage, r.first_reached_at, r.campaign_id, r.store_id)
            for r in c.execute(select(stages_reached).where(stages_reached.c.profile_id == profile))
        ]
    return [(s.stage, s.profiles, s.drop_off_from_previous) for s in funnel(rows).stages]


def ingest(engine, evs: list[dict], cuts: list[int], device: str) -> None:
    ing = Ingestor(engine)
    bounds = [0, *sorted(set(cuts)), len(evs)]
    for n, (i, j) in enumerate(itertools.pairwise(bounds)):
        if i < j:
            ing.process([batch_msg(evs[i:j], batch_id=f"b{n}", device=device)])


def scenario(device: str, profile: str) -> list[dict]:
    return (
        shopper_session(1, f"{device}-a", profile, True, device)
        + shopper_session(30, f"{device}-b", profile, False, device, t0=900)
        + shopper_session(60, f"{device}-c", profile, True, device, t0=86400 * 3)
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_permutations_groupings_and_duplicates_give_identical_profiles(engine, data):
    run = next(_runs)
    # The reference: in order, one batch.
    ref_device, ref_profile = f"ref{run}", f"pref-{run}"
    ref_events = scenario(ref_device, ref_profile)
    ingest(engine, ref_events, [], ref_device)
    # The same facts, shuffled, resent in part, and cut into arbitrary batches.
    device, profile = f"alt{run}", f"palt-{run}"
    evs = scenario(device, profile)
    evs = data.draw(st.permutations(evs + data.draw(st.lists(st.sampled_from(evs), max_size=6))))
    cuts = data.draw(st.lists(st.integers(1, len(evs) - 1), max_size=5))
    ingest(engine, evs, cuts, device)
    a, b = snapshot(engine, ref_profile), snapshot(engine, profile)
    assert a["ledger"], "the scenario must score"
    assert b == a
    assert funnel_counts(engine, profile) == funnel_counts(engine, ref_profile)
