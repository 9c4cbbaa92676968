"""The kiosk's screens: one module each, with its ``assets/kv/<name>.kv``.

Screens are found, not listed: a module here that declares a ``screen_name`` (a
``BaseScreen`` subclass's ``screen_name = "…"`` line) is a screen, and its module bears
that name. They are found from the sources without importing them, so the app starts
with its home screen alone and builds each other screen when it is first shown: the
scan screens' camera and decoder libraries (OpenCV, zxing-cpp, numpy) are not loaded
before the first frame (``KioskApp.preload`` brings them in after it, off the UI
thread).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path

from .base import BaseScreen

_DECLARES = re.compile(r"^\s+screen_name\s*=\s*[\"'](\w+)[\"']", re.M)


@cache
def screen_names() -> tuple[str, ...]:
    """The screens' names, home first, read from this package's sources."""
    names = set()
    for info in pkgutil.iter_modules(__path__):
        source = (Path(__file__).parent / f"{info.name}.py").read_text(encoding="utf-8")
        names.update(n for n in _DECLARES.findall(source) if n == info.name)
    return tuple(sorted(names, key=lambda n: (n != "home", n)))


def screen_class(name: str) -> type[BaseScreen]:
    """The screen class named ``name`` (its module imported on first use)."""
    if name not in screen_names():
        raise KeyError(f"no kiosk screen {name!r} (there are {', '.join(screen_names())})")
    module = importlib.import_module(f"{__name__}.{name}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseScreen) and value.screen_name == name:
            return value
    raise KeyError(f"{module.__name__} declares no BaseScreen with screen_name {name!r}")


def all_screens() -> list[type[BaseScreen]]:
    """Every screen class, home first (imports every screen module)."""
    return [screen_class(name) for name in screen_names()]
