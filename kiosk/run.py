"""``python main.py kiosk --config FILE``: the kiosk app, full screen, on this device's
edge.db (the sync daemon runs beside it as its own process and keeps syncing whatever
happens to the kiosk).

Kivy reads its window settings when its window module is first imported, so they are
set here before anything of ``kivy.core.window`` loads. ``--shots DIR`` renders each
screen to a PNG and exits (the screenshot tests and ``make demo`` use it).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

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
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("kivy", "exit_on_escape", "0")  # the staff gesture is the only way out
    Config.set("input", "mouse", "mouse,disable_multitouch")
    return w, h


def build(config_path: str | Path, landscape: bool, fullscreen: bool):
    """The app, ready to run. The device's side (config, edge.db, controllers: pure
    Python, no widget) is prepared in a thread while this one opens the window, which
    is mostly SDL's and the GL driver's work; both are done before the app is built."""
    configure_window(landscape, fullscreen)
    prepared: dict[str, Any] = {}
    thread = threading.Thread(
        target=_prepare, args=(config_path, prepared), name="kiosk-prepare", daemon=True
    )
    thread.start()
    from kivy.core.window import Window  # noqa: F401  (opens the window)

    from .app import KioskApp

    thread.join()
    if "error" in prepared:
        raise prepared["error"]
    return KioskApp(prepared["controllers"], landscape=landscape)


def _prepare(config_path: str | Path, into: dict[str, Any]) -> None:
    try:
        from edge_sync import EdgeClient
        from edge_sync.config import load_device_config

        from .controllers.kiosk import Controllers
        from .settings import KioskSettings

        cfg = load_device_config(config_path)
        settings = KioskSettings.from_doc(cfg.kiosk, f"{config_path} [kiosk]")
        client = EdgeClient.from_config(cfg)
        into["controllers"] = Controllers(client, settings, config_version=cfg.config_version)
    except BaseException as err:  # raised again by build, on the main thread
        into["error"] = err


def run(config_path: str | Path, landscape: bool = False, fullscreen: bool = True) -> int:
    app = build(config_path, landscape, fullscreen)
    try:
        app.run()
    finally:
        app.controllers.client.close()
    return 0
