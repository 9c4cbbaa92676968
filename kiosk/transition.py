"""The kiosk's screen change: the old screen fades out over the new one.

Kivy's ``FadeTransition`` renders both screens into full-window off-screen buffers and
blends them on every frame of the change; with software GL (Mesa's llvmpipe, as under
Xvfb or on a board without its GPU driver) that makes each frame of a 1080×1920 change
cost several full-window passes. This one draws the two screens as they are, the new
one underneath at full opacity and the old one above it, whose opacity falls to 0; the
GL blends it in the same pass. The new screen is never transparent, so what it shows
is there (and readable by the scripted tests) from the first frame of the change.
"""

from __future__ import annotations

from kivy.uix.screenmanager import Screen, TransitionBase


class QuickFade(TransitionBase):
    def add_screen(self, screen: Screen) -> None:
        # the manager moves only the screens in its tree when it moves; one built or
        # shown later takes its place here (Kivy's own transitions all set it)
        screen.pos = self.manager.pos
        self.manager.real_add_widget(screen)
        out = self.screen_out
        if out is not None and out is not screen and out.parent is self.manager:
            self.manager.real_remove_widget(out)  # back on top, to fade out over the new one
            self.manager.real_add_widget(out)

    def on_progress(self, progression: float) -> None:
        self.screen_out.opacity = 1.0 - progression

    def forget_all_but(self, screen: Screen) -> None:
        """Point ``screen_in``/``screen_out`` (kept after a change, and they take no
        None) at ``screen``, so the screens moved before can be freed once dropped."""
        self.screen_in = self.screen_out = screen

    def on_complete(self) -> None:
        self.screen_out.opacity = 1.0
        super().on_complete()
