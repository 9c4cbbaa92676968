"""Store data at the edge: the catalog, stock here and nearby, and staff, from central.

* ``sync.InventorySync`` (in the sync daemon) keeps edge.db's cache tables current from
  the retained manifest, the deltas (``deltas``) and the snapshot (``fetch``, ``load``);
* ``availability.Availability`` (in the kiosk, also ``EdgeClient.availability``) reads
  them: search and a product's availability;
* ``tables``: the tables, and the state row (edge.db migration 4).

Nothing is imported here, so that the kiosk, importing ``availability``, never loads
the HTTP client, and ``edge_sync.schema`` can use ``tables`` without a circle.
"""
