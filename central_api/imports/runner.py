"""Running one import, from the CLI or the API: check every row, then write them in one
transaction (or, for a dry run, write them and roll back, so the counts are real)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from ..store.db import write_transaction
from .csvbase import ImportFailed, Parsed, RowError, Spec, decode, parse, print_refusal


@dataclass(frozen=True)
class Kind:
    """One kind of import: its file, its writer, and how a writer's refusal (an unknown
    SKU, a taken barcode) becomes errors on the file's lines."""

    name: str
    spec: Spec[Any]
    #: ``(conn, records, now) -> result``
    apply: Callable[[Connection, list[Any], datetime], Any]
    summary: Callable[[Any], str]
    refused: tuple[type[Exception], ...] = ()
    locate: Callable[[Exception, list[Any], list[int]], list[RowError]] | None = None


class _Rollback(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def write(engine: Engine, kind: Kind, parsed: Parsed[Any], now: datetime, dry_run: bool) -> Any:
    """``parsed`` written by ``kind.apply`` in one transaction. ``ImportFailed`` with the
    file's bad lines and the lines the writer refused (an unknown SKU…): then nothing
    is written. Rows are given to the writer even when some lines were bad, in a
    transaction rolled back, so one run reports every problem."""
    errors = list(parsed.errors)
    try:
        with write_transaction(engine) as conn:
            result = kind.apply(conn, parsed.records, now)
            if dry_run or errors:
                raise _Rollback(result)
    except _Rollback as done:
        result = done.result
    except kind.refused as err:
        assert kind.locate is not None
        errors += kind.locate(err, parsed.records, parsed.lines)
    if errors:
        raise ImportFailed(errors)
    return result


def import_bytes(engine: Engine, kind: Kind, raw: bytes, now: datetime, dry_run: bool) -> Any:
    return write(engine, kind, parse(decode(raw), kind.spec), now, dry_run)


def run_cli(database_url: str, kind: Kind, path: str, dry_run: bool) -> int:
    """The CLI: a progress bar on stderr, every bad line listed; exit 1 if refused, 2 for
    a file that cannot be read."""
    from tqdm import tqdm

    from edge_sync.protocol import utcnow

    from ..store.db import open_existing

    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as err:
        print(f"error: {path}: {err.strerror or err}", file=sys.stderr)
        return 2
    # central creates and migrates its database; an import into a mistyped path must not
    # make an empty one
    engine = open_existing(database_url)
    try:
        text = decode(raw)
        # disable=None: a bar on a terminal, nothing on a pipe or a log file
        with tqdm(
            desc=f"checking {file.name}", total=max(0, text.count("\n") - 1) or None,
            unit=" rows", disable=None,
        ) as bar:  # fmt: skip
            parsed = parse(text, kind.spec, tick=lambda: bar.update(1))
        with tqdm(desc="writing", total=len(parsed.records), unit=" rows", disable=None) as bar:
            result = write(engine, kind, parsed, utcnow(), dry_run)
            bar.update(len(parsed.records))
    except ImportFailed as err:
        print_refusal(path, err)
        return 1
    finally:
        engine.dispose()
    if dry_run:
        print(f"dry run, nothing written: {path} would import {kind.summary(result)}")
    else:
        print(f"imported {path}: {kind.summary(result)}")
    return 0
