"""Campaigns in the database: create, change, end, read.

Every write takes one lock (campaign writes are rare; the per-store cap must see every
other campaign as committed), appends to ``campaign_changes`` and bumps the campaign's
``revision``, in one transaction. Callers publish the stores' lists after the commit
(``push.CampaignPublisher.changed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select, update

from central_api.store.campaign_tables import campaign_changes, campaigns
from central_api.store.sql import lock_keys
from central_api.store.tables import devices

from .model import MAX_CAMPAIGNS_PER_STORE, CampaignIn, CampaignPatch, stores_of

Status = Literal["scheduled", "running", "ended"]


class CampaignError(Exception):
    """A campaign request that cannot be done; the message says why."""


class CampaignNotFound(CampaignError):
    pass


class CampaignConflict(CampaignError):
    """Conflicts with what is stored: a taken id, an ended campaign, a full store."""


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    channel: str
    starts_on: date
    ends_on: date
    all_stores: bool
    stores: list[str]
    landing_url: str
    offer: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    revision: int

    def status(self, today: date) -> Status:
        if self.ended_at is not None or self.ends_on < today:
            return "ended"
        return "scheduled" if self.starts_on > today else "running"

    def live(self, today: date) -> bool:
        """Running or scheduled: on the stores' lists."""
        return self.status(today) != "ended"

    def reaches(self, store_id: str) -> bool:
        return self.all_stores or store_id in self.stores

    def as_dict(self, today: date) -> dict[str, Any]:
        """The campaign as the API and the CLI show it (``stores`` is ``"all"`` or a list)."""
        return {
            "id": self.id, "name": self.name, "channel": self.channel,
            "starts_on": self.starts_on, "ends_on": self.ends_on,
            "stores": "all" if self.all_stores else self.stores,
            "landing_url": self.landing_url, "offer": self.offer_resolved(),
            "status": self.status(today), "created_at": self.created_at,
            "updated_at": self.updated_at, "ended_at": self.ended_at, "revision": self.revision,
        }  # fmt: skip

    def offer_resolved(self) -> dict[str, Any]:
        """The offer with its validity filled in from the campaign's dates."""
        offer = dict(self.offer)
        offer["valid_from"] = offer.get("valid_from") or self.starts_on.isoformat()
        offer["valid_until"] = offer.get("valid_until") or self.ends_on.isoformat()
        return offer


def today_of(now: datetime) -> date:
    return now.astimezone(UTC).date()


def _of(row: Any) -> Campaign:
    return Campaign(
        id=row.id, name=row.name, channel=row.channel, starts_on=row.starts_on,
        ends_on=row.ends_on, all_stores=row.all_stores, stores=list(row.stores),
        landing_url=row.landing_url, offer=dict(row.offer), created_at=row.created_at,
        updated_at=row.updated_at, ended_at=row.ended_at, revision=row.revision,
    )  # fmt: skip


def _offer_json(spec: Any) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_none=True)


def get(conn: Connection, campaign_id: str) -> Campaign:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return _of(row)


def all_campaigns(conn: Connection) -> list[Campaign]:
    return [_of(r) for r in conn.execute(select(campaigns).order_by(campaigns.c.id))]


def page(
    conn: Connection, after: str | None, limit: int, store: str | None = None
) -> tuple[list[Campaign], bool]:
    """Campaigns by id after ``after``; with ``store``, those that reach it. Returns the
    page and whether more follow."""
    q = select(campaigns).order_by(campaigns.c.id)
    if after is not None:
        q = q.where(campaigns.c.id > after)
    out: list[Campaign] = []
    # The store filter is on a JSON list: read in chunks until the page is full.
    for row in conn.execute(q.execution_options(yield_per=500)):
        c = _of(row)
        if store is None or c.reaches(store):
            out.append(c)
            if len(out) > limit:
                return out[:limit], True
    return out, False


def version(conn: Connection) -> int:
    """The campaigns' version: the number of the latest change (0 before any)."""
    return int(
        conn.execute(select(func.coalesce(func.max(campaign_changes.c.seq), 0))).scalar_one()
    )


def known_stores(conn: Connection, among: Iterable[Campaign] | None = None) -> set[str]:
    """Stores central knows of: those with a device, and every store a campaign names
    (an ended one too, so that its stores get a list without it)."""
    found = set(conn.execute(select(devices.c.store_id).distinct()).scalars())
    for c in among if among is not None else all_campaigns(conn):
        found.update(c.stores)
    return found


def _log(conn: Connection, campaign_id: str, action: str, now: datetime, by: str | None) -> None:
    conn.execute(
        insert(campaign_changes).values(campaign_id=campaign_id, action=action, at=now, by=by)
    )


def _lock(conn: Connection) -> None:
    lock_keys(conn, {"campaigns": ["write"]})


def _check_room(conn: Connection, candidate: Campaign, today: date) -> None:
    """Each store the candidate reaches keeps at most ``MAX_CAMPAIGNS_PER_STORE`` live
    campaigns, counting the candidate."""
    if not candidate.live(today):
        return
    others = [c for c in all_campaigns(conn) if c.id != candidate.id and c.live(today)]
    stores = (
        known_stores(conn, others) | set(candidate.stores)
        if candidate.all_stores
        else set(candidate.stores)
    )
    everywhere = sum(1 for c in others if c.all_stores)
    for store in sorted(stores):
        n = 1 + everywhere + sum(1 for c in others if not c.all_stores and store in c.stores)
        if n > MAX_CAMPAIGNS_PER_STORE:
            raise CampaignConflict(
                f"store {store} would have {n} running or scheduled campaigns; at most "
                f"{MAX_CAMPAIGNS_PER_STORE} fit on a store's list: end one first"
            )


def create(conn: Connection, spec: CampaignIn, now: datetime, by: str | None) -> Campaign:
    _lock(conn)
    campaign_id = spec.id or f"cmp-{uuid.uuid4().hex[:12]}"
    if conn.execute(select(campaigns.c.id).where(campaigns.c.id == campaign_id)).first():
        raise CampaignConflict(f"a campaign {campaign_id} exists already")
    all_stores, stores = stores_of(spec.stores)
    c = Campaign(
        id=campaign_id, name=spec.name, channel=spec.channel, starts_on=spec.starts_on,
        ends_on=spec.ends_on, all_stores=all_stores, stores=stores,
        landing_url=spec.landing_url, offer=_offer_json(spec.offer), created_at=now,
        updated_at=now, ended_at=None, revision=1,
    )  # fmt: skip
    _check_room(conn, c, today_of(now))
    conn.execute(insert(campaigns).values(**_row(c)))
    _log(conn, c.id, "created", now, by)
    return c


def _row(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "channel": c.channel, "starts_on": c.starts_on,
        "ends_on": c.ends_on, "all_stores": c.all_stores, "stores": c.stores,
        "landing_url": c.landing_url, "offer": c.offer, "created_at": c.created_at,
        "updated_at": c.updated_at, "ended_at": c.ended_at, "revision": c.revision,
    }  # fmt: skip


def _write(conn: Connection, c: Campaign) -> None:
    values = _row(c)
    del values["id"], values["created_at"]
    conn.execute(update(campaigns).where(campaigns.c.id == c.id).values(**values))


def change(
    conn: Connection, campaign_id: str, patch: CampaignPatch, now: datetime, by: str | None
) -> Campaign:
    """Apply ``patch``; an empty one (or one that changes nothing) writes nothing."""
    _lock(conn)
    old = get(conn, campaign_id)
    if old.ended_at is not None:
        raise CampaignConflict(f"campaign {campaign_id} was ended; create a new one")
    given = patch.model_dump(exclude_none=True)
    new_fields: dict[str, Any] = {}
    if patch.stores is not None:
        new_fields["all_stores"], new_fields["stores"] = stores_of(patch.stores)
    if patch.offer is not None:
        new_fields["offer"] = _offer_json(patch.offer)
    for name in ("name", "channel", "starts_on", "ends_on", "landing_url"):
        if name in given:
            new_fields[name] = given[name]
    merged = {**_row(old), **new_fields}
    if merged == _row(old):
        return old
    if merged["ends_on"] < merged["starts_on"]:
        raise CampaignConflict(
            f"ends_on {merged['ends_on']} would be before starts_on {merged['starts_on']}"
        )
    merged.update(updated_at=now, revision=old.revision + 1)
    new = Campaign(**merged)
    _check_room(conn, new, today_of(now))
    _write(conn, new)
    _log(conn, new.id, "updated", now, by)
    return new


def end(conn: Connection, campaign_id: str, now: datetime, by: str | None) -> Campaign:
    """End a campaign now: it leaves every store's list. Ending twice is a conflict."""
    _lock(conn)
    old = get(conn, campaign_id)
    if old.ended_at is not None:
        raise CampaignConflict(f"campaign {campaign_id} was ended at {old.ended_at.isoformat()}")
    new = Campaign(**{**_row(old), "ended_at": now, "updated_at": now,
                      "revision": old.revision + 1})  # fmt: skip
    _write(conn, new)
    _log(conn, new.id, "ended", now, by)
    return new
