"""Every controller of one kiosk, wired to one session: what the app builds at start
and what each screen binds to (``controllers.search``, ``controllers.session``, …).

The scan action remembers the codes of a session (to record each once); on reset it is
replaced by a fresh one, so no code of the last shopper stays in memory either: screens
reach it through ``controllers.scan`` each time, never keep their own reference.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from edge_sync import EdgeClient

from ..settings import KioskSettings
from .clock import Clock, SystemClock
from .feedback import FeedbackController
from .home import HomeController
from .product import ProductController
from .scan import ScanAction
from .search import SearchController
from .session import SessionController
from .status import StatusController

if TYPE_CHECKING:
    from .pickup import PickupController


class Controllers:
    def __init__(
        self,
        client: EdgeClient,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
        *,
        tz: tzinfo | None = None,
        config_version: int | None = None,
    ) -> None:
        self.client = client
        self.settings = settings or KioskSettings()
        self.clock = clock or SystemClock()
        self.session = SessionController(client, self.settings, self.clock)
        self.scan = ScanAction(client)
        self.session.register("scan", self._new_scan)
        self.home = HomeController(client, self.session)
        self.search = SearchController(client, self.session)
        self.product = ProductController(client, self.session)
        self._tz = tz
        self._pickup: PickupController | None = None
        self.feedback = FeedbackController(client, self.session)
        self.status = StatusController(client, self.session, tz=tz, config_version=config_version)

    @property
    def pickup(self) -> PickupController:
        """The staff desk's controller, made on first use: a shopper's start does not
        load the pickup desk (and its signature checks) before the first frame."""
        if self._pickup is None:
            from .pickup import PickupController

            self._pickup = PickupController(self.client, self.session, tz=self._tz)
        return self._pickup

    def _new_scan(self) -> None:
        self.scan = ScanAction(self.client, self.scan.kinds)

    def tick(self) -> None:
        """One call for the app's interval (every 0.25 s, say): every timer moves on."""
        self.search.tick()
        if self._pickup is not None:
            self._pickup.tick()
        self.feedback.tick()
        self.home.tick()
        self.session.tick()

    def close(self) -> None:
        if self._pickup is not None:
            self._pickup.close()
