"""Campaigns at central: the model and API, the pushed store lists, attribution reports
and the campaign funnel (real SQLite and PostgreSQL, a real broker)."""
