"""What every CSV import shares: decoding, the header, rows with their line numbers,
one error per bad cell, and all or nothing (docs/decisions.md, "The CSV import is all
or nothing per file").

Spreadsheet exports are taken as they come: a UTF-8 byte-order mark is dropped, CRLF
line ends are fine, and a header with ``;`` (or tabs) and no comma makes the file
``;``- (or tab-) separated, as Excel writes CSV where the decimal mark is a comma; in
such a file a decimal comma is read as a decimal point. UTF-16 ("Unicode text") and
legacy code pages are refused with what to do instead. Header names are matched
without case or surrounding spaces; an unknown column is an error (a typo must not
silently drop a column), as is a missing required one.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    detail: str

    def __str__(self) -> str:
        where = f"line {self.line}: {self.column}: " if self.column else f"line {self.line}: "
        return where + self.detail


class ImportFailed(Exception):
    """The file was refused; nothing was written. ``errors``: every error, by line."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)  # (stable: a line keeps its order)
        self.lines = len({e.line for e in errors})
        super().__init__(f"{self.summary()}; first: {self.errors[0]}")

    def summary(self) -> str:
        n = len(self.errors)
        bad = f"{self.lines} bad line{'s' if self.lines != 1 else ''}"
        return bad if n == self.lines else f"{bad} ({n} errors)"


def decode(raw: bytes) -> str:
    """The file's text; ``ImportFailed`` (line 1) when it is not UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed([RowError(1, "", "the file is UTF-16 (Excel's \"Unicode text\"); "
                                     "save it as \"CSV UTF-8\" instead")])  # fmt: skip
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ImportFailed([RowError(line, "", f"not UTF-8 text (byte {raw[err.start]:#04x}); "
                                     "save the file as \"CSV UTF-8\"")]) from None  # fmt: skip


def sniff_delimiter(first_line: str) -> str:
    if "," not in first_line:
        if ";" in first_line:
            return ";"
        if "\t" in first_line:
            return "\t"
    return ","


class Cells:
    """One row's cells by column name, collecting an error per bad cell."""

    __slots__ = ("_at", "_row", "decimal_comma", "errors", "line")

    def __init__(self, line: int, at: dict[str, int], row: list[str], decimal_comma: bool) -> None:
        self.line = line
        self._at = at  # column name → index in ``row`` (shared by every row of a file)
        self._row = row
        self.decimal_comma = decimal_comma
        self.errors: list[RowError] = []

    def get(self, column: str) -> str:
        i = self._at.get(column)
        return "" if i is None else self._row[i]

    def take(self, column: str, parse: Callable[..., Any], *args: Any) -> Any:
        """``parse(cell, *args)``, or None with the error noted."""
        i = self._at.get(column)
        try:
            return parse("" if i is None else self._row[i], *args)
        except ValueError as err:
            self.errors.append(RowError(self.line, column, str(err)))
            return None


@dataclass(frozen=True)
class Spec(Generic[T]):
    """One kind of file: its columns, how a row becomes a record, and what must be
    unique within the file."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    #: the record of a row, or None when a cell was bad (the errors are in the Cells)
    build: Callable[[Cells], T | None]
    key: Callable[[T], Hashable]
    #: the key as the message names it, e.g. "SKU A-1"
    describe: Callable[[T], str]


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """The good rows' records, and the errors of the bad ones (the file is refused when
    there are any; the good rows are still checked against the database, so that one
    run reports every problem)."""

    records: list[T]
    #: the line each record came from
    lines: list[int]
    delimiter: str
    errors: list[RowError]


def parse(text: str, spec: Spec[T], tick: Callable[[], None] | None = None) -> Parsed[T]:
    """Every record of ``text``, and every bad line's errors; ``ImportFailed`` for a
    header that cannot be read."""
    end = text.find("\n")
    delimiter = sniff_delimiter(text if end < 0 else text[:end])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
        while len(header) > 1 and not header[-1]:
            header.pop()  # empty trailing columns, as spreadsheets add (rows drop theirs)
    except StopIteration:
        raise ImportFailed([RowError(1, "", "empty file: a header is required")]) from None
    except csv.Error as err:
        raise ImportFailed([RowError(1, "", f"not CSV: {err}")]) from None
    _check_header(header, spec)
    width = len(header)
    at = {name: i for i, name in enumerate(header)}
    records: list[T] = []
    lines: list[int] = []
    errors: list[RowError] = []
    first_line: dict[Hashable, int] = {}
    decimal_comma = delimiter == ";"
    for start, row in data_rows(reader, errors, tick):
        if len(row) > width and not any(c.strip() for c in row[width:]):
            row = row[:width]  # empty trailing cells, as spreadsheets add
        if len(row) != width:
            errors.append(RowError(start, "", f"{len(row)} fields, the header has {width}"))
            continue
        cells = Cells(start, at, row, decimal_comma)
        record = spec.build(cells)
        if cells.errors or record is None:
            errors.extend(cells.errors)
            continue
        key = spec.key(record)
        if key in first_line:
            errors.append(
                RowError(start, "", f"{spec.describe(record)} is also on line {first_line[key]}")
            )
            continue
        first_line[key] = start
        records.append(record)
        lines.append(start)
    return Parsed(records, lines, delimiter, errors)


def data_rows(
    reader: Any, errors: list[RowError], tick: Callable[[], None] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of each row after the header that is not blank (spreadsheets
    write blank rows as a row of separators), ``line`` being where the row starts. A
    broken quote is an error that ends the file: the reader cannot resynchronise."""
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            errors.append(RowError(line, "", f"not CSV: {err}"))
            return
        start, line = line, reader.line_num + 1
        if tick is not None:
            tick()
        if row and (row[0].strip() or any(c.strip() for c in row)):  # (most rows: row[0])
            yield start, row


def print_refusal(path: str, err: ImportFailed) -> None:
    """The CLI's report of a refused file, on stderr: every error, then the count."""
    for e in err.errors:
        print(f"{path}: {e}", file=sys.stderr)
    print(f"error: {err.summary()}; nothing was imported", file=sys.stderr)


def _check_header(header: list[str], spec: Spec[Any]) -> None:
    errors = []
    known = spec.required + spec.optional
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "column given twice"))
        elif name not in known:
            errors.append(
                RowError(
                    1, name or "(empty)", f"unknown column; the columns are {', '.join(known)}"
                )
            )
        seen.add(name)
    missing = [n for n in spec.required if n not in seen]
    if missing:
        errors.append(RowError(1, "", f"missing columns: {', '.join(missing)}"))
    if errors:
        raise ImportFailed(errors)


def render(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> str:
    """A CSV that ``parse`` reads back (quoted where needed, CRLF as Excel writes)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
