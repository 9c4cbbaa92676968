"""What an ingest worker remembers of the profiles it re-derived, so the next group that
touches a profile need not read its whole history again.

Re-deriving a profile needs its facts, consents and the derived rows already stored
(to write only the differences). For a profile it re-derived before, an ingest worker
keeps all of that as it was committed, with the profile's ``revision``. Every
re-derivation, in any process, raises ``revision`` in the same transaction (and every
change of a profile's facts or consents is followed by its re-derivation), so:

* a remembered state whose revision equals the stored one is what is stored, plus the
  changes the current transaction made itself before re-deriving (a ``Delta``);
* any other revision means someone else re-derived it: the state is read again.

The profile's row is locked before its revision is read (PostgreSQL: ``FOR NO KEY
UPDATE``; SQLite holds the database's write lock), so the revision cannot move until the
transaction ends. What a transaction learns is staged and becomes the remembered state
only when ``Ingestor.commit`` reports that it committed; a rollback forgets it.

Memory is bounded by the number of facts remembered (least recently used go first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..facts import Fact

#: (event_id, purpose) → (at, granted): a profile's consent rows
ConsentRows = dict[tuple[str, str], tuple[datetime, bool]]
#: (event_id, rule_id, rules_version) → points
LedgerKeys = dict[tuple[str, str, str], float]


@dataclass(slots=True)
class ProfileState:
    """A profile as its last committed re-derivation left it."""

    revision: int
    facts: dict[str, Fact]  # by event id
    consents: ConsentRows
    ledger: LedgerKeys
    #: event_id → (task, campaign_id); the other columns follow from the event
    touchpoints: dict[str, tuple[str | None, ...]]
    #: stage → (event_id, campaign_id, store_id)
    stages: dict[str, tuple[str | None, ...]]


def empty_state() -> ProfileState:
    """A profile as its row's INSERT left it: revision 0, nothing attached or derived."""
    return ProfileState(0, {}, {}, {}, {}, {})


@dataclass(slots=True)
class Delta:
    """What the current transaction changed in profiles' facts and consents before
    re-deriving them (an attach may name an event the profile already had)."""

    attached: dict[str, set[str]] = field(default_factory=dict)
    detached: dict[str, set[str]] = field(default_factory=dict)
    consents_added: dict[str, ConsentRows] = field(default_factory=dict)
    #: profile → event ids whose consent rows (any purpose) were deleted
    consents_removed: dict[str, set[str]] = field(default_factory=dict)
    #: the facts of attached events, by event id, when known without reading them
    facts: dict[str, Fact] = field(default_factory=dict)
    #: profiles whose row this transaction (or the group's ``before``) inserted: at
    #: revision 0 nothing of theirs was stored, so they need no reads either
    created: set[str] = field(default_factory=set)

    def attach(self, profile_id: str, event_id: str) -> None:
        self.attached.setdefault(profile_id, set()).add(event_id)

    def detach(self, profile_id: str, event_id: str) -> None:
        self.detached.setdefault(profile_id, set()).add(event_id)

    def add_consent(
        self, profile_id: str, event_id: str, purpose: str, at: datetime, granted: bool
    ) -> None:
        self.consents_added.setdefault(profile_id, {})[(event_id, purpose)] = (at, granted)

    def remove_consents(self, profile_id: str, event_ids: Iterable[str]) -> None:
        self.consents_removed.setdefault(profile_id, set()).update(event_ids)

    def apply(self, profile_id: str, state: ProfileState) -> tuple[dict, ConsentRows] | None:
        """The profile's facts and consent rows now: ``state``'s with this delta applied
        (new dicts; ``state`` is not changed), or None when a fact is not known here."""
        facts = dict(state.facts)
        for event_id in self.detached.get(profile_id, ()):
            facts.pop(event_id, None)
        for event_id in self.attached.get(profile_id, ()):
            if event_id in facts:
                continue
            fact = self.facts.get(event_id)
            if fact is None:
                return None
            facts[event_id] = fact
        consents = state.consents
        removed = self.consents_removed.get(profile_id)
        added = self.consents_added.get(profile_id)
        if removed or added:
            consents = {k: v for k, v in consents.items() if not removed or k[0] not in removed}
            for key, value in (added or {}).items():
                consents.setdefault(key, value)  # INSERT … ON CONFLICT DO NOTHING
        return facts, consents


class ProfileCache:
    """Remembered profile states, bounded by ``max_facts``; safe to share between threads
    (each stages its own transaction's states)."""

    def __init__(self, max_facts: int = 100_000) -> None:
        self.max_facts = max_facts
        self._states: OrderedDict[str, ProfileState] = OrderedDict()
        self._facts = 0
        self._lock = threading.Lock()
        self._staged = threading.local()
        self.hits = 0
        self.misses = 0

    def get(self, profile_id: str, revision: int) -> ProfileState | None:
        with self._lock:
            state = self._states.get(profile_id)
            if state is None or state.revision != revision:
                self.misses += 1
                return None
            self._states.move_to_end(profile_id)
            self.hits += 1
            return state

    def stage(self, profile_id: str, state: ProfileState | None) -> None:
        """Remember ``state`` (None: forget the profile) once this thread's transaction
        commits."""
        self._pending()[profile_id] = state

    def committed(self) -> None:
        pending = self._pending()
        self._staged.pending = {}
        with self._lock:
            for pid, state in pending.items():
                old = self._states.pop(pid, None)
                if old is not None:
                    self._facts -= len(old.facts)
                if state is not None and len(state.facts) <= self.max_facts:
                    self._states[pid] = state
                    self._facts += len(state.facts)
            while self._facts > self.max_facts and self._states:
                _, old = self._states.popitem(last=False)
                self._facts -= len(old.facts)

    def rolled_back(self) -> None:
        self._staged.pending = {}

    def __len__(self) -> int:
        return len(self._states)

    def _pending(self) -> dict[str, ProfileState | None]:
        pending = getattr(self._staged, "pending", None)
        if pending is None:
            pending = self._staged.pending = {}
        return pending
