"""``python main.py qr decode IMAGE...``: the kiosk's decode path on image files.

One JSON line per image on stdout, ``{"file": …, "texts": […], "ms": …}`` (``ms`` is
the decode time alone, as the scanner measures it), or ``{"file": …, "error": …}``
for a file that cannot be read as an image; the exit status is 1 when any file could
not be read, 0 otherwise (an image without a code is not an error: its texts are
empty).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from kiosk.camera import read_image
from kiosk.qr_decode import decode_frame


def _read_image(path: Path) -> tuple[np.ndarray | None, str | None]:
    if not path.exists():
        return None, "no such file"
    if path.is_dir():
        return None, "is a directory, not an image"
    image = read_image(path)
    if image is None:
        return (
            None,
            "not an image the kiosk can read (PNG, JPEG, BMP, TIFF, WebP up to 64 megapixels)",
        )
    return image, None


def run_decode(paths: list[str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    failed = 0
    for name in paths:
        image, problem = _read_image(Path(name))
        line: dict[str, object] = {"file": name}
        if image is not None:
            t0 = time.perf_counter()
            try:
                decoded = decode_frame(image)
            except Exception as exc:  # reported on its line; the other files still run
                problem = f"the decoder failed: {exc!r}"
            else:
                ms = (time.perf_counter() - t0) * 1000
                line.update(texts=list(decoded.texts), ms=round(ms, 2))
        if problem is not None:
            failed += 1
            line["error"] = problem
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
    if failed:
        print(f"error: {failed} of {len(paths)} files could not be read", file=sys.stderr)
    return 1 if failed else 0
