"""Central's HTTP API: ``/healthz`` (open) and the authenticated ``/api/v1`` routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from edge_sync.version import VERSION

from .api import (
    routes_admin_profiles,
    routes_attributes,
    routes_campaign_reports,
    routes_campaigns,
    routes_codes,
    routes_devices,
    routes_events,
    routes_funnel,
    routes_inventory,
    routes_inventory_imports,
    routes_keys,
    routes_orders,
    routes_profiles,
    routes_qr_page,
    routes_rules,
    routes_staff,
    routes_stats,
    routes_store_feed,
    routes_webhooks,
)
from .api.allow import OptionsMiddleware
from .api.auth import AuthFirstMiddleware
from .api.errors import install_error_handlers
from .api.middleware import MAX_BODY_BYTES, BodyLimitMiddleware, CatchAllMiddleware
from .api.openapi import install_openapi
from .domain.campaigns.push import CampaignPublisher
from .domain.orders.push import PickupPublisher
from .domain.orders.records import CodeIssuer
from .domain.store_feed.push import StoreFeedPublisher
from .domain.tokens.check import KeyringFile
from .domain.tokens.keystore import KeyStore
from .service import IngestService

DESCRIPTION = """\
Every `/api/v1` route needs an API key as `Authorization: Bearer omk_<key id>_<secret>`
(create one with `python main.py central create-key --role ROLE`). Roles: `admin` (every
route), `marketer`, `integration`, and `device` (bound to one store: only that store's
data, on routes under a `{store_id}` that say so). Errors are RFC 9457 `application/problem+json`. Lists
are paginated: `?limit=` (1..500, default 50) and `?cursor=` set to the previous page's
`next`.
"""


def create_app(
    engine: Engine,
    ingest: IngestService | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    campaign_push: CampaignPublisher | None = None,
    order_codes: CodeIssuer | None = None,
    pickup_push: PickupPublisher | None = None,
    code_keys: KeyStore | None = None,
    store_feed: StoreFeedPublisher | None = None,
) -> FastAPI:
    """``campaign_push``: the publisher told after each campaign change made here;
    ``order_codes``: how "ready" signs pickup codes (without, it answers 503);
    ``pickup_push``: the publisher told after each order change made here;
    ``code_keys``: central's QR signing keys, for the check-in codes it hands out and the
    codes phones open at ``/q/``; without them those answer 503;
    ``store_feed``: the publisher told after each import or staff change made here."""
    app = FastAPI(title="omnikiosk central", version=VERSION, description=DESCRIPTION)
    app.state.engine = engine
    app.state.campaign_push = campaign_push
    app.state.order_codes = order_codes
    app.state.pickup_push = pickup_push
    app.state.code_keys = code_keys
    app.state.store_feed = store_feed
    app.state.code_keyring = KeyringFile(code_keys) if code_keys is not None else None
    install_error_handlers(app)
    app.add_middleware(AuthFirstMiddleware)
    app.add_middleware(OptionsMiddleware)
    # Added last = outermost: the catch-all also sees what the body limit raises.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(CatchAllMiddleware)
    for module in (
        routes_devices, routes_stats, routes_keys, routes_events, routes_admin_profiles,
        routes_rules, routes_webhooks,
    ):  # fmt: skip
        app.include_router(module.router)
    for module in (
        routes_profiles, routes_funnel, routes_attributes, routes_campaigns,
        routes_campaign_reports, routes_inventory_imports, routes_inventory, routes_orders,
        routes_codes, routes_qr_page, routes_staff, routes_store_feed,
    ):  # fmt: skip
        app.include_router(module.router)
    install_openapi(app)

    @app.get("/healthz", tags=["health"])
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
