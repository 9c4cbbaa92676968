"""Screenshots of every screen: ``python main.py kiosk --config FILE --shots DIR``.

Each screen in each language, with what it shows in use (``BaseScreen.shot_state``: a
search with results, an order at the pickup desk …), saved as
``DIR/<screen>-<portrait|landscape>-<lang>.png``; then the app quits. Under Xvfb on a
machine without a display (the tests, ``make demo``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .run import build
from .script import Driver, run_script


def all_screens_script(orientation: str, langs: tuple[str, ...]):
    def script(k: Driver) -> Iterator[Any]:
        from .screens import all_screens

        saved = []
        for lang in langs:
            for cls in all_screens():
                k.controllers.session.set_language(lang)
                screen = k.screen(cls.screen_name)
                screen.shot_state()
                k.app.go(cls.screen_name)
                screen.refresh()
                yield k.sleep(0.4)
                name = f"{cls.screen_name}-{orientation}-{lang}"
                yield k.shot(name)
                saved.append(name)
        k.result["shots"] = saved

    return script


def shots(config: str | Path, out: str | Path, landscape: bool, langs: tuple[str, ...]) -> int:
    out = Path(out)
    app = build(config, landscape, fullscreen=False)
    k = run_script(app, all_screens_script("landscape" if landscape else "portrait", langs), out)
    try:
        app.run()
    finally:
        app.controllers.client.close()
    for name in k.result.get("shots", []):
        print(out / f"{name}.png")
    return 0 if k.result.get("ok") else 1


def scripted(config: str | Path, script_path: str | Path, out: str | Path, landscape: bool) -> int:
    from .script import load_script

    app = build(config, landscape, fullscreen=False)
    k = run_script(app, load_script(script_path), Path(out))
    try:
        app.run()
    finally:
        app.controllers.client.close()
    return 0 if k.result.get("ok") else 1
