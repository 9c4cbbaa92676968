"""docs/events.md documents every event type and every field (so it cannot rot)."""

import re
from pathlib import Path
from typing import get_args

from edge_sync.protocol import REGISTRY, DeadLetterReason
from edge_sync.protocol.online import ONLINE_REGISTRY, OnlineEvent

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()


def section(name: str, header: str | None = None) -> str:
    start = DOC.index(header or f"### `{name}`")
    end = DOC.find("\n### ", start + 1)
    return DOC[start : end if end != -1 else None]


def test_every_type_and_field_is_documented():
    for et in REGISTRY:
        text = section(et.name)
        assert et.priority.value in text.splitlines()[0], f"{et.name}: priority not documented"
        for field in et.model.model_fields:
            assert f"| `{field}` |" in text, f"{et.name}.{field} missing from docs/events.md"


def test_every_dead_letter_reason_is_documented():
    for reason in DeadLetterReason:
        assert f"| `{reason.value}` |" in DOC


def test_every_online_type_and_field_is_documented():
    kiosk_models = {et.name: et.model for et in REGISTRY}
    for et in ONLINE_REGISTRY:
        text = section(et.name, f"### `{et.name}` (online)")
        if kiosk_models.get(et.name) is et.model:
            assert f"#{et.name.replace('.', '')}--" in text, f"{et.name}: no link to its fields"
            et_fields = section(et.name)
        else:
            et_fields = text
        for field in et.model.model_fields:
            assert f"| `{field}` |" in et_fields, f"online {et.name}.{field} undocumented"


def test_the_online_envelope_is_documented():
    text = section("", "### Online envelope")
    for field in OnlineEvent.model_fields:
        row = re.compile(rf"^\| [^|]*`{field}`[^|]* \|", re.M)
        assert row.search(text), f"online envelope field {field} undocumented"
    for channel in get_args(OnlineEvent.model_fields["channel"].annotation):
        assert f"`{channel}`" in text


def test_docs_point_only_inside_the_repo():
    root = Path(__file__).resolve().parents[2]
    assert (root / "docs" / "architecture.md").is_file()
    texts = [p for p in root.glob("*.md")] + list((root / "docs").glob("*.md"))
    texts += [p for d in ("central_api", "edge_sync", "kiosk") for p in (root / d).rglob("*.py")]
    for p in texts:
        text = p.read_text()
        assert "ARCHITECTURE.md" not in text, f"{p}: names an architecture file outside docs/"
        assert "../shared" not in text, f"{p}: points outside the repo"
