"""What every kiosk screen shares: its .kv file, its controllers and throttled redraws.

A screen is one module here and one ``assets/kv/<name>.kv`` file. It binds to the
controllers (``kiosk.controllers``) and nothing else: on a touch it calls a controller
method; when a controller says something changed, the screen asks for a redraw through
a ``Clock.create_trigger``, so many changes in one frame draw once, and the redraw
(``refresh``) reads the controller's state. No screen does I/O on the UI thread beyond
the controllers' reads of the local edge.db.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from ..i18n import text

if TYPE_CHECKING:
    from ..controllers.kiosk import Controllers

KV_DIR = Path(__file__).resolve().parents[2] / "assets" / "kv"
_loaded: set[str] = set()


def load_kv(name: str) -> None:
    """Load ``assets/kv/<name>.kv`` once per process."""
    if name not in _loaded:
        Builder.load_file(str(KV_DIR / f"{name}.kv"))
        _loaded.add(name)


class BaseScreen(Screen):
    #: the screen's name in the ScreenManager and its .kv file's name
    screen_name = ""
    #: the orientation the app runs in, for layouts that differ (the .kv files read it)
    landscape = BooleanProperty(False)
    #: the session's language, so kv texts re-evaluate when it changes
    lang = StringProperty("en")

    def __init__(self, **kw: Any) -> None:
        load_kv(self.screen_name)
        super().__init__(name=self.screen_name, **kw)
        self._redraw = Clock.create_trigger(lambda _dt: self.refresh(), -1)
        self._unsubscribe: list[Callable[[], None]] = []

    @property
    def controllers(self) -> Controllers:
        return App.get_running_app().controllers

    def t(self, key: str, lang: str | None = None, **fields: Any) -> str:
        """A text of ``kiosk.i18n`` in the session's language (the .kv files call this
        with ``root.lang`` as an argument so they update when the language changes)."""
        s = text(key, lang or self.lang)
        return s.format(**fields) if fields else s

    def listen(self, *observables: Any) -> None:
        """Redraw (throttled) when any of these controllers notifies."""
        for o in observables:
            self._unsubscribe.append(o.subscribe(lambda *_a: self._redraw()))

    def go(self, name: str) -> None:
        App.get_running_app().go(name)

    def dispose(self) -> None:
        """Let go of everything outside this screen that holds it (the controllers it
        listens to; subclasses: cameras, window bindings), before the app drops it at
        a session's end; the next shopper gets the screen built anew."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        # a redraw the reset itself asked for (the controllers clear before the app
        # drops the screens) would otherwise wait in the clock, holding the screen;
        # so would a running animation (a scroll bar fading out holds its ScrollView
        # for half a second): the app frees the screen and trims right after this
        self._redraw.cancel()
        for widget in self.walk(restrict=True):
            Animation.cancel_all(widget)

    def refresh(self) -> None:
        """Redraw from the controllers' state (override)."""

    def shot_state(self) -> None:
        """Put the controllers into what this screen shows in use, for its screenshot
        (a search with results, an order at the desk …); the default shows it as is."""

    #: further screenshots of this screen beside ``shot_state``'s, by name
    shot_extras: tuple[str, ...] = ()

    def shot_extra(self, name: str) -> None:
        """Put the controllers into the state of the screenshot ``name`` (one of
        ``shot_extras``), saved as ``<screen>-<name>-…``."""

    def on_pre_enter(self, *_a: Any) -> None:
        self.lang = self.controllers.session.lang
        self.refresh()
