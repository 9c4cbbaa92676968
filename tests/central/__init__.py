"""Central: storage, migrations, the ingest core, devices and stats (real databases)."""
