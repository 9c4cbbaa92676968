"""Widgets every screen uses, styled in ``assets/kv/common.kv`` from ``kiosk.theme``:
buttons at least 96 dp tall, body text 28 sp, the status strip, the "Still there?"
overlay and the dimmer."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from .screens.base import load_kv


class KButton(Button):
    """The primary action: deep blue, white text, full width in portrait."""

    kind = StringProperty("primary")  # primary | secondary | confirm | danger


class KLabel(Label):
    """Body text that wraps to its width and grows to its height."""

    secondary = BooleanProperty(False)


class KTitle(KLabel):
    pass


class StatusStrip(Label):
    """The strip at the foot of every screen: online / offline since hh:mm / syncing."""

    connectivity = StringProperty("online")


class StillThere(FloatLayout):
    """The countdown before a reset: any touch on it (or anywhere) cancels it."""

    message = StringProperty("")
    detail = StringProperty("")
    seconds = NumericProperty(0)
    button_text = StringProperty("")
    showing = BooleanProperty(False)

    def on_touch_down(self, touch: Any) -> bool:
        # hidden, it takes no touch; shown, it takes every one (the root's handler has
        # already told the session, which ends the countdown)
        return self.showing


class Dimmer(Widget):
    """A black veil over everything; its alpha is 1 - the session's brightness."""

    alpha = NumericProperty(0.0)

    def on_touch_down(self, touch: Any) -> bool:
        return False  # the root's touch handler wakes the screen


load_kv("common")
