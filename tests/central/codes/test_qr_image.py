"""The QR images central serves and prints decode to the URL, at version 7-M or less."""

from __future__ import annotations

import re
from datetime import date

import cv2
import numpy as np

from central_api.codes.qr_image import QUIET_ZONE, png, svg, symbol
from kiosk.qr_decode import decode_frame
from tests.protocol.test_tokens import SIGNER


def _url() -> str:
    token = SIGNER.sign(
        "p", "p-0123456789abcdef0123", not_before=date(2026, 1, 1), not_after=date(2026, 12, 31)
    )
    return SIGNER.url(token)


def test_png_decodes_to_the_url_with_a_quiet_zone():
    url = _url()
    sym = symbol(url)
    assert sym.version <= 7
    image = cv2.imdecode(np.frombuffer(png(sym, module_px=6), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == ((sym.size + 2 * QUIET_ZONE) * 6,) * 2
    assert (image[: QUIET_ZONE * 6] == 255).all() and (image[:, : QUIET_ZONE * 6] == 255).all()
    assert list(decode_frame(image).texts) == [url]


def test_svg_draws_exactly_the_dark_modules():
    sym = symbol(_url())
    doc = svg(sym)
    n = sym.size + 2 * QUIET_ZONE
    assert f'viewBox="0 0 {n} {n}"' in doc
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", doc)
    grid = np.zeros((n, n), dtype=bool)
    for x, y, w in runs:
        grid[int(y), int(x) : int(x) + int(w)] = True
    inner = grid[QUIET_ZONE:-QUIET_ZONE, QUIET_ZONE:-QUIET_ZONE]
    assert (inner == np.array(sym.modules)).all()
    assert not grid[:QUIET_ZONE].any() and not grid[-QUIET_ZONE:].any()


def test_the_longest_code_is_version_7_at_level_m():
    import zxingcpp

    url = "HTTPS://SHOP.EXAMPLE-RETAILER.COM/Q/" + "A" * 141  # 177 characters
    sym = symbol(url)
    assert sym.version == 7 and sym.size == 45
    image = cv2.imdecode(np.frombuffer(png(sym, module_px=4), np.uint8), cv2.IMREAD_GRAYSCALE)
    (found,) = zxingcpp.read_barcodes(image)
    assert found.text == url and found.ec_level == "M"
