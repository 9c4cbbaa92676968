"""Central's authenticated HTTP API (``/api/v1``): keys and roles, problem+json errors,
pagination, and the routes. ``central_api.app.create_app`` assembles it."""
