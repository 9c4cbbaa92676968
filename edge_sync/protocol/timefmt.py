"""Timestamps as they may be written on the wire and in the API: RFC 3339, nothing else.

pydantic's lax datetime parsing takes a number (or a string of digits) as Unix seconds,
so ``0.5`` or ``"0.5"`` would be read as 1970-01-01T00:00:00.5Z; and it takes times whose
UTC value is outside year 1..9999 (``0001-01-01T00:00:00+14:00``), which no store and no
``astimezone`` can hold. ``Rfc3339Time`` refuses both, with a message that says what is
expected, so a bad time is an error that names its field instead of a crash later on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

#: ``2026-11-23T10:15:02.118Z`` or ``…+02:00``: four-digit year, seconds, an offset. On
#: 0001-01-01 the offset may not be ahead of UTC and on 9999-12-31 not behind it, so that
#: the time in UTC is always within year 1..9999 (a rule a JSON Schema pattern can state,
#: so OpenAPI says exactly what is accepted).
_IN_RANGE = r"(?!0001-01-01[Tt][0-9:.]+\+(?!00:00)|9999-12-31[Tt][0-9:.]+-(?!00:00))"
_SHAPE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
RFC3339_PATTERN = "^" + _IN_RANGE + _SHAPE
_SHAPE_RE = re.compile("^" + _SHAPE)
_RANGE_RE = re.compile("^" + _IN_RANGE)
_KINDS = {bool: "boolean", int: "number", float: "number", type(None): "null", list: "array",
          dict: "object"}  # fmt: skip
EXAMPLE = "2026-11-23T10:15:02.118Z"


def _text_only(value: Any) -> Any:
    if isinstance(value, datetime):  # made in Python, not read from JSON or a query
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type",
            "a date-time is an RFC 3339 string such as {example}, not a {kind}",
            {"example": EXAMPLE, "kind": _KINDS.get(type(value), type(value).__name__)},
        )
    if not _SHAPE_RE.match(value):
        raise PydanticCustomError(
            "datetime_format",
            "not an RFC 3339 date-time: expected YYYY-MM-DDThh:mm:ss[.ffffff] and Z or ±hh:mm, "
            "such as {example}",
            {"example": EXAMPLE},
        )
    if not _RANGE_RE.match(value):
        raise _out_of_range()
    return value


def _out_of_range() -> PydanticCustomError:
    return PydanticCustomError(
        "datetime_range",
        "out of range: in UTC it would be before year 1 or after year 9999 (on 0001-01-01 the "
        "offset may not be ahead of UTC, on 9999-12-31 not behind it)",
    )


def _in_utc_range(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise _out_of_range() from None
    return value


#: an RFC 3339 date-time with an offset whose UTC value is within year 1..9999; the
#: offset is kept (``Rfc3339Utc`` converts)
Rfc3339Time = Annotated[
    AwareDatetime,
    BeforeValidator(_text_only),
    AfterValidator(_in_utc_range),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN, "example": EXAMPLE}
    ),
]

#: ``Rfc3339Time`` as UTC
Rfc3339Utc = Annotated[Rfc3339Time, AfterValidator(lambda v: v.astimezone(UTC))]
