"""The kiosk's colours and sizes (``shared/KIOSK_DESIGN.md``), and the contrast rule.

The .kv files take every colour and size from here (``#:import theme kiosk.theme``), so
``test_theme`` can check each text/background pair the screens use against WCAG 2's
contrast ratio: 4.5:1 at least, 7:1 for body text on the background.
"""

from __future__ import annotations


def rgb(hex_colour: str) -> tuple[float, float, float, float]:
    """``#1F4FD1`` → Kivy's (r, g, b, a) in 0..1."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, 1.0)


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: tuple[float, ...]) -> float:
    r, g, b = (_linear(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 … 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


BG = rgb("#F7F7F5")
SURFACE = rgb("#FFFFFF")
TEXT = rgb("#1C1C1C")
MUTED = rgb("#4A4A4A")  # secondary text: as-of times, distances
PRIMARY = rgb("#1F4FD1")
ON_PRIMARY = rgb("#FFFFFF")
PRIMARY_PRESSED = rgb("#173C9E")
SECONDARY = rgb("#E4E7EE")  # a second button: dark text on light grey
IN_STOCK = rgb("#1E7B34")
LOW = rgb("#8A5A00")
OUT = rgb("#5A5A5A")
ERROR = rgb("#B3261E")
OFFLINE_BG = rgb("#7A4A00")  # the strip when offline: dark amber, white text
ONLINE_BG = rgb("#1C1C1C")
ON_STRIP = rgb("#FFFFFF")
SCRIM = (0.0, 0.0, 0.0, 0.55)

#: (text, background, what) pairs the .kv files use, for the contrast test
PAIRS = [
    (TEXT, BG, "body"), (MUTED, BG, "secondary"), (TEXT, SURFACE, "card"),
    (MUTED, SURFACE, "card secondary"), (ON_PRIMARY, PRIMARY, "primary button"),
    (ON_PRIMARY, PRIMARY_PRESSED, "pressed button"), (TEXT, SECONDARY, "second button"),
    (IN_STOCK, SURFACE, "in stock"), (LOW, SURFACE, "low"), (OUT, SURFACE, "out"),
    (ERROR, SURFACE, "error"), (IN_STOCK, BG, "in stock on bg"), (LOW, BG, "low on bg"),
    (OUT, BG, "out on bg"), (ERROR, BG, "error on bg"), (ON_STRIP, OFFLINE_BG, "offline strip"),
    (ON_STRIP, ONLINE_BG, "online strip"), (ON_PRIMARY, ERROR, "refuse button"),
    (ON_PRIMARY, IN_STOCK, "confirm button"),
]  # fmt: skip

# sizes, in dp / sp (the .kv files wrap them in dp() / sp())
BUTTON_H = 96
TOUCH_MIN = 48
GAP = 16
MARGIN_PORTRAIT = 48
MARGIN_LANDSCAPE = 64
TITLE_SP = 56
BODY_SP = 28
SECONDARY_SP = 24
KEY_DP = 80
KEY_GAP = 12
STRIP_H = 56

FONT = "KioskSans"
FONT_BOLD = "KioskSansBold"

#: how long a screen change takes at most (the design: ≤ 200 ms, no bouncing)
TRANSITION_S = 0.15
