"""Derived attributes (aggregates of facts) and the checks on explicit ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central_api.domain.scoring.attributes import (
    MAX_ATTRIBUTES,
    AttributeProblems,
    apply_patch,
    derive_attributes,
)
from central_api.domain.scoring.rules import RuleSet, default_rules
from edge_sync.protocol.settings import ConfigError

from .gen import fact

DAY = timedelta(days=1)
HEAD = 'version = "t"\nhalf_life_days = 30.0\n'


def rules(body: str) -> RuleSet:
    return RuleSet.from_toml_text(HEAD + body)


AGGREGATES = rules(
    """
[attributes.explicit]
tier = "string"
[[attributes.derived]]
name = "orders"
aggregate = "count"
event = "order.placed"
[[attributes.derived]]
name = "ltv"
aggregate = "sum"
event = "order.placed"
field = "value"
[[attributes.derived]]
name = "top"
aggregate = "max"
event = "order.placed"
field = "value"
[[attributes.derived]]
name = "low"
aggregate = "min"
event = "order.placed"
field = "value"
[[attributes.derived]]
name = "last_items"
aggregate = "latest"
event = "order.placed"
field = "items"
[[attributes.derived]]
name = "carts"
aggregate = "distinct"
event = ["cart.updated", "checkout.started"]
field = "cart_id"
[[attributes.derived]]
name = "recent_big"
aggregate = "count"
event = "order.placed"
within_days = 10
when = { data = { value = { gte = 100 } } }
"""
)


def order(at: timedelta, value: float, items: int = 1, id: str | None = None):
    return fact("order.placed", at, {"order_id": f"o{value}", "value": value, "items": items},
                id=id)  # fmt: skip


def test_each_aggregate() -> None:
    assert derive_attributes([], AGGREGATES) == {"orders": 0, "ltv": 0.0, "carts": 0,
                                                 "recent_big": 0}  # fmt: skip
    fs = [
        order(timedelta(0), 150.0, 2),
        order(5 * DAY, 0.1, 3),
        order(20 * DAY, 0.2, 1),
        order(30 * DAY, 120.0, 4),
        fact("cart.updated", DAY, {"cart_id": "k1", "items": 1, "value": 5.0}),
        fact("checkout.started", 2 * DAY, {"cart_id": "k1", "value": 5.0}),
        fact("cart.updated", 3 * DAY, {"cart_id": "k2", "items": 0, "value": 0.0}),
    ]
    got = derive_attributes(fs, AGGREGATES)
    assert got == {
        "orders": 4,
        "ltv": 270.3,  # math.fsum: the correctly rounded sum, whatever the order
        "top": 150.0,
        "low": 0.1,
        "last_items": 4,  # the order at day 30
        "carts": 2,
        "recent_big": 1,  # only the 120 at day 30: day 0's 150 is 30 days before the latest
    }
    # the window is measured from the latest fact of any type, not the clock
    later = [*fs, fact("web.visited", 45 * DAY)]
    assert derive_attributes(later, AGGREGATES)["recent_big"] == 0


def test_a_late_fact_gives_the_same_result_as_in_order() -> None:
    fs = [order(i * DAY, 10.0 * i, id=f"e{i:02d}") for i in range(12)]
    assert derive_attributes(fs, AGGREGATES) == derive_attributes(fs[::-1], AGGREGATES)
    # a tie on occurred_at: latest goes by event id
    a = order(DAY, 1.0, items=1, id="e-b")
    b = order(DAY, 2.0, items=2, id="e-a")
    assert derive_attributes([a, b], AGGREGATES)["last_items"] == 1
    assert derive_attributes([b, a], AGGREGATES)["last_items"] == 1


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ('[[attributes.derived]]\nname = "x"\naggregate = "sum"\nevent = "order.placed"\n',
         "attributes.derived.0.field", "required"),
        ('[[attributes.derived]]\nname = "x"\naggregate = "count"\nevent = "order.placed"\n'
         'field = "value"\n', "attributes.derived.0.field", "not used"),
        ('[[attributes.derived]]\nname = "x"\naggregate = "max"\nevent = "order.placed"\n'
         'field = "total"\n', "attributes.derived.0.field", "not a data field"),
        ('[[attributes.derived]]\nname = "X-1"\naggregate = "count"\nevent = "order.placed"\n',
         "attributes.derived.0.name", "pattern"),
        ('[[attributes.derived]]\nname = "x"\naggregate = "avg"\nevent = "order.placed"\n',
         "attributes.derived.0.aggregate", "count"),
        ('[[attributes.derived]]\nname = "x"\naggregate = "count"\nevent = "nope"\n',
         "attributes.derived.0.event", "unknown event type"),
        ('[attributes.explicit]\nx = "number"\n[[attributes.derived]]\nname = "x"\n'
         'aggregate = "count"\nevent = "order.placed"\n', "attributes.derived.0.name",
         "also declared"),
        ('[[attributes.derived]]\nname = "x"\naggregate = "count"\nevent = "order.placed"\n'
         '[[attributes.derived]]\nname = "x"\naggregate = "count"\nevent = "email.opened"\n',
         "attributes.derived.1.name", "duplicate"),
        ('[attributes.explicit]\nx = "text"\n', "attributes.explicit.x", "string"),
        ('[attributes.explicit]\nseg = "string"\n[[grading.criteria]]\nid = "c"\n'
         'attribute = "seg"\nop = "gt"\nvalue = 1\nsteps = 1\n', "grading.criteria.0.op",
         "needs a number"),
        ('[[attributes.derived]]\nname = "x"\naggregate = "count"\nevent = "order.placed"\n'
         'within_days = 0\n', "attributes.derived.0.within_days", "greater than 0"),
    ],
)  # fmt: skip
def test_the_loader_names_each_bad_key(body: str, path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        rules(body)
    assert any(p == path and words in m for p, m in err.value.problems), err.value.problems


def test_merge_patch_of_explicit_attributes() -> None:
    r = default_rules()
    cur = {"segment": "new", "old": 1}
    assert apply_patch(cur, {"old": None, "distance_km": 2.5}, r) == {
        "segment": "new", "distance_km": 2.5}  # fmt: skip
    assert cur == {"segment": "new", "old": 1}  # not changed in place
    assert apply_patch({}, {"gone": None}, r) == {}  # removing what is absent is fine
    with pytest.raises(AttributeProblems) as err:
        apply_patch({}, {"distance_km": True, "orders": 3, "ok": "x"}, r)
    assert [(p.name, p.reason.split(" (")[0]) for p in err.value.problems] == [
        ("distance_km", "must be a number"),
        ("orders", "derived by the rules; it cannot be set"),
    ]
    full = {f"a{i}": i for i in range(MAX_ATTRIBUTES)}
    assert len(apply_patch({}, full, r)) == MAX_ATTRIBUTES
    with pytest.raises(AttributeProblems):
        apply_patch(full, {"one_more": 1}, r)
