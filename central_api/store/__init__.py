"""Central's database: tables (SQLAlchemy Core), engines, Alembic migrations."""

from .db import make_engine, migrate, write_transaction

__all__ = ["make_engine", "migrate", "write_transaction"]
