"""``POST /api/v1/catalog/import``, ``/stores/import`` and ``/stock/import``: the CSV
imports over HTTP, for an integration (a merchandise or ERP system).

The same checks and writes as ``central import-…`` (``central_api.imports``): all or
nothing per body, a 422 listing every bad line, ``?dry_run=true`` to check without
writing. Bodies are limited like every body (413 past 1 MiB, some 35,000 stock rows);
the CLI takes files of any size.
"""

from __future__ import annotations

from dataclasses import asdict
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.imports import catalog, stock, stores
from central_api.imports.csvbase import ImportFailed
from central_api.imports.runner import Kind, import_bytes
from edge_sync.protocol import utcnow

from .auth import get_engine, guarded
from .csv_refusal import refused

router = APIRouter(prefix="/api/v1", tags=["inventory"])


class Counts(BaseModel):
    dry_run: bool = Field(description="true: checked and counted, nothing written")
    rows: int
    created: int
    updated: int
    unchanged: int = Field(description="rows equal to what was stored: no new version")


class UpsertOut(Counts):
    version: int = Field(description="the catalog's (or the stores') version after the import")


class StockOut(Counts):
    stores: int = Field(description="stores the file names (their stock was replaced)")
    removed: int = Field(description="SKUs of those stores the file no longer lists")
    versions: dict[str, int] = Field(description="each named store's stock version after it")


def _body(columns: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": f"UTF-8 CSV with a header ({columns}); `,` or `;` separated",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }


async def raw_body(request: Request) -> bytes:
    return await request.body()  # (after authentication: a dependency of the route)


def _run(engine: Engine, kind: Kind, raw: bytes, dry_run: bool) -> dict[str, Any]:
    try:
        result = import_bytes(engine, kind, raw, utcnow(), dry_run)
    except ImportFailed as err:
        raise refused(err) from None
    return {"dry_run": dry_run, **asdict(result)}


DryRun = Annotated[
    bool, Query(description="check every row against the database, count, write nothing")
]
_ROUTES: list[tuple[str, ModuleType, type[BaseModel]]] = [
    ("/catalog/import", catalog, UpsertOut),
    ("/stores/import", stores, UpsertOut),
    ("/stock/import", stock, StockOut),
]

_SUMMARIES = {
    "catalog": "Import products (upsert by SKU), all or nothing",
    "stores": "Import stores (upsert by id), all or nothing",
    "stock": "Replace the stock of the stores in a CSV, all or nothing",
}


def _add(path: str, module: ModuleType, model: type[BaseModel]) -> None:
    kind: Kind = module.KIND
    columns = ", ".join(kind.spec.required + kind.spec.optional)
    args = guarded("integration")
    args["openapi_extra"] = {**args["openapi_extra"], "requestBody": _body(columns)}

    def route(
        request: Request,
        engine: Annotated[Engine, Depends(get_engine)],
        raw: Annotated[bytes, Depends(raw_body)],
        dry_run: DryRun = False,
    ) -> dict[str, Any]:
        out = _run(engine, kind, raw, dry_run)
        feed = getattr(request.app.state, "store_feed", None)
        if feed is not None and not dry_run:
            feed.changed()  # the stores' feeds advance now, not at the next interval
        return out

    # the importer's own description of its columns and mode, then the API's part
    what = (module.__doc__ or "").split("\n\n", 1)[-1].strip()
    route.__doc__ = (
        f"{what}\n\nEvery row is checked first; one bad line and nothing is written: the "
        "422 lists every bad line (`line`, and `field` as `line N: column`). See "
        "docs/imports.md."
    )
    router.post(
        path, response_model=model, summary=_SUMMARIES[kind.name],
        operation_id=f"import_{kind.name}", **args,
    )(route)  # fmt: skip


for _path, _module, _model in _ROUTES:
    _add(_path, _module, _model)
