"""The API fixtures (an app on a migrated database, one key per role) for these tests."""

from tests.central.api.conftest import client, keys  # noqa: F401
