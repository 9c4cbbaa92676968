"""The kiosk app: one window, a screen manager, the status strip, the "Still there?"
overlay and the dimmer, all driven by ``kiosk.controllers``.

Every touch goes to the session first (``KioskRoot.on_touch_down``): it resets the idle
timer, and a touch that only wakes a dimmed screen goes no further. One interval
(``TICK_S``) moves every controller's timers; a session reset (idle, or a new shopper)
brings the home screen back with nothing of the last shopper on it. The status strip
is refreshed on its own interval from the sync state the daemon writes.

Screens are found, not listed (``screens.screen_names``). Only home is built before
the first frame; every other screen is built the first time it is shown, and after the
first frame a background thread imports the other screens' modules, so the first
"Scan your code" does not wait for them (the camera and decoder libraries load when a
camera feed first starts, ``screens/preview.py``).
The "Still there?" overlay and the dimmer are in the widget tree only while they show.
Whenever home shows again (a task done, or a session's end) every other screen is
dropped (``_drop_screens``).
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import ScreenManager

from . import gesture, memory, theme
from .controllers.kiosk import Controllers
from .i18n import text
from .screens import screen_class, screen_names
from .screens.base import BaseScreen
from .transition import QuickFade
from .widgets import Dimmer, StatusStrip, StillThere

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TICK_S = 0.25
STATUS_REFRESH_S = 2.0


def register_fonts() -> None:
    fonts = ASSETS / "fonts"
    LabelBase.register(theme.FONT, str(fonts / "Roboto-Regular.ttf"))
    LabelBase.register(theme.FONT_BOLD, str(fonts / "Roboto-Bold.ttf"))


class KioskRoot(FloatLayout):
    app = ObjectProperty(None)

    def on_touch_down(self, touch: Any) -> bool:
        if self.app.controllers.session.touch():
            return True  # it only woke the screen
        return super().on_touch_down(touch)


class KioskApp(App):
    landscape = BooleanProperty(False)

    def __init__(self, controllers: Controllers, landscape: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.controllers = controllers
        self.landscape = landscape
        self.title = "omnikiosk"

    # -- building ------------------------------------------------------------------------

    def build(self) -> KioskRoot:
        register_fonts()
        Window.clearcolor = theme.BG
        root = KioskRoot(app=self)
        column = BoxLayout(orientation="vertical")
        self.manager = ScreenManager(transition=QuickFade(duration=theme.TRANSITION_S))
        self.screen_names = screen_names()
        self.screen("home")
        self.strip = StatusStrip()
        column.add_widget(self.manager)
        column.add_widget(self.strip)
        root.add_widget(column)
        self.still_there = StillThere(opacity=0)
        self.dimmer = Dimmer()
        # the hidden staff gesture works on every screen, before the staff screen exists
        self.corner = gesture.install(root, lambda: self.screen("staff").open_staff())
        self._redraw_overlays = Clock.create_trigger(lambda _dt: self._overlays(), -1)
        self.controllers.session.subscribe(self._on_session)
        Clock.schedule_interval(lambda _dt: self._tick(), TICK_S)
        Clock.schedule_interval(lambda _dt: self._status(), STATUS_REFRESH_S)
        self.controllers.home.refresh()
        self._status()
        self.go("home")
        return root

    # -- moving about --------------------------------------------------------------------

    def screen(self, name: str) -> BaseScreen:
        """The screen ``name``, built the first time it is asked for."""
        if not self.manager.has_screen(name):
            self.manager.add_widget(screen_class(name)(landscape=self.landscape))
        return self.manager.get_screen(name)

    def go(self, name: str) -> None:
        if name not in self.screen_names:
            log.error("no screen %r", name)
            return
        self.screen(name)
        self.controllers.session.screen(name)
        leaving = self.manager.current
        self.manager.current = name
        if name == "home" and leaving != "home":
            # a task ends on home (a search left, the desk locked, a greeting done):
            # its screens go as at a session's end, so no two tasks' screens are held
            self._drop_screens()

    def _after_first_frame(self) -> None:
        gc.freeze()  # what start-up made stays; the collector no longer walks it
        gc.enable()  # (kiosk.run turned it off for the start)
        self._preloading = self.preload()

    def preload(self) -> threading.Thread:
        """Import every screen's module off the UI thread (started after the first
        frame); building a screen on first use then costs only its widgets."""

        def load() -> None:
            for name in self.screen_names:
                try:
                    screen_class(name)
                except Exception:  # the screen's own build will say it again, on use
                    log.exception("the %s screen's module could not be loaded", name)

        thread = threading.Thread(target=load, name="kiosk-preload", daemon=True)
        thread.start()
        return thread

    def _tick(self) -> None:
        try:
            self.controllers.tick()
        except Exception:  # a fault in one timer must not freeze the kiosk
            log.exception("a controller's tick failed")

    def _on_session(self, what: str) -> None:
        if what == "language":
            self._status()  # the strip speaks the new language at once
        if what == "reset":
            self.manager.transition.duration = 0  # a new shopper sees home at once
            self.go("home")
            self.manager.transition.duration = theme.TRANSITION_S
            self._drop_screens()
        self._redraw_overlays()

    def _drop_screens(self, *_a: Any) -> None:
        """When home shows (a task done, a session's end) every other screen goes, with
        all it holds: the last shopper's greeting, results and product page, the desk's
        order, their text textures. The next task's screens are built anew (4–9 ms
        each; their kv rules and modules stay loaded), and the freed memory goes back
        to the system: a kiosk holds one task's screens at a time, never all of them."""
        if self.manager.transition.is_active:  # the switch to home ends on the next frame
            Clock.schedule_once(self._drop_screens, 0)
            return
        if self.manager.current != "home":  # someone already started the next task
            return
        home = self.manager.get_screen("home")
        self.manager.transition.forget_all_but(home)
        dropped = [s for s in self.manager.screens if s is not home]
        if not dropped:
            return
        for screen in dropped:
            screen.dispose()
            self.manager.remove_widget(screen)
        # on the next frame, once what this frame scheduled has run and let go of them
        Clock.schedule_once(self._free_dropped, 0)

    @staticmethod
    def _free_dropped(*_a: Any) -> None:
        gc.collect()  # widgets hold each other in cycles: free them now, then
        memory.release()  # give the pages back to the system

    def _overlays(self) -> None:
        s = self.controllers.session
        left = s.countdown_left()
        showing = left is not None
        self._in_tree(self.still_there, showing)
        self.still_there.opacity = 1 if showing else 0
        self.still_there.showing = showing
        if showing:
            self.still_there.message = text("still_there_title", s.lang)
            self.still_there.seconds = left
            self.still_there.detail = s.still_there_text()
            self.still_there.button_text = text("still_here", s.lang)
        self.dimmer.alpha = 1.0 - s.brightness
        self._in_tree(self.dimmer, self.dimmer.alpha > 0)

    def _in_tree(self, overlay: Any, shown: bool) -> None:
        """An overlay is drawn (and costs a frame's fill) only while it shows; the
        dimmer stays above the "Still there?" overlay, the staff corner above both."""
        if shown and overlay.parent is None:
            under_dimmer = overlay is not self.dimmer and self.dimmer.parent is not None
            # children[0] is the staff corner: it sees every touch first
            self.root.add_widget(overlay, index=2 if under_dimmer else 1)
        elif not shown and overlay.parent is not None:
            self.root.remove_widget(overlay)

    def _status(self) -> None:
        try:
            view = self.controllers.status.refresh()
        except Exception:
            log.exception("the sync state could not be read")
            return
        self.strip.text = view.strip_text
        self.strip.connectivity = view.connectivity

    def on_start(self) -> None:  # no blanking; opt-in systemd watchdog, first-frame time
        from .ops_hooks import install

        install(after_first_frame=self._after_first_frame)

    def on_stop(self) -> None:
        # an app that stops right after its first frame must not leave the interpreter
        # to shut down under a thread still importing a C extension (glibc aborts the
        # process: "exception not rethrown", exit -6)
        thread = getattr(self, "_preloading", None)
        if thread is not None:
            thread.join(timeout=30)
