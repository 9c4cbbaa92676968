"""Stored rule versions: which rule set is active, activating a new one, and its dry run.

Which version is active, and its parsed rules, is read through ``active_rules`` (every
deriving transaction does); this module stores versions and makes one active.

Going live (``activate`` then ``rederive``): the new version becomes active in one
transaction, then every active profile not yet derived under it is re-derived from its
facts in batches of ``BATCH`` profiles per transaction (its ledger rows then carry the
new version). Profiles an in-flight ingest derived under the old version while the
batches ran are caught by one last pass. A rerun of the same PUT resumes where a failed
one stopped, since profiles already at the new version are skipped.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from edge_sync.protocol.settings import ConfigError

from ...store.db import write_transaction
from ...store.ops_tables import rules_active, rules_versions
from ...store.profile_tables import profiles, threshold_crossings
from ...store.sql import insert_for, insert_ignore
from ..facts import Fact
from ..profiles.profile_effects import PROFILING, recompute_all
from ..profiles.profile_facts import consent_state_many, load_facts_many
from .active_rules import active_rules, default_active_rules, of_version
from .rules import RuleSet, default_rules_text
from .thresholds import dry_run as thresholds_dry_run

log = logging.getLogger(__name__)

#: profiles re-derived per transaction when a rule set goes live
BATCH = 200


class RulesConflict(Exception):
    """Another rule set is already stored under this version (the API maps it to 409)."""

    def __init__(self, version: str) -> None:
        super().__init__(
            f"version {version!r} is already stored with different rules; "
            "give the changed rules a new `version`"
        )
        self.version = version


@dataclass(frozen=True, slots=True)
class StoredRules:
    version: str
    text: str
    #: "stored", or "builtin" while no version has been stored
    source: str
    created_at: datetime | None
    created_by: str | None
    activated_at: datetime | None


def parse(text: str) -> RuleSet:
    """A rules file's text as a rule set; ``ConfigError`` names each bad key.

    Also refuses NUL characters (the ``\\u0000`` escape in a TOML string): names and ids
    end up in PostgreSQL text columns, which cannot hold them, and a rule set that
    cannot be written would fail every ingest transaction once active.
    """
    rules = RuleSet.from_toml_text(text, "(rules)")
    problems = [
        (path, "must not contain a NUL character") for path in _nul_paths(tomllib.loads(text))
    ]
    if problems:
        raise ConfigError("(rules)", problems)
    return rules


def _nul_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "(value)"
    elif isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            yield from ((sub,) if "\x00" in k else _nul_paths(v, sub))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nul_paths(v, f"{path}.{i}")


def active_stored(conn: Connection) -> StoredRules:
    row = conn.execute(
        select(rules_versions, rules_active.c.activated_at.label("active_since"))
        .join(rules_active, rules_active.c.version == rules_versions.c.version)
        .where(rules_active.c.id == 1)
    ).first()
    if row is None:
        default = default_active_rules().scoring
        return StoredRules(default.version, default_rules_text(), "builtin", None, None, None)
    return StoredRules(
        row.version, row.text, "stored", row.created_at, row.created_by, row.active_since
    )


def check_version(conn: Connection, rules: RuleSet) -> str | None:
    """The stored text of ``rules.version`` if it holds the same rules; None if the
    version is new. Raises ``RulesConflict`` when it holds different rules."""
    stored = conn.execute(
        select(rules_versions.c.text).where(rules_versions.c.version == rules.version)
    ).scalar()
    if stored is None and rules.version == default_active_rules().scoring.version:
        stored = default_rules_text()
    if stored is None:
        return None
    # Same rules, other comments or layout: the same version.
    if of_version(conn, rules.version, stored).scoring != rules:
        raise RulesConflict(rules.version)
    return stored


@dataclass(frozen=True, slots=True)
class Activation:
    version: str
    previous_version: str
    #: False when this version was active already
    changed: bool


def activate(conn: Connection, text: str, by: str | None, now: datetime) -> Activation:
    """Store ``text`` (unless its version is stored) and make it the active version."""
    rules = parse(text)
    previous = active_rules(conn).scoring.version
    stored = check_version(conn, rules)
    default = default_active_rules().scoring
    # The built-in default joins the history the first time another version goes live.
    conn.execute(
        insert_ignore(conn, rules_versions).values(
            version=default.version, text=default_rules_text(), created_at=now,
            created_by="builtin", activated_at=None,
        )
    )  # fmt: skip
    if stored is None:
        conn.execute(
            insert_ignore(conn, rules_versions).values(
                version=rules.version, text=text, created_at=now, created_by=by
            )
        )
        check_version(conn, rules)  # a concurrent PUT may have stored other rules under it
    conn.execute(
        update(rules_versions)
        .where(rules_versions.c.version == rules.version)
        .values(activated_at=now)
    )
    ins = insert_for(conn, rules_active)
    conn.execute(
        ins.values(id=1, version=rules.version, activated_at=now).on_conflict_do_update(
            index_elements=["id"], set_={"version": rules.version, "activated_at": now}
        )
    )
    return Activation(rules.version, previous, previous != rules.version)


def _stale(conn: Connection, version: str, after: str | None) -> list[str]:
    p = profiles.c
    query = (
        select(p.id)
        .where(p.status == "active", or_(p.rules_version.is_(None), p.rules_version != version))
        .order_by(p.id)
        .limit(BATCH)
    )
    if after is not None:
        query = query.where(p.id > after)
    return list(conn.execute(query).scalars())


def rederive(engine: Engine, version: str, now: datetime) -> int:
    """Re-derive every active profile not yet derived under ``version``; returns how many.

    Stops early when another version has become active meanwhile (its own re-derivation
    takes over). Batches go in profile id order, as ingest does, so they do not deadlock.
    """
    done = 0
    for _final_pass in (False, True):
        after: str | None = None
        while True:
            with write_transaction(engine) as conn:
                active = active_rules(conn)
                if active.scoring.version != version:
                    return done
                ids = _stale(conn, version, after)
                recompute_all(conn, ids, active, now)
            done += len(ids)
            if len(ids) < BATCH:
                break
            after = ids[-1]
    return done


def stale_count(conn: Connection) -> int:
    """Active profiles not yet derived under the active rules (0 once going live is done)."""
    version = active_rules(conn).scoring.version
    p = profiles.c
    stale = or_(p.rules_version.is_(None), p.rules_version != version)
    return conn.scalar(select(func.count()).where(p.status == "active", stale)) or 0


def rederive_in_background(engine: Engine, version: str, now: datetime) -> threading.Thread:
    """``rederive`` in a thread of its own, for a caller that does not wait. If it stops
    (the process ends, the database goes away), the profiles stay stale until the next
    ``rederive``: storing the same file again, or central's next start."""

    def run() -> None:
        try:
            n = rederive(engine, version, now)
            log.info("rules %s: %d profiles re-derived", version, n)
        except Exception:
            log.exception(
                "rules %s: re-deriving stopped; PUT the file again (or restart central) to finish",
                version,
            )

    thread = threading.Thread(target=run, name=f"rederive-{version}", daemon=True)
    thread.start()
    return thread


def crossing_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Per threshold: profiles with at least one stored crossing, and stored crossings."""
    tc = threshold_crossings
    rows = conn.execute(
        select(tc.c.threshold_id, func.count(func.distinct(tc.c.profile_id)), func.count())
        .join(profiles, and_(profiles.c.id == tc.c.profile_id, profiles.c.status == "active"))
        .group_by(tc.c.threshold_id)
    )
    return {tid: {"profiles": n, "crossings": fires} for tid, n, fires in rows}


def _consenting(conn: Connection) -> Iterator[tuple[list[Fact], Mapping[str, Any]]]:
    after: str | None = None
    while True:
        query = select(profiles.c.id, profiles.c.attributes).where(profiles.c.status == "active")
        if after is not None:
            query = query.where(profiles.c.id > after)
        rows = conn.execute(query.order_by(profiles.c.id).limit(BATCH)).all()
        allowed = consent_state_many(conn, [r.id for r in rows])
        consenting = [r for r in rows if allowed[r.id].get(PROFILING, False)]
        facts = load_facts_many(conn, [r.id for r in consenting])
        for row in consenting:
            yield facts[row.id], row.attributes
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def dry_run(conn: Connection, new: RuleSet) -> tuple[int, dict[str, dict[str, int]]]:
    """``thresholds.dry_run`` of ``new`` against the active rules, over every active
    profile with a profiling consent (the profiles that going live would score).
    Returns how many profiles that is, and the counts per threshold id."""
    seen = 0

    def counted() -> Iterator[tuple[list[Fact], Mapping[str, Any]]]:
        nonlocal seen
        for item in _consenting(conn):
            seen += 1
            yield item

    counts = thresholds_dry_run(counted(), active_rules(conn).scoring, new)
    return seen, counts
