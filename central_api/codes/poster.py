"""A campaign's poster: its generic code (kind ``c``) on an A4 page under the offer's
headline, and the same code as PNG and SVG for flyers and screens.

The page: the offer text in the chosen language as the headline (wrapped, shrunk to
fit), the QR code 120 mm wide in the middle (a version-7 code prints at 2.3 mm a
module, readable from a few metres), then the campaign's dates and its name in small
type. The poster carries no fallback code: the stores' tables hold recipient codes, and
a poster that will not scan is replaced from this file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from . import qr_image
from .labels import qr_ops
from .mailing import write_atomic

QR_SIDE_MM = 120
MARGIN_MM = 18
HEADLINE_FONT = "Helvetica-Bold"
BODY_FONT = "Helvetica"


@dataclass(frozen=True, slots=True)
class PosterText:
    headline: str
    dates: str
    name: str


def _headline_lines(text: str, width: float) -> tuple[list[str], float]:
    """The headline wrapped at spaces (and its own line breaks), at the largest size from
    40 pt down to 18 pt at which it takes at most four lines."""
    size = 40.0
    while True:
        lines: list[str] = []
        for para in text.splitlines() or [text]:
            current = ""
            for word in para.split():
                trial = f"{current} {word}".strip()
                if current and stringWidth(trial, HEADLINE_FONT, size) > width:
                    lines.append(current)
                    current = word
                else:
                    current = trial
            if current:
                lines.append(current)
        widest = max((stringWidth(w, HEADLINE_FONT, size) for w in lines), default=0)
        if (len(lines) <= 4 and widest <= width) or size <= 18:
            return lines, size
        size -= 2


def write_poster(out: Path, url: str, text: PosterText) -> dict[str, Path]:
    """``poster-a4.pdf``, ``poster.png`` and ``poster.svg`` of the code ``url`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    sym = qr_image.symbol(url)
    paths = {"pdf": out / "poster-a4.pdf", "png": out / "poster.png", "svg": out / "poster.svg"}
    tmp = paths["pdf"].with_name(".poster-a4.pdf.part")
    c = Canvas(str(tmp), pagesize=A4, pageCompression=1)
    c.setTitle(text.name)
    c.setCreator("omnikiosk")
    width, height = A4
    margin = MARGIN_MM * mm
    lines, size = _headline_lines(text.headline, width - 2 * margin)
    y = height - margin - size
    c.setFont(HEADLINE_FONT, size)
    for line in lines:
        c.drawCentredString(width / 2, y, line)
        y -= size * 1.15
    side = QR_SIDE_MM * mm
    module = side / (sym.size + 2 * qr_image.QUIET_ZONE)
    qx = (width - side) / 2
    # Centred in the room between the headline and the dates, its caption under it.
    room_top = y + size * 0.4
    room_bottom = margin + 8 * mm + 11 + 8 * mm
    q_top = room_top - (room_top - room_bottom - side - 14 * mm) / 2
    quiet = qr_image.QUIET_ZONE * module
    c.addLiteral(qr_ops(sym, qx + quiet, q_top - quiet, module))
    y = q_top - side - 8 * mm
    c.setFont(BODY_FONT, 16)
    c.drawCentredString(width / 2, y, "Scan at the kiosk in store, or with your phone")
    c.setFont(BODY_FONT, 11)
    c.drawCentredString(width / 2, margin + 8 * mm, text.dates)
    c.setFont(BODY_FONT, 8)
    c.setFillGray(0.35)
    c.drawCentredString(width / 2, margin, text.name)
    c.save()
    os.replace(tmp, paths["pdf"])
    write_atomic(paths["png"], qr_image.png(sym, module_px=16))
    write_atomic(paths["svg"], qr_image.svg(sym, module_px=16).encode())
    return paths
