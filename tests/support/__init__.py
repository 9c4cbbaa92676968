"""Test support: real services (Mosquitto, SQLite, PostgreSQL) and real processes.

Import it as ``tests.support`` (``tests/conftest.py`` puts the repository root on
``sys.path``); never as a bare ``support``, which would load a second copy with
its own registry of started processes.
"""

from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
