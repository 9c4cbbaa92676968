"""A simulated finger for the scripted person (``kiosk/script.py``, the demo's shopper):
one touch at window coordinates, pressed, moved and lifted through Kivy's event loop,
as a real touch arrives.

Kivy ships one (``kivy.tests.common.UnitTestTouch``), but importing that module loads
pytest and pygments into the app (about 6 MB resident), which a soak of the running
kiosk would then count as the kiosk's.
"""

from __future__ import annotations

from typing import Any

from kivy.base import EventLoop
from kivy.input.motionevent import MotionEvent


class Finger(MotionEvent):
    def __init__(self, x: float, y: float) -> None:
        super().__init__("omk-finger", 99, self._args(x, y), is_touch=True, type_id="touch")
        self.profile = ["pos"]

    @staticmethod
    def _args(x: float, y: float) -> dict[str, float]:
        win = EventLoop.window
        return {"x": x / (win.width - 1.0), "y": y / (win.height - 1.0)}

    def depack(self, args: dict[str, Any]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)

    def down(self) -> None:
        EventLoop.post_dispatch_input("begin", self)

    def move_to(self, x: float, y: float) -> None:
        self.move(self._args(x, y))
        EventLoop.post_dispatch_input("update", self)

    def up(self) -> None:
        EventLoop.post_dispatch_input("end", self)


def tap(x: float, y: float) -> None:
    """A finger's touch at ``(x, y)`` in window coordinates, down and up."""
    finger = Finger(x, y)
    finger.down()
    finger.up()
