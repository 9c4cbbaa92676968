"""The camera viewfinder the scan screen and the staff pickup desk share: a
``CameraPreview`` widget (the newest frame under a guide frame, its kv rule in
``assets/kv/preview.kv``) and a ``CameraFeed`` that runs a ``kiosk.scan_worker.ScanWorker``
for it.

The worker hands frames over on the UI thread; the feed keeps only the newest and draws
it through one ``Clock.create_trigger``, so a burst of frames costs one redraw a frame at
most. A feed runs one worker at a time: ``start`` replaces a running one, ``stop`` lets
the camera go (the threads wind down behind it), and nothing a stopped worker sends is
drawn or passed on.

The camera's code (OpenCV, NumPy and the QR decoders, some 35 MB resident) is imported
when a feed first starts, not with the app: a kiosk nobody scans at never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty
from kivy.uix.widget import Widget

from .base import load_kv

if TYPE_CHECKING:
    import numpy as np

    from ..camera import Frame
    from ..scan_worker import ScanWorker
    from ..scanner import ScanResult


class CameraPreview(Widget):
    """The newest camera frame, fitted into the widget, under a guide frame."""

    texture = ObjectProperty(None, allownone=True)
    #: the code was read: the guide turns green (red when it was refused)
    found = BooleanProperty(False)
    refused = BooleanProperty(False)
    tex_coords = ListProperty([0, 1, 1, 1, 1, 0, 0, 0])

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.bind(pos=self._fit, size=self._fit, texture=self._fit)

    def show(self, image: np.ndarray) -> None:
        import numpy as np

        h, w = image.shape[:2]
        tex = self.texture
        if tex is None or tuple(tex.size) != (w, h):
            tex = Texture.create(size=(w, h), colorfmt="bgr")
        tex.blit_buffer(np.ascontiguousarray(image).tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        if tex is not self.texture:
            self.texture = tex
        self.canvas.ask_update()

    def clear(self) -> None:
        self.texture = None
        self.found = self.refused = False

    def _fit(self, *_a: Any) -> None:
        """Fill the widget with the middle of the frame (cropping the sides or the top
        and bottom, never squashing), as a camera viewfinder does."""
        if self.texture is None or self.width <= 0 or self.height <= 0:
            return
        tw, th = self.texture.size
        scale = max(self.width / tw, self.height / th)
        fx, fy = self.width / (tw * scale), self.height / (th * scale)
        u0, v0 = (1 - fx) / 2, (1 - fy) / 2
        u1, v1 = 1 - u0, 1 - v0
        # OpenCV's first row is the top of the picture and lands at v = 0
        self.tex_coords = [u0, v1, u1, v1, u1, v0, u0, v0]


class CameraFeed:
    """Scans the camera a ``kiosk.camera`` setting names into a ``CameraPreview``:
    ``on_code(result)`` for each code read (once while it stays in view),
    ``on_error(message)`` when the camera cannot be used, and ``on_frame(frame)``
    (optional) after each frame drawn; all on the UI thread."""

    def __init__(
        self,
        on_code: Callable[[ScanResult], None],
        on_error: Callable[[str], None],
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        self._on_code, self._on_error, self._on_drawn = on_code, on_error, on_frame
        self._worker: ScanWorker | None = None
        self._preview: CameraPreview | None = None
        self._frame: Frame | None = None
        self._draw = Clock.create_trigger(lambda _dt: self._blit(), -1)

    @property
    def worker(self) -> ScanWorker | None:
        """The running worker (None while stopped)."""
        return self._worker

    def start(self, setting: str, preview: CameraPreview) -> None:
        from ..scan_worker import ScanWorker

        self.stop()
        self._preview = preview
        self._worker = ScanWorker(
            setting, Clock.schedule_once, self._on_frame, self._on_code, self._on_error
        ).start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._frame = None
        self._draw.cancel()

    def _on_frame(self, frame: Frame) -> None:
        self._frame = frame
        self._draw()

    def _blit(self) -> None:
        frame, preview = self._frame, self._preview
        if frame is not None and self._worker is not None and preview is not None:
            preview.show(frame.image)
            if self._on_drawn is not None:
                self._on_drawn(frame)


load_kv("preview")
