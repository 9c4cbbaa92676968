"""Stores, products and stock: what central knows of the retailer's shops and shelves.

Every change carries a version, so a feed of changes can be derived later without a
change log:

* ``products.version`` and ``stores.version`` come from the rows of
  ``inventory_versions`` (``catalog``, ``stores``): one counter each, taken under a row
  lock by a writer that changes something, so versions grow in commit order for the
  writers of one kind;
* ``stock.version`` is its store's ``stores.stock_version`` at the import that last
  changed the row: per store, so a store's changes since version *n* are its rows with
  ``version > n``. A row the store's file no longer lists is kept as a tombstone
  (``removed_at`` set, quantity 0) at a new version, so removals show in that feed too.

``stores.stock_as_of`` is when the store's stock was last stated (by an import naming
the store, whether or not anything changed): the "as of" time shown with its numbers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from .base import UTCDateTime, metadata

#: names in ``inventory_versions`` (``staff``: migration 0014, ``feed_tables``)
VERSION_SCOPES = ("catalog", "stores", "staff")

stores = Table(
    "stores",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text(), nullable=False),
    Column("address", Text(), nullable=False),
    Column("latitude", Float(), nullable=False),
    Column("longitude", Float(), nullable=False),
    #: an IANA zone name, e.g. ``Europe/Berlin``
    Column("timezone", String(64), nullable=False),
    #: whether kiosks and reads show exact quantities (else in stock / low / out only)
    Column("show_exact_stock", Boolean(), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    #: 0 until the first stock import names the store
    Column("stock_version", BigInteger(), nullable=False),
    Column("stock_as_of", UTCDateTime(), nullable=True),
    CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
    CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
    # the nearby search's bounding box is a range on latitude
    Index(None, "latitude"),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(32), primary_key=True),
    #: EAN-13, EAN-8 or UPC-A digits, check digit verified; unique over the catalog
    Column("barcode", String(13), nullable=False, unique=True),
    Column("name", Text(), nullable=False),
    Column("brand", Text(), nullable=False),
    #: a path, ``Garden/Tools/Spades``
    Column("category", Text(), nullable=False),
    #: the price in the currency's minor units (cents), exact
    Column("price_minor", BigInteger(), nullable=False),
    #: ISO 4217, e.g. ``EUR``
    Column("currency", String(3), nullable=False),
    #: an http(s) URL or a path under the kiosk's assets; empty for none
    Column("image", Text(), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("price_minor >= 0", name="price"),
    Index(None, "version"),
)

stock = Table(
    "stock",
    metadata,
    Column("store_id", String(64), ForeignKey("stores.id"), primary_key=True),
    Column("sku", String(32), ForeignKey("products.sku"), primary_key=True),
    Column("quantity", Integer(), nullable=False),
    #: at or below it (and above 0) the kiosk says "low"; 0 means never low
    Column("low_threshold", Integer(), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    #: set when the store's file stopped listing the SKU (a tombstone, quantity 0)
    Column("removed_at", UTCDateTime(), nullable=True),
    CheckConstraint("quantity >= 0", name="quantity"),
    CheckConstraint("low_threshold >= 0", name="low_threshold"),
    Index(None, "store_id", "version"),
    Index(None, "sku"),
)

inventory_versions = Table(
    "inventory_versions",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("version", BigInteger(), nullable=False),
)
