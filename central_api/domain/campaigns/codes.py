"""Issuing a campaign's codes: one recipient code (kind ``r``) per recipient profile, kept
in ``campaign_codes`` so that the same recipient gets the same code every time, and the
generic poster code (kind ``c``).

A recipient code is signed once and stored; issuing again returns the stored code (even
after central's signing key was rotated, since the old key keeps verifying), until the
campaign's codes are rotated: ``rotate`` raises the campaign's code generation and
revokes every code of the older ones through the revocation list (the kiosks get it
with the keys), and the next issue signs new codes at the new generation.

Poster codes are signed at generation 255, above every recipient generation, so
rotating the recipient codes (which revokes the campaign's scope up to the old
generation) leaves the posters in the shops valid; revoking the campaign as a whole
(generation 255) takes them too. Recipient codes therefore rotate at most 254 times.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from edge_sync.protocol.tokens import (
    ALL_GENERATIONS,
    MAX_VALIDITY_DAYS,
    Signer,
    TooLong,
    campaign_scope,
)
from edge_sync.protocol.tokens.code_table import MAX_CODES
from edge_sync.protocol.tokens.fallback import fallback_of

from ...store.code_tables import campaign_code_generations, campaign_codes
from ...store.profile_tables import profile_aliases, profiles
from ...store.sql import insert_for, insert_ignore, lock_keys
from ..identity.identity import live_profile, new_profile_id
from ..tokens.revocations import revoke
from .records import Campaign, CampaignConflict, today_of

#: the alias kind a recipient id is: the retailer's customer id, as online events carry it
ALIAS_KIND = "customer_id"
POSTER_GENERATION = ALL_GENERATIONS
MAX_GENERATION = ALL_GENERATIONS - 1


@dataclass(frozen=True, slots=True)
class IssuedCode:
    profile_id: str
    generation: int
    token: str
    fallback: str
    issued_at: datetime


def generation(conn: Connection, campaign_id: str) -> int:
    """The generation the campaign's recipient codes are signed with now (0 at first)."""
    t = campaign_code_generations
    g = conn.execute(select(t.c.generation).where(t.c.campaign_id == campaign_id)).scalar()
    return int(g or 0)


def validity(campaign: Campaign, now: datetime) -> tuple[date, date]:
    """The days a code of the campaign is valid: the campaign's own. Refuses an ended
    campaign, and one running longer than a code may be valid."""
    today = today_of(now)
    if campaign.status(today) == "ended":
        raise CampaignConflict(f"campaign {campaign.id} has ended; its codes are not issued")
    latest = today + timedelta(days=MAX_VALIDITY_DAYS)
    if campaign.ends_on > latest:
        raise CampaignConflict(
            f"campaign {campaign.id} ends on {campaign.ends_on}, later than a code may be "
            f"valid ({latest})"
        )
    return campaign.starts_on, campaign.ends_on


def rotate(conn: Connection, campaign: Campaign, now: datetime) -> int:
    """Retire the campaign's recipient codes: revoke every generation up to the current
    one and sign new codes at the next. Returns the new generation."""
    lock_keys(conn, {"campaign-codes": [campaign.id]})
    old = generation(conn, campaign.id)
    if old >= MAX_GENERATION:
        raise CampaignConflict(
            f"campaign {campaign.id}'s codes were rotated {old} times, the most a code can "
            "count; create a new campaign"
        )
    revoke(conn, [campaign_scope(campaign.id)], now, generation=old)
    t = campaign_code_generations
    values = {"campaign_id": campaign.id, "generation": old + 1, "rotated_at": now}
    conn.execute(
        insert_for(conn, t)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[t.c.campaign_id],
            set_={"generation": old + 1, "rotated_at": now},
        )
    )
    return old + 1


def profiles_of(conn: Connection, recipient_ids: Sequence[str], at: datetime) -> dict[str, str]:
    """Recipient id → the profile it is an alias of (following merges), new profiles
    made for the ids seen for the first time. Race-safe like ``identity.resolve_alias``."""
    a = profile_aliases
    wanted = list(dict.fromkeys(recipient_ids))

    def stored() -> dict[str, str]:
        found: dict[str, str] = {}
        for i in range(0, len(wanted), 1000):
            rows = conn.execute(
                select(a.c.value, a.c.profile_id).where(
                    a.c.kind == ALIAS_KIND, a.c.value.in_(wanted[i : i + 1000])
                )
            )
            found.update((r.value, r.profile_id) for r in rows)
        return found

    owners = stored()
    new = {rid: new_profile_id() for rid in wanted if rid not in owners}
    if new:
        conn.execute(
            insert_ignore(conn, profiles),
            [{"id": pid, "created_at": at, "updated_at": at, "status": "active",
              "attributes": {}} for pid in new.values()],
        )  # fmt: skip
        conn.execute(
            insert_ignore(conn, a),
            [{"kind": ALIAS_KIND, "value": rid, "profile_id": pid, "created_at": at}
             for rid, pid in new.items()],
        )  # fmt: skip
        owners = stored()
        lost = [pid for rid, pid in new.items() if owners[rid] != pid]
        if lost:  # another writer made these aliases a moment ago: theirs hold
            conn.execute(profiles.delete().where(profiles.c.id.in_(lost)))
    merged = {
        r.id
        for r in conn.execute(
            select(profiles.c.id).where(
                profiles.c.id.in_(set(owners.values())), profiles.c.status == "merged"
            )
        )
    }
    return {rid: live_profile(conn, pid) if pid in merged else pid for rid, pid in owners.items()}


def _stored(
    conn: Connection, campaign_id: str, profile_ids: Iterable[str]
) -> dict[str, IssuedCode]:
    t = campaign_codes
    rows = conn.execute(
        select(t).where(t.c.campaign_id == campaign_id, t.c.profile_id.in_(list(profile_ids)))
    )
    return {
        r.profile_id: IssuedCode(r.profile_id, r.generation, r.token, r.fallback, r.issued_at)
        for r in rows
    }


def count_current(conn: Connection, campaign_id: str) -> int:
    t = campaign_codes
    g = generation(conn, campaign_id)
    return int(
        conn.execute(
            select(func.count()).where(t.c.campaign_id == campaign_id, t.c.generation == g)
        ).scalar_one()
    )


def issue(
    conn: Connection,
    campaign: Campaign,
    profile_ids: Sequence[str],
    signer: Signer,
    now: datetime,
) -> dict[str, IssuedCode]:
    """The recipient codes of these profiles: the stored ones of the current generation,
    new ones signed (and stored) for the others. At most ``MAX_CODES`` per campaign."""
    not_before, not_after = validity(campaign, now)
    g = generation(conn, campaign.id)
    have = _stored(conn, campaign.id, profile_ids)
    missing = [p for p in dict.fromkeys(profile_ids) if p not in have or have[p].generation != g]
    if not missing:
        return have
    current = count_current(conn, campaign.id)
    if current + len(missing) > MAX_CODES:
        raise CampaignConflict(
            f"campaign {campaign.id} would have {current + len(missing)} recipient codes; at "
            f"most {MAX_CODES} fit the stores' code tables: split the mailing into campaigns"
        )
    rows = []
    for pid in missing:
        try:
            token = signer.sign(
                "r", pid, not_before=not_before, not_after=not_after, generation=g,
                campaign_id=campaign.id,
            ).text  # fmt: skip
        except TooLong as err:
            raise CampaignConflict(f"campaign {campaign.id}: {err}") from None
        rows.append({"campaign_id": campaign.id, "profile_id": pid, "generation": g,
                     "token": token, "fallback": fallback_of(token), "issued_at": now})  # fmt: skip
    t = campaign_codes
    stmt = insert_for(conn, t)
    # A row of an older generation is replaced; one another run stored meanwhile stays.
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.campaign_id, t.c.profile_id],
            set_={c: stmt.excluded[c] for c in ("generation", "token", "fallback", "issued_at")},
            where=t.c.generation < stmt.excluded.generation,
        ),
        rows,
    )
    return _stored(conn, campaign.id, profile_ids)


def poster_code(campaign: Campaign, signer: Signer, now: datetime) -> str:
    """The campaign's generic code (kind ``c``). Ed25519 signatures are deterministic, so
    the same key and dates give the same code every time."""
    not_before, not_after = validity(campaign, now)
    try:
        return signer.sign(
            "c", campaign.id, not_before=not_before, not_after=not_after,
            generation=POSTER_GENERATION,
        ).text  # fmt: skip
    except TooLong as err:
        raise CampaignConflict(f"campaign {campaign.id}: {err}") from None


def table_codes(conn: Connection, campaign_id: str) -> dict[str, str]:
    """Fallback code → token of the campaign's codes of the current generation."""
    t = campaign_codes
    g = generation(conn, campaign_id)
    rows = conn.execute(
        select(t.c.fallback, t.c.token).where(t.c.campaign_id == campaign_id, t.c.generation == g)
    )
    return {r.fallback: r.token for r in rows}


def fingerprints(conn: Connection) -> dict[str, tuple[int, int, str]]:
    """Per campaign with codes: (generation, codes, latest issue) of all its rows, which
    changes whenever its table would (a code issued or replaced, a rotation)."""
    t = campaign_codes
    gens = {r.campaign_id: r.generation for r in conn.execute(select(campaign_code_generations))}
    out: dict[str, tuple[int, int, str]] = {}
    for r in conn.execute(
        select(t.c.campaign_id, func.count(), func.max(t.c.issued_at)).group_by(t.c.campaign_id)
    ):
        out[r[0]] = (gens.get(r[0], 0), int(r[1]), str(r[2]))
    for cid, g in gens.items():
        out.setdefault(cid, (g, 0, ""))
    return out
