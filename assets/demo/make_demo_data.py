"""Writes the demo retailer's catalog.csv, stores.csv and stock.csv next to this file.

A DIY and garden chain with six stores in southern Bavaria: 200 core products, then
their variants (sizes, colours, packs) to 3,000, all with valid EAN-13s (GS1 Germany
prefixes 400-440), and stock with some items low and some out. Each product's image is
its category's picture in ``assets/images/products/`` (drawn by
``assets/images/make_images.py``). Deterministic: the same files on every run
(``python assets/demo/make_demo_data.py``); the core 200 and their stock come first and
never change when the variants do, so tests can name them.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from central_api.domain.inventory.fields import check_digit  # noqa: E402
from central_api.imports.csvbase import render  # noqa: E402

SEED = 20261202
VARIANT_SEED = 20261203
#: the whole catalog: the core products and their variants
CATALOG_SIZE = 3000
VARIANTS = {
    "Garden/Tools": ["with ash handle", "compact", "XL", "stainless", "for children"],
    "Garden/Watering": ["green", "anthracite", "pro", "starter set", "spare part"],
    "Garden/Plants & Soil": ["organic", "peat-free", "value pack", "2 pack", "5 pack"],
    "Tools/Power Tools": ["solo (no battery)", "with 2 batteries", "in case", "brushless", "kit"],
    "Tools/Hand Tools": ["1 piece", "3 pieces", "6 pieces", "pro", "insulated"],
    "Paint/Interior": ["matt", "silk", "1 l", "2.5 l", "anti-mould"],
    "Paint/Exterior": ["teak", "oak", "grey", "clear", "walnut"],
    "Home/Lighting": ["warm white", "daylight", "dimmable", "2 pack", "smart"],
    "Home/Storage": ["white", "grey", "transparent", "stackable", "with lid"],
    "Garden/Furniture": ["teak", "grey", "green", "set of 2", "weatherproof"],
}


def image_of(category: str) -> str:
    """The category's picture, a path under the kiosk's assets/images."""
    slug = category.lower().replace(" & ", "-").replace("/", "-").replace(" ", "-")
    return f"products/{slug}.png"


STORES = [
    ("s001", "Grünwerk München-Pasing", "Landsberger Str. 480, 81241 München", 48.1446, 11.4612, True),
    ("s002", "Grünwerk München-Riem", "Willy-Brandt-Platz 5, 81829 München", 48.1333, 11.6914, False),
    ("s003", "Grünwerk Augsburg", "Bürgermeister-Ackermann-Str. 12, 86150 Augsburg", 48.3568, 10.8697, False),
    ("s004", "Grünwerk Ingolstadt", "Schollstr. 3, 85055 Ingolstadt", 48.7745, 11.4520, True),
    ("s005", "Grünwerk Rosenheim", "Kufsteiner Str. 85, 83022 Rosenheim", 47.8450, 12.1170, False),
    ("s006", "Grünwerk Landshut", "Ludmillastr. 20, 84034 Landshut", 48.5420, 12.1500, False),
]  # fmt: skip

#: category → (brands, item names, price range in euros)
CATALOG = {
    "Garden/Tools": (["Gardena", "Fiskars", "Wolf-Garten"],
                     ["Spade", "Garden fork", "Hand trowel", "Pruning shears", "Hedge shears",
                      "Leaf rake", "Hoe", "Weeding knife", "Loppers", "Bulb planter"], (6, 49)),
    "Garden/Watering": (["Gardena", "Kärcher", "Hozelock"],
                        ["Garden hose 20 m", "Hose reel", "Spray nozzle", "Watering can 10 l",
                         "Sprinkler", "Drip irrigation kit", "Hose connector set", "Rain barrel 200 l"],
                        (4, 89)),
    "Garden/Plants & Soil": (["Compo", "Neudorff", "Floragard"],
                             ["Potting soil 40 l", "Lawn seed 1 kg", "Tomato fertiliser", "Bark mulch 60 l",
                              "Herb soil 20 l", "Slug pellets", "Lawn fertiliser 5 kg", "Rose fertiliser"],
                             (3, 29)),
    "Tools/Power Tools": (["Bosch", "Makita", "Metabo"],
                          ["Cordless drill 18 V", "Jigsaw", "Angle grinder 125 mm", "Orbital sander",
                           "Impact driver", "Circular saw", "Multi-tool", "Rotary hammer"], (49, 249)),
    "Tools/Hand Tools": (["Wera", "Knipex", "Stanley"],
                         ["Screwdriver set", "Combination pliers", "Claw hammer", "Tape measure 5 m",
                          "Spirit level 60 cm", "Utility knife", "Socket set", "Hex key set"], (5, 59)),
    "Paint/Interior": (["Alpina", "Schöner Wohnen", "Caparol"],
                       ["Wall paint white 10 l", "Ceiling paint 5 l", "Colour tint 750 ml",
                        "Paint roller set", "Masking tape 50 m", "Primer 5 l"], (4, 69)),
    "Paint/Exterior": (["Osmo", "Bondex", "Xyladecor"],
                       ["Wood stain 2.5 l", "Decking oil 2.5 l", "Fence paint 5 l", "Metal protection 750 ml"],
                       (12, 59)),
    "Home/Lighting": (["Philips", "Osram", "Paulmann"],
                      ["LED bulb E27 806 lm", "LED bulb GU10", "LED strip 3 m", "Ceiling light",
                       "Solar garden light", "Motion sensor light"], (3, 89)),
    "Home/Storage": (["Keter", "Curver", "Wenko"],
                     ["Storage box 45 l", "Shelf unit 5 tiers", "Tool box", "Wall hooks set",
                      "Garden storage bench", "Drawer organiser", "Shoe rack", "Laundry basket"], (4, 129)),
    "Garden/Furniture": (["Kettler", "Keter", "Siena Garden"],
                         ["Folding chair", "Garden table", "Sun lounger", "Parasol 3 m",
                          "Bench cushion", "Balcony set"], (19, 299)),
}  # fmt: skip


def ean13(rng: random.Random, used: set[str]) -> str:
    while True:
        body = f"{rng.randint(400, 440)}{rng.randrange(10**9):09d}"
        code = body + str(check_digit(body))
        if code not in used:
            used.add(code)
            return code


def products(rng: random.Random) -> list[list[str]]:
    rows, used = [], set()
    n = 0
    for category, (brands, items, (low, high)) in CATALOG.items():
        for item in items:
            for brand in brands:
                if len(rows) >= 200 or rng.random() < 0.05:
                    continue
                n += 1
                price = f"{rng.randint(low, high) - 0.01 if rng.random() < 0.7 else rng.randint(low, high) + 0.49:.2f}"
                rows.append(
                    [
                        f"GW-{n:05d}",
                        ean13(rng, used),
                        f"{brand} {item}",
                        brand,
                        category,
                        price,
                        "EUR",
                        image_of(category),
                    ]
                )
    return rows


def variants(rng: random.Random, core: list[list[str]], used: set[str]) -> list[list[str]]:
    """Variants of the core products until the catalog has ``CATALOG_SIZE``."""
    rows: list[list[str]] = []
    n = len(core)
    while n < CATALOG_SIZE:
        base = rng.choice(core)
        name = f"{base[2]}, {rng.choice(VARIANTS[base[4]])}"
        n += 1
        price = f"{max(1.0, float(base[5]) * rng.uniform(0.8, 1.6)):.2f}"
        rows.append([f"GW-{n:05d}", ean13(rng, used), name, base[3], base[4], price, "EUR",
                     base[7]])  # fmt: skip
    return rows


def stock(rng: random.Random, skus: list[str]) -> list[list[str]]:
    rows = []
    for store in STORES:
        for sku in skus:
            if rng.random() < 0.1:
                continue  # not carried in this store
            threshold = rng.choice([2, 3, 3, 5])
            roll = rng.random()
            if roll < 0.07:
                quantity = 0
            elif roll < 0.2:
                quantity = rng.randint(1, threshold)
            else:
                quantity = rng.randint(threshold + 1, 60)
            rows.append([store[0], sku, str(quantity), str(threshold)])
    return rows


def main() -> None:
    rng = random.Random(SEED)
    core = products(rng)
    core_stock = stock(rng, [p[0] for p in core])
    more = variants(random.Random(VARIANT_SEED), core, {p[1] for p in core})
    catalog = core + more
    more_stock = stock(random.Random(VARIANT_SEED + 1), [p[0] for p in more])
    files = {
        "stores.csv": (["id", "name", "address", "latitude", "longitude", "timezone",
                        "show_exact_stock"],
                       [[s[0], s[1], s[2], f"{s[3]:.4f}", f"{s[4]:.4f}", "Europe/Berlin",
                         "true" if s[5] else "false"] for s in STORES]),
        "catalog.csv": (["sku", "barcode", "name", "brand", "category", "price", "currency", "image"],
                        catalog),
        "stock.csv": (["store_id", "sku", "quantity", "low_threshold"],
                      core_stock + more_stock),
    }  # fmt: skip
    for name, (header, rows) in files.items():
        # newline="": render writes CRLF, as a spreadsheet would
        (HERE / name).write_text(render(header, rows), encoding="utf-8", newline="")
        print(f"{HERE / name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
