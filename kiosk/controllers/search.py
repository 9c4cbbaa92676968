"""Results as you type: the search box's text, debounced, over ``Availability.search``.

Each key press changes ``query`` at once (the box echoes it within the frame) and
schedules a search ``search_debounce_s`` later; ``tick`` runs it when due, so a fast
typist costs one search, not one per key. ``submit`` (the keyboard's search key) runs it
now. Each key also touches the session: typing is never idle.

What the shopper searched is recorded once, as ``product.searched``, when they leave
the search (open a product, go back, or the session resets), with the last query they
saw results for; so "rain", "rain j", "rain ja" do not count as three searches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from edge_sync import EdgeClient, EdgeError
from edge_sync.inventory.availability import SearchHit, StockHere

from ..settings import KioskSettings
from .bound import SessionBound
from .clock import Clock
from .session import SessionController
from .words import distance_text, price_text, say

log = logging.getLogger(__name__)

MAX_QUERY = 100


class SearchState(StrEnum):
    EMPTY = "empty"  # nothing typed: show the hint
    TYPING = "typing"  # a search is due
    RESULTS = "results"
    NO_RESULTS = "no_results"


def stock_text(here: StockHere, lang: str) -> str:
    """What a row says about the stock here: the count only where the store shows it."""
    if not here.listed:
        return say("stock_not_listed", lang)
    if here.state == "out":
        return say("stock_out_here", lang)
    if here.quantity is not None:
        return say("stock_count", lang, n=here.quantity)
    return say("stock_low" if here.state == "low" else "stock_in", lang)


@dataclass(frozen=True, slots=True)
class ResultRow:
    sku: str
    name: str
    brand: str
    price_text: str
    #: in_stock / low / out (the colour and icon); ``state_text`` is the words
    state: str
    state_text: str
    #: the shelf count, only when the store shows exact stock
    count: int | None
    image: str
    #: out here: where the nearest store nearby has it ("In stock at Centrum, 1.2 km"),
    #: else ""; ``nearby_state`` is that store's in_stock / low
    nearby_text: str = ""
    nearby_state: str = ""


def nearby_text(h: SearchHit, lang: str) -> str:
    n = h.nearest
    if n is None:
        return ""
    key = "stock_low_nearby" if n.state == "low" else "stock_in_nearby"
    return say(key, lang, store=n.name, distance=distance_text(n.distance_km, lang))


def _row(h: SearchHit, lang: str) -> ResultRow:
    p, here = h.product, h.here
    price = price_text(p.price_minor, p.currency, lang)
    text = stock_text(here, lang)
    near = h.nearest.state if h.nearest is not None else ""
    return ResultRow(p.sku, p.name, p.brand, price, here.state, text, here.quantity, p.image,
                     nearby_text(h, lang), near)  # fmt: skip


class SearchController(SessionBound):
    """``subscribe`` gets ``"query"`` on each key and ``"results"`` when they change."""

    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(client, session, settings, clock)
        self.query = ""
        self._hits: list[SearchHit] = []
        self.corrected: dict[str, list[str]] = {}
        self._searched = ""  # the query the hits are for
        self._due: float | None = None
        self._to_record: tuple[str, int, int] | None = None
        session.register("search", self.reset)

    # -- typing --------------------------------------------------------------------------

    def key(self, char: str) -> None:
        """One on-screen key (a letter, a digit, a space)."""
        self.set_query(self.query + char)

    def backspace(self) -> None:
        self.set_query(self.query[:-1])

    def clear(self) -> None:
        self.set_query("")

    def set_query(self, text: str) -> None:
        self.session.touch()
        text = text[:MAX_QUERY]
        if text == self.query:
            return
        self.query = text
        self._due = self.clock.monotonic() + self.settings.search_debounce_s
        self._notify("query")

    def submit(self) -> None:
        """The keyboard's search key: search now."""
        self.session.touch()
        self._run()

    def tick(self) -> bool:
        """Run the search when it is due; True when the results changed."""
        if self._due is None or self.clock.monotonic() < self._due:
            return False
        return self._run()

    # -- what the screen shows -----------------------------------------------------------

    @property
    def state(self) -> SearchState:
        if not self.query.strip():
            return SearchState.EMPTY
        if self._due is not None:
            return SearchState.TYPING
        return SearchState.RESULTS if self._hits else SearchState.NO_RESULTS

    def rows(self) -> list[ResultRow]:
        return [_row(h, self.session.lang) for h in self._hits]

    def message(self) -> str | None:
        """The line above the results: a hint, "no results", or a typo correction."""
        lang = self.session.lang
        state = self.state
        if state is SearchState.EMPTY:
            return say("search_hint", lang)
        if state is SearchState.NO_RESULTS:
            return say("search_none", lang, query=self._searched.strip())
        if state is SearchState.RESULTS and self.corrected:
            instead = ", ".join(ws[0] for ws in self.corrected.values() if ws)
            return say("search_corrected", lang, words=instead)
        return None

    # -- leaving -------------------------------------------------------------------------

    def leave(self) -> None:
        """The shopper left the search (opened a product or went back)."""
        self._record()

    def reset(self) -> None:
        self._record()
        self.query, self._searched, self._hits, self.corrected = "", "", [], {}
        self._due = None
        self._notify("results")

    # -- inside --------------------------------------------------------------------------

    def _run(self) -> bool:
        self._due = None
        query = self.query
        if not query.strip():
            changed = bool(self._hits)
            self._hits, self.corrected, self._searched = [], {}, ""
        else:
            try:
                result = self.client.availability.search(query, limit=self.settings.search_limit)
            except Exception:  # a damaged or locked file: say "no results", keep running
                log.exception("search for %r failed", query)
                self._hits, self.corrected = [], {}
            else:
                self._hits, self.corrected = result.hits, result.corrected
            self._searched, changed = query, True
            in_stock = sum(1 for h in self._hits if h.here.state != "out")
            self._to_record = (query.strip()[:200], len(self._hits), in_stock)
        self._notify("results")
        return changed

    def _record(self) -> None:
        if self._to_record is None:
            return
        query, results, in_stock = self._to_record
        self._to_record = None
        try:
            self.client.enqueue(
                "product.searched",
                {"query": query, "results": results, "in_stock_results": in_stock},
                self.session.id,
            )
        except EdgeError as err:
            log.warning("product.searched not recorded: %s", err)
