"""systemd's notify protocol on a real datagram socket: the edge daemon says READY, pings
the watchdog from its send loop at half the interval, and says STOPPING; without
``NOTIFY_SOCKET`` nothing is sent."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_sync.config import DeviceConfig
from edge_sync.daemon import SyncDaemon
from edge_sync.protocol.settings import validate_config
from edge_sync.sd_notify import Notifier
from tests.support.waiting import wait_for


class Listener:
    """What systemd would read: a bound AF_UNIX datagram socket (short path: the limit
    is 108 bytes, more than pytest's tmp paths allow)."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="omk-notify-", dir="/tmp")
        self.path = os.path.join(self.dir, "n.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.got: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    try:
        yield lst
    finally:
        lst.close()


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_pings_at_half_the_interval_and_only_for_this_process(listener: Listener):
    clock = FakeClock()
    env = {"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "4000000",
           "WATCHDOG_PID": str(os.getpid())}  # fmt: skip
    n = Notifier(env, clock)
    assert n.enabled and n.interval == 2.0
    assert n.ready() and n.watchdog()
    clock.t += 1.9
    assert not n.watchdog()
    clock.t += 0.1
    assert n.watchdog()
    assert n.stopping()
    wait_for(lambda: len(listener.got) == 4, timeout=5)
    assert listener.got == ["READY=1", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]
    other = Notifier({**env, "WATCHDOG_PID": "1"}, clock)  # meant for another process
    assert other.enabled and other.interval is None and not other.watchdog()


def test_nothing_without_a_socket_and_a_gone_socket_is_not_fatal(tmp_path: Path):
    off = Notifier({})
    assert not off.enabled and not off.ready() and not off.watchdog()
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody"), "WATCHDOG_USEC": "1000"})
    assert gone.enabled and not gone.ready() and not gone.watchdog()
    assert Notifier({"NOTIFY_SOCKET": "@abstract"}).address == "\0abstract"
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "soon"}).interval is None


def test_the_edge_daemon_notifies_from_its_loop(tmp_path, broker, listener, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # pings every 0.1 s
    cfg = validate_config(
        DeviceConfig,
        {"device": {"id": "s042-k1", "store_id": "s042", "data_dir": str(tmp_path / "var")},
         "broker": {"url": broker.url}, "clock": {"source": "assume_synced"}},
        "test",
    )  # fmt: skip
    daemon = SyncDaemon(cfg)
    t = threading.Thread(target=daemon.run, daemon=True)
    t.start()
    try:
        wait_for(lambda: listener.got.count("WATCHDOG=1") >= 3, timeout=20)
        assert listener.got[0] == "READY=1"
    finally:
        daemon.stop()
        t.join(30)
    assert not t.is_alive()
    wait_for(lambda: listener.got[-1:] == ["STOPPING=1"], timeout=5)
