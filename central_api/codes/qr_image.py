"""A code URL as a QR symbol: its module matrix, and that matrix as SVG or PNG.

One encoder for everything central prints or serves (the check-in code of the API, the
direct-mail label sheets, the poster), so a code looks the same wherever it appears:
error correction M, the smallest version that holds the URL (7 or less for every code
the signer makes, see docs/decisions.md "QR tokens"), and a quiet zone of four modules,
the minimum ISO/IEC 18004 asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

QUIET_ZONE = 4


@dataclass(frozen=True, slots=True, eq=False)
class Symbol:
    """A QR symbol: ``dark[y, x]`` is True for a dark module, quiet zone excluded."""

    text: str
    version: int
    dark: np.ndarray

    @property
    def size(self) -> int:
        return int(self.dark.shape[0])

    @property
    def modules(self) -> tuple[tuple[bool, ...], ...]:
        return tuple(map(tuple, self.dark.tolist()))

    def runs(self) -> list[tuple[int, int, int]]:
        """Dark runs ``(x, y, length)`` row by row: what a vector drawing needs."""
        edges = np.diff(np.pad(self.dark.astype(np.int8), ((0, 0), (1, 1))), axis=1)
        starts = np.argwhere(edges == 1)  # row-major, so starts and ends pair up
        ends = np.argwhere(edges == -1)[:, 1]
        return list(
            zip(
                starts[:, 1].tolist(),
                starts[:, 0].tolist(),
                (ends - starts[:, 1]).tolist(),
                strict=True,
            )
        )


def symbol(text: str) -> Symbol:
    """Encode ``text`` (a code URL, upper case, so QR uses alphanumeric mode).

    zxing-cpp's writer (the library the kiosk decodes with) rather than the ``qrcode``
    package: the same choice of the smallest version and the ISO mask penalty, in C++,
    about 2 ms a code against 11 to 30 ms, which is what a 10,000-label mailing spends
    its time on (benchmarks/qr_mail.py)."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    dark = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128
    dark.flags.writeable = False
    return Symbol(text, (dark.shape[0] - 17) // 4, dark)


def svg(sym: Symbol, *, module_px: int = 8, quiet: int = QUIET_ZONE) -> str:
    """A standalone SVG, one path of dark runs on a white square (quiet zone included).
    ``shape-rendering=crispEdges`` keeps modules sharp when a mail client scales it."""
    n = sym.size + 2 * quiet
    d = "".join(f"M{x + quiet} {y + quiet}h{w}v1h-{w}z" for x, y, w in sym.runs())
    px = n * module_px
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{d}" fill="#000"/></svg>'
    )


def png(sym: Symbol, *, module_px: int = 8, quiet: int = QUIET_ZONE) -> bytes:
    """A greyscale PNG, each module ``module_px`` pixels square (quiet zone included)."""
    grid = np.pad(sym.dark.astype(np.uint8), quiet, constant_values=0)
    image = np.where(grid == 1, 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((module_px, module_px), dtype=np.uint8))
    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()
