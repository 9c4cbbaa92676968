"""Which database errors mean "try again later"."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

#: SQLite reports missing tables and syntax errors as OperationalError too; only these pass
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o error", "database or disk is full")


def is_retryable(exc: BaseException) -> bool:
    """True for database errors that may pass on retry: a locked or busy database, a
    deadlock or serialization failure, a lost connection, a full disk."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return any(s in str(exc.orig).lower() for s in _SQLITE_TRANSIENT)
    return isinstance(exc, OperationalError | InterfaceError)
