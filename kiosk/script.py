"""A scripted person at the kiosk: real touches on the real app, for the UI tests and
for ``make demo`` without a display.

``python main.py kiosk --config FILE --script SCRIPT.py --out DIR`` runs the app and the
script's ``script(k)`` generator beside it on Kivy's clock. The script touches widgets
(``k.tap(widget)`` sends a touch down and up at the widget's centre through the window,
so it goes the way a finger's does: the root, the session's idle timer, the widget),
types on the on-screen keyboard, and ``yield``s to let the app run::

    def script(k):
        k.tap(k.find("home", "scan_button"))
        yield k.until(lambda: k.current == "scan", 5, "the scan screen")
        yield k.shot("scan")
        k.result["screen"] = k.current

``yield k.sleep(s)`` waits; ``yield k.until(pred, timeout, what)`` waits for a condition
(a ``ScriptFailed`` naming ``what`` at the deadline); ``yield k.shot(name)`` saves
``DIR/<name>.png`` after the frame is drawn. ``k.result`` is written to
``DIR/result.json`` at the end, with ``"ok": true``, or ``false`` and the error.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
import traceback
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ScriptFailed(AssertionError):
    pass


@dataclass
class _Wait:
    until: Callable[[], bool] | None
    deadline: float
    what: str
    shot: str | None = None


class Driver:
    def __init__(self, app: Any, out: Path) -> None:
        self.app = app
        self.out = out
        self.result: dict[str, Any] = {}

    # -- looking -------------------------------------------------------------------------

    @property
    def current(self) -> str:
        return self.app.manager.current

    @property
    def controllers(self) -> Any:
        return self.app.controllers

    def screen(self, name: str) -> Any:
        return self.app.screen(name)

    def find(self, screen: str, widget_id: str) -> Any:
        """The widget with ``id: widget_id`` in a screen's kv rule."""
        ids = self.screen(screen).ids
        if widget_id not in ids:
            raise ScriptFailed(f"no widget {widget_id!r} on {screen} (has {sorted(ids)})")
        return ids[widget_id]

    def texts(self, widget: Any | None = None) -> list[str]:
        """Every label text under ``widget`` (default: the current screen), as shown."""
        root = widget if widget is not None else self.screen(self.current)
        return [
            w.text
            for w in root.walk()
            if isinstance(getattr(w, "text", None), str) and w.text and _visible(w)
        ]

    # -- touching ------------------------------------------------------------------------

    def tap(self, widget: Any) -> None:
        """A finger's touch at the widget's centre, down and up, through the window."""
        from .finger import tap

        if widget.disabled or widget.opacity == 0:
            raise ScriptFailed(f"{widget!r} cannot be touched (disabled or hidden)")
        tap(*widget.to_window(*widget.center))

    def tap_at(self, x: float, y: float) -> None:
        from .finger import tap

        tap(x, y)

    def tap_text(self, label: str, widget: Any | None = None) -> None:
        """Tap the (first) button under ``widget`` whose text is ``label``."""
        from kivy.uix.button import Button

        root = widget if widget is not None else self.screen(self.current)
        for w in root.walk():
            if isinstance(w, Button) and w.text == label and not w.disabled and w.opacity > 0:
                self.tap(w)
                return
        raise ScriptFailed(f"no button {label!r} on {self.current}: {self.texts(root)}")

    # -- waiting -------------------------------------------------------------------------

    def sleep(self, seconds: float) -> _Wait:
        return _Wait(None, time.monotonic() + seconds, f"sleep {seconds}")

    def until(self, pred: Callable[[], bool], timeout: float, what: str) -> _Wait:
        return _Wait(pred, time.monotonic() + timeout, what)

    def shot(self, name: str) -> _Wait:
        return _Wait(None, time.monotonic() + 0.3, f"shot {name}", shot=name)


def _visible(w: Any) -> bool:
    while w is not None:
        if getattr(w, "opacity", 1) == 0:
            return False
        w = w.parent if w.parent is not w else None
    return True


def load_script(path: str | Path) -> Callable[[Driver], Iterable[Any]]:
    spec = importlib.util.spec_from_file_location("kiosk_script", path)
    if spec is None or spec.loader is None:
        raise ScriptFailed(f"cannot load the script {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.script


def run_script(app: Any, script: Callable[[Driver], Iterable[Any]], out: Path) -> Driver:
    """Drive ``app`` with ``script`` from its first frame; stop the app at the end (or at
    the first failure) and write ``out/result.json``."""
    from kivy.clock import Clock

    out.mkdir(parents=True, exist_ok=True)
    k = Driver(app, out)
    state: dict[str, Any] = {"gen": None, "wait": None}

    def finish(error: BaseException | None) -> None:
        k.result["ok"] = error is None
        if error is not None:
            k.result["error"] = f"{type(error).__name__}: {error}"
            k.result["traceback"] = traceback.format_exc()
            log.error("kiosk script failed: %s", k.result["error"])
        (out / "result.json").write_text(json.dumps(k.result, indent=2, default=str))
        app.stop()

    def step(_dt: float) -> None:
        try:
            if state["gen"] is None:
                state["gen"] = iter(script(k))
            wait: _Wait | None = state["wait"]
            if wait is not None:
                now = time.monotonic()
                if wait.until is not None:
                    if not wait.until():
                        if now > wait.deadline:
                            raise ScriptFailed(f"gave up waiting for {wait.what}")
                        return
                elif now < wait.deadline:
                    return
                if wait.shot:
                    app.root.export_to_png(str(out / f"{wait.shot}.png"))
            state["wait"] = next(state["gen"])
        except StopIteration:
            ev.cancel()
            finish(None)
        except BaseException as err:
            ev.cancel()
            finish(err)

    ev = Clock.schedule_interval(step, 0.05)
    return k


Script = Callable[[Driver], Generator[Any, None, None]]
