"""The on-screen keyboard: one layout per language (German QWERTZ with Ä Ö Ü ß, English
QWERTY), a digits row, a hyphen, space, backspace and a key that hides it.

It never opens the operating system's keyboard. Each key calls its ``target`` (the
search controller: ``key(char)`` / ``backspace()``), which touches the session, so a
shopper typing is never idle. A key shows its pressed state the moment the finger lands
(Kivy's ``state == 'down'`` redraws in the next frame) and types on that press, so the
box echoes it without waiting for the finger to lift.

Whether it shows is the session's ``keyboard_open``: ``attach(session, target)`` follows
every notification of the session (``overlay``, and ``reset``, which closes it), so a
new shopper never finds the last one's keyboard open (FreeKiosk #135).

Keys are at least ``theme.KEY_DP`` square with ``theme.KEY_GAP`` between them: rows
have at most ten keys, so ten keys and nine gaps fit the narrowest place it is put
(the right half of a landscape screen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.widget import Widget

from . import theme
from .i18n import text
from .screens.base import load_kv

#: the letter rows per language (the digits row and the bottom row are the same in both)
LAYOUTS: dict[str, tuple[str, ...]] = {
    "de": ("QWERTZUIOP", "ASDFGHJKLÖ", "YXCVBNMÄÜß"),
    "en": ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"),
}
DIGITS = "1234567890"
#: columns a full row has; shorter rows are centred
COLUMNS = 10
#: the bottom row: (action, width in keys)
BOTTOM = (("char:-", 1), ("space", 5), ("backspace", 2), ("close", 2))
KEY_H_DP = 88


class Typist(Protocol):
    def key(self, char: str) -> None: ...
    def backspace(self) -> None: ...


class KeyButton(Button):
    """One key: ``action`` is ``char`` (types ``char``), ``space``, ``backspace`` or
    ``close``."""

    action = StringProperty("char")
    char = StringProperty("")


class BackspaceKey(KeyButton):
    """The backspace key: its ⌫ is drawn by its own kv rule."""


class OnScreenKeyboard(BoxLayout):
    lang = StringProperty("en")
    #: shown and touchable; follows the session's ``keyboard_open`` once attached
    open = BooleanProperty(False)
    key_h = NumericProperty(dp(KEY_H_DP))
    #: rows in the current layout (the kv rule's height)
    rows = NumericProperty(0)
    #: what the keys type into (``key(char)``, ``backspace()``)
    target = ObjectProperty(None, allownone=True)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._session: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._keys: dict[str, KeyButton] = {}
        #: the rows of each language's layout, built the first time it shows and kept:
        #: a language switch swaps them in, so the keys (and their bindings) are made
        #: once per language, not again on every switch (nor leaked)
        self._layouts: dict[str, tuple[list[BoxLayout], dict[str, KeyButton]]] = {}
        self._shared: tuple[BoxLayout, BoxLayout, dict[str, KeyButton]] | None = None
        #: the language whose rows are in place (None: none yet); a closed keyboard
        #: builds nothing, so a language switched on the home screen costs no keys
        self._shown_lang: str | None = None
        self._build()

    # -- wiring --------------------------------------------------------------------------

    def attach(self, session: Any, target: Typist) -> None:
        """Follow ``session`` (open/closed, language) and type into ``target``."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._session, self.target = session, target
        self._unsubscribe = session.subscribe(lambda _what: self._follow())
        self._follow()

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe, self._session, self.target = None, None, None

    def _follow(self) -> None:
        s = self._session
        self.lang = s.lang if s.lang in LAYOUTS else "en"
        self.open = bool(s.keyboard_open)

    # -- keys ----------------------------------------------------------------------------

    def key_for(self, name: str) -> KeyButton:
        """The key that types ``name`` (a character, case-insensitive), or the ``space``,
        ``backspace`` or ``close`` key: what the tests and the scripted demo tap."""
        self._build(force=True)
        found = self._keys.get(name) or self._keys.get(name.upper())
        if found is None:
            raise KeyError(f"no key {name!r} on the {self.lang} keyboard")
        return found

    def press(self, key: KeyButton) -> None:
        if key.action == "close":
            if self._session is not None:
                self._session.close_keyboard()
            else:
                self.open = False
            return
        if self.target is None:
            return
        if key.action == "backspace":
            self.target.backspace()
        elif key.action == "space":
            self.target.key(" ")
        else:
            self.target.key(key.char.lower())

    # -- building ------------------------------------------------------------------------

    def on_lang(self, *_a: Any) -> None:
        self._build()

    def on_open(self, *_a: Any) -> None:
        self._build()

    def _build(self, force: bool = False) -> None:
        """Put the current language's rows in place, when it shows (or ``force``)."""
        if self._shown_lang == self.lang or not (self.open or force):
            return
        if self.lang not in self._layouts:
            self._layouts[self.lang] = self._layout(self.lang)
        rows, self._keys = self._layouts[self.lang]
        self._shown_lang = self.lang
        self.clear_widgets()
        for row in rows:
            self.add_widget(row)
        self.rows = len(rows)
        self._relabel()

    def _layout(self, lang: str) -> tuple[list[BoxLayout], dict[str, KeyButton]]:
        """The rows of ``lang``'s layout and its keys by name: the digits row and the
        bottom row are the same widgets in every language."""
        if self._shared is None:
            shared: dict[str, KeyButton] = {}
            digits = self._row([(f"char:{c}", 1) for c in DIGITS], shared)
            self._shared = (digits, self._row(list(BOTTOM), shared), shared)
        digits, bottom, keys = self._shared
        keys = dict(keys)
        letters = [self._row([(f"char:{c}", 1) for c in row], keys) for row in LAYOUTS[lang]]
        return [digits, *letters, bottom], keys

    def _row(self, keys: list[tuple[str, float]], into: dict[str, KeyButton]) -> BoxLayout:
        box = BoxLayout(size_hint_y=None, height=self.key_h, spacing=dp(theme.KEY_GAP))
        self.bind(key_h=box.setter("height"))  # once per row: the rows are kept
        side = (COLUMNS - sum(w for _, w in keys)) / 2
        if side > 0:
            box.add_widget(Widget(size_hint_x=side))
        for spec, width in keys:
            action, _, char = spec.partition(":")
            kind = BackspaceKey if action == "backspace" else KeyButton
            key = kind(action=action, char=char, size_hint_x=width)
            key.bind(on_press=self.press)
            into[char or action] = key
            box.add_widget(key)
        if side > 0:
            box.add_widget(Widget(size_hint_x=side))
        return box

    def _relabel(self) -> None:
        for name, key in self._keys.items():
            if key.action == "char":
                key.text = name
            elif key.action in ("space", "close"):
                key.text = text(f"kbd_{key.action}", self.lang)
            else:
                key.text = ""  # backspace is drawn (keyboard.kv)


load_kv("keyboard")
