"""Central's HTTP API. At this step: health only; Step 2 adds the authenticated API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from edge_sync.version import VERSION

from .service import IngestService


def create_app(engine: Engine, ingest: IngestService | None = None) -> FastAPI:
    app = FastAPI(title="omnikiosk central", version=VERSION)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Ready when the database answers and (if this process ingests) MQTT is connected."""
        checks: dict[str, str] = {}
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as err:
            checks["database"] = f"error: {err.__class__.__name__}"
        if ingest is not None:
            checks["mqtt"] = (
                "ok" if ingest.healthy else f"down: {ingest.link.last_error or 'connecting'}"
            )
            # e.g. "retrying: database: database or disk is full" (nothing is acked meanwhile)
            checks["ingest"] = (
                "ok" if ingest.last_error is None else f"retrying: {ingest.last_error}"
            )
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "degraded", "version": VERSION, "checks": checks},
            status_code=200 if ok else 503,
        )

    return app
