"""A click-and-collect order: what the e-commerce system sends, its states and the
transitions between them, and the errors the API turns into problems.

States: ``placed`` → ``ready_for_pickup`` → ``picked_up`` | ``no_show`` | ``cancelled``
(and ``placed`` → ``cancelled``). What the API may do is ``ALLOWED``; a pickup that a
device confirmed is a fact from the store, applied by ingest (``pickups``), which may
also move a ``placed`` or ``no_show`` order to ``picked_up``: the goods left the store.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from edge_sync.protocol.ids import SEQ_MAX
from edge_sync.protocol.online import Sha256
from edge_sync.protocol.schemas import RefId
from edge_sync.protocol.timefmt import Rfc3339Utc

PLACED = "placed"
READY = "ready_for_pickup"
PICKED_UP = "picked_up"
NO_SHOW = "no_show"
CANCELLED = "cancelled"
STATES = (PLACED, READY, PICKED_UP, NO_SHOW, CANCELLED)
#: states an order never leaves through the API
FINAL = (PICKED_UP, NO_SHOW, CANCELLED)

#: (from, to) the API and the sweeper may make
ALLOWED = {
    (PLACED, READY),
    (PLACED, CANCELLED),
    (READY, CANCELLED),
    (READY, NO_SHOW),
}
#: states a pickup confirmed at a store moves to picked_up (not a cancelled order)
PICKUP_FROM = (PLACED, READY, NO_SHOW)

#: central's order ids: ``o-`` and 8 characters of lower-case Crockford base32, short
#: enough that a pickup code (order and store inside) fits QR version 7-M
ORDER_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ORDER_ID_PATTERN = r"^o-[0-9a-hjkmnp-tv-z]{8}$"
#: store ids as in pickup codes and topics, kept short enough for a pickup code
STORE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,15}$"
#: what an online ``order.placed`` may say an order is worth
MAX_ORDER_VALUE = 10_000_000

ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]


#: a customer's initials as the staff screen shows them: one to four letters (any script),
#: each may carry combining accents and be followed by a dot and/or a space ("J.D.",
#: "ÅB", "J. D."). Python ``re`` syntax, as the OpenAPI pattern (schemathesis generates
#: from it with the same engine), checked before normalising
INITIALS_PATTERN = r"^(?:[^\W\d_][\u0300-\u036f]{0,2}\.? ?){1,4}$"
INITIALS_MAX_CHARS = 16
_INITIALS_RE = re.compile(INITIALS_PATTERN)


def _initials(v: str) -> str:
    """Checked as sent, kept NFC-normalised and stripped (a trailing space is noise), so
    that "A\u030aB" and "ÅB" are the same body."""
    if len(v) > INITIALS_MAX_CHARS or not _INITIALS_RE.match(v):
        raise ValueError(
            'initials are one to four letters, each optionally followed by "." or a space '
            '(e.g. "J.D.", "ÅB")'
        )
    return unicodedata.normalize("NFC", v).strip()


Initials = Annotated[str, AfterValidator(_initials)]


def new_order_id() -> str:
    return "o-" + "".join(secrets.choice(ORDER_ID_ALPHABET) for _ in range(8))


def _json_number(v: Any) -> Any:
    """A JSON number, as JSON Schema reads one: ``true`` is not 1, nor ``"2"`` 2, and
    ``2.0`` is the integer 2."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError("must be a number")
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**53 else v


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: RefId = Field(examples=["SKU-4711"])
    name: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    quantity: Annotated[int, BeforeValidator(_json_number)] = Field(ge=1, le=1000)
    unit_price: Annotated[float, BeforeValidator(_json_number)] = Field(ge=0, le=1_000_000)


class OrderIn(BaseModel):
    """``POST /api/v1/orders``: an order the customer collects in one store."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # one of the two, not null: what ``_someone`` checks, as JSON Schema says it
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("customer_id", "email_sha256")
            ]
        },
    )

    external_id: ExternalId = Field(
        description="the e-commerce system's order id; the same id with the same body is "
        "the same order",
        examples=["WEB-100234"],
    )
    store_id: Annotated[str, StringConstraints(pattern=STORE_ID_PATTERN)] = Field(
        description="the store the customer picks it up in", examples=["s042"]
    )
    customer_id: RefId | None = Field(default=None, description="the shop's customer id")
    email_sha256: Sha256 | None = Field(
        default=None, description="sha256 of the lower-cased email address (never the address)"
    )
    lines: list[OrderLine] = Field(min_length=1, max_length=200)
    customer_initials: Initials | None = Field(
        default=None,
        description="what the store's staff screen shows of the customer at pickup (the "
        "kiosk gets no name): 1-4 letters, each optionally followed by a dot or a space",
        examples=["J.D."],
        json_schema_extra={
            "pattern": INITIALS_PATTERN,
            "minLength": 1,
            "maxLength": INITIALS_MAX_CHARS,
        },
    )
    placed_at: Rfc3339Utc | None = Field(
        default=None, description="when the customer placed it (default: when central got it)"
    )

    @model_validator(mode="after")
    def _someone(self) -> OrderIn:
        if self.customer_id is None and self.email_sha256 is None:
            raise ValueError("an order names its customer: customer_id or email_sha256")
        return self

    @property
    def items(self) -> int:
        return min(SEQ_MAX, sum(line.quantity for line in self.lines))

    @property
    def value(self) -> float:
        return round(sum(line.quantity * line.unit_price for line in self.lines), 2)

    def canonical(self) -> dict[str, Any]:
        """The body as JSON values, absent optional fields left out: what idempotency
        compares."""
        return self.model_dump(mode="json", exclude_none=True)


def body_sha256(canonical: dict[str, Any]) -> str:
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def differences(stored: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The top-level fields whose values differ, sorted."""
    return sorted(k for k in set(stored) | set(given) if stored.get(k) != given.get(k))


class OrderError(Exception):
    """Something the API answers with a problem: ``status`` and the message."""

    status = 409
    kind = "order-conflict"


class OrderNotFound(OrderError):
    status = 404
    kind = "not-found"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order with id {order_id}")


class ForbiddenTransition(OrderError):
    kind = "order-state"

    def __init__(self, order_id: str, state: str, wanted: str) -> None:
        allowed = sorted(to for frm, to in ALLOWED if frm == state)
        then = f"from {state} it may go to {', '.join(allowed)}" if allowed else "it is final"
        super().__init__(f"order {order_id} is {state}: it cannot become {wanted} ({then})")
        self.state = state
        self.wanted = wanted


class ExternalIdTaken(OrderError):
    kind = "order-idempotency"

    def __init__(self, external_id: str, order_id: str, fields: list[str]) -> None:
        super().__init__(
            f"external_id {external_id} is order {order_id}, placed with another body: "
            f"{', '.join(fields)} differ{'s' if len(fields) == 1 else ''}; an order is "
            "placed once (send the same body again, or use a new external_id)"
        )
        self.fields = fields


class CannotIssueCode(OrderError):
    kind = "order-code"


class NoSigningKey(OrderError):
    status = 503
    kind = "no-signing-key"


def check_value(order: OrderIn) -> None:
    if order.value > MAX_ORDER_VALUE:
        raise OrderError(
            f"the order's value {order.value:,.2f} is more than {MAX_ORDER_VALUE:,} (the most "
            "an order may be worth); split it"
        )
