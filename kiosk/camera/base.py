"""The camera interface: :class:`Camera`, the :class:`Frame` it hands out, and the
:class:`CameraError` whose message says what to check."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

    import numpy as np


class CameraError(Exception):
    """A camera source that cannot be opened or read; the message says what to check."""


@dataclass(frozen=True, slots=True)
class Frame:
    image: np.ndarray
    """H×W×3 BGR, ``uint8``."""
    ts: float
    """``time.monotonic()`` when the frame was captured."""
    index: int
    """0 for the first frame read since the source was opened."""


class Camera(ABC):
    """A source of frames. ``open()``, then ``read()`` until it returns None (a finite
    source ran out), then ``close()``; or use it as a context manager."""

    name: str = "camera"
    fps: float | None = None
    """The nominal frame rate, when the source knows it."""

    def __init__(self) -> None:
        self._count = 0
        self._opened = False

    @property
    def is_open(self) -> bool:
        return self._opened

    def open(self) -> None:
        if self._opened:
            return
        self._open()
        self._opened = True
        self._count = 0

    def read(self) -> Frame | None:
        """The next frame, or None when a file source without looping has run out."""
        if not self._opened:
            raise CameraError(f"{self.name}: read() before open() or after close()")
        image = self._read()
        if image is None:
            return None
        frame = Frame(image, time.monotonic(), self._count)
        self._count += 1
        return frame

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def __enter__(self) -> Camera:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> np.ndarray | None: ...

    @abstractmethod
    def _close(self) -> None: ...


class Pacer:
    """Sleeps so that frame n is handed out no earlier than n / fps after the first."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.start: float | None = None
        self.n = 0

    def wait(self) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + self.n * self.interval
        if due > now:
            time.sleep(due - now)
        self.n += 1
