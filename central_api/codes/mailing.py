"""A direct-mail drop's files, from its issued codes: the label sheets, one PNG and SVG per
code, the mail-merge file and the rejected rows.

In the output directory::

    labels-a4.pdf, labels-letter.pdf   every recipient's label, in the file's order
    codes/r-<hash>.png, .svg           each recipient's QR code (named by the code, not
                                       by the person; a rotated code gets a new name)
    merge.csv                          one row per recipient: id, name, address, URL,
                                       fallback code, where the label is, the image files
    rejected.csv                       the rows not used: line, reason, the fields as read

Every file is written under a temporary name and renamed when complete, so a run that
is interrupted leaves the previous complete files (or none), never a half one.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_sync.protocol.tokens import code_url
from edge_sync.protocol.tokens.codec import from_text
from edge_sync.protocol.tokens.fallback import display
from edge_sync.protocol.tokens.verify import hash_of

from ..domain.campaigns.recipients import ADDRESS_COLUMNS, Recipient, Rejected
from . import qr_image
from .labels import A4, LETTER, LabelSheet, Layout

MERGE_COLUMNS = (
    "recipient_id", "name", *ADDRESS_COLUMNS, "url", "fallback_code",
    "a4_file", "a4_page", "a4_row", "a4_column",
    "letter_file", "letter_page", "letter_row", "letter_column", "png", "svg",
)  # fmt: skip
#: pixels a module in the per-recipient PNG (a version-7 code: 424 px square)
PNG_MODULE_PX = 8


@dataclass(frozen=True, slots=True)
class Mailed:
    """One recipient with the code issued to them."""

    recipient: Recipient
    token: str
    fallback: str


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """``data`` under ``path``, complete or not at all. ``durable``: on disk before the
    rename (the images are not: a run writes them all again, so they cost no fsync)."""
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def _csv_bytes(header: Sequence[str], rows: list[Sequence[object]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    # A byte-order mark, so that spreadsheets open it as UTF-8 (names have accents).
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_rejected(out: Path, rejected: list[Rejected]) -> Path:
    path = out / "rejected.csv"
    width = max((len(r.fields) for r in rejected), default=0)
    rows = [[r.line, r.reason, *r.fields] for r in rejected]
    write_atomic(
        path, _csv_bytes(["line", "reason", *[f"field_{i + 1}" for i in range(width)]], rows)
    )
    return path


def write_drop(
    out: Path,
    public_host: str,
    title: str,
    mailed: list[Mailed],
    progress: Callable[[int], None] = lambda _n: None,
    layouts: Sequence[Layout] = (A4, LETTER),
) -> dict[str, Path]:
    """Write the label sheets, images and merge file of ``mailed`` into ``out``."""
    images = out / "codes"
    images.mkdir(parents=True, exist_ok=True)
    sheets = [LabelSheet(out / f"labels-{lay.name}.pdf", lay, title) for lay in layouts]
    rows: list[list[object]] = []
    try:
        for m in mailed:
            url = code_url(public_host, m.token)
            sym = qr_image.symbol(url)
            code = display(m.fallback)
            lines = m.recipient.label_lines
            placed = [s.add(sym, code, lines) for s in sheets]
            stem = f"r-{hash_of(from_text(m.token))[:20]}"
            png, svg = images / f"{stem}.png", images / f"{stem}.svg"
            write_atomic(png, qr_image.png(sym, module_px=PNG_MODULE_PX), durable=False)
            write_atomic(svg, qr_image.svg(sym).encode(), durable=False)
            r = m.recipient
            address = [*r.address, *[""] * (len(ADDRESS_COLUMNS) - len(r.address))]
            row: list[object] = [r.recipient_id, r.name, *address, url, code]
            for p in placed:
                row.extend([p.file, p.page, p.row, p.col])
            row.extend([f"codes/{png.name}", f"codes/{svg.name}"])
            rows.append(row)
            progress(1)
        for s in sheets:
            s.close()
    finally:
        for s in sheets:
            s.abort()
    merge = out / "merge.csv"
    write_atomic(merge, _csv_bytes(MERGE_COLUMNS, rows))
    return {"merge": merge, **{s.layout.name: s.path for s in sheets}}
