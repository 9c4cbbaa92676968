"""Reading a status or heartbeat message: bounded before it is parsed, checked after.

A signal is judged as a whole (it has no parts to answer one by one): too big, nested
too deep, not valid Unicode, a number out of range or a field that does not fit its
model, and the message is one dead letter with that reason.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from edge_sync.protocol import DeadLetterReason, wirejson
from edge_sync.protocol.envelope import MAX_SIGNAL_BYTES, MAX_SIGNAL_DEPTH
from edge_sync.protocol.schemas import describe_validation_error

M = TypeVar("M", bound=BaseModel)

_INT64 = 2**63


class BadPayload(Exception):
    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _out_of_range(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}: {value} is not a finite number"
    if abs(value) >= _INT64:
        return f"{name}: {value} does not fit in 64 bits"
    return None


def parse_signal(payload: bytes, model: type[M]) -> M:
    """``payload`` as ``model``, or ``BadPayload`` with a typed reason."""
    if len(payload) > MAX_SIGNAL_BYTES:
        raise BadPayload(
            DeadLetterReason.OVERSIZE, f"message is {len(payload)} bytes, limit {MAX_SIGNAL_BYTES}"
        )
    try:
        parsed = wirejson.loads(payload, MAX_SIGNAL_DEPTH)
    except wirejson.Malformed as err:
        raise BadPayload(DeadLetterReason.MALFORMED_JSON, str(err)) from None
    if parsed.flaws:
        flaw = parsed.flaws[0]
        raise BadPayload(flaw.reason, flaw.detail)
    doc = parsed.doc
    if wirejson.depth_over(doc, MAX_SIGNAL_DEPTH):
        raise BadPayload(
            DeadLetterReason.TOO_DEEP, f"message nests deeper than {MAX_SIGNAL_DEPTH} levels"
        )
    if isinstance(doc, dict):
        for name in model.model_fields:
            problem = _out_of_range(name, doc.get(name))
            if problem is not None:
                raise BadPayload(DeadLetterReason.OUT_OF_RANGE, problem)
    try:
        return model.model_validate(doc)
    except ValidationError as err:
        raise BadPayload(
            DeadLetterReason.SCHEMA_VIOLATION, describe_validation_error(err)
        ) from None
