"""``survey.answered`` through the real ingest path (SQLite and PostgreSQL): whose answer
it is, what it does to the journey and the funnel, and the store's own counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from central_api.domain.journeys.feedback import store_feedback
from central_api.domain.journeys.funnel import funnel, rows_for
from central_api.domain.journeys.journeys import timeline
from central_api.domain.online.online import ingest_online
from central_api.domain.profiles.profile_facts import load_facts
from central_api.domain.scoring.active_rules import active_rules
from central_api.ingest import Ingestor
from central_api.store.profile_tables import (
    order_events,
    profile_aliases,
    profile_events,
    profiles,
    stages_reached,
    touchpoints,
)
from edge_sync.protocol import format_ts, new_event_id
from tests.central.helpers import batch_msg, event

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=2)


def _kiosk(seq: int, type_: str, data: dict[str, Any], t: datetime, session: str | None):
    return event(seq, type_, occurred_at=format_ts(t), session_id=session, data=data)


def _online(type_: str, data: dict[str, Any], t: datetime, customer: str) -> dict[str, Any]:
    return {"id": new_event_id(), "type": type_, "v": 1, "source": "shop", "channel": "web",
            "occurred_at": format_ts(t), "customer_id": customer, "data": data}  # fmt: skip


def _post(engine: Engine, docs: list[dict[str, Any]]) -> None:
    with engine.connect() as conn:
        active = active_rules(conn)
    got = ingest_online(engine, docs, LATER, active)
    assert got.accepted == [d["id"] for d in docs], got


def _profile_of_customer(engine: Engine, customer: str) -> str:
    with engine.connect() as c:
        return c.execute(
            select(profile_aliases.c.profile_id).where(
                profile_aliases.c.kind == "customer_id", profile_aliases.c.value == customer
            )
        ).scalar_one()


def _owners(engine: Engine, event_id: str) -> set[str]:
    with engine.connect() as c:
        q = select(profile_events.c.profile_id).where(profile_events.c.event_id == event_id)
        return set(c.scalars(q))


def _tasks(engine: Engine, pid: str) -> list[str]:
    with engine.connect() as c:
        q = select(touchpoints.c.task).where(touchpoints.c.profile_id == pid)
        return sorted(c.scalars(q.order_by(touchpoints.c.occurred_at)))


def _stages(engine: Engine, pid: str) -> dict[str, datetime]:
    with engine.connect() as c:
        rows = c.execute(select(stages_reached).where(stages_reached.c.profile_id == pid))
        return {r.stage: r.first_reached_at for r in rows}


CONSENT = {"purpose": "profiling", "granted": True, "method": "web_form", "text_version": "v1"}


def test_pickup_feedback_before_its_order_belongs_to_who_placed_it(engine):
    survey = _kiosk(1, "survey.answered",
                    {"context": "pickup", "rating": 5, "reason": "quick", "order_id": "o-9"},
                    T0 + timedelta(minutes=30), "sess-9")  # fmt: skip
    Ingestor(engine).process([batch_msg([survey])])
    assert _owners(engine, survey["id"]) == set()  # the order is not known yet
    with engine.connect() as c:
        assert c.execute(select(order_events.c.order_id)).scalars().all() == ["o-9"]
    order = _online("order.placed", {"order_id": "o-9", "value": 40.0, "items": 1,
                                     "pickup_store_id": "s1"}, T0, "C-9")  # fmt: skip
    _post(engine, [order, _online("consent.recorded", CONSENT, T0, "C-9")])
    pid = _profile_of_customer(engine, "C-9")
    assert _owners(engine, survey["id"]) == {pid}
    assert "feedback" in _tasks(engine, pid)
    stages = _stages(engine, pid)
    assert stages["advocacy"] == T0 + timedelta(minutes=30)  # reached by the answer
    # … and the funnel counts the profile as an advocate
    with engine.connect() as c:
        rows = [r for r in c.execute(select(stages_reached)) if r.profile_id == pid]
    adv = {s.stage: s.profiles for s in funnel(rows).stages}["advocacy"]
    assert adv == 1
    [shop] = store_feedback_of(engine)
    assert (shop.answers, shop.high, shop.low, shop.anonymous) == (1, 1, 0, 0)


def test_a_low_rating_in_a_linked_visit_is_friction_with_its_reason(engine):
    t = T0
    evs = [
        _kiosk(1, "visit.linked", {"profile_id": "prof-l", "method": "qr"}, t, "sess-l"),
        _kiosk(2, "consent.recorded", {"profile_id": "prof-l", **CONSENT, "method": "kiosk_prompt"},
               t + timedelta(seconds=5), "sess-l"),
        _kiosk(3, "survey.answered", {"context": "pickup", "rating": 1, "reason": "item_missing",
                                      "order_id": "o-unknown"},
               t + timedelta(seconds=40), "sess-l"),
    ]  # fmt: skip
    Ingestor(engine).process([batch_msg(evs)])
    assert _owners(engine, evs[2]["id"]) == {"prof-l"}  # by the session's link
    assert "feedback" in _tasks(engine, "prof-l")
    assert "advocacy" not in _stages(engine, "prof-l")
    with engine.connect() as c:
        facts = load_facts(c, "prof-l")
        journey = timeline(facts, active_rules(c).journey, LATER)
    [finding] = [f for f in journey.friction if f.kind == "low_rating"]
    assert finding.event_id == evs[2]["id"] and finding.at == t + timedelta(seconds=40)
    assert finding.detail == {"store_id": "s1", "context": "pickup", "rating": 1,
                              "reason": "item_missing", "order_id": "o-unknown"}  # fmt: skip
    assert [s.stage for s in journey.stages] == ["awareness"]
    assert funnel(rows_for("prof-l", journey.stages)).stages[-1].profiles == 0


def test_a_named_profile_gets_the_answer_one_without_profile_or_order_is_anonymous(engine):
    link = _kiosk(1, "visit.linked", {"profile_id": "prof-k", "method": "qr"}, T0, "sess-a")
    Ingestor(engine).process([batch_msg([link], "b1")])
    known = _kiosk(2, "survey.answered", {"context": "visit", "rating": 4, "profile_id": "prof-k"},
                   T0 + timedelta(minutes=1), None)  # fmt: skip
    stranger = _kiosk(
        3,
        "survey.answered",
        {"context": "visit", "rating": 2, "reason": "kiosk_hard", "profile_id": "prof-nobody"},
        T0 + timedelta(minutes=2),
        "sess-b",
    )
    bare = _kiosk(4, "survey.answered", {"context": "visit", "rating": 3},
                  T0 + timedelta(minutes=3), "sess-c")  # fmt: skip
    other_store = event(1, "survey.answered", device="s2-k1", store="s2",
                        occurred_at=format_ts(T0), session_id="sess-z",
                        data={"context": "pickup", "rating": 5})  # fmt: skip
    Ingestor(engine).process(
        [batch_msg([known, stranger, bare], "b2"),
         batch_msg([other_store], "b3", device="s2-k1", store="s2")]
    )  # fmt: skip
    assert _owners(engine, known["id"]) == {"prof-k"}
    # named before central saw the profile: it is created (the visit may arrive later)
    assert _owners(engine, stranger["id"]) == {"prof-nobody"}
    assert _owners(engine, bare["id"]) == set()
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(profiles)).scalar_one() == 2
    s1, s2 = store_feedback_of(engine)
    assert (s1.store_id, s1.answers, s1.anonymous, s1.high, s1.low) == ("s1", 3, 1, 1, 1)
    assert s1.by_rating == {1: 0, 2: 1, 3: 1, 4: 1, 5: 0} and s1.mean_rating == 3.0
    assert s1.reasons == {"kiosk_hard": 1} and s1.by_context == {"visit": 3}
    assert (s2.store_id, s2.answers, s2.anonymous, s2.by_context) == ("s2", 1, 1, {"pickup": 1})
    with engine.connect() as c:
        assert [f.store_id for f in store_feedback(c, store="s2")] == ["s2"]
        later = store_feedback(c, start=T0 + timedelta(minutes=2))
        assert [(f.store_id, f.answers) for f in later] == [("s1", 2)]
        assert store_feedback(c, end=T0) == []


def store_feedback_of(engine: Engine):
    with engine.connect() as c:
        return store_feedback(c)
