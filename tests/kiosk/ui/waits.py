"""Conditions for the UI scripts' ``k.until`` (imported by the scripts, inside the app's
process): what a fixed sleep used to guess at, as something the app shows."""

from __future__ import annotations

from collections.abc import Callable


def drawn(pred: Callable[[], bool], frames: int = 2) -> Callable[[], bool]:
    """``pred``, and ``frames`` frames of the app since it first held (still holding):
    what it shows has been laid out and drawn (Kivy lays out, builds label textures and
    runs the screens' throttled redraws just before each frame), so touches land on the
    widgets where they show and texts, sizes and screenshots are those of the screen."""
    from kivy.clock import Clock

    since: list[int] = []

    def check() -> bool:
        if not pred():
            since.clear()
            return False
        if not since:
            since.append(Clock.frames_displayed)
        return Clock.frames_displayed >= since[0] + frames

    return check
