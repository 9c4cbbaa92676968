"""The base of the controllers that belong to one shopper session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .observe import Observable

if TYPE_CHECKING:
    from edge_sync import EdgeClient

    from ..settings import KioskSettings
    from .clock import Clock
    from .session import SessionController


class SessionBound(Observable):
    """A controller of one shopper session: the device's client, the session it belongs
    to, and the session's settings and clock unless given its own (tests)."""

    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.session = session
        self.settings = settings or session.settings
        self.clock = clock or session.clock
