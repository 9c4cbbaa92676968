"""The rules in force: the scoring and journey rule sets a deriving transaction uses.

Every central process reads the active version from the single ``rules_active`` row at
the start of each deriving transaction and keeps the parsed rule sets in memory by
version (a version's rules never change once stored), so a change made through one
process is used by all of them from their next transaction, at the cost of one
primary-key read. With no stored version, the built-in default rule set is active.

Storing and activating versions is ``rules_store``; this module only reads, so that
re-deriving a profile (``profiles.profile_effects``) needs nothing of going live.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import URL, Connection, select

from ...store.ops_tables import rules_active, rules_versions
from ..journeys.journey_rules import DEFAULT_JOURNEY_RULES, JourneyRules
from .rules import RuleSet, default_rules

_CACHE_SIZE = 16
_cache: dict[tuple[URL, str], ActiveRules] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ActiveRules:
    scoring: RuleSet
    journey: JourneyRules

    @classmethod
    def of(cls, rules: RuleSet) -> ActiveRules:
        journey = (
            JourneyRules.model_validate(rules.journey) if rules.journey else DEFAULT_JOURNEY_RULES
        )
        return cls(rules, journey)


_DEFAULT: ActiveRules | None = None


def default_active_rules() -> ActiveRules:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ActiveRules.of(default_rules())
    return _DEFAULT


def of_version(conn: Connection, version: str, text: str | None = None) -> ActiveRules:
    """The parsed rules of a stored version, from the cache or ``text`` (read if None).

    Keyed by database URL too: a version's rules never change within one database, but a
    process (a test run) may open several databases that use the same version names.
    """
    key = (conn.engine.url, version)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    if text is None:
        text = conn.execute(
            select(rules_versions.c.text).where(rules_versions.c.version == version)
        ).scalar_one()
    active = ActiveRules.of(RuleSet.from_toml_text(text, f"rules version {version}"))
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = active
    return active


def active_rules(conn: Connection) -> ActiveRules:
    """The rule set active as of this transaction (the built-in default when none is)."""
    version = conn.execute(select(rules_active.c.version).where(rules_active.c.id == 1)).scalar()
    if version is None:
        return default_active_rules()
    return of_version(conn, version)
