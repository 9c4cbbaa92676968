"""Print-ready label sheets: one QR code per label, drawn as vector rectangles, with the
code's fallback text and the recipient's name and address.

Two layouts, the common die-cut sheets of each paper size:

* ``A4``: 3 × 7 labels of 63.5 × 38.1 mm (the L7160 layout), 21 a page;
* ``LETTER``: 3 × 10 labels of 2⅝ × 1 in (the 5160 layout), 30 a page.

On each label the QR code sits at the left, its quiet zone of four modules kept clear
of anything else; the module is at least ``MIN_MODULE_MM`` (0.42 mm on Letter and 0.47
mm on A4 for a version-7 code, the largest the signer makes), and a symbol that would
need smaller modules is refused. To its right: the name and address lines, then the
fallback code in a monospace font for staff to type. Everything stays at least
``PAD_MM`` inside the label, so a sheet fed a millimetre off prints whole.

The fonts are two of the PDF standard fonts (Helvetica, Courier): nothing is embedded,
and they print the Windows-1252 characters (``recipients`` refuses others). A sheet is
written to a temporary file and renamed when complete, so a half-written PDF never
stands under the final name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4 as A4_SIZE
from reportlab.lib.pagesizes import letter as LETTER_SIZE
from reportlab.lib.units import inch, mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .qr_image import QUIET_ZONE, Symbol

MIN_MODULE_MM = 0.33
PAD_MM = 1.5
CODE_FONT = "Courier-Bold"
NAME_FONT = "Helvetica-Bold"
TEXT_FONT = "Helvetica"
#: the smallest size a name or address line is shrunk to before it is shortened
MIN_TEXT_PT = 6.0
LEADING = 1.2
#: between the quiet zone and the text
GAP_MM = 0.5
CAPTION = "Code, if the QR code will not scan:"
CAPTION_PT = 5.5
#: the fallback code and its caption, in multiples of the code's size
CODE_BLOCK = 2.0


class LabelError(ValueError):
    """A code that cannot be printed legibly on this layout."""


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    page: tuple[float, float]  # points
    cols: int
    rows: int
    width: float  # one label, points
    height: float
    left: float  # page edge to the first label
    top: float
    pitch_x: float  # one label's left edge to the next one's
    pitch_y: float
    #: the QR code's side, quiet zone included, at most
    qr_max: float
    text_pt: float
    code_pt: float

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def position(self, index: int) -> tuple[int, int, int]:
        """Label ``index`` (0-based) → (page, row, column), all 1-based, rows from the top."""
        page, i = divmod(index, self.per_page)
        row, col = divmod(i, self.cols)
        return page + 1, row + 1, col + 1

    def origin(self, row: int, col: int) -> tuple[float, float]:
        """The bottom-left corner of a label, in PDF points from the page's bottom left."""
        x = self.left + (col - 1) * self.pitch_x
        y = self.page[1] - self.top - (row - 1) * self.pitch_y - self.height
        return x, y

    def qr_side(self) -> float:
        return min(self.height - 2 * PAD_MM * mm, self.qr_max)


A4 = Layout(
    "a4", A4_SIZE, 3, 7, 63.5 * mm, 38.1 * mm, 7.21 * mm, 15.15 * mm, 66.04 * mm, 38.1 * mm,
    qr_max=25 * mm, text_pt=7.5, code_pt=9.5,
)  # fmt: skip
LETTER = Layout(
    "letter", LETTER_SIZE, 3, 10, 2.625 * inch, 1 * inch, 0.1875 * inch, 0.5 * inch,
    2.75 * inch, 1 * inch, qr_max=1 * inch, text_pt=7.0, code_pt=8.5,
)  # fmt: skip
LAYOUTS = {"a4": A4, "letter": LETTER}


def module_mm(layout: Layout, sym: Symbol) -> float:
    return layout.qr_side() / (sym.size + 2 * QUIET_ZONE) / mm


def qr_ops(sym: Symbol, x: float, y_top: float, module: float) -> str:
    """PDF operators filling the dark runs of ``sym`` (a path of rectangles in module
    units, one fill): the symbol's top-left dark-module corner at ``(x, y_top)``."""
    ops = [f"q 0 g {module:.4f} 0 0 {-module:.4f} {x:.3f} {y_top:.3f} cm"]
    ops.extend(f"{rx} {ry} {w} 1 re" for rx, ry, w in sym.runs())
    ops.append("f Q")
    return "\n".join(ops)


def _wrap(text: str, font: str, size: float, width: float) -> list[str] | None:
    """``text`` broken at spaces into lines no wider than ``width``; None when one word
    alone is wider."""
    lines: list[str] = []
    for word in text.split():
        if stringWidth(word, font, size) > width:
            return None
        if lines and stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


TextLine = tuple[str, float, str]  # font, size, text


def text_block(layout: Layout, lines: list[str]) -> list[TextLine]:
    """The name (bold) and address lines as printed: at the layout's sizes, or smaller
    (down to ``MIN_TEXT_PT``) and wrapped at spaces, so that all of it fits above the
    fallback code. ``LabelError`` when it cannot: nothing of an address is cut off."""
    width, height = _text_box(layout)
    size = layout.text_pt
    while size >= MIN_TEXT_PT:
        out: list[TextLine] = []
        for i, line in enumerate(lines):
            font, pt = (NAME_FONT, size + 1) if i == 0 else (TEXT_FONT, size)
            wrapped = _wrap(line, font, pt, width)
            if wrapped is None:
                break
            out.extend((font, pt, w) for w in wrapped)
        else:
            if sum(pt * LEADING for _, pt, _ in out) <= height:
                return out
        size -= 0.5
    raise LabelError(
        f"the name and address do not fit on a {layout.name} label even at {MIN_TEXT_PT} pt "
        f"({width / mm:.0f} mm wide, {height / mm:.0f} mm high): shorten them"
    )


def _text_box(layout: Layout) -> tuple[float, float]:
    """The width and height for name and address lines on a label."""
    pad = PAD_MM * mm
    width = layout.width - 2 * pad - layout.qr_side() - GAP_MM * mm
    height = layout.height - 2 * pad - CODE_BLOCK * layout.code_pt
    return width, height


def draw_label(
    c: Canvas, layout: Layout, x: float, y: float, sym: Symbol, code: str, lines: list[str]
) -> None:
    """One label with its bottom-left corner at ``(x, y)``. ``code``: the fallback code
    as printed (``fallback.display``); ``lines``: name first, then address lines."""
    pad = PAD_MM * mm
    side = layout.qr_side()
    module = side / (sym.size + 2 * QUIET_ZONE)
    if module < MIN_MODULE_MM * mm:
        raise LabelError(
            f"a version-{sym.version} code would print at {module / mm:.2f} mm a module on "
            f"{layout.name} labels, below {MIN_MODULE_MM} mm: use a shorter public host"
        )
    qx = x + pad
    qy = y + (layout.height - side) / 2
    quiet = QUIET_ZONE * module
    c.addLiteral(qr_ops(sym, qx + quiet, qy + side - quiet, module))
    # The text column starts after the quiet zone (which is inside ``side``).
    tx = qx + side + GAP_MM * mm
    cursor = y + layout.height - pad
    for font, pt, text in text_block(layout, lines):
        cursor -= pt * LEADING
        c.setFont(font, pt)
        c.drawString(tx, cursor + pt * (LEADING - 1), text)
    base = y + pad + 0.3 * mm
    c.setFont(CODE_FONT, layout.code_pt)
    c.drawString(tx, base, code)
    c.setFont(TEXT_FONT, CAPTION_PT)
    c.setFillGray(0.3)
    c.drawString(tx, base + layout.code_pt * 1.05, CAPTION)
    c.setFillGray(0)


@dataclass(frozen=True, slots=True)
class Placed:
    file: str
    page: int
    row: int
    col: int


class LabelSheet:
    """Labels added one after the other, filled row by row, page by page."""

    def __init__(self, path: Path, layout: Layout, title: str) -> None:
        self.path = Path(path)
        self.layout = layout
        self.tmp = self.path.with_name(f".{self.path.name}.part")
        self.canvas = Canvas(str(self.tmp), pagesize=layout.page, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setCreator("omnikiosk")
        self.count = 0

    def add(self, sym: Symbol, code: str, lines: list[str]) -> Placed:
        page, row, col = self.layout.position(self.count)
        if self.count and row == 1 and col == 1:
            self.canvas.showPage()
        x, y = self.layout.origin(row, col)
        draw_label(self.canvas, self.layout, x, y, sym, code, lines)
        self.count += 1
        return Placed(self.path.name, page, row, col)

    def close(self) -> None:
        """Finish the PDF and put it under its name (atomically)."""
        self.canvas.save()
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)
