"""What the kiosk does for running as a service and for being measured, installed from
``KioskApp.on_start``:

- the screen never blanks while the app runs (SDL's screensaver is off; the display
  server's own blanking is the session's to turn off, see docs/kiosk.md);
- under a systemd unit with ``Type=notify`` (``NOTIFY_SOCKET`` set): ``READY=1`` at the
  first frame shown, then ``WATCHDOG=1`` from the Kivy clock, so a UI thread that hangs
  stops the pings and systemd restarts the kiosk (``device_config/systemd/``);
- ``OMK_KIOSK_FIRST_FRAME_FILE=PATH``: the wall-clock time (``time.time()``) of the first
  frame shown, written once to PATH, for ``benchmarks/kiosk_ui.py``'s cold start.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_sync.sd_notify import Notifier

FIRST_FRAME_ENV = "OMK_KIOSK_FIRST_FRAME_FILE"

log = logging.getLogger(__name__)


def install(after_first_frame: Callable[[], Any] | None = None) -> Notifier:
    """``after_first_frame``: called once, on the UI thread, when the first frame shows
    (work the first frame must not wait for)."""
    from kivy.clock import Clock
    from kivy.core.window import Window

    Window.allow_screensaver = False
    notifier = Notifier()
    path = os.environ.get(FIRST_FRAME_ENV)

    def ping(_dt: float) -> None:  # (a callback returning False would be unscheduled)
        notifier.watchdog()

    shown = []

    def first_frame(*_: Any) -> None:
        Window.unbind(on_flip=first_frame)
        if shown:  # a flip already dispatched when the unbind came
            return
        shown.append(True)
        if path:
            write_first_frame(Path(path))
        notifier.ready()
        if notifier.interval is not None:
            notifier.watchdog()
            Clock.schedule_interval(ping, min(notifier.interval, 1.0))
        if after_first_frame is not None:
            after_first_frame()

    Window.bind(on_flip=first_frame)  # after the first buffer swap: the frame is shown
    return notifier


def write_first_frame(path: Path) -> None:
    try:
        path.write_text(f"{time.time():.6f}\n")
    except OSError as err:
        log.warning("%s=%s: %s", FIRST_FRAME_ENV, path, err)
