"""The device status page, behind the staff PIN: a plain two-column table in large
type from ``StatusController.view()``, what is wrong first and in words (or that all
is well). It redraws whenever the app refreshes the sync state (every few seconds)."""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ListProperty
from kivy.uix.boxlayout import BoxLayout

from .. import theme
from ..widgets import KLabel
from .base import BaseScreen

#: the table's type: large, read standing in front of the kiosk
ROW_SP = 32
ROW_SP_LANDSCAPE = 28


class StatusScreen(BaseScreen):
    screen_name = "status"

    #: [(label, value, is a problem)]
    rows = ListProperty([])
    all_well = BooleanProperty(True)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._shot_pass = False
        c = self.controllers
        self.listen(c.status, c.session)
        self.bind(rows=lambda *_a: self._fill())

    def on_pre_enter(self, *a: Any) -> None:
        p = self.controllers.pickup
        allowed, self._shot_pass = self._shot_pass, False
        if not allowed and (p.staff is None or not p.staff.active()):
            self.go("staff")  # behind the PIN: never shown to whoever is not unlocked
            return
        super().on_pre_enter(*a)

    def refresh(self) -> None:
        if self.manager is not None and self.manager.current != self.name:
            return  # drawn when shown: a hidden page reads nothing
        self.lang = self.controllers.session.lang
        view = self.controllers.status.view()
        problem_label = self.t("row_problem")
        self.rows = [(label, value, label == problem_label) for label, value in view.rows]
        self.all_well = not view.problems

    def _fill(self) -> None:
        """One row per line of the table, both cells top-aligned (a value may wrap)."""
        table = self.ids.table
        table.clear_widgets()
        size = ROW_SP_LANDSCAPE if self.landscape else ROW_SP  # landscape: all rows fit
        for label, value, problem in self.rows:
            colour = theme.ERROR if problem else theme.TEXT
            font = theme.FONT_BOLD if problem else theme.FONT
            row = BoxLayout(size_hint_y=None, spacing=dp(theme.GAP * 2))
            for text, hint, c in ((label, 0.4, colour if problem else theme.MUTED),
                                  (value, 0.6, colour)):  # fmt: skip
                cell = KLabel(text=text, size_hint_x=hint, pos_hint={"top": 1})
                # after the kv rule, which sets KLabel's own colour, font and size
                cell.color, cell.font_name, cell.font_size = c, font, sp(size)
                cell.bind(height=lambda *_a, r=row: _fit(r))
                row.add_widget(cell)
            table.add_widget(row)

    def back(self) -> None:
        self.controllers.session.touch()
        self.go("staff")

    def lock(self) -> None:
        self.controllers.session.reset("staff")

    def shot_state(self) -> None:
        self.controllers.status.refresh()
        self._shot_pass = True  # the screenshot run shows the page without a PIN


def _fit(row: BoxLayout) -> None:
    row.height = max((c.height for c in row.children), default=0)
