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


def layout_problems(root: Any) -> list[str]:
    """What a person would see as broken: a screen not where its manager shows it (it
    would run under the status strip), a text cut off by its box, or a visible widget
    reaching outside the window."""
    from kivy.core.window import Window
    from kivy.uix.label import Label

    out = []
    manager = getattr(root, "manager", None)
    if manager is not None and tuple(root.pos) != tuple(manager.pos):
        out.append(f"the screen is at {tuple(root.pos)}, its place is {tuple(manager.pos)}")
    for w in root.walk():
        if not _shown(w):
            continue
        x, y = w.to_window(w.x, w.y)
        if x < -1 or y < -1 or x + w.width > Window.width + 1 or y + w.height > Window.height + 1:
            what = getattr(w, "text", "") or type(w).__name__
            out.append(f"{what[:40]!r} reaches outside the window")
        if isinstance(w, Label) and w.text and not w.shorten:
            tw, th = w.texture_size
            if th > w.height + 2 or (w.text_size[0] is None and tw > w.width + 2):
                out.append(
                    f"{w.text[:40]!r} is cut off ({tw}×{th} in {w.width:.0f}×{w.height:.0f})"
                )
    return out


def _shown(w: Any) -> bool:
    while w is not None:
        if getattr(w, "opacity", 1) == 0 or w.width <= 1 or w.height <= 1:
            return False
        w = w.parent if w.parent is not w else None
    return True


def all_screens_script(orientation: str, langs: tuple[str, ...]):
    def script(k: Driver) -> Iterator[Any]:
        from .screens import all_screens

        saved: list[str] = []
        problems: list[str] = []
        for lang in langs:
            for cls, extra in ((c, x) for c in all_screens() for x in ("", *c.shot_extras)):
                k.controllers.session.set_language(lang)
                screen = k.screen(cls.screen_name)
                if extra:
                    screen.shot_extra(extra)
                else:
                    screen.shot_state()
                k.app.go(cls.screen_name)
                screen.refresh()
                yield k.sleep(0.4)
                name = f"{cls.screen_name}{'-' + extra if extra else ''}-{orientation}-{lang}"
                yield k.shot(name)
                saved.append(name)
                problems.extend(f"{name}: {p}" for p in layout_problems(screen))
        k.result["shots"] = saved
        k.result["layout_problems"] = problems

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
