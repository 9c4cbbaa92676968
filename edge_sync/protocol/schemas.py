"""Event types: one pydantic model per (type, version), and each type's priority class.

Field meanings are documented in ``docs/events.md``. Models forbid unknown keys so
that a typo on a kiosk is caught where it happens, not weeks later in a report.
Integers stay within 64 bits (``le=SEQ_MAX``), so whatever central derives from them
fits its columns.
Nothing here carries personal data: profiles are referred to by id, QR tokens by
a hash prefix, or (``visit.linked`` and ``campaign.scanned`` v2) by the token itself,
which holds ids only, so that central can check it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .ids import IDENT_PATTERN, SEQ_MAX


class Priority(StrEnum):
    #: never evicted from the outbox: a shopper or staff member saw it succeed
    CRITICAL = "critical"
    #: may be evicted oldest-first when the outbox is over its caps (each drop counted)
    ANALYTICS = "analytics"


Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
RefId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
TokenHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,64}$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
TokenKind = Literal["p", "c", "r", "o"]
#: a bare QR token as ``edge_sync.protocol.tokens`` writes it (upper-case base32)
TokenText = Annotated[str, StringConstraints(pattern=r"^[A-Z2-7]{16,400}$")]
#: every reason ``tokens.verify`` gives
TokenReason = Literal[
    "malformed", "bad_signature", "unknown_key", "expired", "not_yet_valid", "revoked",
    "wrong_kind", "already_used", "not_for_this_store",
]  # fmt: skip


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class SessionStarted(_Data):
    trigger: Literal["touch", "qr_scan", "staff", "proximity"]
    locale: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"


class SessionEnded(_Data):
    reason: Literal["timeout", "done", "staff", "shutdown"]
    duration_ms: int = Field(ge=0, le=SEQ_MAX)
    screens: int = Field(ge=0, le=SEQ_MAX, default=0)


class ProductSearched(_Data):
    query: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    results: int = Field(ge=0, le=SEQ_MAX)
    in_stock_results: int = Field(ge=0, le=SEQ_MAX)


class ProductViewed(_Data):
    sku: RefId
    source: Literal["search", "browse", "scan", "campaign"]
    in_stock: bool
    stock_qty: int | None = Field(default=None, ge=0, le=SEQ_MAX)


class QrScanned(_Data):
    """Every scan, good or bad: the friction report counts the bad ones by reason."""

    valid: bool
    kind: TokenKind | None = None
    reason: (
        Literal["malformed", "bad_signature", "expired", "unknown_key", "revoked", "not_ours"]
        | None
    ) = None
    kid: RefId | None = None
    token_hash: TokenHash | None = None


class VisitLinked(_Data):
    profile_id: RefId
    method: Literal["qr", "staff"]
    token_kind: TokenKind | None = None
    campaign_id: RefId | None = None
    token_hash: TokenHash | None = None


#: why a kiosk did not accept a scan: the verifier's reasons, a QR code that is not one of
#: ours (a Wi-Fi code, another shop's URL), a typed fallback code no stored table holds
ScanReason = Literal[TokenReason, "not_ours", "unknown_fallback"]


class QrScannedV2(_Data):
    """Every scan that was not accepted, with the verifier's own reasons and the key id
    as it is in the code."""

    valid: bool
    kind: TokenKind | None = None
    reason: ScanReason | None = None
    kid: int | None = Field(default=None, ge=1, le=255)
    token_hash: TokenHash | None = None
    #: typed from the fallback code under the QR code, not scanned
    typed: bool = False


class VisitLinkedV2(_Data):
    """A visit linked by a scanned code, which central verifies again: ``profile_id``,
    ``token_kind`` and ``campaign_id`` must be what the token says."""

    token: TokenText
    profile_id: RefId
    method: Literal["qr"] = "qr"
    token_kind: Literal["p", "r"]
    campaign_id: RefId | None = None
    token_hash: TokenHash


class CampaignScanned(_Data):
    campaign_id: RefId
    recipient_id: RefId | None = None
    offer_shown: bool = True
    token_hash: TokenHash | None = None


class CampaignScannedV2(_Data):
    """A campaign code scanned (``c``, or ``r`` with its recipient), verified again at
    central like ``visit.linked`` v2."""

    token: TokenText
    campaign_id: RefId
    #: the recipient's profile, for an ``r`` code; none for a generic campaign code
    recipient_id: RefId | None = None
    offer_shown: bool = True
    token_hash: TokenHash


class PickupConfirmed(_Data):
    order_id: RefId
    staff_id: Ident
    items: int = Field(ge=1, le=SEQ_MAX)
    method: Literal["qr", "lookup"]
    token_hash: TokenHash | None = None


class PickupRefused(_Data):
    order_id: RefId
    staff_id: Ident
    reason: Literal[
        "id_mismatch", "not_ready", "already_collected", "customer_absent", "damaged", "other"
    ]
    note: ShortText | None = None


class ConsentRecorded(_Data):
    profile_id: RefId | None = None
    purpose: Literal["marketing", "analytics", "profiling"]
    granted: bool
    #: kiosk_prompt and staff at the kiosk; web_form, email_link and import from online sources
    method: Literal["kiosk_prompt", "staff", "web_form", "email_link", "import"]
    text_version: RefId


#: what went wrong (offered under a rating of 1–3) and what went well (4–5)
SurveyReason = Literal[
    "waited_long", "item_missing", "kiosk_hard", "quick", "staff_helpful", "good_offer"
]


class SurveyAnswered(_Data):
    """The kiosk's one-tap feedback after a pickup or a linked visit. Ids only: the
    linked visit's profile, or the order handed over (central finds its profile)."""

    survey: Literal["kiosk_feedback"] = "kiosk_feedback"
    context: Literal["pickup", "visit"]
    rating: int = Field(ge=1, le=5)
    scale: Literal[5] = 5
    reason: SurveyReason | None = None
    profile_id: RefId | None = None
    order_id: RefId | None = None


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    version: int
    model: type[BaseModel]
    priority: Priority


class UnknownEventType(Exception):
    def __init__(self, name: str, version: int) -> None:
        super().__init__(f"unknown event type {name!r} version {version}")
        self.name = name
        self.version = version


class SchemaViolation(Exception):
    """Data that does not fit its type's schema; ``detail`` names the field and problem."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """``data.items: Input should be greater than or equal to 1`` — one line per problem."""
    parts = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"])
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "(root)")
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


class Registry:
    def __init__(self, types: list[EventType]) -> None:
        self._types = {(t.name, t.version): t for t in types}

    def get(self, name: str, version: int) -> EventType:
        try:
            return self._types[(name, version)]
        except KeyError:
            raise UnknownEventType(name, version) from None

    def validate_data(self, name: str, version: int, data: Any) -> dict[str, Any]:
        """Validate ``data`` for a type; returns it normalised (defaults filled in)."""
        et = self.get(name, version)
        try:
            model = et.model.model_validate(data)
        except ValidationError as err:
            raise SchemaViolation(describe_validation_error(err, "data")) from None
        # Data fields are JSON scalars only, so the plain dump is already JSON-ready.
        return model.model_dump()

    def __iter__(self):
        return iter(sorted(self._types.values(), key=lambda t: (t.name, t.version)))


C, A = Priority.CRITICAL, Priority.ANALYTICS

REGISTRY = Registry(
    [
        EventType("session.started", 1, SessionStarted, A),
        EventType("session.ended", 1, SessionEnded, A),
        EventType("product.searched", 1, ProductSearched, A),
        EventType("product.viewed", 1, ProductViewed, A),
        EventType("qr.scanned", 1, QrScanned, C),
        EventType("qr.scanned", 2, QrScannedV2, C),
        EventType("visit.linked", 1, VisitLinked, C),
        EventType("visit.linked", 2, VisitLinkedV2, C),
        EventType("campaign.scanned", 1, CampaignScanned, C),
        EventType("campaign.scanned", 2, CampaignScannedV2, C),
        EventType("pickup.confirmed", 1, PickupConfirmed, C),
        EventType("pickup.refused", 1, PickupRefused, C),
        EventType("consent.recorded", 1, ConsentRecorded, C),
        EventType("survey.answered", 1, SurveyAnswered, A),
    ]
)
