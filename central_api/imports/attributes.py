"""CSV import of explicit profile attributes (CRM fields): ``central import-attributes FILE``
and ``POST /api/v1/profiles/attributes:import``.

The file has a header. One column names the profile — ``profile_id``, ``customer_id``,
``email_sha256`` or ``email`` (a plain address, hashed here as the online events'
``email_sha256`` is: SHA-256 of the trimmed, lower-cased address) — and every other
column is an attribute. A column the rules declare ``number`` (or ``bool``) is parsed
as one; others are text. An empty cell removes the attribute.

All or nothing per file: every row is checked first, and one bad line means nothing is
written and every bad line is reported (``line 1042: distance_km: not a number``), so a
CRM export is never half applied. A ``profile_id`` that is unknown is an error; one
that was merged is written to the survivor. A customer id or email not seen before gets
a new profile, as an online event naming it would.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from ..domain.identity.identity import live_profile, resolve_alias
from ..domain.profiles.profile_attributes import ProfileMerged, Written, set_attributes
from ..domain.scoring.active_rules import active_rules
from ..domain.scoring.attributes import (
    NAME_RE,
    NAME_RULE,
    AttributeProblems,
    BadAttribute,
    check_value,
)
from ..domain.scoring.rules import RuleSet
from ..store.db import write_transaction
from ..store.profile_tables import profile_aliases, profiles
from .csvbase import ImportFailed, RowError, data_rows, print_refusal

KEY_COLUMNS = ("profile_id", "customer_id", "email_sha256", "email")
_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_INT_RE = re.compile(r"^[+-]?\d{1,15}$")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    key: str
    patch: dict[str, Any]


@dataclass
class ImportResult:
    rows: int = 0
    profiles: int = 0
    created: int = 0
    written: Written = field(default_factory=Written)


def _typed(raw: str, kind: str | None) -> Any:
    """A cell as the value stored; ``ValueError`` with a reason when it does not parse."""
    if kind == "number":
        s = raw.strip()
        if _INT_RE.match(s):
            return int(s)
        try:
            v = float(s)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(v):
            raise ValueError("not a finite number")
        return v
    if kind == "bool":
        s = raw.strip().lower()
        if s in _TRUE or s in _FALSE:
            return s in _TRUE
        raise ValueError("not a boolean (true/false, yes/no, 1/0)")
    return raw


def _key(kind: str, raw: str) -> str:
    value = raw.strip()
    if kind == "email":
        if "@" not in value or len(value) > 320:
            raise ValueError("not an email address")
        return hashlib.sha256(value.lower().encode("utf-8")).hexdigest()
    if kind == "email_sha256":
        if not _SHA_RE.match(value):
            raise ValueError("not a SHA-256 in lower-case hex")
        return value
    if not _KEY_RE.match(value):
        raise ValueError("not an id (1..64 of A-Z a-z 0-9 . _ : -)")
    return value


def parse_rows(
    lines: Iterable[str], rules: RuleSet, tick: Callable[[], None] | None = None
) -> tuple[str, list[Row]]:
    """The key kind and the rows of a CSV; ``ImportFailed`` lists every bad line."""
    reader = csv.reader(lines, strict=True)
    errors: list[RowError] = []
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowError(1, "", "empty file: a header is required")]) from None
    except csv.Error as err:
        raise ImportFailed([RowError(1, "", f"not CSV: {err}")]) from None
    header = [h.strip() for h in header]
    keys = [h for h in header if h in KEY_COLUMNS]
    derived = {d.name for d in rules.attributes.derived}
    if len(keys) != 1:
        detail = "no key column" if not keys else f"several key columns ({', '.join(keys)})"
        errors.append(RowError(1, "", f"{detail}: one of {', '.join(KEY_COLUMNS)} is required"))
    seen: set[str] = set()
    for name in header:
        if name in KEY_COLUMNS:
            continue
        if not NAME_RE.match(name):
            errors.append(RowError(1, name, NAME_RULE))
        elif name in derived:
            errors.append(RowError(1, name, "derived by the rules; it cannot be imported"))
        elif name in seen:
            errors.append(RowError(1, name, "column given twice"))
        seen.add(name)
    if errors:
        raise ImportFailed(errors)
    kind = keys[0]
    at = header.index(kind)
    declared = rules.attributes.explicit
    rows: list[Row] = []
    for start, cells in data_rows(reader, errors, tick):
        if len(cells) != len(header):
            errors.append(RowError(start, "", f"{len(cells)} fields, the header has {len(header)}"))
            continue
        try:
            key = _key(kind, cells[at])
        except ValueError as err:
            errors.append(RowError(start, kind, str(err)))
            key = ""
        patch: dict[str, Any] = {}
        for name, raw in zip(header, cells, strict=True):
            if name == kind:
                continue
            if raw == "":
                patch[name] = None
                continue
            try:
                patch[name] = check_value(name, _typed(raw, declared.get(name)), declared.get(name))
            except BadAttribute as err:
                errors.append(RowError(start, name, err.reason))
            except ValueError as err:
                errors.append(RowError(start, name, str(err)))
        rows.append(Row(start, key, patch))
    if errors:
        raise ImportFailed(errors)
    return kind, rows


def import_rows(
    engine: Engine,
    kind: str,
    rows: list[Row],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write the rows in one transaction (see the module's docstring)."""
    result = ImportResult(rows=len(rows))
    alias_kind = "email_sha256" if kind == "email" else kind
    with write_transaction(engine) as conn:
        active = active_rules(conn)
        values = sorted({r.key for r in rows})
        target: dict[str, str] = {}
        errors: list[RowError] = []
        if alias_kind == "profile_id":
            found = {}
            for i in range(0, len(values), 5000):
                q = select(profiles.c.id, profiles.c.status).where(
                    profiles.c.id.in_(values[i : i + 5000])
                )
                found.update({r.id: r.status for r in conn.execute(q)})
            for v in values:
                if v in found:
                    target[v] = v if found[v] == "active" else live_profile(conn, v)
            errors = [
                RowError(r.line, kind, f"no profile {r.key}") for r in rows if r.key not in found
            ]
        else:
            pa = profile_aliases.c
            for i in range(0, len(values), 5000):
                q = select(pa.value, pa.profile_id).where(
                    pa.kind == alias_kind, pa.value.in_(values[i : i + 5000])
                )
                for value, pid in conn.execute(q):
                    target[value] = live_profile(conn, pid)
            for v in values:
                if v not in target:
                    target[v] = resolve_alias(conn, alias_kind, v, now)
                    result.created += 1
        if errors:
            raise ImportFailed(errors)
        patches = [(target[r.key], r.patch) for r in rows]
        try:
            result.written = set_attributes(conn, patches, active, now, progress=progress)
        except AttributeProblems as err:
            first = {}
            for r in rows:
                first.setdefault(target[r.key], r.line)
            raise ImportFailed(
                [RowError(min(first.values()), p.name, p.reason) for p in err.problems]
            ) from None
        except ProfileMerged as err:  # merged meanwhile (a concurrent merge)
            raise ImportFailed([RowError(rows[0].line, kind, str(err))]) from None
        result.profiles = len(result.written.attributes)
    return result


def import_csv_text(engine: Engine, text: str, now: datetime) -> ImportResult:
    with engine.connect() as conn:
        rules = active_rules(conn).scoring
    kind, rows = parse_rows(io.StringIO(text, newline=""), rules)
    return import_rows(engine, kind, rows, now)


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        yield from f


def run_import(database_url: str, path: str) -> int:
    """The CLI: progress bars on stderr, every bad line listed; exit 1 if refused."""
    from tqdm import tqdm

    from edge_sync.protocol import utcnow

    from ..store.db import open_existing

    file = Path(path)
    if not file.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    # central creates and migrates its database; an import into a mistyped path must
    # not make an empty one
    engine = open_existing(database_url)
    try:
        with engine.connect() as conn:
            rules = active_rules(conn).scoring
        # disable=None: a bar on a terminal, nothing on a pipe or a log file
        with tqdm(desc="checking", unit=" rows", disable=None) as bar:
            kind, rows = parse_rows(_lines(file), rules, tick=lambda: bar.update(1))
        with tqdm(desc="writing", unit=" profiles", disable=None) as bar:
            result = import_rows(engine, kind, rows, utcnow(), progress=bar.update)
    except UnicodeDecodeError as err:
        print(f"error: {path}: not UTF-8 text ({err.reason} at byte {err.start})", file=sys.stderr)
        return 1
    except ImportFailed as err:
        print_refusal(path, err)
        return 1
    finally:
        engine.dispose()
    print(
        f"imported {result.rows} rows: {result.profiles} profiles ({result.created} new), "
        f"{len(result.written.fired)} thresholds crossed"
    )
    return 0
