"""Feedback: five large faces in one row, then (optional) three reason chips, then
"Thank you" and home within ``feedback_return_s`` (the controller's tick resets).

Entered with ``FeedbackController.begin(context, …)`` already called (after a linked
visit by the welcome screen, after a pickup by the staff desk); entered without, it
asks about the visit."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.button import Button

from ..controllers.feedback import FeedbackStep
from .base import BaseScreen


class Face(Button):
    """One rating as a drawn face (no emoji font needed): the mouth curves from a frown
    (1) to a smile (5)."""

    rating = NumericProperty(3)
    chosen = BooleanProperty(False)
    mouth = ListProperty([])

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.bind(pos=self._draw, size=self._draw, rating=self._draw)

    def _draw(self, *_a: Any) -> None:
        r = self.face_radius()
        cx, cy = self.center_x, self.face_y()
        bend = (self.rating - 3) / 2  # -1 frown … +1 smile
        points = []
        for i in range(13):
            u = i / 12 * 2 - 1  # -1 … 1 across the mouth
            points += [cx + u * r * 0.45, cy - r * 0.35 - bend * r * 0.25 * (1 - u * u)]
        self.mouth = points

    def face_radius(self) -> float:
        return max(1.0, min(self.width, self.height - self.caption_h()) * 0.42)

    def caption_h(self) -> float:
        return self.height * 0.22

    def face_y(self) -> float:
        return self.y + self.caption_h() + (self.height - self.caption_h()) / 2


class FeedbackScreen(BaseScreen):
    screen_name = "feedback"

    step = StringProperty(FeedbackStep.RATE.value)
    question = StringProperty("")
    thanks = StringProperty("")
    rating = NumericProperty(0)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        c = self.controllers
        self.listen(c.feedback, c.session)
        self._faces: list[Face] = []
        self._chips: list[Any] = []
        for n in range(1, 6):
            face = Face(rating=n)
            face.bind(on_release=lambda _b, n=n: self.rate(n))
            self.ids.faces.add_widget(face)
            self._faces.append(face)
        self._chips = [self.ids.chip_0, self.ids.chip_1, self.ids.chip_2]

    def on_pre_enter(self, *_a: Any) -> None:
        if self.controllers.feedback.step is FeedbackStep.IDLE:
            self.controllers.feedback.begin("visit")
        super().on_pre_enter()

    def rate(self, rating: int) -> None:
        self.controllers.feedback.rate(rating)

    def decline(self) -> None:
        self.controllers.feedback.decline()

    def choose(self, index: int | None) -> None:
        fb = self.controllers.feedback
        reasons = fb.reasons()
        fb.choose(reasons[index][0] if index is not None and index < len(reasons) else None)

    def refresh(self) -> None:
        fb = self.controllers.feedback
        self.lang = self.controllers.session.lang
        self.step = fb.step.value
        self.question = fb.question()
        self.thanks = fb.thanks()
        self.rating = fb.rating or 0
        for face, (_n, label) in zip(self._faces, fb.faces(), strict=True):
            face.text = label
            face.chosen = fb.rating == face.rating
        for chip, (_r, words) in zip(self._chips, fb.reasons(), strict=True):
            chip.text = words

    def shot_state(self) -> None:
        if self.controllers.feedback.step is FeedbackStep.IDLE:
            self.controllers.feedback.begin("visit")
