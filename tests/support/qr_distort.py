"""Codes printed small and photographed badly: a seeded generator of camera frames.

Every frame is 640×480 BGR, built from a seed alone, so the set is committed as this
code rather than as images. A positive frame holds one QR code (a URL of the shape the
kiosk reads: ``HTTPS://SHOP.EXAMPLE-RETAILER.COM/Q/`` + 60–100 upper-case base32
characters, QR version ≤ 7 at error correction M) printed small on a sheet of paper
lying in a cluttered scene, then one distortion kind (or a combination) is applied.
Negative frames hold no code, or a texture that looks like one, and must read as
nothing.

The "moderate" level is what a kiosk camera sees from a customer holding a phone or a
flyer reasonably: the read-rate test and the benchmark use it. "hard" goes past that
and is only measured, never asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M

WIDTH, HEIGHT = 640, 480
URL_PREFIX = "HTTPS://SHOP.EXAMPLE-RETAILER.COM/Q/"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
MAX_VERSION = 7
QUIET_MODULES = 4

KINDS = (
    "clean",
    "perspective",
    "gaussian_blur",
    "motion_blur",
    "noise",
    "low_contrast",
    "glare",
    "rotation",
    "jpeg",
    "occlusion",
    "combo",
)
NEGATIVE_KINDS = ("empty", "texture", "broken_code")


@dataclass
class Sample:
    """One frame and what a correct reader returns for it (None: nothing)."""

    name: str
    kind: str
    image: np.ndarray
    text: str | None
    params: dict[str, float] = field(default_factory=dict)


def random_url(rng: np.random.Generator) -> str:
    n = int(rng.integers(60, 101))
    return URL_PREFIX + "".join(BASE32[i] for i in rng.integers(0, 32, n))


def qr_modules(text: str, mask: int | None = None) -> np.ndarray:
    """The module matrix (True = dark) with its quiet zone; refuses a code above version 7.

    ``mask`` picks one of the eight mask patterns; None lets qrcode choose the best
    one, as printing software does, at eight times the cost."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_MODULES, mask_pattern=mask)
    qr.add_data(text)
    qr.make(fit=True)
    if qr.version > MAX_VERSION:
        raise ValueError(f"{len(text)} characters need QR version {qr.version} > {MAX_VERSION}")
    return np.array(qr.get_matrix(), dtype=bool)


def _background(rng: np.random.Generator) -> np.ndarray:
    """A counter top with clutter: a gradient, a few boxes and lines, some grain."""
    base = rng.uniform(60, 170, 3)
    tilt = rng.uniform(-0.12, 0.12, 2)
    corners = np.array(
        [[base + tilt[1] * y + tilt[0] * x for x in (0, WIDTH)] for y in (0, HEIGHT)]
    )
    img = cv2.resize(np.clip(corners, 0, 255).astype(np.uint8), (WIDTH, HEIGHT))
    for _ in range(int(rng.integers(3, 9))):
        p1 = rng.integers(0, (WIDTH, HEIGHT))
        p2 = p1 + rng.integers(-200, 200, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            cv2.rectangle(img, tuple(int(v) for v in p1), tuple(int(v) for v in p2), colour, -1)
        else:
            cv2.line(img, tuple(int(v) for v in p1), tuple(int(v) for v in p2), colour, 3)
    return noise(img, 4.0, rng)


def _paper(modules: np.ndarray, px: int, rng: np.random.Generator) -> np.ndarray:
    """The printed code at ``px`` pixels per module: slightly grey ink on off-white paper."""
    ink, paper = rng.uniform(10, 45), rng.uniform(215, 250)
    img = np.where(modules, ink, paper).astype(np.float32)
    img = np.kron(img, np.ones((px, px), np.float32))
    return np.repeat(img[..., None], 3, axis=2)


def _place(
    scene: np.ndarray,
    modules: np.ndarray,
    rng: np.random.Generator,
    module_px: float,
    angle_deg: float = 0.0,
    tilt: float = 0.0,
) -> None:
    """Warp the printed code into the scene: ``module_px`` on screen, rotated by
    ``angle_deg``, with corners pulled by up to ``tilt`` of the side (perspective)."""
    supersample = 8
    src = _paper(modules, supersample, rng)
    side_src = src.shape[0]
    side = modules.shape[0] * module_px
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    square = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * side / 2
    square += rng.uniform(-tilt, tilt, (4, 2)) * side
    rotated = square @ np.array([[c, s], [-s, c]])
    extent = np.abs(rotated).max() + 2
    centre = rng.uniform((extent, extent), (WIDTH - extent, HEIGHT - extent))
    dst = (rotated + centre).astype(np.float32)
    src_pts = np.array([[0, 0], [side_src, 0], [side_src, side_src], [0, side_src]], np.float32)
    # Downscale in two stages so the print is area-averaged like a real sensor,
    # not sampled (which would alias the modules).
    shrink = max(1.0, supersample / module_px / 2)
    if shrink > 1:
        small = round(side_src / shrink)
        src = cv2.resize(src, (small, small), interpolation=cv2.INTER_AREA)
        src_pts = src_pts * (small / side_src)
    m = cv2.getPerspectiveTransform(src_pts, dst)
    warped = cv2.warpPerspective(src, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(
        np.ones(src.shape[:2], np.float32), m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR
    )[..., None]
    scene[:] = np.clip(scene * (1 - mask) + warped * mask, 0, 255).astype(np.uint8)


# -- photometric distortions, applied to the whole frame ------------------------------


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def motion_blur(img: np.ndarray, length: int, angle_deg: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle_deg, 1)
    k = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(img, -1, k / k.sum())


def noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    # One grain for the three channels: luma noise, as most sensors' after
    # demosaicing, and a third of the cost of drawing it per channel.
    grain = rng.standard_normal(img.shape[:2], dtype=np.float32) * np.float32(sigma)
    return (img + grain[..., None]).clip(0, 255).astype(np.uint8)


def low_contrast(img: np.ndarray, span: float, mid: float) -> np.ndarray:
    """Squeeze the whole range into ``span`` levels around ``mid`` (dim, washed out)."""
    return np.clip(mid + (img.astype(np.float32) - 128) * span / 255, 0, 255).astype(np.uint8)


def glare(
    img: np.ndarray, centre: tuple[float, float], radius: float, strength: float
) -> np.ndarray:
    """A bright blob, as a ceiling light reflected on glossy paper."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    d2 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2
    blob = strength * np.exp(-d2 / (2 * radius**2))
    return np.clip(img + blob[..., None], 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def occlude_modules(modules: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """Cover a patch of the data area (a thumb, a sticker) with solid ink or paper.

    The patch stays clear of the finder patterns and holds ``fraction`` of the
    symbol's modules: ECC level M restores about 15% of codewords, and a patch
    breaks codewords at its edges too, so the moderate set keeps well under that.
    """
    out = modules.copy()
    q = QUIET_MODULES
    n = modules.shape[0] - 2 * q
    area = fraction * n * n
    h = round(np.sqrt(area * rng.uniform(0.6, 1.6)))
    w = max(1, round(area / max(h, 1)))
    lo, hi = q + 9, q + n - 9  # finder patterns and separators are 8 modules
    top = int(rng.integers(lo, max(lo + 1, hi - h)))
    left = int(rng.integers(q, q + n - w))
    out[top : top + h, left : left + w] = rng.random() < 0.5
    return out


# -- the set ----------------------------------------------------------------------

Level = dict[str, tuple[float, float]]

LEVELS: dict[str, Level] = {
    "moderate": {
        "module_px": (2.6, 4.0),
        "tilt": (0.04, 0.12),
        "angle": (-180.0, 180.0),
        "sigma": (0.6, 1.1),
        "motion": (3, 5),
        "noise": (8.0, 20.0),
        "span": (50.0, 90.0),
        "glare": (120.0, 200.0),
        "quality": (15, 40),
        "occlusion": (0.02, 0.05),
    },
    "hard": {
        "module_px": (2.0, 2.8),
        "tilt": (0.12, 0.2),
        "angle": (-180.0, 180.0),
        "sigma": (1.1, 1.6),
        "motion": (5, 9),
        "noise": (20.0, 35.0),
        "span": (25.0, 50.0),
        "glare": (200.0, 260.0),
        "quality": (6, 15),
        "occlusion": (0.05, 0.09),
    },
}


def _u(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def make_sample(kind: str, seed: int, level: str = "moderate") -> Sample:
    """One frame of ``kind`` (a distortion from KINDS or a negative from NEGATIVE_KINDS)."""
    rng = np.random.default_rng(seed)
    lv = LEVELS[level]
    scene = _background(rng)
    if kind in NEGATIVE_KINDS:
        return _negative(kind, scene, rng, seed)
    text = random_url(rng)
    modules = qr_modules(text, mask=int(rng.integers(0, 8)))
    p: dict[str, float] = {"module_px": _u(rng, lv["module_px"])}
    parts = _combo_parts(rng) if kind == "combo" else [kind]
    geometric = {"angle": 0.0, "tilt": 0.0}
    if "rotation" in parts:
        geometric["angle"] = p["angle"] = _u(rng, lv["angle"])
    if "perspective" in parts:
        geometric["tilt"] = p["tilt"] = _u(rng, lv["tilt"])
    if "occlusion" in parts:
        p["occlusion"] = _u(rng, lv["occlusion"])
        modules = occlude_modules(modules, rng, p["occlusion"])
    _place(scene, modules, rng, p["module_px"], geometric["angle"], geometric["tilt"])
    img = scene
    for part in parts:
        img = _photometric(part, img, rng, lv, p)
    return Sample(f"{kind}-{level}-{seed}", kind, img, text, p)


def _combo_parts(rng: np.random.Generator) -> list[str]:
    """Two or three kinds together, geometry first and JPEG last, as a camera does."""
    pool = ["perspective", "rotation", "gaussian_blur", "noise", "low_contrast", "glare"]
    picked = list(rng.choice(pool, size=int(rng.integers(2, 4)), replace=False))
    if rng.random() < 0.5:
        picked.append("jpeg")
    order = {k: i for i, k in enumerate([*pool, "jpeg"])}
    return sorted(picked, key=order.__getitem__)


def _photometric(
    part: str, img: np.ndarray, rng: np.random.Generator, lv: Level, p: dict[str, float]
) -> np.ndarray:
    if part == "gaussian_blur":
        p["sigma"] = _u(rng, lv["sigma"])
        return gaussian_blur(img, p["sigma"])
    if part == "motion_blur":
        p["motion"] = length = int(rng.integers(int(lv["motion"][0]), int(lv["motion"][1]) + 1))
        return motion_blur(img, length, _u(rng, (0, 180)))
    if part == "noise":
        p["noise"] = _u(rng, lv["noise"])
        return noise(img, p["noise"], rng)
    if part == "low_contrast":
        p["span"] = _u(rng, lv["span"])
        return low_contrast(img, p["span"], _u(rng, (60, 190)))
    if part == "glare":
        p["glare"] = _u(rng, lv["glare"])
        code = _code_centre(img)
        return glare(img, code, _u(rng, (25, 60)), p["glare"])
    if part == "jpeg":
        p["quality"] = int(rng.integers(int(lv["quality"][0]), int(lv["quality"][1]) + 1))
        return jpeg(img, int(p["quality"]))
    return img  # geometric kinds, occlusion and clean act at placement


def _code_centre(img: np.ndarray) -> tuple[float, float]:
    """Where the paper is (the brightest large area), so the glare falls on the code."""
    grey = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (0, 0), 15)
    _, _, _, (x, y) = cv2.minMaxLoc(grey)
    return float(x), float(y)


def _negative(kind: str, scene: np.ndarray, rng: np.random.Generator, seed: int) -> Sample:
    if kind == "texture":
        # Random modules with the finder patterns' size and contrast but none of
        # their structure: a fabric print, a crossword, a barcode-like label.
        n = int(rng.integers(29, 46))
        cells = rng.random((n, n)) < 0.5
        cells = np.pad(cells, QUIET_MODULES)
        _place(scene, cells, rng, _u(rng, (2.6, 4.0)), _u(rng, (-30, 30)), 0.05)
    elif kind == "broken_code":
        # A real code with a third of its data area wiped: beyond any ECC level,
        # so a reader that returns text here has made it up.
        modules = qr_modules(random_url(rng), mask=int(rng.integers(0, 8)))
        q, n = QUIET_MODULES, modules.shape[0] - 2 * QUIET_MODULES
        modules[q + 9 : q + n - 9, q : q + n] = rng.random((n - 18, n)) < 0.5
        _place(scene, modules, rng, _u(rng, (2.8, 4.0)))
    return Sample(f"{kind}-{seed}", kind, scene, None, {})


def distorted_set(
    per_kind: int, seed: int = 0, level: str = "moderate", negatives: int | None = None
) -> Iterator[Sample]:
    """``per_kind`` positives of every kind and ``negatives`` (default ``per_kind``) of
    every negative kind; deterministic for a given seed."""
    for i, kind in enumerate(KINDS):
        for j in range(per_kind):
            yield make_sample(kind, seed * 1_000_003 + i * 10_007 + j, level)
    for i, kind in enumerate(NEGATIVE_KINDS):
        for j in range(per_kind if negatives is None else negatives):
            yield make_sample(kind, seed * 1_000_003 + 500_000 + i * 10_007 + j, level)
