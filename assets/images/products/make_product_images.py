"""Draws the demo catalog's category pictures (``<category-slug>.png``, 512×512) with
PIL: a calm tile in the category's colour and a simple pictogram. The project's own
work, CC0 (LICENSE.md here). ``python assets/images/products/make_product_images.py``
writes them again, the same every time."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
S = 512
INK = (255, 255, 255)


def _tile(colour: tuple[int, int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    im = Image.new("RGB", (S, S), (247, 247, 245))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((24, 24, S - 24, S - 24), radius=56, fill=colour)
    return im, d


def spade(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((236, 96, 276, 300), radius=12, fill=INK)
    d.rounded_rectangle((206, 84, 306, 116), radius=14, fill=INK)
    d.polygon([(186, 300), (326, 300), (316, 400), (256, 436), (196, 400)], fill=INK)


def watering_can(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((150, 210, 330, 400), radius=24, fill=INK)
    d.arc((170, 130, 310, 290), 180, 360, fill=INK, width=22)
    d.line([(320, 330), (420, 220)], fill=INK, width=26)
    d.ellipse((400, 196, 448, 244), fill=INK)


def plant(d: ImageDraw.ImageDraw, colour: tuple[int, int, int]) -> None:
    d.polygon([(176, 300), (336, 300), (316, 420), (196, 420)], fill=INK)
    d.line([(256, 300), (256, 170)], fill=INK, width=14)
    d.ellipse((170, 150, 256, 230), fill=INK)
    d.ellipse((256, 110, 350, 200), fill=INK)
    d.line([(256, 300), (256, 170)], fill=colour, width=6)


def drill(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((120, 170, 360, 260), radius=30, fill=INK)
    d.rounded_rectangle((200, 240, 270, 400), radius=16, fill=INK)
    d.rounded_rectangle((180, 380, 300, 420), radius=12, fill=INK)
    d.rectangle((360, 200, 430, 230), fill=INK)


def hammer(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((238, 190, 274, 430), radius=14, fill=INK)
    d.rounded_rectangle((150, 120, 360, 200), radius=18, fill=INK)


def roller(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((130, 110, 380, 190), radius=30, fill=INK)
    d.line([(380, 150), (410, 150), (410, 250), (256, 250), (256, 300)], fill=INK, width=16)
    d.rounded_rectangle((236, 290, 276, 420), radius=14, fill=INK)


def house_brush(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(110, 250), (256, 120), (402, 250)], fill=INK)
    d.rectangle((140, 250, 372, 410), fill=INK)


def bulb(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((166, 100, 346, 280), fill=INK)
    d.polygon([(206, 250), (306, 250), (290, 330), (222, 330)], fill=INK)
    for y in (340, 372):
        d.rounded_rectangle((218, y, 294, y + 22), radius=8, fill=INK)


def box(d: ImageDraw.ImageDraw, colour: tuple[int, int, int]) -> None:
    d.rectangle((130, 200, 382, 410), fill=INK)
    d.rectangle((116, 160, 396, 210), fill=INK)
    d.rectangle((226, 240, 286, 270), fill=colour)


def chair(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((160, 110, 200, 420), radius=10, fill=INK)
    d.rounded_rectangle((160, 270, 360, 310), radius=10, fill=INK)
    d.rounded_rectangle((320, 290, 360, 420), radius=10, fill=INK)
    d.rounded_rectangle((160, 110, 230, 150), radius=10, fill=INK)


PICTURES = {
    "garden-tools": ((46, 110, 64), spade),
    "garden-watering": ((28, 96, 140), watering_can),
    "garden-plants-soil": ((92, 110, 40), plant),
    "tools-power-tools": ((40, 62, 120), drill),
    "tools-hand-tools": ((90, 70, 50), hammer),
    "paint-interior": ((120, 60, 110), roller),
    "paint-exterior": ((150, 80, 40), house_brush),
    "home-lighting": ((150, 110, 20), bulb),
    "home-storage": ((70, 80, 90), box),
    "garden-furniture": ((110, 80, 60), chair),
}


def main() -> None:
    for slug, (colour, draw) in PICTURES.items():
        im, d = _tile(colour)
        if draw in (plant, box):
            draw(d, colour)
        else:
            draw(d)
        im.save(HERE / f"{slug}.png", optimize=True)
        print(HERE / f"{slug}.png")


if __name__ == "__main__":
    main()
