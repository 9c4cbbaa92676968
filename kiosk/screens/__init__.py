"""The kiosk's screens: one module each, with its ``assets/kv/<name>.kv``."""

from __future__ import annotations

import importlib
import pkgutil

from .base import BaseScreen


def all_screens() -> list[type[BaseScreen]]:
    """Every screen class in this package (any ``BaseScreen`` subclass with a
    ``screen_name``), home first."""
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    found: dict[str, type[BaseScreen]] = {}
    stack = list(BaseScreen.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.screen_name:
            found[cls.screen_name] = cls
    return sorted(found.values(), key=lambda c: (c.screen_name != "home", c.screen_name))
