"""Project-wide pytest setup; the fixtures live in tests/support/plugin.py.

Fixtures: repo_root, broker, pg_server_url, pg_url, db_url (sqlite/postgres),
spawn, logged_errors. Marker: allow_logged_errors.
"""

import sys
from pathlib import Path

# `tests.support` must import the same way however pytest was started
# (`python -m pytest` from the root, `pytest` from elsewhere).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = ["pytester", "tests.support.plugin"]
