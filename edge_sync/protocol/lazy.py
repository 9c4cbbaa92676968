"""Lazy package exports (PEP 562): a package names what it offers and from which of its
modules, and a module is imported the first time one of its names is used.

The kiosk imports parts of the wire contract (ids, times) at start, and its first frame
should not wait for what it does not use yet: the event schemas' pydantic models and
the signature library load on the first event or the first scanned code instead.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


class _LazyPackage(ModuleType):
    """A package whose export may bear its module's name (``tokens.verify``, the
    function, from ``tokens/verify.py``): importing that module makes the import system
    set the package's attribute to the module; the export is kept instead, as an eager
    ``from .verify import verify`` would have left it."""

    def __setattr__(self, name: str, value: Any) -> None:
        where = self.__dict__.get("_lazy_where", {})
        if (
            isinstance(value, ModuleType)
            and where.get(name) == f".{name}"
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]], submodules: tuple[str, ...] = ()
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose module ``.m`` offers
    the names ``exports[".m"]``, and whose ``submodules`` are exported as modules. A
    name is looked up once, then kept in the package."""
    where = {name: module for module, names in exports.items() for name in names}
    module = sys.modules[package]
    module.__class__ = _LazyPackage
    namespace = module.__dict__
    namespace["_lazy_where"] = where

    def getattr_(name: str) -> Any:
        if name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in where:
            value = getattr(importlib.import_module(where[name], package), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *where, *submodules})

    return sorted({*where, *submodules}), getattr_, dir_
