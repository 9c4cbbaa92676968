"""What every table module shares: the ``MetaData`` they register on, and column types.

``tables`` imports the other table modules, so ``tables.metadata`` holds every table
(Alembic and ``create_all`` use it); the table modules import these from here rather
than from ``tables``, so that no two of them import each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, MetaData, TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

#: SQLite only auto-increments a column declared exactly ``INTEGER PRIMARY KEY``
AutoBigInt = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in and out, stored as UTC.

    PostgreSQL keeps ``timestamptz``; SQLite keeps naive UTC text
    (``2026-11-23 10:15:02.118000``, SQLAlchemy's format), which sorts correctly because
    every value is written in UTC with the same format. The processors are written out
    here rather than layered on DateTime's: ingest converts two timestamps per event.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        sqlite = dialect.name == "sqlite"
        # Ingest binds the same received_at object for every event of a message: keep the
        # last conversion. One tuple, swapped whole, so threads never see half an update.
        last: list[tuple[Any, Any]] = [(None, None)]

        def process(value: datetime | None) -> Any:
            if value is None:
                return None
            seen, out = last[0]
            if value is seen:
                return out
            if value.tzinfo is UTC:  # most are: facts and events are normalised to UTC
                out = value
            elif value.tzinfo is None:
                raise ValueError("naive datetime: central stores timezone-aware timestamps only")
            else:
                out = value.astimezone(UTC)
            if sqlite:  # "2026-11-23 10:15:02.118000+00:00" without its "+00:00"
                out = out.isoformat(" ", "microseconds")[:-6]
            last[0] = (value, out)
            return out

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)

        return process
