"""The app's frame: touches reach the buttons through the session, the language switch
changes every text on the screen, and the idle reset brings back a clean home."""

from __future__ import annotations

from PIL import Image


def test_home_answers_a_touch_and_switches_language(ui) -> None:
    run = ui.run("""
        yield k.until(lambda: k.current == "home", 10, "the home screen")
        k.result["en"] = k.texts()
        k.tap_text("Deutsch")
        from tests.kiosk.ui.waits import drawn
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
        # the screen redraws in the new language before the next frame
        yield k.until(drawn(lambda: k.screen("home").lang == "de"), 5, "home drawn in German")
        k.result["de"] = k.texts()
        yield k.shot("home-de")
    """)
    assert "Scan your code" in run.result["en"] and "Find a product" in run.result["en"]
    assert "Code scannen" in run.result["de"] and "Produkt finden" in run.result["de"]
    assert "Scan your code" not in run.result["de"]
    im = Image.open(run.png("home-de"))
    assert im.size == (1080, 1920)
    assert len(set(im.convert("L").resize((54, 96)).tobytes())) > 8  # drawn, not blank
