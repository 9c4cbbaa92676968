"""Draw the kiosk's fallback visuals (the project's own, CC0: see LICENSE.md).

    python assets/images/make_images.py

writes ``fallback/home.png`` (the attract card when no campaign runs here) and
``fallback/product.png`` (a product without a picture, or with one only on the web: the
kiosk never fetches images at run time). Flat shapes in the theme's colours, drawn at
4× and scaled down so the edges are smooth; run again after a colour change in
``kiosk/theme.py`` and commit the PNGs.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SS = 4  # supersampling

BG = "#EEF1F7"
BLUE = "#1F4FD1"
BLUE_SOFT = "#C9D5F5"
GREEN = "#1E7B34"
INK = "#1C1C1C"
WHITE = "#FFFFFF"
GREY = "#B8BCC6"
GREY_SOFT = "#DDE0E6"


def _canvas(w: int, h: int, bg: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    im = Image.new("RGB", (w * SS, h * SS), bg)
    return im, ImageDraw.Draw(im)


def _s(*v: float) -> list[float]:
    return [x * SS for x in v]


def _finish(im: Image.Image, w: int, h: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.resize((w, h), Image.LANCZOS).save(path, optimize=True)


def _qr(d: ImageDraw.ImageDraw, x: float, y: float, size: float) -> None:
    """A stylised QR code: three finder squares and a fixed scatter of modules."""
    m = size / 9
    d.rounded_rectangle(_s(x, y, x + size, y + size), radius=10 * SS, fill=WHITE)
    pad = m * 0.6
    x0, y0, inner = x + pad, y + pad, size - 2 * pad
    u = inner / 9
    for fx, fy in ((0, 0), (6, 0), (0, 6)):
        bx, by = x0 + fx * u, y0 + fy * u
        d.rectangle(_s(bx, by, bx + 3 * u, by + 3 * u), fill=INK)
        d.rectangle(_s(bx + 0.5 * u, by + 0.5 * u, bx + 2.5 * u, by + 2.5 * u), fill=WHITE)
        d.rectangle(_s(bx + u, by + u, bx + 2 * u, by + 2 * u), fill=INK)
    for cx, cy in ((4, 0), (4, 2), (3, 4), (5, 4), (4, 5), (7, 4), (8, 5), (6, 7),
                   (8, 7), (4, 7), (5, 8), (7, 8), (0, 4), (2, 4), (1, 5)):  # fmt: skip
        bx, by = x0 + cx * u, y0 + cy * u
        d.rectangle(_s(bx, by, bx + u, by + u), fill=INK)


def home(path: Path, w: int = 1200, h: int = 720) -> None:
    """A shopping bag with a check mark, a phone showing a code and a magnifier: "scan
    your code or find a product", without words (the card's text says it)."""
    im, d = _canvas(w, h, BG)
    # soft backdrop circles
    d.ellipse(_s(70, 60, 590, 580), fill=BLUE_SOFT)
    d.ellipse(_s(760, 300, 1140, 680), fill=GREY_SOFT)
    # bag
    bx, by, bw, bh = 230, 230, 360, 380
    d.arc(_s(bx + 90, by - 120, bx + bw - 90, by + 120), 180, 360, fill=INK, width=22 * SS)
    d.rounded_rectangle(_s(bx, by, bx + bw, by + bh), radius=36 * SS, fill=BLUE)
    d.line(_s(bx + 110, by + 200, bx + 165, by + 255, bx + 260, by + 140), fill=WHITE,
           width=30 * SS, joint="curve")  # fmt: skip
    # phone with a code
    px, py, pw, ph = 660, 140, 250, 440
    d.rounded_rectangle(_s(px, py, px + pw, py + ph), radius=40 * SS, fill=INK)
    d.rounded_rectangle(_s(px + 18, py + 50, px + pw - 18, py + ph - 50), radius=16 * SS,
                        fill=WHITE)  # fmt: skip
    _qr(d, px + 35, py + 130, pw - 70)
    # magnifier
    mx, my, r = 1000, 470, 90
    d.line(_s(mx + 55, my + 55, mx + 135, my + 135), fill=INK, width=34 * SS)
    d.ellipse(_s(mx - r, my - r, mx + r, my + r), fill=WHITE, outline=INK, width=26 * SS)
    d.ellipse(_s(mx - 30, my - 30, mx + 30, my + 30), fill=GREEN)
    _finish(im, w, h, path)


def product(path: Path, w: int = 600, h: int = 600) -> None:
    """A neutral stand-in for a product picture: a parcel on a light ground, quiet
    enough not to look like a real product."""
    im, d = _canvas(w, h, BG)
    cx, cy = w / 2, h / 2 + 20
    # parcel: front, top and side faces
    d.polygon(_s(cx - 170, cy - 60, cx, cy - 10, cx, cy + 190, cx - 170, cy + 130), fill=GREY)
    d.polygon(_s(cx + 170, cy - 60, cx, cy - 10, cx, cy + 190, cx + 170, cy + 130),
              fill=GREY_SOFT)  # fmt: skip
    d.polygon(_s(cx - 170, cy - 60, cx, cy - 110, cx + 170, cy - 60, cx, cy - 10), fill=WHITE)
    # tape across the top
    d.polygon(_s(cx - 95, cy - 82, cx - 55, cy - 94, cx + 115, cy - 45, cx + 75, cy - 33),
              fill=GREY_SOFT)  # fmt: skip
    outline = (cx - 170, cy - 60, cx, cy - 110, cx + 170, cy - 60, cx + 170, cy + 130,
               cx, cy + 190, cx - 170, cy + 130, cx - 170, cy - 60)  # fmt: skip
    d.line(_s(*outline), fill="#8E939E", width=6 * SS, joint="curve")
    d.line(_s(cx - 170, cy - 60, cx, cy - 10, cx + 170, cy - 60), fill="#8E939E", width=6 * SS)
    d.line(_s(cx, cy - 10, cx, cy + 190), fill="#8E939E", width=6 * SS)
    _finish(im, w, h, path)


def garden_offer(path: Path, w: int = 1200, h: int = 720) -> None:
    """The demo's flyer offer: a spade and a watering can by a sprouting plant."""
    im, d = _canvas(w, h, "#EAF4EC")
    d.ellipse(_s(120, 80, 700, 660), fill="#CFE8D4")
    d.rectangle(_s(0, 560, w, h), fill="#B9875A")  # soil
    # plant
    d.line(_s(600, 560, 600, 330), fill=GREEN, width=18 * SS)
    d.ellipse(_s(470, 300, 600, 380), fill=GREEN)
    d.ellipse(_s(600, 240, 740, 330), fill="#2E9A47")
    # spade: handle, shaft, blade
    d.rounded_rectangle(_s(250, 120, 370, 160), radius=18 * SS, fill=INK)
    d.rectangle(_s(298, 150, 322, 440), fill="#8A5A2B")
    d.polygon(_s(250, 430, 370, 430, 360, 560, 310, 600, 260, 560), fill="#9AA3AF")
    # watering can
    cx, cy = 900, 420
    d.rounded_rectangle(_s(cx - 110, cy - 90, cx + 90, cy + 140), radius=30 * SS, fill=BLUE)
    d.arc(_s(cx - 70, cy - 170, cx + 50, cy - 40), 180, 360, fill=BLUE, width=22 * SS)
    d.polygon(_s(cx + 80, cy - 20, cx + 230, cy - 120, cx + 245, cy - 100, cx + 90, cy + 40),
              fill=BLUE)  # fmt: skip
    for i in range(5):
        d.ellipse(_s(cx + 240 + 10 * i, cy - 80 + 28 * i, cx + 252 + 10 * i,
                     cy - 64 + 28 * i), fill=BLUE_SOFT)  # fmt: skip
    _finish(im, w, h, path)


def winter_offer(path: Path, w: int = 1200, h: int = 720) -> None:
    """The demo's poster offer: a jacket and a thermos flask, snowflakes behind."""
    im, d = _canvas(w, h, "#E9EEF8")
    for x, y, r in ((140, 120, 26), (1050, 160, 34), (980, 560, 22), (220, 600, 30),
                    (600, 90, 20)):  # fmt: skip
        for a in range(3):
            dx, dy = ((r, 0), (r // 2, r), (-r // 2, r))[a]
            d.line(_s(x - dx, y - dy, x + dx, y + dy), fill=BLUE_SOFT, width=6 * SS)
    # jacket: body, sleeves, zip
    jx, jy = 300, 170
    d.polygon(_s(jx, jy + 40, jx + 120, jy, jx + 240, jy, jx + 360, jy + 40, jx + 360,
                 jy + 420, jx, jy + 420), fill="#C0392B")  # fmt: skip
    d.polygon(_s(jx, jy + 40, jx - 90, jy + 330, jx - 30, jy + 350, jx + 40, jy + 170),
              fill="#A93226")  # fmt: skip
    d.polygon(_s(jx + 360, jy + 40, jx + 450, jy + 330, jx + 390, jy + 350, jx + 320,
                 jy + 170), fill="#A93226")  # fmt: skip
    d.line(_s(jx + 180, jy + 10, jx + 180, jy + 420), fill=INK, width=8 * SS)
    d.ellipse(_s(jx + 130, jy - 30, jx + 230, jy + 30), fill="#922B21")  # collar
    # thermos
    tx, ty = 850, 230
    d.rounded_rectangle(_s(tx, ty, tx + 130, ty + 360), radius=30 * SS, fill="#5D6D7E")
    d.rounded_rectangle(_s(tx + 10, ty - 50, tx + 120, ty + 10), radius=14 * SS, fill=INK)
    d.rectangle(_s(tx, ty + 150, tx + 130, ty + 190), fill=GREY_SOFT)
    _finish(im, w, h, path)


def main() -> None:
    home(HERE / "fallback" / "home.png")
    product(HERE / "fallback" / "product.png")
    garden_offer(HERE / "offers" / "garden.png")
    winter_offer(HERE / "offers" / "winter.png")
    for p in sorted(HERE.glob("*/*.png")):
        if p.parent.name != "products":
            print(p)


if __name__ == "__main__":
    main()
