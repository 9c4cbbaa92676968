"""Tests of the test support code itself, against real Mosquitto and PostgreSQL."""

from __future__ import annotations

import logging
import os
import signal
import socket
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.support import pg
from tests.support.broker import Broker
from tests.support.mqtt import MqttProbe, MqttRefused
from tests.support.ports import free_port, port_open
from tests.support.procs import Proc
from tests.support.waiting import StopWaiting, wait_for

# -- waiting / ports ----------------------------------------------------------------


def test_wait_for_returns_the_truthy_value() -> None:
    calls = iter([0, None, "", "done"])
    assert wait_for(lambda: next(calls), timeout=5) == "done"


def test_wait_for_times_out_with_message_and_last_value() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError) as info:
        wait_for(lambda: 0, timeout=0.2, message="the moon to rise")
    assert time.monotonic() - started >= 0.2
    assert "timed out after 0.2s waiting for the moon to rise" in str(info.value)
    assert "last value: 0" in str(info.value)


def test_wait_for_reports_last_exception() -> None:
    def never() -> bool:
        raise ConnectionRefusedError("nope")

    with pytest.raises(AssertionError, match="last exception: ConnectionRefusedError") as info:
        wait_for(never, timeout=0.1, message="a server")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_stop_waiting_fails_at_once() -> None:
    def dead() -> bool:
        raise StopWaiting("process died")

    started = time.monotonic()
    with pytest.raises(StopWaiting, match="process died"):
        wait_for(dead, timeout=30)
    assert time.monotonic() - started < 5


def test_free_port_is_bindable_and_not_repeated() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))


# -- broker ---------------------------------------------------------------------------


def test_broker_fixture_publish_subscribe(broker: Broker) -> None:
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
    with (
        MqttProbe(broker.host, broker.port, client_id="sub") as sub,
        MqttProbe(broker.host, broker.port, client_id="pub") as pub,
    ):
        sub.subscribe("omk/v1/test/#", qos=1)
        pub.publish("omk/v1/test/a", b"hello", qos=1)
        msg = sub.wait_message("omk/v1/test/a")
        assert msg.payload == b"hello"
    assert "mosquitto version" in broker.log_tail()


def test_broker_survives_kill9_with_retained_message(tmp_path: Path) -> None:
    with Broker(tmp_path / "b") as broker:
        port = broker.port
        db_file = broker.workdir / "mosquitto.db"
        with MqttProbe(broker.host, port) as pub:
            pub.publish("omk/v1/down/s1/inventory", b"v42", qos=1, retain=True)
            acked_ns = time.time_ns()
        # autosave_interval 1: wait for a save that happened after the PUBACK.
        wait_for(
            lambda: db_file.exists() and db_file.stat().st_mtime_ns > acked_ns,
            timeout=10,
            message="an autosave after the retained publish",
        )
        broker.kill()
        assert not broker.alive
        assert not port_open(broker.host, port)
        broker.restart()
        assert broker.port == port and broker.alive
        with MqttProbe(broker.host, port) as sub:
            sub.subscribe("omk/v1/down/s1/inventory")
            msg = sub.wait_message("omk/v1/down/s1/inventory")
            assert msg.payload == b"v42" and msg.retain


def test_broker_start_failure_shows_the_log(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "bad", extra_conf="no_such_option 1")
    with pytest.raises(RuntimeError, match="exited with code") as info:
        broker.start()
    assert "no_such_option" in str(info.value)


def test_auth_broker_checks_passwords_and_acl(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "auth", auth=True)
    broker.add_user("s042-k1", "right")
    with broker:
        with pytest.raises(MqttRefused):
            MqttProbe(broker.host, broker.port, username="s042-k1", password="wrong").connect()
        with pytest.raises(MqttRefused):
            MqttProbe(broker.host, broker.port).connect()  # anonymous
        with MqttProbe(broker.host, broker.port, username="s042-k1", password="right") as ok:
            ok.subscribe("anything/#")

        # Changes on a running broker are applied by SIGHUP; clients stay connected.
        with MqttProbe(broker.host, broker.port, username="s042-k1", password="right") as kept:
            broker.add_user("central", "secret")
            broker.set_acl(
                "user s042-k1\ntopic write omk/v1/up/s042/s042-k1/#\n"
                "topic read omk/v1/down/s042/s042-k1/#\n\n"
                "user central\ntopic readwrite omk/v1/#\n"
            )
            assert kept.client.is_connected()
        # Mosquitto's acl_file filters reads at delivery (SUBSCRIBE itself is accepted):
        # the device gets its own down/ topic but not another device's.
        with (
            MqttProbe(broker.host, broker.port, username="s042-k1", password="right") as dev,
            MqttProbe(broker.host, broker.port, username="central", password="secret") as c,
        ):
            dev.subscribe("omk/v1/down/#")
            c.publish("omk/v1/down/s042/s042-k2/cmd", b"not yours")
            c.publish("omk/v1/down/s042/s042-k1/cmd", b"yours")
            assert dev.wait_message("omk/v1/down/#").payload == b"yours"
            assert [m.topic for m in dev.messages] == ["omk/v1/down/s042/s042-k1/cmd"]


# -- processes --------------------------------------------------------------------------

CHILD_SCRIPT = textwrap.dedent(
    """
    import signal, subprocess, sys
    if "--ignore-term" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    print("child", child.pid)
    print("ready", flush=True)
    while True:
        signal.pause()  # until a signal it does not ignore ends it
    """
)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it is gone for our purposes once reaped or
    # marked Z (its parent, killed too, is no longer there to reap it).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def _child_pid(proc: Proc) -> int:
    line = next(ln for ln in proc.log_text().splitlines() if ln.startswith("child "))
    return int(line.split()[1])


@pytest.mark.parametrize("ignore_term", [False, True], ids=["term", "ignores-term"])
def test_proc_terminate_reaches_children(tmp_path: Path, ignore_term: bool) -> None:
    script = tmp_path / "fake_main.py"
    script.write_text(CHILD_SCRIPT)
    args = ["--ignore-term"] if ignore_term else []
    proc = Proc(args, tmp_path / "p.log", script=script).start()
    proc.wait_for_log("ready", timeout=20)
    child = _child_pid(proc)
    assert proc.alive and proc.returncode is None
    code = proc.terminate(timeout=1 if ignore_term else 10)
    assert code == (-signal.SIGKILL if ignore_term else -signal.SIGTERM)
    assert not proc.alive
    wait_for(lambda: _pid_gone(child), timeout=10, message="the child to be killed")
    assert "=== start:" in proc.log_tail()


def test_proc_kill9_and_env(tmp_path: Path) -> None:
    script = tmp_path / "env_main.py"
    script.write_text(
        "import os, signal\n"
        "print('unbuffered', os.environ['PYTHONUNBUFFERED'], os.environ['OMK_X'])\n"
        "signal.pause()\n"
    )
    proc = Proc([], tmp_path / "e.log", env={"OMK_X": "42"}, script=script).start()
    proc.wait_for_log("unbuffered 1 42")
    proc.kill9()
    assert proc.returncode == -signal.SIGKILL
    assert proc.wait(timeout=1) == -signal.SIGKILL


def test_wait_for_log_fails_fast_when_process_exits(tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text("raise SystemExit('config error: bad key')\n")
    proc = Proc([], tmp_path / "c.log", script=script).start()
    started = time.monotonic()
    with pytest.raises(AssertionError, match="exited with 1") as info:
        proc.wait_for_log("never printed", timeout=60)
    assert time.monotonic() - started < 30
    assert "config error: bad key" in str(info.value)


def test_spawn_fixture_runs_main_py_path(spawn: Callable[..., Proc], repo_root: Path) -> None:
    proc = spawn(["--help"], start=False)
    assert proc.argv[1] == str(repo_root / "main.py")
    assert proc.env["PYTHONUNBUFFERED"] == "1"


# -- PostgreSQL ---------------------------------------------------------------------------


def test_pg_url_sets_search_path(pg_url: str) -> None:
    assert "options=-csearch_path%3Domk_t_" in pg_url
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            path = conn.execute(sa.text("SHOW search_path")).scalar_one()
            assert path.startswith(pg.SCHEMA_PREFIX)
            conn.execute(sa.text("CREATE TABLE t (x int)"))
            conn.commit()
            schema = conn.execute(
                sa.text("SELECT table_schema FROM information_schema.tables WHERE table_name='t'")
            ).scalar_one()
            assert schema == path
    finally:
        engine.dispose()


def test_pg_schemas_are_isolated_and_dropped(pg_server_url: str) -> None:
    with pg.temp_schema(pg_server_url) as url_a, pg.temp_schema(pg_server_url) as url_b:
        a, b = sa.create_engine(url_a), sa.create_engine(url_b)
        try:
            with a.begin() as conn:
                conn.execute(sa.text("CREATE TABLE outbox (seq int)"))
                conn.execute(sa.text("INSERT INTO outbox VALUES (1)"))
            with b.connect() as conn:
                assert not sa.inspect(conn).has_table("outbox")
                with pytest.raises(sa.exc.ProgrammingError, match="does not exist"):
                    conn.execute(sa.text("SELECT * FROM outbox"))
            # A leftover open transaction must not block the drop.
            leaked = a.connect()
            leaked.execute(sa.text("SELECT * FROM outbox"))
            schema_a = leaked.execute(sa.text("SHOW search_path")).scalar_one()
        finally:
            b.dispose()
    with psycopg.connect(pg.to_conninfo(pg_server_url)) as conn:
        left = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (schema_a,)
        ).fetchone()
        assert left == (0,)
    # The server ended it; closing it normally would log a failed ROLLBACK.
    leaked.invalidate()
    leaked.close()
    a.dispose()


def test_pg_unreachable_server_is_reported(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    with pytest.raises(RuntimeError, match="is set but PostgreSQL is not reachable"):
        pg.check_server(url, timeout=2)


def test_to_conninfo_drops_the_driver() -> None:
    assert (
        pg.to_conninfo("postgresql+psycopg://u:p@h:5432/db?sslmode=disable")
        == "postgresql://u:p@h:5432/db?sslmode=disable"
    )


def test_db_url_works_on_each_backend(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        meta = sa.MetaData()
        table = sa.Table("events", meta, sa.Column("seq", sa.Integer, primary_key=True))
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"seq": 1}, {"seq": 2}])
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 2
    finally:
        engine.dispose()


# -- failing on logged errors ---------------------------------------------------------------


@pytest.mark.allow_logged_errors
def test_logged_errors_fixture_sees_logs_and_thread_deaths(
    logged_errors: list[logging.LogRecord],
) -> None:
    log = logging.getLogger("omk.test.daemon")
    try:
        raise ValueError("bad batch")
    except ValueError:
        log.exception("publish loop failed")
    log.error("an error without a traceback is not collected")

    def crash() -> None:
        raise KeyError("boom")

    thread = threading.Thread(target=crash, name="sync-daemon")
    thread.start()
    thread.join()
    assert [r.getMessage() for r in logged_errors] == [
        "publish loop failed",
        "thread sync-daemon died with an uncaught exception",
    ]
    assert logged_errors[1].exc_info is not None and logged_errors[1].exc_info[0] is KeyError


INNER_TESTS = """
import logging, threading
import pytest

def test_thread_dies():
    t = threading.Thread(target=lambda: 1 / 0, name="worker")
    t.start()
    t.join()

def test_logs_exception():
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("omk.inner").exception("handler crashed")

def test_logs_in_teardown(request):
    request.addfinalizer(lambda: logging.getLogger("x").error("late", exc_info=ValueError("v")))

def test_error_without_traceback_is_fine():
    logging.getLogger("omk.inner").error("plain error")

@pytest.mark.allow_logged_errors
def test_allowed():
    threading.Thread(target=lambda: 1 / 0).start()
    logging.getLogger("omk.inner").exception("on purpose", exc_info=RuntimeError("x"))

def test_fixture_allows(logged_errors):
    logging.getLogger("omk.inner").exception("seen", exc_info=RuntimeError("y"))
    assert len(logged_errors) == 1
"""


# The inner run shares this process's root logger, so this outer test sees the
# inner tests' records too: that is expected here.
@pytest.mark.allow_logged_errors
def test_logged_exceptions_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.support.plugin"]')
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=4, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*FAILED test_inner.py::test_thread_dies*",
            "*FAILED test_inner.py::test_logs_exception*",
            "*ERROR test_inner.py::test_logs_in_teardown*",
        ]
    )
    out = result.stdout.str()
    assert "thread worker died with an uncaught exception" in out
    assert "ZeroDivisionError" in out
    assert "handler crashed" in out and "KeyError" in out
    assert "allow_logged_errors" in out
