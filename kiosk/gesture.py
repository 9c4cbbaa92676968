"""The hidden staff gesture: press and hold the top-left corner for 3 s.

An invisible 96×96 dp zone in the window's top-left corner, laid over everything else.
It watches touches and never takes one: a touch that starts there still reaches what
is under it (the Back button reaches into the corner on most screens). Only a finger
that stays down there, within ``SLOP_DP`` of where it landed, for ``HOLD_S`` opens the
staff PIN prompt; it is also the only way out of full screen (Escape is off).

Why a hold and not five taps: shoppers tap repeatedly when a screen seems slow, and
children hammer screens, often right on the Back button in that corner, so five taps in
3 s do happen by accident. Holding one finger perfectly still on a spot that shows and
does nothing, for three whole seconds, does not: people lift after half a second when
nothing responds. And what fires is only a PIN prompt, which a shopper cancels (or the
idle reset closes). When the hold fires, whatever else the touch pressed lets go
without acting, so the Back button under the finger does not also fire on release.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.uix.widget import Widget

log = logging.getLogger(__name__)

ZONE_DP = 96
HOLD_S = 3.0
#: how far the finger may drift and still count as held still
SLOP_DP = 24


class StaffCorner(Widget):
    """The zone; ``on_hold`` is called (on the UI thread) when the hold completes."""

    def __init__(self, on_hold: Callable[[], None], hold_s: float = HOLD_S, **kw: Any) -> None:
        kw.setdefault("size_hint", (None, None))
        kw.setdefault("size", (dp(ZONE_DP), dp(ZONE_DP)))
        kw.setdefault("pos_hint", {"x": 0, "top": 1})
        super().__init__(**kw)
        self.on_hold = on_hold
        self.hold_s = hold_s
        self._touch: Any = None
        self._origin: tuple[float, float] = (0.0, 0.0)
        self._timer = Clock.create_trigger(lambda _dt: self._fire(), hold_s)

    def on_touch_down(self, touch: Any) -> bool:
        if self._touch is None and self.collide_point(*touch.pos):
            self._touch, self._origin = touch, tuple(touch.pos)
            self._timer.cancel()
            self._timer()
        return False  # never taken: the widget under the corner gets it as well

    def on_touch_move(self, touch: Any) -> bool:
        if touch is self._touch:
            dx, dy = touch.x - self._origin[0], touch.y - self._origin[1]
            if dx * dx + dy * dy > dp(SLOP_DP) ** 2:
                self._cancel()
        return False

    def on_touch_up(self, touch: Any) -> bool:
        if touch is self._touch:
            self._cancel()
        return False

    def _cancel(self) -> None:
        self._touch = None
        self._timer.cancel()

    def _fire(self) -> None:
        touch, self._touch = self._touch, None
        if touch is None:
            return
        _let_go(touch)
        try:
            self.on_hold()
        except Exception:  # the corner must keep working for the next try
            log.exception("the staff gesture's action failed")


def _let_go(touch: Any) -> None:
    """Whatever the held touch pressed (a button under the corner) lets go of it
    without acting: ungrabbed, it never sees the release."""
    for ref in list(touch.grab_list):
        widget = ref()
        if widget is None:
            continue
        touch.ungrab(widget)
        if getattr(widget, "state", None) == "down" and hasattr(widget, "_do_release"):
            widget._do_release()


def install(root: Widget, on_hold: Callable[[], None], hold_s: float = HOLD_S) -> StaffCorner:
    """Lay the zone over ``root`` (the app's root FloatLayout), on top of every overlay."""
    for child in root.children:
        if isinstance(child, StaffCorner):
            root.remove_widget(child)
    corner = StaffCorner(on_hold, hold_s)
    root.add_widget(corner)  # added last: it sees each touch first
    return corner
