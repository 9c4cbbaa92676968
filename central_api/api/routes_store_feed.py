"""``GET /api/v1/stores/{store_id}/snapshot``: a store's data at one feed version, the
bytes the manifest's sha256 is over (``edge_sync.protocol.store_data``).

Served from what is stored: gzip-compressed as ``Content-Encoding: gzip`` to a client
that accepts it (``requests`` does), decompressed otherwise. Only the latest two
versions are kept; an older one is a 404 that tells the device to read the manifest
again.

Who may read: admin and integration keys for every store, and a device's key for its
own store only (``auth.store_guarded``): a kiosk's credential never opens another
store's data.
"""

from __future__ import annotations

import gzip
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Engine

from central_api.domain.inventory.stores import UnknownStore, get_store
from central_api.domain.store_feed.reads import read_snapshot
from edge_sync.protocol import topics
from edge_sync.protocol.ids import IDENT_PATTERN

from .auth import get_engine, store_guarded
from .errors import ApiError, problem_type
from .keys import Role

router = APIRouter(prefix="/api/v1", tags=["store data"])

StoreId = Annotated[
    str, Path(pattern=IDENT_PATTERN, description="the store's id", examples=["s001"])
]

#: the roles that may read any store's snapshot (admin always may; a device key its own)
READER_ROLES: tuple[Role, ...] = ("integration",)


_SNAPSHOT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The snapshot's JSON body (store_data.parse_snapshot reads it)",
        "content": {"application/json": {"schema": {"type": "object"}}},
        "headers": {
            "ETag": {"description": "the body's sha256, quoted", "schema": {"type": "string"}},
            "X-Snapshot-Sha256": {"description": "the body's sha256 (as in the manifest)",
                                  "schema": {"type": "string"}},
            "X-Snapshot-Version": {"description": "the feed version", "schema": {"type": "string"}},
        },
    },
    304: {"description": "If-None-Match named this snapshot's ETag"},
    404: {"description": "No such store, no snapshot yet, or that version is no longer kept"},
}  # fmt: skip


def _not_kept(store_id: str, version: int | None) -> ApiError:
    manifest = topics.store_down(store_id, "inventory")
    if version is None:
        detail = f"store {store_id} has no snapshot yet; central builds one within seconds"
    else:
        detail = (
            f"snapshot version {version} of store {store_id} is no longer kept; read the "
            f"manifest ({manifest}) again and fetch the version it names"
        )
    return ApiError(404, detail, type_=problem_type("snapshot-gone"))


@router.get(
    "/stores/{store_id}/snapshot",
    summary="A store's data (catalog, stock, nearby stock, staff, pickups) at a version",
    response_class=Response,
    responses=_SNAPSHOT_RESPONSES,
    **store_guarded(*READER_ROLES),
)
def get_snapshot(
    store_id: StoreId,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    version: Annotated[
        int | None, Query(ge=1, description="the feed version (default: the latest)")
    ] = None,
) -> Response:
    """Check the body's sha256 against the manifest's before using it."""
    with engine.connect() as conn:
        try:
            get_store(conn, store_id)
        except UnknownStore:
            raise ApiError(404, f"no store {store_id}", type_=problem_type("not-found")) from None
        snap = read_snapshot(conn, store_id, version)
    if snap is None:
        raise _not_kept(store_id, version)
    headers = {
        "ETag": f'"{snap.sha256}"', "X-Snapshot-Sha256": snap.sha256,
        "X-Snapshot-Version": str(snap.version), "Vary": "Accept-Encoding",
        "Cache-Control": "private, no-cache",
    }  # fmt: skip
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(snap.gzipped, media_type="application/json", headers=headers)
    return Response(gzip.decompress(snap.gzipped), media_type="application/json", headers=headers)
