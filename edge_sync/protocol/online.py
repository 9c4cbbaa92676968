"""Online touchpoints (email, web, shop) entering central over HTTP.

Same validation, dedup and effects as kiosk events, in the same envelope but with a
``channel`` and a ``source`` instead of a device and a seq; dedup is by ``id``.
The customer is named by ``customer_id`` (the shop's id) or ``email_sha256`` (never a
plain address).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .envelope import TypeName, UuidText
from .ids import SEQ_MAX
from .schemas import ConsentRecorded, EventType, Priority, RefId, Registry, TokenHash, _Data
from .timefmt import Rfc3339Time

Money = Annotated[float, Field(ge=0, le=10_000_000)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
#: no NUL: central stores event data as JSON in PostgreSQL, whose text cannot hold one
#: (a "\u0000" in stored JSON made every later ``data ->> …`` read over it fail)
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]


class EmailOpened(_Data):
    campaign_id: RefId
    message_id: RefId


class EmailClicked(_Data):
    campaign_id: RefId
    message_id: RefId
    url: Url


class WebVisited(_Data):
    url: Url
    campaign_id: RefId | None = None
    referrer: Url | None = None


class CartUpdated(_Data):
    cart_id: RefId
    items: int = Field(ge=0, le=SEQ_MAX)
    value: Money


class CheckoutStarted(_Data):
    cart_id: RefId
    value: Money


class OrderPlaced(_Data):
    order_id: RefId
    value: Money
    items: int = Field(ge=1, le=SEQ_MAX)
    #: click-and-collect: the store the customer will pick up in
    pickup_store_id: RefId | None = None
    cart_id: RefId | None = None


class ReviewPosted(_Data):
    rating: int = Field(ge=1, le=5)
    order_id: RefId | None = None


class QrOpened(_Data):
    """A campaign code opened on a phone (``GET /q/{token}``), recorded by central itself
    after it verified the code; the person is the code's recipient, or nobody."""

    campaign_id: RefId
    token_kind: Literal["c", "r"]
    token_hash: TokenHash
    #: the recipient's profile, for an ``r`` code
    recipient_id: RefId | None = None


C = Priority.CRITICAL
ONLINE_REGISTRY = Registry(
    [
        EventType("email.opened", 1, EmailOpened, C),
        EventType("email.clicked", 1, EmailClicked, C),
        EventType("web.visited", 1, WebVisited, C),
        EventType("cart.updated", 1, CartUpdated, C),
        EventType("checkout.started", 1, CheckoutStarted, C),
        EventType("order.placed", 1, OrderPlaced, C),
        EventType("review.posted", 1, ReviewPosted, C),
        # the same consent record as at the kiosk, given on a web form or from an import
        EventType("consent.recorded", 1, ConsentRecorded, C),
        EventType("qr.opened", 1, QrOpened, C),
    ]
)

#: online types only central records (from what it verified itself): they name no
#: customer in the envelope, and ``POST /api/v1/events`` does not take them
CENTRAL_ONLY_TYPES = frozenset({"qr.opened"})


#: envelope text as PostgreSQL can store it: no NUL (central's text check says so first,
#: with its own message; the pattern makes OpenAPI promise no more than is accepted)
EnvelopeText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


class OnlineEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UuidText
    type: TypeName
    v: int = Field(ge=1, le=1000)
    occurred_at: Rfc3339Time
    channel: Literal["email", "web", "app", "pos"]
    #: the sending system, e.g. "esp" or "shop"
    source: EnvelopeText
    customer_id: RefId | None = None
    email_sha256: Sha256 | None = None
    session_id: EnvelopeText | None = None
    data: dict[str, Any]

    @model_validator(mode="after")
    def _someone(self) -> OnlineEvent:
        if self.type in CENTRAL_ONLY_TYPES:
            if self.customer_id is not None or self.email_sha256 is not None:
                raise ValueError(f"a {self.type} event names no customer: its code does")
            return self
        if self.customer_id is None and self.email_sha256 is None:
            raise ValueError("an online event names its customer: customer_id or email_sha256")
        return self
