"""Search: the query as typed on the on-screen keyboard, results as you type, and each
result's state here (icon, word and colour: never colour alone). A result opens the
product page.

Portrait stacks the box, the results and the keyboard; landscape puts the results on
the left and the box over the keyboard on the right, so results keep the full height
(a keyboard below at full width would leave room for two rows).

``StockIcon`` / ``StockBadge`` (the state's icon and words) are defined here and drawn
by ``search.kv``; the product page uses them too.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, SmoothEllipse, SmoothLine
from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget
from kivy.utils import escape_markup, get_hex_from_color

from .. import theme
from ..keyboard import OnScreenKeyboard  # noqa: F401  (the kv rule uses it)
from .base import BaseScreen, load_kv

#: a state's colour (with the icon and the words: never the colour alone)
STATE_COLOURS = {"in_stock": theme.IN_STOCK, "low": theme.LOW, "out": theme.OUT}


def state_colour(state: str) -> tuple[float, ...]:
    return STATE_COLOURS.get(state, theme.OUT)


def shown(screen: BaseScreen) -> bool:
    """The screen is the one showing (or coming in: its ``on_pre_enter`` redraws it).
    A hidden screen builds no rows: they would be drawn for nobody, and their widgets
    and text textures held until it shows, when it redraws from the controllers anyway.
    """
    return screen.manager is not None and screen.manager.current == screen.name


class StockIcon(Widget):
    """✓ in a green disc, ! in an amber one, an empty grey ring for out: drawn, since
    the bundled font has no such symbols.

    Only the current state's shapes are in the canvas (one to three draws). The shapes
    of the other states, drawn at zero size, would still cost a draw each, and a
    results page has twenty icons.
    """

    state = StringProperty("in_stock")
    colour = ListProperty(list(theme.IN_STOCK))

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        # a layout pass moves and sizes it several times a frame: drawn once, before
        # the next frame
        self._redraw = Clock.create_trigger(self._draw, -1)
        self.bind(pos=self._redraw, size=self._redraw, state=self._redraw, colour=self._redraw)
        self._redraw()

    def on_state(self, *_a: Any) -> None:
        self.colour = list(state_colour(self.state))

    def _draw(self, *_a: Any) -> None:
        x, y = self.pos
        w, h = self.size
        cx, cy = self.center
        self.canvas.clear()
        with self.canvas:
            Color(rgba=self.colour)
            if self.state == "out":
                ring = max(dp(2.5), w / 12)
                SmoothLine(width=1.25 * ring, circle=(cx, cy, max(0, w / 2 - ring)))
                return
            SmoothEllipse(pos=(x, y), size=(w, h))
            Color(rgba=theme.ON_PRIMARY)
            stroke = 1.25 * max(1, w / 14)
            if self.state == "in_stock":
                tick = (x + w * 0.27, y + h * 0.50, x + w * 0.43, y + h * 0.33,
                        x + w * 0.73, y + h * 0.66)  # fmt: skip
                SmoothLine(width=stroke, joint="round", cap="round", points=tick)
            elif self.state == "low":
                SmoothLine(width=stroke, cap="round", points=(cx, y + h * 0.44, cx, y + h * 0.75))
                SmoothEllipse(pos=(cx - w * 0.07, y + h * 0.2), size=(w * 0.14, w * 0.14))


class CheckTick(AnchorLayout):
    """A big ✓ in a green disc, centred in the room it is given: the check-in on the
    welcome screen, a recorded handover at the desk. ``shown`` False draws nothing."""

    shown = BooleanProperty(True)
    #: the disc's largest diameter (it is 80 % of the room's smaller side up to this)
    cap = NumericProperty(dp(400))


class StockBadge(BoxLayout):
    state = StringProperty("in_stock")
    text = StringProperty("")
    colour = ListProperty(list(theme.IN_STOCK))
    #: the product page's availability here: bigger icon and type
    big = BooleanProperty(False)

    def on_state(self, *_a: Any) -> None:
        self.colour = list(state_colour(self.state))


class ResultRow(ButtonBehavior, BoxLayout):
    row = ObjectProperty(None)
    name = StringProperty("")
    brand = StringProperty("")
    price = StringProperty("")
    state = StringProperty("in_stock")
    state_text = StringProperty("")
    nearby_text = StringProperty("")
    nearby_state = StringProperty("")
    nearby_colour = ListProperty(list(theme.MUTED))

    def on_nearby_state(self, *_a: Any) -> None:
        self.nearby_colour = list(state_colour(self.nearby_state or "out"))


class SearchScreen(BaseScreen):
    screen_name = "search"

    query_markup = StringProperty("")
    has_query = BooleanProperty(False)
    message = StringProperty("")
    keyboard_open = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        c = self.controllers
        self._shown_rows: tuple[Any, ...] = ()
        if self.landscape:  # the box goes over the keyboard, on the right
            field = self.ids.field
            field.parent.remove_widget(field)
            self.ids.right.add_widget(field, index=len(self.ids.right.children))
        self.ids.keyboard.attach(c.session, c.search)
        self.listen(c.search, c.session)

    def dispose(self) -> None:
        self.ids.keyboard.detach()
        super().dispose()

    # -- touches -------------------------------------------------------------------------

    def back(self) -> None:
        s = self.controllers.search
        s.leave()
        s.clear()
        self.controllers.session.close_keyboard()
        self.go("home")

    def open_keyboard(self) -> None:
        self.controllers.session.open_keyboard()

    def clear(self) -> None:
        self.controllers.search.clear()

    def open_result(self, sku: str) -> None:
        c = self.controllers
        c.search.leave()
        if c.product.show(sku, "search") is not None:
            self.go("product")

    # -- drawing -------------------------------------------------------------------------

    def on_pre_enter(self, *a: Any) -> None:
        self.controllers.session.open_keyboard()
        super().on_pre_enter(*a)

    def refresh(self) -> None:
        c = self.controllers
        self.lang = c.session.lang
        q = c.search.query
        self.has_query = bool(q)
        self.keyboard_open = c.session.keyboard_open
        cursor = f"[color={get_hex_from_color(theme.PRIMARY)}]|[/color]"
        if q:
            self.query_markup = escape_markup(q) + cursor
        else:
            hint = escape_markup(self.t("search_placeholder"))
            self.query_markup = f"{cursor}[color={get_hex_from_color(theme.MUTED)}]{hint}[/color]"
        self.message = c.search.message() or ""
        rows = tuple(c.search.rows())
        if rows != self._shown_rows and (shown(self) or not rows):
            self._show(rows)

    def _show(self, rows: tuple[Any, ...]) -> None:
        """The rows shown take the new results in place (a keystroke changes their
        texts; it does not build 20 rows anew and leave the old ones to the collector);
        rows beyond the new results go."""
        box = self.ids.results
        shown = list(reversed(box.children))  # top first
        for i, r in enumerate(rows):
            fields = {"row": r, "name": r.name, "brand": r.brand, "price": r.price_text,
                      "state": r.state, "state_text": r.state_text,
                      "nearby_text": r.nearby_text, "nearby_state": r.nearby_state}  # fmt: skip
            if i < len(shown):
                for key, value in fields.items():
                    setattr(shown[i], key, value)
            else:
                w = ResultRow(**fields)
                w.bind(on_release=lambda w: self.open_result(w.row.sku))
                box.add_widget(w)
        for w in shown[len(rows) :]:
            box.remove_widget(w)
        self.ids.scroll.scroll_y = 1
        self._shown_rows = rows

    def shot_state(self) -> None:
        s = self.controllers.search
        s.set_query("rain")
        s.submit()


load_kv("search")
