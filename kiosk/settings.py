"""The kiosk's own settings: idle times, search debounce, staff lock, attract loop.

They live in an optional ``[kiosk]`` table of the device config file; without one, the
defaults below apply (the design's figures: "Still there?" after 45 s of no touch, a
10 s countdown, then 5 min more before the screen dims). The device config model
(``edge_sync.config.DeviceConfig``) forbids keys it does not know, so until it lists a
``kiosk`` section, ``load_device_config`` refuses a file holding one: keep the table in
a separate file for now, or see docs/kiosk.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from . import i18n


class BadKioskSettings(ValueError):
    """A ``[kiosk]`` value that cannot be used; the message names the key and the file."""


@dataclass(frozen=True, slots=True)
class KioskSettings:
    #: seconds without a touch before "Still there?" shows
    idle_s: float = 45.0
    #: the "Still there?" countdown before the session resets
    countdown_s: float = 10.0
    #: seconds on the home screen without a touch (after a reset) before it dims
    dim_s: float = 300.0
    #: screen brightness while dimmed, 0..1
    dim_level: float = 0.2
    #: a search runs this long after the last key press
    search_debounce_s: float = 0.15
    search_limit: int = 20
    #: the staff desk locks after this long without use
    staff_idle_s: float = 120.0
    #: the feedback screen's "Thank you" returns home after this
    feedback_return_s: float = 3.0
    #: the attract loop shows the next offer after this
    attract_rotate_s: float = 8.0
    #: product data older than this says "may be out of date"
    stale_after_s: float = 6 * 3600.0
    language: str = i18n.DEFAULT_LANGUAGE
    #: the scan screen's camera: ``device:N`` (/dev/videoN, through V4L2 or else OpenCV;
    #: ``opencv:N`` always through OpenCV), ``file:PATH`` (a video,
    #: a folder of images or one image, played as a camera; tests and the demo) or ``none``
    camera: str = "device:0"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "camera":
                _check_camera(value)
            elif f.name == "language":
                if value not in i18n.LANGUAGES:
                    raise BadKioskSettings(
                        f"kiosk.language: {value!r} is not one of {', '.join(i18n.LANGUAGES)}"
                    )
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise BadKioskSettings(f"kiosk.{f.name}: must be a number above 0, got {value!r}")
        if self.dim_level > 1:
            raise BadKioskSettings(f"kiosk.dim_level: must be at most 1, got {self.dim_level}")

    @classmethod
    def from_doc(cls, table: dict[str, Any], source: str = "[kiosk]") -> KioskSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise BadKioskSettings(
                f"{source}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        try:
            return cls(**table)
        except BadKioskSettings as err:
            raise BadKioskSettings(f"{source}: {err}") from None
        except TypeError as err:
            raise BadKioskSettings(f"{source}: {err}") from None

    @classmethod
    def from_toml(cls, path: str | Path | None) -> KioskSettings:
        """The ``[kiosk]`` table of the TOML file at ``path``; defaults when the file has
        none (or ``path`` is None). A value that cannot be used raises ``BadKioskSettings``."""
        if path is None:
            return cls()
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise BadKioskSettings(f"{path}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise BadKioskSettings(f"{path}: not valid TOML ({err})") from None
        table = doc.get("kiosk", {})
        if not isinstance(table, dict):
            raise BadKioskSettings(f"{path}: kiosk must be a table ([kiosk])")
        return cls.from_doc(table, f"{path} [kiosk]")


def _check_camera(value: object) -> None:
    ok = isinstance(value, str) and (
        value == "none"
        or (value[:7] in ("device:", "opencv:") and value[7:].isascii() and value[7:].isdigit())
        or (value.startswith("file:") and len(value) > 5)
    )
    if not ok:
        raise BadKioskSettings(
            f'kiosk.camera: {value!r} is not a camera; use "device:0" (a camera by index; '
            '"opencv:0" reads it through OpenCV), '
            '"file:PATH" (a video, an image folder or an image) or "none"'
        )
