"""Types shared by the API's response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

from edge_sync.protocol import format_ts

#: RFC 3339 UTC with milliseconds, ``2026-11-23T10:15:02.118Z``: the same format as the
#: wire protocol and ``central stats --json``
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_ts, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-11-23T10:15:02.118Z"}
    ),
]
