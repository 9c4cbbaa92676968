"""The CSV base reads back what it writes, whatever the cells hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from central_api.imports.csvbase import Cells, Spec, parse, render

COLUMNS = ("a", "b", "c")
# any text a cell can hold: separators, quotes, line breaks, non-ASCII; not blank and
# without surrounding spaces (cells are trimmed), no NUL (csv refuses it)
cell = (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


def _build(c: Cells) -> tuple[str, ...]:
    return tuple(c.get(n).strip() for n in COLUMNS)


SPEC: Spec[tuple[str, ...]] = Spec(COLUMNS, (), _build, key=lambda r: r, describe=str)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, cell), unique=True, max_size=8),
       delimiter=st.sampled_from([",", ";"]))  # fmt: skip
def test_parse_reads_what_render_writes(rows: list[tuple[str, str, str]], delimiter: str) -> None:
    parsed = parse(render(COLUMNS, rows, delimiter), SPEC)
    assert parsed.errors == []
    assert parsed.records == rows
    assert parsed.delimiter == delimiter
    # each record's line is where its row starts (cells may hold line breaks)
    starts = [1 + render(COLUMNS, rows[:i], delimiter).count("\n") for i in range(len(rows))]
    assert parsed.lines == starts
