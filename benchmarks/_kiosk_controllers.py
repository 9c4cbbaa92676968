"""``kiosk_ui``'s in-process half: what the kiosk's controllers do per keystroke and per
scanned frame, without widgets (the screens only bind to these).

* kiosk_search_keystroke_p95_ms: one on-screen key press in the search box → the result
  rows the screen shows (``SearchController.key``, the search it schedules run at once,
  ``rows()``), typing the benchmark's query mix letter by letter on a 100,000-SKU
  edge.db. The debounce (``search_debounce_s``, 0.15 s by default: a fast typist costs
  one search, not one per key) is a deliberate wait and is not in the figure; nor is
  the Kivy redraw of the rows (the search screen is not in the app yet).
  The bare line in the same run is ``Availability.search`` alone on the same prefixes;
  a second p95 leaves out the barcodes typed digit by digit.
* the scan at controller level (printed, no RESULT line): a camera frame (640×480, a
  printed profile code at 4 px per module) → ``decode_frame`` → ``ScanAction.scan`` →
  the outcome the screen shows, with ``visit.linked`` in the outbox.
  kiosk_scan_to_outcome_p95_ms is the same path in the real app, up to the welcome
  screen drawn (``_kiosk_scan_screen``).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks._common import percentile, result
from kiosk.controllers.clock import SystemClock
from kiosk.controllers.kiosk import Controllers
from kiosk.qr_decode import decode_frame
from kiosk.settings import KioskSettings
from tests.kiosk.scan_helpers import NOW, SIGNER, Device, campaign_entry, list_doc, sign
from tests.support.qr_distort import qr_modules


def bench_search(client, qs: list[str], rounds: int) -> None:
    c = Controllers(client, KioskSettings(), SystemClock())
    search = c.search
    ours_t: list[float] = []
    bare_t: list[float] = []
    words_t: list[float] = []  # keystrokes of queries that are not all digits
    for q in qs:  # a kiosk that has been running has these pages cached
        client.availability.search(q)
    for _ in range(rounds):
        for q in qs:
            search.clear()
            for ch in q:
                t0 = time.perf_counter()
                search.key(ch)
                search.submit()  # the debounced search, run now
                rows = search.rows()
                ours_t.append((time.perf_counter() - t0) * 1000)
                if not q.isdigit():
                    words_t.append(ours_t[-1])
                assert search.query.endswith(ch) and isinstance(rows, list)
                t0 = time.perf_counter()
                client.availability.search(search.query, limit=c.settings.search_limit)
                bare_t.append((time.perf_counter() - t0) * 1000)
            search.leave()
    c.session.reset("timeout")
    ours, bare = percentile(ours_t, 95), percentile(bare_t, 95)
    print(f"search keystrokes: {len(ours_t)} ({len(qs)} queries × {rounds}); "
          f"p50 {statistics.median(ours_t):.2f} ms p95 {ours:.2f} ms max {max(ours_t):.2f} ms; "
          f"bare Availability.search p95 {bare:.2f} ms; without the barcodes typed digit "
          f"by digit (whose 2–7 digit prefixes match most of the catalog) p95 "
          f"{percentile(words_t, 95):.2f} ms")  # fmt: skip
    result("kiosk_search_keystroke_p95_ms", ours, "<=", 50)
    c.close()


def frame_of(text: str, px: int = 4) -> np.ndarray:
    """A camera-sized BGR frame with the code printed on it, centred, on a grey desk."""
    modules = qr_modules(text)
    code = np.kron(np.where(modules, 30, 235).astype(np.uint8), np.ones((px, px), np.uint8))
    frame = np.full((480, 640), 128, np.uint8)
    h, w = code.shape
    y, x = (480 - h) // 2, (640 - w) // 2
    frame[y : y + h, x : x + w] = code
    return np.repeat(frame[..., None], 3, axis=2)


def bench_scan(tmp: Path, n: int) -> None:
    device = Device(tmp / "scan-edge.db")
    device.keys()
    device.campaigns(list_doc([campaign_entry("cmp-1")]))
    frames = [frame_of(SIGNER.url(sign("p", f"prof-{i:05d}"))) for i in range(n)]
    from kiosk.controllers.scan import ScanAction

    action = ScanAction(device.client)
    decode_t: list[float] = []
    total_t: list[float] = []
    for i, frame in enumerate(frames):
        t0 = time.perf_counter()
        decoded = decode_frame(frame)
        t1 = time.perf_counter()
        [text] = decoded.texts
        out = action.scan(text, f"sess-{i}", now=NOW)
        t2 = time.perf_counter()
        assert out.outcome.value == "checked_in", out
        decode_t.append((t1 - t0) * 1000)
        total_t.append((t2 - t0) * 1000)
    scan_t = [t - d for t, d in zip(total_t, decode_t, strict=True)]
    assert len(device.events()) == n  # one visit.linked per frame
    print(f"scan: {n} frames; decode p95 {percentile(decode_t, 95):.2f} ms, "
          f"ScanAction p95 {percentile(scan_t, 95):.2f} ms, "
          f"frame → outcome p50 {statistics.median(total_t):.2f} ms "
          f"p95 {percentile(total_t, 95):.2f} ms (controller level, no widgets)")  # fmt: skip
    device.close()
