"""Stores, nearby stores and a product's availability, for marketers and integrations.

Availability says ``in_stock``, ``low`` or ``out`` per store, as the kiosk does, and
the exact ``quantity`` only for stores with ``show_exact_stock`` (null elsewhere).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from central_api.domain.inventory.fields import SKU_PATTERN
from central_api.domain.inventory.stock import availability
from central_api.domain.inventory.stores import (
    MAX_NEARBY_KM,
    UnknownStore,
    get_store,
    list_stores,
    nearby_stores,
)
from central_api.store.inventory_tables import products
from edge_sync.protocol.ids import IDENT_PATTERN

from .auth import get_engine, guarded
from .errors import ApiError, problem_type
from .pagination import Page, PageParams, decode_cursor, encode_cursor, page_in_memory, page_params
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["inventory"])
_LISTING = "stores"

StoreId = Annotated[
    str, Path(pattern=IDENT_PATTERN, description="the store's id", examples=["s001"])
]
Km = Annotated[float, Query(gt=0, le=MAX_NEARBY_KM, description="the radius in km")]


class StoreOut(BaseModel):
    id: str = Field(examples=["s001"])
    name: str
    address: str
    latitude: float
    longitude: float
    timezone: str = Field(examples=["Europe/Berlin"])
    show_exact_stock: bool = Field(description="kiosks show exact quantities")
    version: int = Field(description="the stores' version at this store's last change")
    stock_version: int = Field(description="the store's stock version (0: no stock yet)")
    stock_as_of: Timestamp | None = Field(description="when its stock was last imported")


class NearbyOut(StoreOut):
    distance_km: float


class NearbyPage(BaseModel):
    store: StoreOut
    km: float
    items: list[NearbyOut] = Field(description="the other stores within km, nearest first")


class StoreAvailability(BaseModel):
    store_id: str
    name: str
    state: Literal["in_stock", "low", "out"]
    stocked: bool = Field(description="false: the store does not carry the SKU")
    quantity: int | None = Field(description="only where the store shows exact stock")
    as_of: Timestamp | None = Field(description="when the store's stock was last imported")
    distance_km: float | None = Field(description="from the store asked for (with store=)")


class AvailabilityOut(BaseModel):
    sku: str
    name: str
    stores: list[StoreAvailability]


def _unknown_store(store_id: str) -> ApiError:
    return ApiError(404, f"no store {store_id}", type_=problem_type("not-found"))


@router.get(
    "/stores",
    response_model=Page[StoreOut],
    summary="List stores",
    **guarded("marketer", "integration"),
)
def get_stores(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    """Stores by id, as the last stores import left them."""
    after = decode_cursor(page.cursor, _LISTING, (str,)) if page.cursor else None
    with engine.connect() as conn:
        rows = list_stores(conn)
    items, last = page_in_memory(rows, lambda s: (s["id"],), after, page.limit)
    return {
        "items": items,
        "limit": page.limit,
        "next": encode_cursor(_LISTING, last) if last else None,
    }


@router.get(
    "/stores/{store_id}/nearby",
    response_model=NearbyPage,
    summary="Stores within a distance of a store, nearest first",
    **guarded("marketer", "integration"),
)
def get_nearby(
    store_id: StoreId, engine: Annotated[Engine, Depends(get_engine)], km: Km = 25.0
) -> dict[str, Any]:
    """Great-circle (haversine) distance between the stores' coordinates."""
    try:
        with engine.connect() as conn:
            origin = get_store(conn, store_id)
            found = nearby_stores(conn, store_id, km)
    except UnknownStore:
        raise _unknown_store(store_id) from None
    items = [{**n.store, "distance_km": round(n.distance_km, 3)} for n in found]
    return {"store": origin, "km": km, "items": items}


@router.get(
    "/products/{sku}/availability",
    response_model=AvailabilityOut,
    summary="A product's availability by store: in stock, low or out",
    **guarded("marketer", "integration"),
)
def get_availability(
    sku: Annotated[str, Path(pattern=SKU_PATTERN, description="the SKU", examples=["GW-00001"])],
    engine: Annotated[Engine, Depends(get_engine)],
    store: Annotated[
        str | None,
        Query(pattern=IDENT_PATTERN, description="only this store (and, with km, its neighbours)"),
    ] = None,
    km: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_NEARBY_KM,
            description="with store: also the stores within km, nearest first",
        ),
    ] = None,
) -> dict[str, Any]:
    """Without ``store``: every store, by id. With it: that store, then (with ``km``) the
    stores near it by distance; ``distance_km`` is 0 for the store itself."""
    with engine.connect() as conn:
        name = conn.scalar(select(products.c.name).where(products.c.sku == sku))
        if name is None:
            raise ApiError(404, f"no product {sku}", type_=problem_type("not-found"))
        distance: dict[str, float | None] = {}
        if store is None:
            rows = list_stores(conn)
        else:
            try:
                rows = [get_store(conn, store)]
                near = nearby_stores(conn, store, km) if km is not None else []
            except UnknownStore:
                raise _unknown_store(store) from None
            rows += [n.store for n in near]
            distance = {store: 0.0, **{n.store["id"]: round(n.distance_km, 3) for n in near}}
        names = {s["id"]: s["name"] for s in rows}
        levels = availability(conn, sku, rows)
    return {
        "sku": sku,
        "name": name,
        "stores": [
            {**a, "name": names[a["store_id"]], "distance_km": distance.get(a["store_id"])}
            for a in levels
        ],
    }
