"""What central does when a phone opens a code URL (``GET /q/{token}``).

The code is verified as a kiosk would (central's keys, its revocation list, now), then:

- ``c`` and ``r`` codes of a running campaign send the phone to the campaign's landing
  URL with UTM parameters, and record a ``qr.opened`` online event through the online
  intake (``online.ingest_online``: the same checks, dedup and effects as any online
  event). The event's id is derived from the code's hash and the UTC day, so a second
  open on the same day is a duplicate that changes nothing, and the next day's counts.
- a campaign not running (not started, ended, unknown) gets a page saying so and
  records nothing;
- ``p`` and ``o`` codes get a page telling where to show them; nothing is recorded (the
  kiosk records the check-in or the pickup when it happens);
- a code that does not verify gets a page with the reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from edge_sync.protocol import format_ts
from edge_sync.protocol.tokens import InvalidToken, Keyring, Kind, Reason, Token, verify

from ..campaigns import records
from ..online.online import ingest_online
from ..scoring.active_rules import active_rules
from ..tokens.revocations import revoked_among

log = logging.getLogger(__name__)

#: the ``source`` of the events central records for opened codes
SOURCE = "qr-page"
#: names the ids of ``qr.opened`` events (uuid5 of the code's hash and the day)
_ID_NAMESPACE = uuid.UUID("5b0f3c1e-8a57-4d2e-9c61-0d6e8f4a2b73")


#: the HTTP status each reason is answered with: a code that never was valid is a bad
#: request, one that was and is no longer is gone, one not valid yet is refused for now
REASON_STATUS: dict[Reason, int] = {
    Reason.MALFORMED: 400,
    Reason.BAD_SIGNATURE: 400,
    Reason.UNKNOWN_KEY: 400,
    Reason.WRONG_KIND: 400,
    Reason.NOT_FOR_THIS_STORE: 400,
    Reason.EXPIRED: 410,
    Reason.REVOKED: 410,
    Reason.ALREADY_USED: 410,
    Reason.NOT_YET_VALID: 403,
}


@dataclass(frozen=True, slots=True)
class Opened:
    """The answer: a redirect (``location``) or a page (``page``, with its ``status``)."""

    status: int
    location: str | None = None
    #: ``invalid``, ``check_in``, ``pickup``, ``campaign_unknown``,
    #: ``campaign_not_started``, ``campaign_ended``
    page: str | None = None
    reason: Reason | None = None
    #: a date the page names (the day a campaign starts)
    day: str = ""
    #: the ``qr.opened`` event's id, when one was recorded or was a duplicate
    event_id: str | None = None
    #: True when this open was new (not a same-day repeat)
    counted: bool = False


def with_utm(landing_url: str, utm: list[tuple[str, str]]) -> str:
    """``landing_url`` with the UTM parameters it does not have yet appended; its own
    query (and fragment) kept exactly as written, including its own ``utm_*`` values."""
    parts = urlsplit(landing_url)
    have = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = urlencode([(k, v) for k, v in utm if k not in have])
    query = "&".join(q for q in (parts.query, added) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


def utm_for(campaign: records.Campaign, token: Token) -> list[tuple[str, str]]:
    return [
        ("utm_source", "qr"),
        ("utm_medium", campaign.channel),
        ("utm_campaign", campaign.id),
        ("utm_content", token.kind.value),
    ]


def event_id(token_hash: str, day: str) -> str:
    """The ``qr.opened`` id for a code on a UTC day: one event per code per day."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"qr.opened|{token_hash}|{day}"))


def opened_event(token: Token, campaign_id: str, now: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaign_id": campaign_id,
        "token_kind": token.kind.value,
        "token_hash": token.token_hash,
    }
    if token.kind is Kind.RECIPIENT:
        data["recipient_id"] = token.profile_id
    return {
        "id": event_id(token.token_hash, now.astimezone(UTC).date().isoformat()),
        "type": "qr.opened",
        "v": 1,
        "occurred_at": format_ts(now),
        "channel": "web",
        "source": SOURCE,
        "data": data,
    }


def check_code(engine: Engine, keyring: Keyring, text: str, now: datetime) -> Token:
    """The code if it may be used now (signature, validity, revocations); else
    ``InvalidToken``."""
    token = verify(text, keyring, now=now)
    hashes = token.scope_hashes()
    with engine.connect() as conn:
        revoked = revoked_among(conn, hashes)
    if revoked.revokes(hashes, token.fields.generation):
        raise InvalidToken(Reason.REVOKED, f"generation {token.fields.generation} is revoked")
    return token


def open_code(
    engine: Engine,
    keyring: Keyring | Callable[[], Keyring],
    text: str,
    now: datetime,
    *,
    record: bool = True,
) -> Opened:
    """What to answer for the code ``text`` opened at ``now`` (timezone-aware UTC).
    ``record``: False for a HEAD request (a link checker), which must not count."""
    ring = keyring() if callable(keyring) else keyring
    try:
        token = check_code(engine, ring, text, now)
    except InvalidToken as err:
        return Opened(REASON_STATUS[err.reason], page="invalid", reason=err.reason)
    if token.kind is Kind.PROFILE:
        return Opened(200, page="check_in")
    if token.kind is Kind.ORDER:
        return Opened(200, page="pickup")
    campaign_id = token.campaign_id
    assert campaign_id is not None  # c and r codes name their campaign
    with engine.connect() as conn:
        try:
            campaign = records.get(conn, campaign_id)
        except records.CampaignNotFound:
            return Opened(404, page="campaign_unknown")
    status = campaign.status(now.astimezone(UTC).date())
    if status == "ended":
        return Opened(410, page="campaign_ended")
    if status == "scheduled":
        return Opened(403, page="campaign_not_started", day=campaign.starts_on.isoformat())
    location = with_utm(campaign.landing_url, utm_for(campaign, token))
    if not record:
        return Opened(302, location=location)
    doc = opened_event(token, campaign.id, now)
    return Opened(302, location=location, event_id=doc["id"], counted=_record(engine, doc, now))


def _record(engine: Engine, doc: dict[str, Any], now: datetime) -> bool:
    """Record the open; True if it was new. The phone is sent on even when the
    database cannot take it now: the shopper's way to the offer matters more than one
    count, and the failure is logged."""
    try:
        with engine.connect() as conn:
            rules = active_rules(conn)
        result = ingest_online(engine, [doc], now, rules, from_central=True)
    except OperationalError as err:
        log.warning("q: could not record qr.opened %s: %s", doc["id"], err.orig or err)
        return False
    if result.rejected:  # kept as a dead letter by the intake; a bug if it ever happens
        log.error("q: qr.opened %s was rejected: %s", doc["id"], result.rejected)
    return bool(result.accepted)
