"""What an ingest worker remembers of profiles (``domain.profiles.profile_cache``) never changes
a result: workers with and without it, alone or taking turns, around merges and failed
transactions, store exactly the same profiles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, select

from central_api.domain.fleet.counters import DeviceTypeCounts
from central_api.domain.identity.identity import merge, undo_merge
from central_api.domain.profiles.profile_cache import ProfileCache
from central_api.domain.profiles.profile_effects import ProfileEffects, recompute_all
from central_api.domain.scoring.active_rules import active_rules
from central_api.ingest import Incoming, Ingestor
from central_api.store.db import write_transaction
from central_api.store.profile_tables import profiles
from tests.central.helpers import batch_msg
from tests.central.test_profile_properties import scenario
from tests.central.test_profiles import shopper_session, snapshot


def uncached(engine: Engine) -> Ingestor:
    return Ingestor(engine, effects=(ProfileEffects(cache=None), DeviceTypeCounts()))


def cache_of(ing: Ingestor) -> ProfileCache:
    (cache,) = [e.cache for e in ing.effects if isinstance(e, ProfileEffects)]
    assert isinstance(cache, ProfileCache)
    return cache


def messages(evs: list[dict], size: int, device: str) -> list[Incoming]:
    return [
        batch_msg(evs[i : i + size], batch_id=f"{device}-{i}", device=device)
        for i in range(0, len(evs), size)
    ]


def test_a_remembering_worker_stores_what_a_reading_one_stores(engine: Engine) -> None:
    ref = uncached(engine)
    for m in messages(scenario("ref", "p-ref"), 3, "ref"):
        ref.process([m])
    ing = Ingestor(engine)
    for m in messages(scenario("alt", "p-alt"), 3, "alt"):
        ing.process([m])
    assert snapshot(engine, "p-alt") == snapshot(engine, "p-ref")
    assert snapshot(engine, "p-ref")["ledger"]
    assert cache_of(ing).hits > 0  # the later batches did not read the profile again


def test_workers_taking_turns_on_one_profile_agree(engine: Engine) -> None:
    """Two workers of a share group alternate: each must notice the other's writes."""
    ref = uncached(engine)
    for m in messages(scenario("ref", "p-ref"), 2, "ref"):
        ref.process([m])
    a, b = Ingestor(engine), Ingestor(engine)
    for n, m in enumerate(messages(scenario("alt", "p-alt"), 2, "alt")):
        (a if n % 2 == 0 else b).process([m])
    assert snapshot(engine, "p-alt") == snapshot(engine, "p-ref")
    # each saw the profile re-derived by the other since it last did: read it again
    assert cache_of(a).misses > 1 and cache_of(b).misses > 1


def test_a_merge_elsewhere_is_noticed(engine: Engine) -> None:
    """An admin merge (another process, no cache) between two batches of a worker."""

    def run(ing: Ingestor, tag: str) -> str:
        first = shopper_session(1, f"{tag}-s1", f"{tag}-x", True, f"{tag}d1")
        other = shopper_session(1, f"{tag}-s2", f"{tag}-y", True, f"{tag}d2", t0=600)
        later = shopper_session(20, f"{tag}-s3", f"{tag}-y", True, f"{tag}d1", t0=7200)
        ing.process([batch_msg(first, device=f"{tag}d1")])
        ing.process([batch_msg(other, device=f"{tag}d2")])
        now = datetime(2026, 12, 1, tzinfo=UTC)
        with write_transaction(engine) as conn:
            out = merge(conn, f"{tag}-x", f"{tag}-y", "same person", now)
            recompute_all(conn, [out["survivor"], out["merged"]], active_rules(conn), now)
        ing.process([batch_msg(later, batch_id="b2", device=f"{tag}d1")])
        return out["survivor"]

    want = snapshot(engine, run(uncached(engine), "r"))
    got = snapshot(engine, run(Ingestor(engine), "c"))
    assert got == want
    assert len(got["ledger"]) > len(snapshot(engine, "r-y")["ledger"])


def test_undo_of_a_merge_elsewhere_is_noticed(engine: Engine) -> None:
    def run(ing: Ingestor, tag: str) -> tuple[dict, dict]:
        ing.process([batch_msg(shopper_session(1, "s1", f"{tag}-x", True, f"{tag}d1"),
                               device=f"{tag}d1")])  # fmt: skip
        ing.process([batch_msg(shopper_session(1, "s2", f"{tag}-y", True, f"{tag}d2", t0=600),
                               device=f"{tag}d2")])  # fmt: skip
        now = datetime(2026, 12, 1, tzinfo=UTC)
        with write_transaction(engine) as conn:
            out = merge(conn, f"{tag}-x", f"{tag}-y", "same person", now)
            recompute_all(conn, [out["survivor"], out["merged"]], active_rules(conn), now)
        ing.process([batch_msg(shopper_session(20, "s3", f"{tag}-x", True, f"{tag}d1", t0=9000),
                               batch_id="b2", device=f"{tag}d1")])  # fmt: skip
        with write_transaction(engine) as conn:
            back = undo_merge(conn, out["merge_id"], now)
            recompute_all(conn, [back["survivor"], back["restored"]], active_rules(conn), now)
        ing.process([batch_msg(shopper_session(40, "s4", f"{tag}-y", True, f"{tag}d2", t0=20000),
                               batch_id="b3", device=f"{tag}d2")])  # fmt: skip
        return snapshot(engine, f"{tag}-x"), snapshot(engine, f"{tag}-y")

    assert run(Ingestor(engine), "c") == run(uncached(engine), "r")


class _FailOnce:
    """An effect after the profile effects that makes one transaction fail."""

    def __init__(self) -> None:
        self.armed = False

    def apply(self, conn, new_events, received_at) -> None:
        if self.armed:
            self.armed = False
            raise RuntimeError("boom")


def test_a_rolled_back_transaction_is_not_remembered(engine: Engine) -> None:
    cache = ProfileCache()
    fail = _FailOnce()
    ing = Ingestor(engine, effects=(ProfileEffects(cache=cache), DeviceTypeCounts(), fail))
    evs = scenario("alt", "p-alt")
    parts = messages(evs, 8, "alt")
    ing.process([parts[0]])

    def revision() -> int:
        with engine.connect() as conn:
            return conn.scalar(select(profiles.c.revision).where(profiles.c.id == "p-alt"))

    before = revision()
    known = cache.get("p-alt", before)
    assert known is not None
    fail.armed = True
    with pytest.raises(RuntimeError, match="boom"):
        ing.process([parts[1]])
    assert revision() == before
    assert cache.get("p-alt", before) is known  # unchanged by the failed attempt
    for m in parts[1:]:
        ing.process([m])
    ref = uncached(engine)
    for m in messages(scenario("ref", "p-ref"), 8, "ref"):
        ref.process([m])
    assert snapshot(engine, "p-alt") == snapshot(engine, "p-ref")


def test_the_cache_forgets_the_least_recently_used_beyond_its_size(engine: Engine) -> None:
    per_profile = len(shopper_session(1, "s", "p", True, "d"))  # all of them count
    cache = ProfileCache(max_facts=3 * per_profile - 1)
    ing = Ingestor(engine, effects=(ProfileEffects(cache=cache), DeviceTypeCounts()))
    for n in range(4):
        evs = shopper_session(1, f"s{n}", f"p{n}", True, f"d{n}")
        ing.process([batch_msg(evs, device=f"d{n}")])
    assert len(cache) == 2  # two fit, three do not
    with engine.connect() as conn:
        revs = dict(conn.execute(select(profiles.c.id, profiles.c.revision)).all())
    assert [cache.get(f"p{n}", revs[f"p{n}"]) is not None for n in range(4)] == [
        False, False, True, True,
    ]  # fmt: skip


def _reads_of_history(engine: Engine, run: Callable[[], object]) -> list[str]:
    """The statements ``run`` sends that read a profile's stored facts or ledger."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT") and (
            "JOIN profile_events" in statement or "FROM score_ledger" in statement
        ):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_profile_the_group_creates_is_derived_without_reading_its_history(
    engine: Engine,
) -> None:
    ref = uncached(engine)
    ref.process([batch_msg(scenario("ref", "p-ref"), device="ref")])
    ing = Ingestor(engine)
    new = batch_msg(scenario("alt", "p-alt"), device="alt")
    assert _reads_of_history(engine, lambda: ing.process([new])) == []
    assert snapshot(engine, "p-alt") == snapshot(engine, "p-ref")
    assert snapshot(engine, "p-ref")["ledger"]
    # A profile that was stored before (here by another worker) is read: nothing says
    # it has no history.
    other = Ingestor(engine)
    later = shopper_session(20, "alt-d", "p-alt", True, "alt2", t0=86400 * 5)
    assert _reads_of_history(engine, lambda: other.process([batch_msg(later, device="alt2")]))
