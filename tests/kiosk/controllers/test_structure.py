"""The controllers stay free of the GUI toolkit, every text has German with the same
fields, and the kiosk settings read an optional ``[kiosk]`` table."""

from __future__ import annotations

import ast
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import i18n
from kiosk.settings import BadKioskSettings, KioskSettings
from tests.support import REPO_ROOT

CONTROLLERS = REPO_ROOT / "kiosk" / "controllers"
#: the same in both languages on purpose
SAME_IN_BOTH = {"strip_online", "order_line"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_controllers_import_no_kivy():
    files = sorted(CONTROLLERS.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        assert "kivy" not in _imports(path), f"{path.name} imports kivy"
    modules = ", ".join(f"kiosk.controllers.{p.stem}" for p in files if p.stem != "__init__")
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in '{modules}'.split(', ')];"
        "bad = sorted(m for m in sys.modules if m == 'kivy' or m.startswith('kivy.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("key", sorted(i18n.TEXTS))
def test_every_text_has_german_with_the_same_fields(key):
    texts = i18n.TEXTS[key]
    assert texts.get("en") and texts.get("de"), f"{key}: needs English and German"
    assert _fields(texts["en"]) == _fields(texts["de"]), f"{key}: fields differ"
    if key not in SAME_IN_BOTH:
        assert texts["de"] != texts["en"], f"{key}: the German is the English"


def test_every_key_the_controllers_use_exists():
    keys = set()
    for path in CONTROLLERS.glob("*.py"):
        keys |= set(re.findall(r'say\(\s*"([a-z_0-9]+)"', path.read_text()))
    assert keys and keys <= set(i18n.TEXTS), sorted(keys - set(i18n.TEXTS))


def test_settings_defaults_and_the_kiosk_table(tmp_path: Path):
    plain = tmp_path / "device.toml"
    plain.write_text('[device]\nid = "k1"\nstore_id = "s1"\n')
    assert KioskSettings.from_toml(plain) == KioskSettings() == KioskSettings.from_toml(None)
    assert KioskSettings().idle_s == 45 and KioskSettings().countdown_s == 10
    with_table = tmp_path / "kiosk.toml"
    with_table.write_text('[kiosk]\nidle_s = 30\ndim_s = 120.5\nlanguage = "de"\n')
    s = KioskSettings.from_toml(with_table)
    assert (s.idle_s, s.dim_s, s.language, s.countdown_s) == (30, 120.5, "de", 10)
    with_table.write_text('[kiosk]\ncamera = "opencv:1"\n')
    assert KioskSettings.from_toml(with_table).camera == "opencv:1"


@pytest.mark.parametrize(
    "table, words",
    [
        ("idle_seconds = 3", "unknown key(s) idle_seconds"),
        ("idle_s = 0", "kiosk.idle_s: must be a number above 0"),
        ('idle_s = "soon"', "kiosk.idle_s: must be a number above 0"),
        ("dim_level = 2", "kiosk.dim_level: must be at most 1"),
        ('language = "fr"', "kiosk.language: 'fr' is not one of en, de"),
        ('camera = "usb"', "kiosk.camera: 'usb' is not a camera; use \"device:0\""),
        ('camera = "opencv:x"', '"opencv:0" reads it through OpenCV'),
        ('camera = "device:\u00b2"', "is not a camera"),  # a digit, but not 0-9
        ('camera = "opencv:"', "is not a camera"),
    ],
)
def test_settings_that_cannot_be_used_say_why(tmp_path: Path, table, words):
    path = tmp_path / "kiosk.toml"
    path.write_text(f"[kiosk]\n{table}\n")
    with pytest.raises(BadKioskSettings) as err:
        KioskSettings.from_toml(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_keys_built_from_codes_exist():
    from edge_sync.pickups import REFUSE_REASONS
    from edge_sync.pickups.refusals import Refusal
    from kiosk.controllers.feedback import HIGH_REASONS, LOW_REASONS

    keys = (
        [f"refusal_{r.value}" for r in Refusal]
        + [f"refuse_{r}" for r in REFUSE_REASONS]
        + [f"reason_{r}" for r in LOW_REASONS + HIGH_REASONS]
        + [f"rating_{n}" for n in range(1, 6)]
        + [f"row_version_{n}" for n in ("catalog", "keys", "campaigns", "config")]
        + [f"feedback_question_{c}" for c in ("pickup", "visit")]
    )
    assert sorted(set(keys) - set(i18n.TEXTS)) == []
