"""``python main.py kiosk --config FILE``: the kiosk app, full screen, on this device's
edge.db (the sync daemon runs beside it as its own process and keeps syncing whatever
happens to the kiosk).

Kivy reads its window settings when its window module is first imported, so they are
set here before anything of ``kivy.core.window`` loads. ``--shots DIR`` renders each
screen to a PNG and exits (the screenshot tests and ``make demo`` use it).
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

from . import memory

PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)

log = logging.getLogger(__name__)


def configure_window(landscape: bool, fullscreen: bool) -> tuple[int, int]:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    # No pydantic plugins are used; without this pydantic looks for them among every
    # installed package's entry points when the first model is built (tens of ms).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from kivy.config import Config

    w, h = LANDSCAPE if landscape else PORTRAIT
    Config.set("graphics", "width", str(w))
    Config.set("graphics", "height", str(h))
    Config.set("graphics", "resizable", "0")
    # No multisample buffers: the round shapes antialias their own edges (Smooth*
    # instructions in the kv files) and text comes antialiased from the font renderer,
    # so MSAA would only cost — a colour and a depth buffer per sample, from the RAM
    # that a Pi-class board shares with its GPU (under software GL: 69 MB and about
    # 100 ms of window creation, docs/kiosk.md).
    Config.set("graphics", "multisamples", "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("kivy", "exit_on_escape", "0")  # the staff gesture is the only way out
    Config.set("input", "mouse", "mouse,disable_multitouch")
    return w, h


def build(config_path: str | Path, landscape: bool, fullscreen: bool):
    """The app, ready to run: the config read first (a bad one stops the kiosk before
    any window opens), then edge.db's integrity check started in a thread — SQLite
    reads the whole file without holding Python's lock, about 45 ms at 100,000 products
    — while this thread opens the window; the edge.db connections opened after it wait
    for that check (``edge_sync.db.check_in_background``)."""
    memory.tune_allocator()  # before the libraries and the window allocate
    configure_window(landscape, fullscreen)
    # Start-up allocates a few hundred thousand objects that live as long as the app
    # (modules, classes, the kv rules): the cyclic collector would walk them again and
    # again while they are made. It is off until the first frame, when they are frozen
    # out of its sight (KioskApp.on_start's after_first_frame) and it runs as usual.
    gc.disable()
    from edge_sync.config import load_device_config
    from edge_sync.db import check_in_background

    from .settings import KioskSettings

    cfg = load_device_config(config_path)
    settings = KioskSettings.from_doc(cfg.kiosk, f"{config_path} [kiosk]")
    check_in_background(cfg.db_path)
    from kivy.core.window import Window  # noqa: F401  (opens the window)

    from edge_sync import EdgeClient

    from .app import KioskApp
    from .controllers.kiosk import Controllers

    client = EdgeClient.from_config(cfg)
    controllers = Controllers(client, settings, config_version=cfg.config_version)
    return KioskApp(controllers, landscape=landscape)


def run(config_path: str | Path, landscape: bool = False, fullscreen: bool = True) -> int:
    app = build(config_path, landscape, fullscreen)
    try:
        app.run()
    finally:
        app.controllers.client.close()
    return 0
