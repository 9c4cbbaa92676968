"""The recipients file of a direct-mail drop: CSV in, good rows and bad rows (by line) out.

Columns (a header line names them, in any order; only ``recipient_id`` is required):

* ``recipient_id``: the retailer's id for the customer, the same one online events
  carry as ``customer_id`` (``[A-Za-z0-9._:-]``, at most 64): central maps it to a
  profile through that alias, creating the profile when it is new. It never goes into
  the code: the code names the profile.
* ``name``, ``address_1`` … ``address_4``: printed on the label and copied to the
  mail-merge file only; central does not store them.

What spreadsheets export is read as it comes: UTF-8 with or without a byte-order mark,
CRLF or LF line ends, and ``,``, ``;`` or tab between fields (told by the header line).
A row that cannot be used is reported with its line number and why, and the others go
on: no id, an id with other characters, an id already on an earlier line, a field too
long for a label, characters the label font cannot print, bytes that are not UTF-8, or
a number of fields other than the header's. A header that is not usable (no
``recipient_id`` column, an unknown or repeated column) stops the file before anything.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

REQUIRED = "recipient_id"
ADDRESS_COLUMNS = ("address_1", "address_2", "address_3", "address_4")
COLUMNS = (REQUIRED, "name", *ADDRESS_COLUMNS)
#: one label line at the smallest size the labels print at
MAX_FIELD_CHARS = 60
MAX_ID_CHARS = 64
#: a file larger than this is refused unread (200,000 rows of full labels fit)
MAX_FILE_BYTES = 256 * 1024 * 1024
_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_DELIMITERS = (",", ";", "\t")


class RecipientsFileError(Exception):
    """The file as a whole cannot be read (its header, its size); nothing was made."""


@dataclass(frozen=True, slots=True)
class Recipient:
    line: int
    recipient_id: str
    name: str = ""
    address: tuple[str, ...] = ()

    @property
    def label_lines(self) -> list[str]:
        return [x for x in (self.name, *self.address) if x]


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str
    #: the row's fields as read (undecodable bytes shown as U+FFFD)
    fields: tuple[str, ...] = ()

    def message(self, path: str) -> str:
        return f"{path}: line {self.line}: {self.reason}"


@dataclass(slots=True)
class Recipients:
    good: list[Recipient] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    delimiter: str = ","


def _printable(text: str) -> str | None:
    """Why ``text`` cannot be printed on a label (None when it can). The label font is
    one of the PDF standard fonts, which print Windows-1252's characters."""
    for ch in text:
        if ord(ch) < 0x20 or ord(ch) == 0x7F or 0xDC80 <= ord(ch) <= 0xDCFF:
            if 0xDC80 <= ord(ch) <= 0xDCFF:
                return "bytes that are not UTF-8 (save the file as CSV UTF-8)"
            return f"a control character (U+{ord(ch):04X})"
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            return f"{ch!r} (U+{ord(ch):04X}), which the label font cannot print"
    return None


def _header(raw: list[str], path: str) -> list[str]:
    names = [h.strip().lower() for h in raw]
    for bad in names:
        if bad and 0xDC80 <= max(map(ord, bad)) <= 0xDCFF:
            raise RecipientsFileError(f"{path}: line 1: the header is not UTF-8")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise RecipientsFileError(
            f"{path}: line 1: unknown column {unknown[0]!r}; the columns are "
            + ", ".join(COLUMNS)
            + f" ({REQUIRED} required)"
        )
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise RecipientsFileError(f"{path}: line 1: column {sorted(seen)[0]!r} appears twice")
    if REQUIRED not in names:
        raise RecipientsFileError(
            f"{path}: line 1: no {REQUIRED} column; the header must name the columns, "
            f"e.g. {','.join(COLUMNS)}"
        )
    return names


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, its fields), rows of blank fields left out."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, [f"\x00csv:{err}"]
            continue
        if any(f.strip() for f in row):
            yield start, row


def read(data: bytes, path: str = "recipients.csv") -> Recipients:
    """Parse a recipients file (its bytes) into good rows and rejected ones."""
    if len(data) > MAX_FILE_BYTES:
        raise RecipientsFileError(f"{path}: {len(data)} bytes, more than {MAX_FILE_BYTES}")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RecipientsFileError(
            f"{path}: the file is UTF-16 (Excel's 'Unicode text'); save it as CSV UTF-8"
        )
    # Undecodable bytes become lone surrogates, so that the rows around them still read
    # and the row holding them is reported by its line.
    text = data.decode("utf-8", errors="surrogateescape")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise RecipientsFileError(f"{path}: line 1: no header (the file is empty)")
    delimiter = max(_DELIMITERS, key=first.count)
    out = Recipients(delimiter=delimiter)
    rows = _rows(text, delimiter)
    try:
        _, raw_header = next(rows)
    except StopIteration:  # pragma: no cover - a non-blank first line is a row
        raise RecipientsFileError(f"{path}: no header") from None
    if raw_header and raw_header[0].startswith("\x00csv:"):
        raise RecipientsFileError(f"{path}: line 1: {raw_header[0][5:]}")
    names = _header(raw_header, path)
    seen: dict[str, int] = {}
    for line, row in rows:
        why = _problem(row, names, seen)
        if why is not None:
            shown = tuple(f.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                          for f in row if not f.startswith("\x00csv:"))  # fmt: skip
            out.rejected.append(Rejected(line, why, shown))
            continue
        doc = dict(zip(names, (f.strip() for f in row), strict=True))
        rid = doc[REQUIRED]
        seen[rid] = line
        out.good.append(
            Recipient(
                line,
                rid,
                doc.get("name", ""),
                tuple(doc[c] for c in ADDRESS_COLUMNS if doc.get(c)),
            )
        )
    return out


def _problem(row: list[str], names: list[str], seen: dict[str, int]) -> str | None:
    if row and row[0].startswith("\x00csv:"):
        return f"not CSV: {row[0][5:]}"
    if len(row) != len(names):
        return f"{len(row)} fields, the header has {len(names)}"
    doc = dict(zip(names, (f.strip() for f in row), strict=True))
    for name, value in doc.items():
        why = _printable(value)
        if why is not None:
            return f"{name}: {why}"
    rid = doc[REQUIRED]
    if not rid:
        return f"{REQUIRED} is empty"
    if len(rid) > MAX_ID_CHARS:
        return f"{REQUIRED}: {len(rid)} characters, at most {MAX_ID_CHARS}"
    if not _ID_RE.match(rid):
        bad = next(c for c in rid if not re.match(r"[A-Za-z0-9._:-]", c))
        return f"{REQUIRED}: {bad!r} is not allowed (letters, digits, '.', '_', ':' and '-')"
    if rid in seen:
        return f"recipient {rid} is already on line {seen[rid]}"
    for name, value in doc.items():
        if name != REQUIRED and len(value) > MAX_FIELD_CHARS:
            return f"{name}: {len(value)} characters, at most {MAX_FIELD_CHARS} fit on a label"
    return None
