"""What a scan does at the kiosk: check the code offline, record what happened in the
outbox, and say what to show.

| code scanned          | events                                  | outcome              |
|-----------------------|-----------------------------------------|----------------------|
| profile (``p``)       | ``visit.linked``                        | ``checked_in``       |
| recipient (``r``)     | ``visit.linked`` + ``campaign.scanned`` | ``offer`` (or below) |
| campaign (``c``)      | ``campaign.scanned``                    | ``offer`` (or below) |
| pickup (``o``)        | none: the verified token goes to the pickup flow | ``pickup``  |
| anything else         | ``qr.scanned`` with the reason          | the reason           |

A genuine campaign code whose campaign the stored list does not show running still
counts (the events are recorded, with ``offer_shown`` false): ``campaign_not_here``,
``campaign_not_started`` or ``campaign_ended`` when the list is today's, and
``offer_unavailable`` when the kiosk has no list from today (never received one, or has
been offline since an earlier day), since then it cannot tell. docs/decisions.md, "Scans
at the kiosk", says why.

Each code is recorded once per kiosk session: scanning it again (a shopper trying twice)
shows the same result and records nothing more. ``scan`` and ``typed`` never raise; every
answer is a ``ScanOutcome`` with a typed ``Outcome``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from edge_sync import EdgeClient, EdgeError
from edge_sync.client import UnknownFallback
from edge_sync.protocol.campaign_list import CampaignEntry
from edge_sync.protocol.tokens import InvalidToken, Kind, Reason
from edge_sync.protocol.tokens.codec import (
    MAX_TEXT,
    SIGNATURE_BYTES,
    Malformed,
    from_text,
    token_part,
)
from edge_sync.protocol.tokens.fallback import ALPHABET, CHECK_SYMBOLS, LENGTH, BadFallback

from .. import i18n

if TYPE_CHECKING:  # the verifier (and its signature library) loads on the first code
    from edge_sync.protocol.tokens import Token

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    # accepted
    CHECKED_IN = "checked_in"
    OFFER = "offer"
    OFFER_UNAVAILABLE = "offer_unavailable"
    CAMPAIGN_NOT_HERE = "campaign_not_here"
    CAMPAIGN_NOT_STARTED = "campaign_not_started"
    CAMPAIGN_ENDED = "campaign_ended"
    PICKUP = "pickup"
    # refused by the verifier
    MALFORMED = Reason.MALFORMED.value
    BAD_SIGNATURE = Reason.BAD_SIGNATURE.value
    UNKNOWN_KEY = Reason.UNKNOWN_KEY.value
    EXPIRED = Reason.EXPIRED.value
    NOT_YET_VALID = Reason.NOT_YET_VALID.value
    REVOKED = Reason.REVOKED.value
    WRONG_KIND = Reason.WRONG_KIND.value
    ALREADY_USED = Reason.ALREADY_USED.value
    NOT_FOR_THIS_STORE = Reason.NOT_FOR_THIS_STORE.value
    # refused before the verifier
    NOT_OURS = "not_ours"
    BAD_FALLBACK = "bad_fallback"
    UNKNOWN_FALLBACK = "unknown_fallback"
    # the code was fine but the outbox could not take the events
    NOT_RECORDED = "not_recorded"


ACCEPTED = frozenset(
    {Outcome.CHECKED_IN, Outcome.OFFER, Outcome.OFFER_UNAVAILABLE, Outcome.CAMPAIGN_NOT_HERE,
     Outcome.CAMPAIGN_NOT_STARTED, Outcome.CAMPAIGN_ENDED, Outcome.PICKUP}
)  # fmt: skip
_BY_STATUS = {"running": Outcome.OFFER, "scheduled": Outcome.CAMPAIGN_NOT_STARTED,
              "ended": Outcome.CAMPAIGN_ENDED}  # fmt: skip
#: a session's codes remembered for "once per session" (a session is one shopper)
_SESSION_MEMORY = 1000
_B32_RE = re.compile(r"^[A-Z2-7]{16,}$")


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What a screen shows for one scan."""

    outcome: Outcome
    #: the i18n key of the message (``message(lang)``)
    text_key: str
    #: the verified code (accepted outcomes); a pickup flow takes it from here
    token: Token | None = None
    #: the campaign as the stored list has it (``c`` and ``r`` codes, when listed)
    campaign: CampaignEntry | None = None
    #: the profile the code names (``p`` and ``r``), for the greeting
    profile_id: str | None = None
    #: event types put in the outbox by this scan (empty when already recorded)
    recorded: tuple[str, ...] = ()
    #: the same code was scanned earlier in this session
    repeat: bool = False
    typed: bool = False
    #: for the log, never for the shopper
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.outcome in ACCEPTED

    @property
    def offer_shown(self) -> bool:
        return self.outcome is Outcome.OFFER

    def message(self, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
        return i18n.text(self.text_key, lang)

    def offer_text(self, lang: str = i18n.DEFAULT_LANGUAGE) -> str | None:
        """The offer to show (only for ``offer``)."""
        if self.outcome is not Outcome.OFFER or self.campaign is None:
            return None
        return self.campaign.offer.text.get(lang)


def looks_like_ours(text: object) -> bool:
    """Whether ``text`` is shaped like one of our codes (a code URL, or a long run of
    upper-case base32), so that a code that still fails is ``malformed`` (damaged:
    try again) rather than ``not_ours`` (a Wi-Fi code, another shop's link)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(text, str) or not text.isascii():
        return False
    up = text.strip().upper()
    if up.startswith("HTTPS://"):
        return "/Q/" in up
    return _B32_RE.match(up) is not None


def _claims(text: object) -> tuple[Kind | None, int | None, str | None]:
    """What an unverified code says about itself (kind, key id, hash), for ``qr.scanned``."""
    from edge_sync.protocol.tokens.verify import hash_of, peek

    fields = peek(text)
    if fields is None:
        return None, None, None
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("ascii")
    try:
        signed = from_text(token_part(str(text)))
    except Malformed:
        return fields.kind, fields.kid, None
    return fields.kind, fields.kid, hash_of(signed) if len(signed) > SIGNATURE_BYTES else None


def fallback_flaw(typed: object) -> str:
    """The i18n key saying what is wrong with a typed code ``fallback.parse`` refused."""
    if not isinstance(typed, str):
        return "fallback_length"
    text = "".join(c for c in typed.upper() if c not in " -\t")
    if len(text) != LENGTH:
        return "fallback_length"
    if any(c not in ALPHABET + "ILO" for c in text[:-1]) or text[-1] not in CHECK_SYMBOLS + "ILO":
        return "fallback_character"
    return "fallback_check"


class ScanAction:
    """Turns what the scanner read into events and an answer. ``kinds``: the codes this
    screen takes (default: all); another kind is ``wrong_kind``."""

    def __init__(self, client: EdgeClient, kinds: tuple[Kind | str, ...] | None = None) -> None:
        self.client = client
        self.kinds = kinds
        self._session: str | None = None
        self._seen: dict[str, ScanOutcome] = {}

    # -- entry points ------------------------------------------------------------------

    def scan(
        self, decoded: object, session_id: str | None, *, now: datetime | None = None
    ) -> ScanOutcome:
        """A code the camera read (text, or bytes from a binary QR code)."""
        return self._guarded(lambda: self._scan(decoded, session_id, now, typed=False))

    def typed(
        self, code: object, session_id: str | None, *, now: datetime | None = None
    ) -> ScanOutcome:
        """A fallback code typed by staff: resolved offline through the stored tables to
        its token, which is then checked exactly as if it had been scanned."""
        return self._guarded(lambda: self._typed(code, session_id, now))

    def _guarded(self, run: Any) -> ScanOutcome:
        try:
            return run()
        except Exception as err:  # a bug or the database: the screen must still answer
            log.exception("scan not handled")
            return ScanOutcome(Outcome.NOT_RECORDED, "not_recorded", detail=repr(err)[:200])

    # -- the work ------------------------------------------------------------------------

    def _typed(self, code: object, session_id: str | None, now: datetime | None) -> ScanOutcome:
        try:
            token_text = self.client.resolve_fallback(code)
        except BadFallback as err:
            out = ScanOutcome(
                Outcome.BAD_FALLBACK, fallback_flaw(code), typed=True, detail=str(err)
            )
            key = f"typed:{_digest(code)}"
            return self._record(session_id, key, out, [_qr("malformed", typed=True)])
        except UnknownFallback as err:
            out = ScanOutcome(
                Outcome.UNKNOWN_FALLBACK, "unknown_fallback", typed=True, detail=str(err)
            )
            key = f"typed:{err.code}"
            return self._record(session_id, key, out, [_qr("unknown_fallback", typed=True)])
        return self._scan(token_text, session_id, now, typed=True)

    def _scan(
        self, decoded: object, session_id: str | None, now: datetime | None, *, typed: bool
    ) -> ScanOutcome:
        now = now or datetime.now(UTC)
        try:
            token = self.client.verify_code(decoded, now=now, kinds=self.kinds)
        except InvalidToken as err:
            return self._refused(decoded, session_id, err, typed)
        if token.kind is Kind.ORDER:
            # No event: the pickup flow records the handover (and marks the code used).
            return ScanOutcome(Outcome.PICKUP, "pickup", token=token, typed=typed)
        if token.kind is Kind.PROFILE:
            out = ScanOutcome(
                Outcome.CHECKED_IN, "checked_in", token=token, profile_id=token.profile_id,
                typed=typed,
            )  # fmt: skip
            return self._record(session_id, token.token_hash, out, [_link(token)])
        campaign_id = token.campaign_id
        assert campaign_id is not None
        entry = self.client.campaign(campaign_id)
        listed = self.client.campaign_list()
        if listed is None or not listed.current(now.date()):
            outcome = (
                _BY_STATUS[entry.status(now.date())]
                if entry is not None
                else Outcome.OFFER_UNAVAILABLE
            )
        elif entry is None:
            outcome = Outcome.CAMPAIGN_NOT_HERE
        else:
            outcome = _BY_STATUS[entry.status(now.date())]
        out = ScanOutcome(
            outcome, outcome.value, token=token, campaign=entry, profile_id=token.profile_id,
            typed=typed,
        )  # fmt: skip
        events = [_link(token)] if token.kind is Kind.RECIPIENT else []
        events.append(_campaign_scan(token, offer_shown=outcome is Outcome.OFFER))
        return self._record(session_id, token.token_hash, out, events)

    def _refused(
        self, decoded: object, session_id: str | None, err: InvalidToken, typed: bool
    ) -> ScanOutcome:
        if err.reason is Reason.MALFORMED and not typed and not looks_like_ours(decoded):
            # Nothing of a foreign code goes into the event or the log (a Wi-Fi code
            # holds its password).
            out = ScanOutcome(Outcome.NOT_OURS, "not_ours", detail="not one of our codes")
            return self._record(session_id, f"x:{_digest(decoded)}", out, [_qr("not_ours")])
        kind, kid, token_hash = _claims(decoded)
        outcome = Outcome(err.reason.value)
        out = ScanOutcome(outcome, outcome.value, typed=typed, detail=str(err)[:200])
        data = _qr(err.reason.value, kind=kind, kid=kid, token_hash=token_hash, typed=typed)
        key = f"x:{token_hash or _digest(decoded)}:{err.reason.value}"
        return self._record(session_id, key, out, [data])

    def _record(
        self,
        session_id: str | None,
        key: str,
        out: ScanOutcome,
        events: list[tuple[str, dict[str, Any]]],
    ) -> ScanOutcome:
        """Put ``events`` in the outbox unless this session recorded ``key`` already."""
        if session_id != self._session:
            self._session, self._seen = session_id, {}
        if session_id is not None and key in self._seen:
            return replace(out, recorded=(), repeat=True)
        try:
            # one transaction: a recipient code's link and scan are both kept, or neither
            self.client.enqueue_many(events, session_id, v=2)
        except EdgeError as err:
            log.error("scan not recorded (%s): %s", out.outcome.value, err)
            return ScanOutcome(
                Outcome.NOT_RECORDED, "not_recorded", token=out.token, recorded=(),
                typed=out.typed, detail=str(err)[:200],
            )  # fmt: skip
        if session_id is not None and len(self._seen) < _SESSION_MEMORY:
            self._seen[key] = out
        return replace(out, recorded=tuple(type_ for type_, _ in events))


def _digest(value: object) -> str:
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")[: MAX_TEXT * 4]
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)[: MAX_TEXT * 4]
    else:
        raw = repr(type(value)).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _qr(
    reason: str,
    *,
    kind: Kind | None = None,
    kid: int | None = None,
    token_hash: str | None = None,
    typed: bool = False,
) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"valid": False, "reason": reason}
    if kind is not None:
        data["kind"] = kind.value
    if kid is not None:
        data["kid"] = kid
    if token_hash is not None:
        data["token_hash"] = token_hash
    if typed:
        data["typed"] = True
    return "qr.scanned", data


def _link(token: Token) -> tuple[str, dict[str, Any]]:
    """``visit.linked`` v2 with exactly what central checks against the token."""
    return "visit.linked", {
        "token": token.text, "profile_id": token.profile_id, "method": "qr",
        "token_kind": token.kind.value, "campaign_id": token.fields.campaign_id,
        "token_hash": token.token_hash,
    }  # fmt: skip


def _campaign_scan(token: Token, *, offer_shown: bool) -> tuple[str, dict[str, Any]]:
    return "campaign.scanned", {
        "token": token.text, "campaign_id": token.campaign_id,
        "recipient_id": token.profile_id, "offer_shown": offer_shown,
        "token_hash": token.token_hash,
    }  # fmt: skip
