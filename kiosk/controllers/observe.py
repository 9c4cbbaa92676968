"""The one way a screen learns that a controller changed: ``subscribe(callback)``.

Callbacks run on the thread that changed the controller (the UI thread in the app);
a screen's callback should only schedule a redraw (``Clock.create_trigger``). A failing
callback is logged and never stops the others, nor the change itself. A callback
unsubscribed by an earlier one during the same change is not called (the app drops a
screen on the session's reset, and the dropped screen's keyboard must not then follow
a session it has let go).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class Observable:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(what)`` on each change; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, what: str) -> None:
        for listener in list(self._listeners):
            if listener not in self._listeners:  # unsubscribed by an earlier listener
                continue
            try:
                listener(what)
            except Exception:
                log.exception("a %s listener failed on %r", type(self).__name__, what)
