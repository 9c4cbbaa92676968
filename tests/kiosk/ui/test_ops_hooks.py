"""The app run as a systemd notify unit would run it: READY=1 at the first frame, the
watchdog pinged from its clock, the first-frame time written when asked, and SDL's
screensaver off (a real app under Xvfb, a real datagram socket)."""

from __future__ import annotations

import time

from tests.edge.test_sd_notify import Listener, listener  # noqa: F401  (the fixture)
from tests.support.waiting import wait_for


def test_ready_watchdog_first_frame_and_no_screensaver(ui, listener: Listener, monkeypatch):  # noqa: F811
    stamp = ui.tmp / "first-frame"
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    monkeypatch.setenv("WATCHDOG_USEC", "600000")  # a ping at least every 0.3 s
    monkeypatch.setenv("OMK_KIOSK_FIRST_FRAME_FILE", str(stamp))
    before = time.time()
    run = ui.run("""
        from kivy.core.window import Window
        yield k.until(lambda: k.current == "home", 20, "the home screen")
        yield k.sleep(1.5)
        k.result["screensaver"] = Window.allow_screensaver
    """)
    assert run.result["screensaver"] is False
    first = float(stamp.read_text())
    assert before < first < time.time()
    wait_for(lambda: listener.got.count("WATCHDOG=1") >= 3, timeout=5)
    # READY=1 comes first; Xvfb, which inherits NOTIFY_SOCKET here, may say it too
    assert listener.got.index("READY=1") < listener.got.index("WATCHDOG=1"), listener.got
