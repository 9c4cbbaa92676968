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
        from edge_sync.sd_notify import Notifier
        # count the pings the app sends (each still goes out to the listener): the app
        # must stay up until three have gone, not for a guessed 1.5 s
        sent = []
        send = Notifier.send
        def counted(self, message):
            ok = send(self, message)
            if ok:
                sent.append(message)
            return ok
        Notifier.send = counted
        yield k.until(lambda: k.current == "home", 20, "the home screen")
        yield k.until(lambda: sent.count("WATCHDOG=1") >= 3, 10, "three watchdog pings")
        k.result["screensaver"] = Window.allow_screensaver
        k.result["sent"] = list(sent)
    """)
    assert run.result["screensaver"] is False
    first = float(stamp.read_text())
    assert before < first < time.time()
    assert run.result["sent"].count("WATCHDOG=1") >= 3
    wait_for(lambda: listener.got.count("WATCHDOG=1") >= 3, timeout=5)
    # READY=1 comes first; Xvfb, which inherits NOTIFY_SOCKET here, may say it too
    assert listener.got.index("READY=1") < listener.got.index("WATCHDOG=1"), listener.got
