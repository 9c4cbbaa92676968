"""The recipients CSV as spreadsheets export it: BOM, CRLF, ``;`` or tabs, bad rows named by
line with the good ones kept, and headers that cannot be used refused whole."""

from __future__ import annotations

import pytest

from central_api.codes.labels import A4, LETTER, LabelError, text_block
from central_api.domain.campaigns.recipients import RecipientsFileError, read


def test_excel_export_with_bom_crlf_and_semicolons() -> None:
    data = "\ufeffRecipient_ID;Name;Address_1\r\nC1;Zoë Müller;Hauptstraße 1\r\nC2;;\r\n;;\r\n"
    got = read(data.encode("utf-8"))
    assert got.delimiter == ";" and got.rejected == []
    assert [(r.line, r.recipient_id, r.label_lines) for r in got.good] == [
        (2, "C1", ["Zoë Müller", "Hauptstraße 1"]),
        (3, "C2", []),
    ]


def test_tabs_and_quoted_fields() -> None:
    got = read(b'recipient_id\tname\nC1\t"Lee, Ann"\n')
    assert got.good[0].name == "Lee, Ann"


def test_every_kind_of_bad_row_is_named_by_line_and_the_good_rows_stay() -> None:
    data = (
        b"recipient_id,name,address_1\n"
        b"C1,Ann,1 Main St\n"  # 2 good
        b",NoId,x\n"  # 3
        b"C 2,Space,x\n"  # 4
        b"C1,Again,x\n"  # 5
        b"C3,\xe9t\xe9,x\n"  # 6: Latin-1 bytes
        b"C4,two,many,fields\n"  # 7
        b"C5," + b"x" * 61 + b",y\n"  # 8
        b"C6,\xd0\x96enya,x\n"  # 9: Cyrillic: not in the label font
        b'C7,"open quote,x\n'  # 10: an unterminated quote runs to the end
    )
    got = read(data, "r.csv")
    assert [r.recipient_id for r in got.good] == ["C1"]
    reasons = {r.line: r.reason for r in got.rejected}
    assert reasons[3] == "recipient_id is empty"
    assert "' ' is not allowed" in reasons[4]
    assert reasons[5] == "recipient C1 is already on line 2"
    assert "not UTF-8" in reasons[6]
    assert reasons[7] == "4 fields, the header has 3"
    assert "61 characters, at most 60" in reasons[8]
    assert "cannot print" in reasons[9]
    assert 10 in reasons
    assert got.rejected[0].message("r.csv") == "r.csv: line 3: recipient_id is empty"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "no header"),
        (b"id,name\nC1,x\n", "unknown column 'id'"),
        (b"name\nx\n", "no recipient_id column"),
        (b"recipient_id,name,name\n", "appears twice"),
        ("recipient_id\nC1\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_unusable_files_are_refused_whole(data: bytes, why: str) -> None:
    with pytest.raises(RecipientsFileError, match=why):
        read(data)


def test_an_address_is_wrapped_or_refused_never_cut() -> None:
    lines = ["Dr. Maximiliane Müller-Lüdenscheidt", "Hauptstraße 123, 2. OG links", "80331 München"]
    for layout in (A4, LETTER):
        printed = " ".join(t for _, _, t in text_block(layout, lines))
        assert printed.split() == " ".join(lines).split()
    with pytest.raises(LabelError, match="do not fit"):
        text_block(
            LETTER, ["Name", *["a long address line with many words, as long as allowed"] * 4]
        )
    with pytest.raises(LabelError):
        text_block(A4, ["W" * 40])
