"""Each store's feed: a version per store, the snapshot at each version, the deltas
between versions, and their publication (``edge_sync.protocol.store_data`` is the wire
contract; docs/decisions.md, "Store feeds: a snapshot stored per version")."""
