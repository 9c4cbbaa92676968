"""The shopper's scan flow in the real app: a camera file source holding real QR frames
(made with central's own QR writer, signed with the key the kiosk's edge.db trusts),
"Got it" before the check, the welcome screen with the offer and the consent prompt,
feedback, and the plain-words messages of an expired code and another store's code.

The camera is an image folder (``kiosk.camera = "file:DIR"``) that the script fills
with the frames of one code before each scan, so one app run scans several codes.
Each code's folder starts with frames holding no code, so the preview shows the
counter first, as a camera would.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from central_api.codes.qr_image import png, symbol
from edge_sync import EdgeClient
from edge_sync.config import load_device_config
from edge_sync.protocol.campaign_list import parse_campaign_list
from edge_sync.protocol.tokens import Token
from edge_sync.protocol.tokens.code_table import parse_code_table
from edge_sync.protocol.tokens.fallback import fallback_of
from tests.edge.pickups.helpers import SIGNER
from tests.kiosk.scan_helpers import campaign_entry, list_doc, table_doc
from tests.support import qr_distort

TODAY = date.today()  # the app checks codes against the real clock
LONG_AGO, YESTERDAY = TODAY - timedelta(days=40), TODAY - timedelta(days=1)
CAMPAIGN = "cmp-boots"
#: frames without a code before the code shows (at the folder source's 10 frames/s)
LEAD_FRAMES = 12


def _sign(kind: str, subject: str, **kw: Any) -> Token:
    kw.setdefault("not_before", TODAY - timedelta(days=10))
    kw.setdefault("not_after", TODAY + timedelta(days=20))
    return SIGNER.sign(kind, subject, **kw)


def _scene(seed: int, code: str | None) -> np.ndarray:
    """A 640×480 counter top, with ``code`` held up in the middle of it: central's own
    PNG of the code (5 px a module, its quiet zone as the paper), a little grain."""
    rng = np.random.default_rng(seed)
    scene = qr_distort._background(rng)
    if code is not None:
        grey = cv2.imdecode(np.frombuffer(png(symbol(code), module_px=5), np.uint8), 0)
        h, w = grey.shape
        y, x = (scene.shape[0] - h) // 2, (scene.shape[1] - w) // 2
        scene[y : y + h, x : x + w] = grey[..., None]
        scene = qr_distort.noise(scene, 3.0, rng)
    return scene


def _frames(folder: Path, code: str | None, seed: int, lead: int = LEAD_FRAMES) -> None:
    folder.mkdir(parents=True)
    blank, held = _scene(seed, None), _scene(seed, code) if code else None
    for i in range(lead + (20 if code else 0)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), blank if held is None or i < lead else held)


@pytest.fixture
def scanflow(ui) -> dict[str, Any]:
    """The ui kiosk with a running campaign, its fallback table, a camera folder, and
    one frame folder per code; returns the codes by name."""
    cfg = load_device_config(ui.config)
    client = EdgeClient.from_config(cfg)
    start, end = TODAY - timedelta(days=5), TODAY + timedelta(days=25)
    recipient = _sign("r", "p-00bb22", campaign_id=CAMPAIGN)
    entry = campaign_entry(CAMPAIGN, start.isoformat(), end.isoformat())
    try:
        doc = list_doc([entry], as_of=TODAY, store="s042")
        client.campaign_cache.apply_list(parse_campaign_list(json.dumps(doc).encode()))
        table = table_doc(CAMPAIGN, [recipient], f"{TODAY.isoformat()}T08:00:00Z")
        client.campaign_cache.apply_code_table(
            CAMPAIGN, parse_code_table(json.dumps(table).encode())
        )
    finally:
        client.close()
    codes = {
        "recipient": recipient,
        "profile": _sign("p", "p-00aa11"),
        "expired": _sign("p", "p-00cc33", not_before=LONG_AGO, not_after=YESTERDAY),
        "other_store": _sign("o", "ord-9", store_id="s099"),
    }
    frames = ui.tmp / "frames"
    for n, (name, tok) in enumerate(codes.items()):
        _frames(frames / name, SIGNER.url(tok), seed=n)
    _frames(frames / "blank", None, seed=7, lead=10)
    cam = ui.tmp / "cam"
    cam.mkdir()
    with ui.config.open("a") as f:
        f.write(f'[kiosk]\ncamera = "file:{cam}"\n')
    return {"codes": codes, "fallback": fallback_of(recipient.text)}


#: helpers the scripts share (they run inside the app process)
PRELUDE = """
import shutil, time
from pathlib import Path
FRAMES, CAM = Path({frames!r}), Path({cam!r})
def use(name):
    for p in CAM.iterdir():
        p.unlink()
    for p in sorted((FRAMES / name).iterdir()):
        shutil.copy(p, CAM / p.name)
scan = k.screen("scan")
seen_before_check = []
original_check = scan._check
def check_spy():
    seen_before_check.append(list(k.texts()))
    original_check()
scan._check = check_spy
def start_scan(name):
    use(name)
    k.tap_text(k.controllers.home.scan_label())
def settled():
    return not k.app.manager.transition.is_active
def at_home():
    return k.current == "home" and settled()
from tests.kiosk.ui.waits import drawn
def shown(name, also=lambda: True):
    # the screen alone (its change over) and drawn: its texts and shots are its own
    return drawn(lambda: k.current == name and settled() and also())
def preview_drawn():
    return k.find("scan", "preview").texture is not None
def latency():
    from kivy.clock import Clock
    t = dict(k.controllers.scanflow.trace)
    out = {{key: round((v - t["frame"]) * 1000, 1) for key, v in t.items() if key != "frame"}}
    out["ui_fps"] = round(Clock.get_fps(), 1)
    return out
LEAD_S = {lead_s}
"""


def _script(ui, body: str) -> str:
    prelude = PRELUDE.format(
        frames=str(ui.tmp / "frames"), cam=str(ui.tmp / "cam"), lead_s=LEAD_FRAMES / 10
    )
    return prelude + textwrap.dedent(body)


def _events(db_path: Path) -> list[tuple[str, dict[str, Any]]]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT type, payload FROM outbox ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(t, json.loads(p)) for t, p in rows]


def _survey_schema() -> bool:
    """Whether the protocol knows ``survey.answered`` yet (added beside this work)."""
    from edge_sync.protocol.schemas import REGISTRY, UnknownEventType

    try:
        REGISTRY.get("survey.answered", 1)
    except UnknownEventType:
        return False
    return True


def _looks_drawn(path: Path) -> None:
    im = Image.open(path)
    assert len(np.unique(np.asarray(im.convert("L").resize((54, 96))))) > 8, f"{path} is blank"


def test_a_recipient_code_greets_with_the_offer_asks_consent_and_feedback(ui, scanflow) -> None:
    run = ui.run(
        _script(
            ui,
            """
        yield k.until(lambda: k.current == "home", 10, "the home screen")
        start_scan("recipient")
        yield k.until(lambda: k.current == "scan" and preview_drawn(), 10, "the preview")
        k.result["scan_texts"] = k.texts()
        yield k.shot("scan-portrait-en")
        yield k.until(lambda: k.current == "welcome", 10 + LEAD_S, "the welcome screen")
        k.result["seen_before_check"] = seen_before_check
        k.result["latency"] = latency()
        yield k.until(shown("welcome"), 5, "the welcome screen drawn")
        k.result["welcome_texts"] = k.texts()
        yield k.shot("welcome-portrait-en")
        k.tap(k.find("welcome", "consent_yes"))
        yield k.until(lambda: not k.screen("welcome").asks_consent, 5, "the consent answer")
        k.result["consent_texts"] = k.texts()
        k.tap(k.find("welcome", "done"))
        yield k.until(lambda: k.current == "feedback", 5, "the feedback screen")
        yield k.until(shown("feedback"), 5, "the feedback screen drawn")
        k.result["feedback_texts"] = k.texts()
        yield k.shot("feedback-portrait-en")
        k.tap_text("Very good")
        yield k.until(lambda: k.screen("feedback").step == "reason", 5, "the reasons")
        yield k.shot("feedback-reasons-portrait-en")
        k.result["reason_texts"] = k.texts()
        k.tap_text("Helpful staff")
        yield k.until(lambda: k.screen("feedback").step == "thanks", 5, "thank you")
        k.result["thanks_texts"] = k.texts()
        thanked = time.monotonic()
        yield k.until(at_home, 6, "home after thank you")
        k.result["home_after_s"] = time.monotonic() - thanked
    """,
        )
    )
    r = run.result
    assert "Hold your code in the frame" in r["scan_texts"] and "Type the code" in r["scan_texts"]
    # "Got it" was on the screen when the check started
    assert len(r["seen_before_check"]) == 1 and "Got it" in r["seen_before_check"][0]
    assert "Welcome back!" in r["welcome_texts"]
    assert f"{CAMPAIGN}: 20% off boots" in r["welcome_texts"]
    assert any(t.startswith("Valid until") for t in r["welcome_texts"])
    assert "May we use this visit to tailor our offers to you?" in r["welcome_texts"]
    assert "Thank you. You can change this at any time." in r["consent_texts"]
    assert "How is your visit today?" in r["feedback_texts"]
    assert "Helpful staff" in r["reason_texts"] and "Thank you!" in r["thanks_texts"]
    # "Thank you" stays feedback_return_s (3 s), then home; the 0.25 s tick and a loaded
    # machine's slow frames come on top, which the wait's 6 s deadline bounds (a fixed
    # 4.5 s failed once with CI's two workers and a benchmark beside them)
    assert r["home_after_s"] >= 2.9
    lat = r["latency"]
    print(f"scan latency (ms from the frame's capture): {lat}")
    assert lat["got_it"] <= lat["checked"] <= lat["screen_change"] < 2000

    events = _events(ui.db_path)
    types = [t for t, _ in events]
    assert types.count("visit.linked") == 1 and types.count("campaign.scanned") == 1
    linked = next(d for t, d in events if t == "visit.linked")
    assert linked["data"]["profile_id"] == "p-00bb22" and linked["data"]["token_kind"] == "r"
    scanned = next(d for t, d in events if t == "campaign.scanned")
    assert scanned["data"]["campaign_id"] == CAMPAIGN and scanned["data"]["offer_shown"] is True
    consent = [d["data"] for t, d in events if t == "consent.recorded"]
    assert consent == [{"profile_id": "p-00bb22", "purpose": "profiling", "granted": True,
                        "method": "kiosk_prompt", "text_version": "kiosk-consent-1"}]  # fmt: skip
    if _survey_schema():
        survey = [d["data"] for t, d in events if t == "survey.answered"]
        assert survey and survey[0]["rating"] == 5 and survey[0]["reason"] == "staff_helpful"
        assert survey[0]["context"] == "visit" and survey[0]["profile_id"] == "p-00bb22"
    assert "session.ended" in types
    for name in ("scan-portrait-en", "welcome-portrait-en", "feedback-portrait-en"):
        _looks_drawn(run.png(name))


def test_refused_codes_say_why_in_plain_words_and_german_shots(ui, scanflow) -> None:
    run = ui.run(
        _script(
            ui,
            """
        yield k.until(lambda: k.current == "home", 10, "the home screen")
        def result_shown():
            return k.current == "scan" and k.screen("scan").step == "result"
        for name in ("expired", "other_store"):
            start_scan(name)
            yield k.until(result_shown, 10 + LEAD_S, f"the {name} message")
            yield k.until(drawn(lambda: result_shown() and settled()), 5, f"the {name} message drawn")
            k.result[name] = k.texts()
            yield k.shot(f"scan-{name}-portrait-en")
            k.tap(k.find("scan", "back"))
            yield k.until(at_home, 5, "home")
        k.tap_text("Deutsch")
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
        start_scan("blank")
        yield k.until(lambda: k.current == "scan" and preview_drawn(), 10, "the preview")
        yield k.until(shown("scan", preview_drawn), 5, "the scan screen drawn")
        k.result["scan_de"] = k.texts()
        yield k.shot("scan-portrait-de")
        use("recipient")
        k.tap(k.find("scan", "again") if k.screen("scan").step == "result" else k.find("scan", "back"))
        yield k.until(at_home, 5, "home")
        k.tap_text("Deutsch")
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
        start_scan("recipient")
        yield k.until(lambda: k.current == "welcome", 10 + LEAD_S, "the welcome screen")
        k.result["latency"] = latency()
        yield k.until(shown("welcome"), 5, "the welcome screen drawn")
        k.result["welcome_de"] = k.texts()
        yield k.shot("welcome-portrait-de")
        k.tap(k.find("welcome", "consent_no"))
        yield k.until(lambda: not k.screen("welcome").asks_consent, 5, "the consent answer")
        k.tap(k.find("welcome", "done"))
        yield k.until(lambda: k.current == "feedback", 5, "the feedback screen")
        yield k.until(shown("feedback"), 5, "the feedback screen drawn")
        k.result["feedback_de"] = k.texts()
        yield k.shot("feedback-portrait-de")
        k.tap_text("Schlecht")
        yield k.until(lambda: k.screen("feedback").step == "reason", 5, "the reasons")
        yield k.until(shown("feedback", lambda: k.screen("feedback").step == "reason"), 5,
                      "the reasons drawn")
        k.result["reasons_de"] = k.texts()
        yield k.shot("feedback-reasons-portrait-de")
        k.tap(k.find("feedback", "skip"))
        yield k.until(at_home, 6, "home after thank you")
    """,
        )
    )
    r = run.result
    assert "This code has expired." in r["expired"]
    assert any("scan a newer code" in t for t in r["expired"])
    assert "This code is for another store." in r["other_store"]
    assert any("the store it names" in t for t in r["other_store"])
    assert "Halten Sie Ihren Code in den Rahmen" in r["scan_de"]
    assert "Code eintippen" in r["scan_de"] and "Zurück" in " ".join(r["scan_de"])
    assert "Willkommen zurück!" in r["welcome_de"]
    assert f"{CAMPAIGN}: 20 % auf Stiefel" in r["welcome_de"]
    assert "Wie gefällt Ihnen Ihr Besuch heute?" in r["feedback_de"]
    assert "Ich musste warten" in r["reasons_de"]
    print(f"scan latency (ms from the frame's capture): {r['latency']}")

    events = _events(ui.db_path)
    refused = [d["data"] for t, d in events if t == "qr.scanned"]
    assert [e["reason"] for e in refused] == ["expired", "not_for_this_store"]
    assert refused[0]["kind"] == "p" and refused[1]["kind"] == "o"
    consent = [d["data"] for t, d in events if t == "consent.recorded"]
    assert [c["granted"] for c in consent] == [False]
    if _survey_schema():
        survey = [d["data"] for t, d in events if t == "survey.answered"]
        assert [(s["rating"], s.get("reason")) for s in survey] == [(2, None)]
    for name in ("scan-portrait-de", "welcome-portrait-de", "feedback-portrait-de"):
        _looks_drawn(run.png(name))


def test_typed_code_and_landscape_shots(ui, scanflow) -> None:
    code = scanflow["fallback"]
    run = ui.run(
        _script(
            ui,
            f"""
        yield k.until(lambda: k.current == "home", 10, "the home screen")
        for lang in ("en", "de"):
            if lang == "de":
                k.tap_text("Deutsch")
                yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
            start_scan("blank")
            yield k.until(lambda: k.current == "scan" and preview_drawn(), 10, "the preview")
            yield k.until(shown("scan", preview_drawn), 5, "the scan screen drawn")
            yield k.shot(f"scan-landscape-{{lang}}")
            k.tap(k.find("scan", "type_button"))
            yield k.until(lambda: k.screen("scan").step == "typing", 5, "the key grid")
            for char in {code!r}:
                k.tap_text(char)
            yield k.until(lambda: k.screen("scan").can_submit, 5, "12 characters")
            k.result[f"typed_{{lang}}"] = k.screen("scan").typed
            yield k.shot(f"scan-typing-landscape-{{lang}}")
            k.tap(k.find("scan", "submit"))
            yield k.until(lambda: k.current == "welcome", 5, "the welcome screen")
            yield k.until(shown("welcome"), 5, "the welcome screen drawn")
            k.result[f"welcome_{{lang}}"] = k.texts()
            yield k.shot(f"welcome-landscape-{{lang}}")
            k.tap(k.find("welcome", "done"))
            yield k.until(lambda: k.current == "feedback", 5, "the feedback screen")
            yield k.until(shown("feedback"), 5, "the feedback screen drawn")
            yield k.shot(f"feedback-landscape-{{lang}}")
            k.tap(k.screen("feedback")._faces[3])
            yield k.until(lambda: k.screen("feedback").step == "reason", 5, "the reasons")
            yield k.until(shown("feedback", lambda: k.screen("feedback").step == "reason"), 5,
                          "the reasons drawn")
            yield k.shot(f"feedback-reasons-landscape-{{lang}}")
            k.tap(k.find("feedback", "chip_0"))
            yield k.until(at_home, 6, "home after thank you")
    """,
        ),
        landscape=True,
    )
    r = run.result
    assert r["typed_en"] == " ".join(code[i : i + 4] for i in range(0, 12, 4))
    assert f"{CAMPAIGN}: 20% off boots" in r["welcome_en"]
    assert f"{CAMPAIGN}: 20 % auf Stiefel" in r["welcome_de"]
    events = _events(ui.db_path)
    linked = [d["data"] for t, d in events if t == "visit.linked"]
    assert len(linked) == 2 and all(e["profile_id"] == "p-00bb22" for e in linked)
    for lang in ("en", "de"):
        for screen in ("scan", "scan-typing", "welcome", "feedback"):
            _looks_drawn(run.png(f"{screen}-landscape-{lang}"))
