"""The panels of the staff screen (``staff.StaffScreen``), one per step: who, the PIN
pad, the menu, the desk with its order id keys, the order, the refusal reasons and the
result. Their kv rules are in ``assets/kv/staff.kv``; each reads ``root.screen``."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.graphics import Color, Line, RoundedRectangle
from kivy.metrics import dp, sp
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from .. import theme
from ..widgets import KButton, KLabel
from .search import CheckTick  # noqa: F401  (staff.kv draws it: a handover's tick)

#: the order id keys: digits, then letters, the dash and backspace
ID_KEYS = ("1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm")
#: the key that deletes (Roboto has no ⌫ glyph: it says so in words)
DELETE = "\b"
#: an order line: read from arm's length while packing the goods
LINE_SP = 40


class StaffPanel(BoxLayout):
    """One panel of the staff screen (its kv rule calls ``root.screen``)."""

    screen = ObjectProperty(None)


class WhoPanel(StaffPanel):
    """A button for each staff member's name."""

    def on_kv_post(self, _base: Any) -> None:
        self.screen.bind(names=lambda *_a: self._fill())
        self._fill()

    def _fill(self) -> None:
        grid = self.ids.names
        grid.clear_widgets()
        for staff_id, name in self.screen.names:
            b = KButton(text=name, kind="secondary")
            b.bind(on_release=lambda _b, sid=staff_id: self.screen.choose(sid))
            grid.add_widget(b)


class PinPanel(StaffPanel):
    pass


class MenuPanel(StaffPanel):
    pass


class NoCameraCard(BoxLayout):
    """Where the viewfinder would be while the camera cannot scan: a card with a
    crossed-out camera over ``title`` (what is wrong, in a few words). It draws nothing
    while hidden: a shape under opacity 0 costs the software renderer as much as one
    seen (docs/kiosk.md, "Draw calls cost memory")."""

    title = StringProperty("")

    def on_kv_post(self, _base: Any) -> None:
        self.bind(pos=self._draw, size=self._draw, title=self._draw)
        self.ids.title.bind(pos=self._draw, size=self._draw)
        self._draw()

    def _draw(self, *_a: Any) -> None:
        self.canvas.before.clear()
        label = self.ids.title
        g = min(dp(150), self.width * 0.4, (self.height - label.height) * 0.5)
        if not self.title or g < dp(40):
            return
        cx = self.center_x
        bottom = label.top + dp(28)  # the camera stands on the title
        w, h = g, g * 0.64
        x, y = cx - w / 2, bottom
        with self.canvas.before:
            Color(*theme.SURFACE)
            RoundedRectangle(pos=self.pos, size=self.size, radius=[dp(12)])
            Color(*theme.MUTED)
            Line(rounded_rectangle=(x, y, w, h, dp(10)), width=dp(4))
            Line(rectangle=(cx - w * 0.16, y + h, w * 0.32, h * 0.14), width=dp(4))
            Line(circle=(cx, y + h / 2, h * 0.28), width=dp(4))
            Color(*theme.ERROR)
            Line(points=[x - g * 0.08, y - g * 0.08, x + w + g * 0.08, y + h * 1.2], width=dp(5))


class DeskPanel(StaffPanel):
    """The order id's key grid, ≥ 80 dp keys."""

    def on_kv_post(self, _base: Any) -> None:
        for row in ID_KEYS:
            line = BoxLayout(
                spacing=dp(theme.KEY_GAP), size_hint=(None, None), height=dp(theme.KEY_DP)
            )
            for ch in row:
                key = Factory.IdKey(text=ch)
                key.bind(on_release=lambda _k, c=ch: self.screen.key(c))
                line.add_widget(key)
            if len(row) < 10:  # the last row ends with a wide Delete key
                key = Factory.IdKey(font_size=sp(theme.BODY_SP))
                key.width = (10 - len(row)) * dp(theme.KEY_DP) + (9 - len(row)) * dp(theme.KEY_GAP)
                key.bind(on_release=lambda _k: self.screen.key(DELETE))
                self.screen.bind(lang=lambda *_a, k=key: self._delete_label(k))
                self._delete_label(key)
                line.add_widget(key)
            line.width = sum(w.width for w in line.children) + 9 * dp(theme.KEY_GAP)
            self.ids.key_grid.add_widget(line)

    def _delete_label(self, key: Any) -> None:
        key.text = self.screen.t("staff_delete")


class OrderPanel(StaffPanel):
    """The order's lines as a packing list: each line's quantity and name, its SKU on
    the right (what the shelf labels say), a rule under each."""

    def on_kv_post(self, _base: Any) -> None:
        self.screen.bind(lines=lambda *_a: self._fill())
        self._fill()

    def _fill(self) -> None:
        box = self.ids.lines
        box.clear_widgets()
        for text, sku in self.screen.lines:
            row = BoxLayout(size_hint_y=None, height=dp(LINE_SP * 2.2), spacing=dp(theme.GAP))
            line = KLabel(text=text)
            line.font_size = sp(LINE_SP)  # after the kv rule, which sets the default size
            code = KLabel(text=sku, secondary=True, halign="right", size_hint_x=0.35)
            for label in (line, code):
                label.size_hint_y = 1  # the row's height; the text drawn on its middle
                row.add_widget(label)
            with row.canvas.before:
                Color(*theme.SECONDARY)
                rule = Line(points=[], width=dp(1.5))
            row.bind(pos=_rule_under(rule), size=_rule_under(rule))
            box.add_widget(row)


def _rule_under(rule: Line) -> Any:
    def place(row: BoxLayout, *_a: Any) -> None:
        rule.points = [row.x, row.y, row.x + row.width, row.y]  # .right lags a size event

    return place


class RefusePanel(StaffPanel):
    """A button for each reason ``pickup.refused`` takes."""

    def on_kv_post(self, _base: Any) -> None:
        self.screen.bind(reasons=lambda *_a: self._fill())
        self._fill()

    def _fill(self) -> None:
        grid = self.ids.reasons
        grid.clear_widgets()
        for reason, label in self.screen.reasons:
            b = KButton(text=label, kind="secondary")
            b.bind(on_release=lambda _b, r=reason: self.screen.refuse(r))
            grid.add_widget(b)


class DonePanel(StaffPanel):
    """The result; "Customer feedback" only when there is a feedback screen to go to
    (added, not hidden: a hidden button would still take its row's space)."""

    def on_kv_post(self, _base: Any) -> None:
        self._feedback = Factory.FeedbackButton()
        self._feedback.bind(on_release=lambda _b: self.screen.feedback())
        self.screen.bind(can_feedback=lambda *_a: self._place(), lang=lambda *_a: self._place())
        self._place()

    def _place(self) -> None:
        box, b = self.ids.buttons, self._feedback
        b.text = self.screen.t("staff_feedback")
        if self.screen.can_feedback and b.parent is None:
            box.add_widget(b, index=len(box.children))  # first
        elif not self.screen.can_feedback and b.parent is not None:
            box.remove_widget(b)


PANELS = {
    "who": WhoPanel, "pin": PinPanel, "menu": MenuPanel, "desk": DeskPanel,
    "order": OrderPanel, "refuse": RefusePanel, "done": DonePanel,
}  # fmt: skip
