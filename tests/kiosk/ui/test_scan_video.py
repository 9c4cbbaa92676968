"""The scan screen behind a video-file camera (``kiosk.camera = "file:VIDEO"``): a
recording of a counter where a customer holds up their code after a second, played at
its own frame rate as a live camera would deliver it, read by the real app into the
welcome screen and a ``visit.linked`` event."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.edge.pickups.helpers import SIGNER

from .test_scanflow import _events, _scene, _sign

FPS = 10
#: a second of counter, then three of the code held up
BLANK_FRAMES, CODE_FRAMES = 10, 30


def _record(path: Path, code: str) -> None:
    blank, held = _scene(3, None), _scene(3, code)
    h, w = blank.shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    assert out.isOpened(), "OpenCV cannot write MJPG here"
    try:
        for i in range(BLANK_FRAMES + CODE_FRAMES):
            out.write(blank if i < BLANK_FRAMES else held)
    finally:
        out.release()


def test_a_code_in_a_video_recording_links_the_visit(ui) -> None:
    token = _sign("p", "p-00dd44")
    video = ui.tmp / "counter.avi"
    _record(video, SIGNER.url(token))
    with ui.config.open("a") as f:
        f.write(f'[kiosk]\ncamera = "file:{video}"\n')
    run = ui.run(
        """
        yield k.until(lambda: k.current == "home", 10, "the home screen")
        k.tap_text(k.controllers.home.scan_label())
        yield k.until(lambda: k.current == "scan", 5, "the scan screen")
        from tests.kiosk.ui.waits import drawn
        yield k.until(lambda: k.current == "welcome", 15, "the welcome screen")
        yield k.until(drawn(lambda: k.current == "welcome"
                            and not k.app.manager.transition.is_active), 5,
                      "the welcome screen drawn")
        k.result["welcome"] = k.texts()
        """
    )
    assert "Welcome back!" in run.result["welcome"]
    linked = [d["data"] for t, d in _events(ui.db_path) if t == "visit.linked"]
    assert [(d["profile_id"], d["token_kind"]) for d in linked] == [("p-00dd44", "p")]
