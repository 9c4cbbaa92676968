"""docs/events.md documents every event type and every field (so it cannot rot)."""

from pathlib import Path

from edge_sync.protocol import REGISTRY, DeadLetterReason

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()


def section(name: str) -> str:
    start = DOC.index(f"### `{name}`")
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
