"""pytest plugin with the project's fixtures; loaded by ``tests/conftest.py``.

Fixtures: ``repo_root``, ``broker``, ``pg_server_url``, ``pg_url``, ``db_url``,
``spawn``, ``logged_errors``; plus two autouse ones: failing a test whose
background threads logged an exception or died (``allow_logged_errors`` turns
that off), and killing processes a test started and left running.
A failed test's report carries the log tails of the brokers and processes it
started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, pg, tracking
from tests.support.broker import Broker
from tests.support.errors import ErrorCollector
from tests.support.migrated import MigratedSchemas
from tests.support.procs import Proc

ALLOW_MARK = "allow_logged_errors"

_collector_key = pytest.StashKey[ErrorCollector]()
_first_started_key = pytest.StashKey[int]()
_started_in_call_key = pytest.StashKey[tuple[int, int]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_MARK}: the test triggers logged exceptions or thread deaths on purpose; "
        "do not fail it for them (read them with the logged_errors fixture)",
    )


# -- the longest files first ------------------------------------------------------

#: test files that take a minute or more (the README's `make demo`, the kiosk app under
#: Xvfb, the API contract fuzzing): run first, so that with ``-n 2 --dist loadfile``
#: the two workers finish together instead of one running them last while the other
#: waits (longest first; measured on 2 cores)
LONGEST_FIRST = (
    "tests/test_readme.py",
    "tests/central/api/test_schemathesis.py",
    "tests/kiosk/ui/",
    "tests/test_demo_window.py",
    "tests/test_import_graph.py",
    "tests/faults/test_kills.py",
    "tests/test_first_hour.py",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next((i for i, p in enumerate(LONGEST_FIRST) if path.startswith(p)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the order within each group stays as collected


# -- failing on logged exceptions ---------------------------------------------


def _errors_allowed(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker(ALLOW_MARK) is not None or "logged_errors" in names


def _fail_text(records: list[logging.LogRecord]) -> str:
    return (
        f"{len(records)} exception(s) were logged or killed a thread during the test "
        f"(mark it @pytest.mark.{ALLOW_MARK} if that is intended):\n\n"
        + ErrorCollector.format(records)
    )


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(request: pytest.FixtureRequest) -> Iterator[ErrorCollector]:
    collector = ErrorCollector()
    collector.install()
    request.node.stash[_collector_key] = collector
    try:
        yield collector
    finally:
        collector.uninstall()
    # Reached after the test's other fixtures are torn down (autouse fixtures are
    # set up first), so errors logged while stopping daemons count too.
    if not _errors_allowed(request.node):
        records = collector.take()
        if records:
            pytest.fail(_fail_text(records), pytrace=False)


@pytest.fixture
def logged_errors(_fail_on_logged_errors: ErrorCollector) -> list[logging.LogRecord]:
    """The ERROR records with exc_info (and thread deaths) seen so far; live list.

    Using this fixture means the test inspects the errors itself, so they do
    not fail it (as with the allow_logged_errors marker).
    """
    return _fail_on_logged_errors.records


# -- per-phase bookkeeping ------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    item.stash[_first_started_key] = len(tracking.started)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    before = len(tracking.started)
    try:
        result = yield
    finally:
        item.stash[_started_in_call_key] = (before, len(tracking.started))
    # Fail as a test failure (not only a teardown error) when it is already known.
    collector = item.stash.get(_collector_key, None)
    if collector is not None and not _errors_allowed(item):
        records = collector.take()
        if records:
            pytest.fail(_fail_text(records), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    # Processes the test body started and left running: killed before fixtures
    # (brokers, schemas) are torn down under them.
    start, end = item.stash.get(_started_in_call_key, (0, 0))
    for obj in tracking.started[start:end]:
        if obj.needs_cleanup:
            obj.kill_quietly()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for obj in tracking.started[item.stash.get(_first_started_key, 0) :]:
            report.sections.append((f"log of {obj.describe()}", obj.log_tail()))
    return report


@pytest.fixture(scope="session", autouse=True)
def _kill_leftover_processes() -> Iterator[None]:
    yield
    tracking.kill_leftovers()


# -- services ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running Mosquitto on a free port, with its files in tmp_path/"broker"."""
    mqtt = Broker(tmp_path / "broker")
    mqtt.start()
    try:
        yield mqtt
    finally:
        mqtt.stop()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """OMK_TEST_POSTGRES_URL; skips when unset, fails when set but unreachable."""
    url = pg.url_from_env()
    if url is None:
        pytest.skip(f"{pg.ENV_VAR} not set")
    try:
        pg.check_server(url)
        problem = None
    except RuntimeError as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except block: no chained traceback
        pytest.fail(problem, pytrace=False)
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A SQLAlchemy URL whose connections use a fresh schema, dropped after the test."""
    with pg.temp_schema(pg_server_url) as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The central database URL, once on a SQLite file and once on PostgreSQL.

    An empty database, except for tests that use central's migrated ``engine``: on
    PostgreSQL they get a schema migrated once and emptied after each test
    (``tests/support/migrated``); the engine fixture copies SQLite's migrated file.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    name = "_pg_migrated_url" if "engine" in request.fixturenames else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="session")
def _pg_migrated_schemas(pg_server_url: str) -> Iterator[MigratedSchemas]:
    schemas = MigratedSchemas(pg_server_url)
    try:
        yield schemas
    finally:
        schemas.close()


@pytest.fixture
def _pg_migrated_url(_pg_migrated_schemas: MigratedSchemas) -> Iterator[str]:
    """A migrated central schema, lent to this test and emptied after it."""
    schema = _pg_migrated_schemas.lend()
    try:
        yield schema.url
    finally:
        _pg_migrated_schemas.give_back(schema)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """``spawn(args, name=None, env=None, start=True)`` -> Proc logging to tmp_path/logs.

    Everything spawned is terminated (SIGTERM, then SIGKILL) at teardown.
    """
    made: list[Proc] = []

    def _spawn(
        args: list[str],
        name: str | None = None,
        env: dict[str, str] | None = None,
        start: bool = True,
    ) -> Proc:
        log_name = name or f"{len(made)}-{args[0] if args else 'main'}"
        proc = Proc(args, tmp_path / "logs" / f"{log_name}.log", env=env)
        made.append(proc)
        return proc.start() if start else proc

    yield _spawn
    for proc in reversed(made):
        if proc.needs_cleanup:
            proc.terminate()
