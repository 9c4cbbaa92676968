"""The demo's printed codes: two campaigns with their offers, a direct-mail drop's codes
for three shop customers, a poster's code, and a click-and-collect order ready for its
customer; each code as an image file (``codes/``) a person can show the kiosk's camera,
and as camera frames (``frames/``) for the scripted shopper.

Everything goes the way a retailer's marketer and shop would do it: the campaigns over
the HTTP API, the drop's label sheets, images and merge file with
``central campaign codes``, the poster with ``central campaign poster``, the order over
the shop's integration key, its code from ``/orders/{id}/pickup-code.png``.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import requests

from .demo_online import Api
from .demo_store import place_ready_orders

#: the flyer (direct mail, a code per customer) and the poster (one code for everyone);
#: short ids: a recipient code holds its campaign id and profile id in a version-7 QR code
FLYER, POSTER = "cmp-flyer", "cmp-poster"
#: the shop customers the flyer went to (online-only customers of the demo's web traffic)
RECIPIENTS = (
    ("c-web-001", "Mia Schneider", "Lindenstraße 4", "10115 Berlin"),
    ("c-web-002", "Jonas Weber", "Gartenweg 12", "10117 Berlin"),
    ("c-web-003", "Lea Fischer", "Am Markt 7", "10178 Berlin"),
)
#: the camera frames' size: what a kiosk's camera gives (640×480 is common; 960×720 keeps
#: a poster's code large enough to read)
FRAME_W, FRAME_H = 960, 720
#: frames with no code before the code shows, as when a customer takes a moment
LEAD_FRAMES, CODE_FRAMES = 6, 24


def _campaigns(today: date) -> list[dict[str, Any]]:
    until = (today + timedelta(days=30)).isoformat()
    return [
        {"id": FLYER, "name": "Spring garden flyer", "channel": "direct_mail",
         "starts_on": (today - timedelta(days=3)).isoformat(), "ends_on": until,
         "stores": "all", "landing_url": "https://shop.example-retailer.com/garden",
         "offer": {"text": {"en": "15% off garden tools with this flyer",
                            "de": "15 % auf Gartenwerkzeug mit diesem Flyer"},
                   "visual": {"kind": "asset", "name": "offers/garden.png"}}},
        {"id": POSTER, "name": "Winter warmers poster", "channel": "poster",
         "starts_on": (today - timedelta(days=1)).isoformat(), "ends_on": until,
         "stores": ["s001", "s002"], "landing_url": "https://shop.example-retailer.com/winter",
         "offer": {"text": {"en": "A free thermos with any jacket",
                            "de": "Eine Thermoskanne gratis zu jeder Jacke"},
                   "visual": {"kind": "asset", "name": "offers/winter.png"}}},
    ]  # fmt: skip


@dataclass(frozen=True)
class DemoCode:
    """One code the demo made: what it is for, the text its QR code holds, its image."""

    name: str
    what: str
    text: str
    image: Path


@dataclass(frozen=True)
class DemoCodes:
    flyer: DemoCode
    poster: DemoCode
    pickup: DemoCode
    order_id: str
    recipient_id: str
    others: list[DemoCode]

    @property
    def all(self) -> list[DemoCode]:
        return [self.flyer, self.poster, self.pickup, *self.others]


def make_codes(
    root: Path, py: list[str], marketer: Api, shop: Api, today: date, store: str,
    skus: list[str],
) -> DemoCodes:  # fmt: skip
    """The campaigns, their codes and a ready order, with every code's image in
    ``root/codes`` and its camera frames in ``root/frames/<name>``."""
    for body in _campaigns(today):
        marketer.call("POST", "/api/v1/campaigns", json=body)
    central = [*py, "--log-level", "WARNING", "central", "--config", str(root / "central.toml")]
    drop = root / "campaigns" / FLYER
    recipients = root / "campaigns" / "recipients.csv"
    recipients.parent.mkdir(parents=True, exist_ok=True)
    with recipients.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["recipient_id", "name", "address_1", "address_2"])
        w.writerows(RECIPIENTS)
    _run([*central, "campaign", "codes", "--campaign", FLYER, "--recipients", str(recipients),
          "--out", str(drop), "--quiet"])  # fmt: skip
    poster_dir = root / "campaigns" / POSTER
    poster_url = _run(
        [*central, "campaign", "poster", "--campaign", POSTER, "--out", str(poster_dir)]
    ).strip()
    codes_dir = root / "codes"
    codes_dir.mkdir()
    with (drop / "merge.csv").open(encoding="utf-8-sig", newline="") as f:
        merged = list(csv.DictReader(f))
    mailed = []
    for row in merged:
        image = codes_dir / f"flyer-{row['recipient_id']}.png"
        shutil.copy(drop / row["png"], image)
        mailed.append(DemoCode(f"flyer-{row['recipient_id']}",
                               f"{FLYER} flyer mailed to {row['name']} ({row['recipient_id']})",
                               row["url"], image))  # fmt: skip
    poster = DemoCode("poster", f"{POSTER} poster in the store (anonymous)", poster_url,
                      codes_dir / "poster.png")  # fmt: skip
    shutil.copy(poster_dir / "poster.png", poster.image)
    (order,) = place_ready_orders(shop, store, 1, "kiosk", skus)
    r = requests.get(f"{shop.base}/api/v1/orders/{order['order_id']}/pickup-code.png",
                     headers={"Authorization": f"Bearer {shop.key}"}, timeout=30)  # fmt: skip
    r.raise_for_status()
    pickup = DemoCode("pickup", f"pickup code of order {order['order_id']} (staff desk)",
                      order["code"], codes_dir / f"pickup-{order['order_id']}.png")  # fmt: skip
    pickup.image.write_bytes(r.content)
    codes = DemoCodes(mailed[0], poster, pickup, order["order_id"], RECIPIENTS[0][0], mailed[1:])
    for code in codes.all:
        # the desk's camera starts as the desk shows: the customer's code comes a little
        # later, so the desk is seen waiting for it first
        lead = 3 * LEAD_FRAMES if code is pickup else LEAD_FRAMES
        write_frames(code.image, root / "frames" / code.name, lead)
    write_frames(None, root / "frames" / "blank")
    return codes


def _run(argv: list[str]) -> str:
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:6])} … failed: {r.stderr.strip()[-800:]}")
    return r.stdout


def _counter(rng: np.random.Generator) -> np.ndarray:
    """A counter top under shop lights: a soft gradient with a little grain."""
    y = np.linspace(0, 1, FRAME_H, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, FRAME_W, dtype=np.float32)[None, :]
    base = 150 + 40 * x - 30 * y + rng.normal(0, 3, (FRAME_H, FRAME_W)).astype(np.float32)
    grey = np.clip(base, 0, 255).astype(np.uint8)
    return cv2.merge([grey, (grey * 0.97).astype(np.uint8), (grey * 0.92).astype(np.uint8)])


def scene(image: Path | None, seed: int = 0) -> np.ndarray:
    """A camera frame: the counter, with ``image`` held up in the middle of it, a little
    tilted and at 60 % of the frame's height (as a customer holds a flyer or phone)."""
    rng = np.random.default_rng(seed)
    frame = _counter(rng)
    if image is None:
        return frame
    code = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if code is None:
        raise RuntimeError(f"{image} is not an image")
    scale = min(0.6 * FRAME_H / code.shape[0], 0.6 * FRAME_W / code.shape[1])
    code = cv2.resize(code, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = code.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0)
    m[:, 2] += [(FRAME_W - w) / 2, (FRAME_H - h) / 2]
    mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (FRAME_W, FRAME_H))
    held = cv2.warpAffine(code, m, (FRAME_W, FRAME_H))
    frame[mask > 0] = held[mask > 0]
    noise = rng.normal(0, 2.5, frame.shape)
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def write_frames(image: Path | None, folder: Path, lead: int = LEAD_FRAMES) -> None:
    """``folder``: ``lead`` frames with no code, then frames holding ``image`` (none for
    a blank)."""
    folder.mkdir(parents=True)
    blank, held = scene(None), scene(image, seed=1) if image else None
    for i in range(lead + (CODE_FRAMES if held is not None else 0)):
        frame = blank if held is None or i < lead else held
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)


def show_camera(frames: Path, camera: Path) -> None:
    """What the demo's camera (a folder) shows from its next start: ``frames``' images."""
    camera.mkdir(exist_ok=True)
    for p in camera.iterdir():
        p.unlink()
    for p in sorted(frames.iterdir()):
        shutil.copy(p, camera / p.name)
