"""Alembic environment for central's database.

Runtime: ``central_api.store.db.migrate`` passes an open connection (already inside a
transaction that holds the migration lock) in ``config.attributes["connection"]``.
Development: ``alembic -x url=sqlite:///var/dev.db revision --autogenerate -m "…"`` with a
config whose ``script_location`` points here also works (the engine is built from the URL).
"""

from __future__ import annotations

from alembic import context

from central_api.store.tables import metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # Inside migrate()'s transaction this joins it; otherwise it opens one.
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported; use migrate(engine)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from central_api.store.db import make_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no connection: call central_api.store.db.migrate, or pass -x url=…")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


main()
