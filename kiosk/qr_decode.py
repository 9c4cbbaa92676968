"""Reading QR codes from one camera frame: the one decode path of the kiosk.

The scanner's worker thread calls :func:`decode_frame` on each frame it takes, and
``python main.py qr decode`` calls it on each image file, so what the command reads
is what the kiosk reads.

The passes run in order and stop at the first that finds a code:

1. zxing-cpp on the grey frame, QR only. Restricting the formats is what makes it
   cheap: the same call with every format enabled costs about eight times as much.
2. zxing-cpp again on an unsharp-masked frame. Small codes photographed slightly out
   of focus, or washed out, lose the edges between modules; the mask restores them.
3. zxing-cpp on the frame upscaled 2× (bicubic): a code printed so small that its
   modules are barely two pixels wide gets sampled between them.
4. pyzbar (ZBar), a second, independent decoder, on the grey frame: only when one of
   the zxing passes located a QR symbol but could not decode it, because ZBar costs
   about ten zxing passes and an idle frame (nothing in view) must stay cheap.

Why these and not others (CLAHE, upscaling, zxing's other binarizers), with the
read rates and costs measured on the distortion set, is in docs/decisions.md.

The grey conversion, the mask and the upscale are Pillow's, not OpenCV's: OpenCV's
would be a few milliseconds faster per frame, but importing it and running them makes
some 55 MB resident in a kiosk whose budget is 250 MB (docs/decisions.md has the
figures).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter
from pyzbar import pyzbar

log = logging.getLogger(__name__)

_QR_ONLY = zxingcpp.BarcodeFormat.QRCode
_ZBAR_QR = [pyzbar.ZBarSymbol.QRCODE]


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one frame held: the distinct texts in reading order, and the pass that
    found them (None when nothing was found)."""

    texts: tuple[str, ...]
    via: str | None


def to_grey(image: np.ndarray) -> np.ndarray:
    """A contiguous 2-D uint8 copy or view of a BGR, BGRA or already grey frame (a
    crop of a frame is not contiguous, and the decoders read rows by stride)."""
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        # Pillow's raw decoder takes the bytes in BGR(A) order as they are: no
        # channel-swapped copy; L = (299 R + 587 G + 114 B) / 1000, as OpenCV's.
        mode, raw = ("RGB", "BGR") if image.shape[2] == 3 else ("RGBA", "BGRA")
        h, w = image.shape[:2]
        rgb = Image.frombuffer(mode, (w, h), np.ascontiguousarray(image), "raw", raw, 0, 1)
        return np.asarray(rgb.convert("L"))
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0])
    raise ValueError(f"not an image frame: array of shape {image.shape}")


def _zxing(grey: np.ndarray, downscale: bool = True) -> tuple[list[str], bool]:
    """The texts zxing-cpp reads, and whether it located a QR symbol it could not
    decode (a checksum or format error: something code-like is in the frame)."""
    # try_rotate only matters for 1-D symbologies (QR detection is rotation
    # invariant) and try_invert for light-on-dark codes, which printed codes are
    # not; both off save about a fifth of the time with no read lost on the
    # distortion set. try_downscale is what finds a code held close enough to fill
    # the frame.
    found = zxingcpp.read_barcodes(
        grey,
        formats=_QR_ONLY,
        try_rotate=False,
        try_invert=False,
        try_downscale=downscale,
        return_errors=True,
    )
    return [b.text for b in found if b.valid], any(not b.valid for b in found)


def unsharp(grey: np.ndarray, sigma: float = 1.0, amount: float = 1.5) -> np.ndarray:
    """``grey + amount × (grey − Gaussian blur of σ)``, clipped to 0–255."""
    mask = ImageFilter.UnsharpMask(radius=sigma, percent=round(amount * 100), threshold=0)
    return np.asarray(Image.fromarray(grey).filter(mask))


def upscale2(grey: np.ndarray) -> np.ndarray:
    """``grey`` at twice its width and height, bicubic."""
    im = Image.fromarray(grey)
    return np.asarray(im.resize((2 * im.width, 2 * im.height), Image.Resampling.BICUBIC))


def _zbar(grey: np.ndarray) -> list[str]:
    texts = []
    for symbol in pyzbar.decode(grey, symbols=_ZBAR_QR):
        try:
            texts.append(symbol.data.decode("utf-8"))
        except UnicodeDecodeError:
            # ZBar hands back raw bytes; a code that is not UTF-8 is not one of
            # ours, and guessing its encoding would invent a text.
            log.debug("pyzbar read %d bytes that are not UTF-8; ignored", len(symbol.data))
    return texts


PASSES = ("zxing", "zxing-sharpened", "zxing-upscaled", "pyzbar")
"""The names :attr:`Decoded.via` takes, in the order the passes run."""


def decode_frame(image: np.ndarray, retries: bool = True) -> Decoded:
    """Every QR code text in ``image`` (BGR or grey ``uint8`` array), via the first
    pass that finds any; ``Decoded((), None)`` when none does.

    ``retries=False`` stops after the first pass when it found nothing code-like at all
    (a frame where it located a symbol it could not read still gets every retry);
    :class:`FrameDecoder` uses it on a camera's frames."""
    if image.dtype != np.uint8 or image.size == 0:
        raise ValueError(f"not an image frame: {image.dtype} array of shape {image.shape}")
    grey = to_grey(image)
    texts, located = _zxing(grey)
    if texts:
        return Decoded(tuple(dict.fromkeys(texts)), PASSES[0])
    if not (retries or located):
        return Decoded((), None)
    # The sharpened frame is searched at full size only: the edges it restores are
    # those of small codes, and downscaling would blur them again.
    texts, located_sharp = _zxing(unsharp(grey), downscale=False)
    if texts:
        return Decoded(tuple(dict.fromkeys(texts)), PASSES[1])
    texts, _ = _zxing(upscale2(grey), downscale=False)
    if texts:
        return Decoded(tuple(dict.fromkeys(texts)), PASSES[2])
    # ZBar costs ten times a zxing pass, so it runs only where zxing located a
    # symbol and failed on it, never on an empty counter.
    if located or located_sharp:
        texts = _zbar(grey)
        if texts:
            return Decoded(tuple(dict.fromkeys(texts)), PASSES[3])
    return Decoded((), None)


class FrameDecoder:
    """:func:`decode_frame` for one camera's stream of frames, at a third of the cost
    while nothing is in view.

    The first pass runs on every frame. The retries (sharpened, upscaled, ZBar) run on
    every frame where it located something code-like, and otherwise on every
    ``retry_every``-th frame only: at the scanner's 15 decodes a second, a code so
    small or blurred that only a retry reads it is still tried five times a second,
    and an empty counter costs one zxing pass on two frames of three. (The retries
    with Pillow cost some 10 ms a frame more than the first pass; docs/decisions.md.)
    """

    def __init__(self, retry_every: int = 3) -> None:
        if retry_every < 1:
            raise ValueError(f"retry_every must be >= 1, not {retry_every}")
        self.retry_every = retry_every
        self._frames = 0

    def __call__(self, image: np.ndarray) -> Decoded:
        self._frames += 1
        return decode_frame(image, retries=self._frames % self.retry_every == 0)
