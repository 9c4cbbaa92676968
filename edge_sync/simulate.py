"""``omnikiosk edge simulate``: synthetic kiosk traffic through the kiosk's own API.

Shoppers' sessions: a start, a few searches and product views, now and then a QR
scan that links the visit to a profile or a campaign, a staff pickup, an end. The
events go through ``EdgeClient.enqueue`` exactly as the kiosk UI's do, so each one
is committed to the outbox before the next is made.

The QR codes shoppers bring are real: signed with central's key (``--key-dir``, the
demo's and the tests' central on the same machine), so central accepts the links they
make. Without a key the simulated shoppers' codes are not ones this retailer issued,
and the kiosk records them as unknown.

Pickups are of real orders too, handed over as staff do it at the device: ``--orders
FILE`` names orders central has made ready for this store (``[{"order_id", "items",
"token_hash", "code"}, …]``, as the demo writes it, ``code`` being the pickup code's
text), and a staff member (``--staff ID``, the PIN in ``--pin-file``) unlocks the desk,
waits until the device has the order, scans its code and confirms (``simulate_desk``):
``pickup.confirmed`` is the desk's own, each order's once. Without the file, or once its
orders are all collected, a session has no pickup.

After the traffic the simulator scans one handed-over code again (the desk refuses it,
saying when and by whom), and with ``--lookup QUERY`` searches the store's data as a
shopper would; ``--report FILE`` keeps all of that as JSON (the demo prints it).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .client import EdgeClient
from .config import DeviceConfig
from .pickups import PickupRefused, UnlockRefused
from .protocol.tokens import Kind, Signer, Token
from .simulate_desk import DEFAULT_WAIT_S, DeskNotReady, SimStaff, SimulatedDesk, lookup

QUERIES = [
    "rain jacket",
    "running shoes",
    "coffee grinder",
    "desk lamp",
    "kids backpack",
    "yoga mat",
    "headphones",
]


def _hash(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()[:32]


class SimCodes:
    """The codes simulated shoppers bring: one per (kind, subject), as central would
    issue them (the same recipient always has the same code)."""

    def __init__(self, signer: Signer, valid_from: date, days: int = 400) -> None:
        self.signer = signer
        self.not_before = valid_from
        self.not_after = valid_from + timedelta(days=days)
        self._made: dict[tuple[str, str, str | None], Token] = {}

    def code(self, kind: Kind, subject: str, campaign_id: str | None = None) -> Token:
        key = (kind.value, subject, campaign_id)
        token = self._made.get(key)
        if token is None:
            token = self._made[key] = self.signer.sign(
                kind, subject, not_before=self.not_before, not_after=self.not_after,
                campaign_id=campaign_id,
            )  # fmt: skip
        return token

    @classmethod
    def from_key_dir(cls, key_dir: str | Path, valid_from: date) -> SimCodes:
        """Central's signing key from its key directory (central must have started once)."""
        from central_api.domain.tokens.keystore import KeyStore  # the demo's central, here

        return cls(KeyStore(key_dir, "shop.example.com").signer(), valid_from)


Step = tuple[str, dict[str, Any], int]  # type, data, version
#: a step the pickup desk carries out ({"action": "confirm"|"refuse", "order": …}): the
#: desk stores the event (pickup.confirmed / pickup.refused) itself
DESK = "desk"


class PickupOrders:
    """The orders simulated customers collect, each once, in the file's order."""

    def __init__(self, orders: list[dict[str, Any]]) -> None:
        self._left = list(orders)

    @classmethod
    def from_file(cls, path: str | Path) -> PickupOrders:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, list) or not all(
            isinstance(o, dict) and isinstance(o.get("order_id"), str) for o in doc
        ):
            raise ValueError(f"{path}: expected a JSON list of {{'order_id', 'items', …}}")
        return cls(doc)

    def take(self) -> dict[str, Any] | None:
        return self._left.pop(0) if self._left else None

    def put_back(self, order: dict[str, Any]) -> None:
        """A refused handover: the customer comes back later."""
        self._left.append(order)

    def __len__(self) -> int:
        return len(self._left)


def _linked_scan(rng: random.Random, codes: SimCodes | None) -> Iterator[Step]:
    """A shopper scans the code from their flyer (a recipient code) or their own
    check-in code: the kiosk verifies it and links the visit."""
    profile = f"prof-{rng.randint(1, 500)}"
    recipient = rng.random() < 0.7
    campaign = f"cmp-{rng.randint(1, 3)}" if recipient else None
    if codes is None:
        yield "qr.scanned", {"valid": False, "reason": "unknown_key", "token_hash": _hash(rng)}, 2
        return
    kind = Kind.RECIPIENT if recipient else Kind.PROFILE
    token = codes.code(kind, profile, campaign)
    th = token.token_hash
    yield "qr.scanned", {"valid": True, "kind": kind.value, "kid": token.kid, "token_hash": th}, 2
    if campaign is not None:
        yield (
            "campaign.scanned",
            {"token": token.text, "campaign_id": campaign, "recipient_id": profile,
             "token_hash": th},
            2,
        )  # fmt: skip
    yield (
        "visit.linked",
        {"token": token.text, "profile_id": profile, "method": "qr", "token_kind": kind.value,
         "campaign_id": campaign, "token_hash": th},
        2,
    )  # fmt: skip
    # Once linked, the kiosk asks whether the visit may count for their profile.
    yield (
        "consent.recorded",
        {"purpose": "profiling", "granted": rng.random() < 0.7, "method": "kiosk_prompt",
         "text_version": "2026-10"},
        1,
    )  # fmt: skip


def session_events(
    rng: random.Random,
    staff_id: str = "staff-1",
    codes: SimCodes | None = None,
    orders: PickupOrders | None = None,
) -> Iterator[Step]:
    """One shopper's session as (type, data, version), in the order a kiosk makes them;
    a pickup is a ``DESK`` step. (``staff_id`` is not used: the staff member at the desk
    is ``run_simulation``'s; kept for callers.)"""
    for type_, data in _session_v1(rng, orders):
        if type_ == "qr.link":
            yield from _linked_scan(rng, codes)
        else:
            yield type_, data, 1


def _pickup(
    rng: random.Random, orders: PickupOrders | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A customer collects one of the orders central made ready here (9 in 10 are
    handed over; the rest refused, and the order stays for a later session)."""
    handed_over = rng.random() < 0.9
    order = orders.take() if orders is not None else None
    if order is None:
        return
    if not handed_over:
        assert orders is not None
        orders.put_back(order)
    yield DESK, {"action": "confirm" if handed_over else "refuse", "order": order}


def _session_v1(
    rng: random.Random, orders: PickupOrders | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "session.started", {"trigger": rng.choice(["touch", "touch", "qr_scan"]), "locale": "en"}
    screens = 1
    for _ in range(rng.randint(1, 3)):
        results = rng.randint(0, 40)
        yield (
            "product.searched",
            {
                "query": rng.choice(QUERIES),
                "results": results,
                "in_stock_results": rng.randint(0, results),
            },
        )
        screens += 1
        for _ in range(rng.randint(0, 2)):
            in_stock = rng.random() < 0.8
            yield (
                "product.viewed",
                {
                    "sku": f"SKU-{rng.randint(1000, 9999)}",
                    "source": "search",
                    "in_stock": in_stock,
                    "stock_qty": rng.randint(1, 30) if in_stock else 0,
                },
            )
            screens += 1
    roll = rng.random()
    if roll < 0.25:
        yield "qr.link", {}  # see _linked_scan
    elif roll < 0.35:
        yield (
            "qr.scanned",
            {"valid": False, "reason": rng.choice(["malformed", "expired", "bad_signature"])},
        )
    elif roll < 0.5:
        yield from _pickup(rng, orders)
    if rng.random() < 0.1:
        yield (
            "consent.recorded",
            {
                "purpose": "marketing",
                "granted": rng.random() < 0.7,
                "method": "kiosk_prompt",
                "text_version": "2026-10",
            },
        )
    yield (
        "session.ended",
        {
            "reason": rng.choice(["timeout", "done"]),
            "duration_ms": rng.randint(5_000, 300_000),
            "screens": screens,
        },
    )


def synthetic_events(
    rng: random.Random,
    staff_id: str = "staff-1",
    codes: SimCodes | None = None,
    orders: PickupOrders | None = None,
) -> Iterator[tuple[str, str, dict[str, Any], int]]:
    """Endless (session_id, type, data, version) stream."""
    while True:
        session_id = f"sess-{rng.getrandbits(48):012x}"
        for type_, data, v in session_events(rng, staff_id, codes, orders):
            yield session_id, type_, data, v


def run_simulation(
    cfg: DeviceConfig,
    count: int,
    rate: float = 0.0,
    seed: int | None = None,
    key_dir: str | None = None,
    orders_file: str | None = None,
    *,
    staff_id: str | None = None,
    pin_file: str | None = None,
    lookup_query: str | None = None,
    report_file: str | None = None,
    wait_s: float = DEFAULT_WAIT_S,
) -> int:
    rng = random.Random(seed)
    try:
        orders = PickupOrders.from_file(orders_file) if orders_file else None
        if orders is not None and not (staff_id and pin_file):
            raise ValueError(
                "--orders needs --staff ID and --pin-file FILE: the simulated staff member "
                "unlocks the pickup desk with that PIN to hand the orders over"
            )
        staff = SimStaff.from_pin_file(staff_id, pin_file) if staff_id and pin_file else None
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    codes = None
    if key_dir is not None:
        codes = SimCodes.from_key_dir(key_dir, date.today() - timedelta(days=30))
    client = EdgeClient.from_config(cfg)
    desk = SimulatedDesk(client, staff, wait_s) if staff is not None else None
    by_type: Counter[str] = Counter()
    report: dict[str, Any] = {"device_id": cfg.device.id, "store_id": cfg.device.store_id}
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.monotonic()
    first = last = None
    try:
        stream = synthetic_events(rng, codes=codes, orders=orders)
        for i, (session_id, type_, data, v) in zip(range(count), stream, strict=False):
            if interval:
                delay = started + i * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if type_ == DESK:
                assert desk is not None  # orders come only with a staff member
                if data["action"] == "confirm":
                    event = desk.hand_over(data["order"]).event
                else:
                    event = desk.refuse(data["order"])
            else:
                event = client.enqueue(type_, data, session_id, v=v)
            first = first or event.seq
            last = event.seq
            by_type[event.type] += 1
        took = time.monotonic() - started
        if desk is not None:
            report["handed_over"] = list(desk.handed_over)
            report["refused"] = desk.refused
            report["second_scan"] = desk.scan_again()
        if lookup_query:
            report["lookup"] = lookup(client, lookup_query, wait_s)
    except (DeskNotReady, PickupRefused, UnlockRefused) as err:
        # the device's flow said no: what it said is what to look into (logs of its daemon)
        print(f"error: the pickup desk on {cfg.device.id}: {err}", file=sys.stderr)
        return 1
    finally:
        if desk is not None:
            desk.close()
        client.close()
    mix = ", ".join(f"{t} {n}" for t, n in sorted(by_type.items()))
    print(f"enqueued {sum(by_type.values())} events (seq {first}..{last}) in {took:.2f}s: {mix}")
    _print_report(report)
    report["enqueued"] = dict(by_type)
    if report_file:
        Path(report_file).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


def _print_report(report: dict[str, Any]) -> None:
    if "handed_over" in report:
        print(
            f"pickup desk: handed over {len(report['handed_over'])} (PIN unlock, code "
            f"scanned, confirmed), refused {report['refused']}"
        )
    again = report.get("second_scan")
    if again:
        print(
            f"second scan of {again['order_id']}: refused ({again['refusal']}): {again['message']}"
        )
    found = report.get("lookup")
    if found:
        print(f"search {found['query']!r}: " + ", ".join(
            f"{h['sku']} {h['name']} ({h['here']})" for h in found["hits"]
        ))  # fmt: skip
