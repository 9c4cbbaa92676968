"""Every controller of one kiosk, wired to one session: what the app builds at start
and what each screen binds to (``controllers.search``, ``controllers.session``, …).

The scan action remembers the codes of a session (to record each once); on reset it is
replaced by a fresh one, so no code of the last shopper stays in memory either: screens
reach it through ``controllers.scan`` each time, never keep their own reference.
"""

from __future__ import annotations

from datetime import tzinfo

from edge_sync import EdgeClient

from ..settings import KioskSettings
from .clock import Clock, SystemClock
from .feedback import FeedbackController
from .home import HomeController
from .pickup import PickupController
from .product import ProductController
from .scan import ScanAction
from .search import SearchController
from .session import SessionController
from .status import StatusController


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
        self.pickup = PickupController(client, self.session, tz=tz)
        self.feedback = FeedbackController(client, self.session)
        self.status = StatusController(client, self.session, tz=tz, config_version=config_version)

    def _new_scan(self) -> None:
        self.scan = ScanAction(self.client, self.scan.kinds)

    def tick(self) -> None:
        """One call for the app's interval (every 0.25 s, say): every timer moves on."""
        self.search.tick()
        self.pickup.tick()
        self.feedback.tick()
        self.home.tick()
        self.session.tick()

    def close(self) -> None:
        self.pickup.close()
