"""Reading JSON from the wire with bounds on nesting depth, Unicode and number size.

Python's ``json`` has no depth limit (it raises ``RecursionError`` somewhere past a
thousand levels) and accepts lone surrogates (``"\\ud800"``), which no UTF-8 encoder
can write afterwards. So central reads every message in two ways:

* the fast path, pydantic-core's ``from_json``: a Rust parser that refuses nesting
  beyond ~200 levels, lone surrogates, invalid UTF-8 and integers of more than 4,300
  digits. Every message a device really sends passes it;
* when that fails, ``_Parser``: a non-recursive parser with the same grammar that
  never fails on those three things but notes them as ``Flaw``\\ s with the place
  where they occur, and carries on: a subtree deeper than ``max_depth`` is skipped and
  replaced by ``TOO_DEEP``, a bad string has its surrogates replaced by U+FFFD, a
  number too long to read becomes ``None``. The caller then rejects only the part that
  holds a flaw (for a batch, the one event) and keeps the rest.

Anything else that is not JSON raises ``Malformed``, on both paths.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import from_json

from .envelope import DeadLetterReason

#: what replaces a subtree nested deeper than the limit
TOO_DEEP = "<nested too deep>"
#: integers with more digits than this cannot be read (CPython's own conversion limit)
MAX_INT_DIGITS = 4300
#: a flaw's place is kept to this many levels
_PATH_KEPT = 8


class Malformed(ValueError):
    """The payload is not JSON."""


@dataclass(frozen=True, slots=True)
class Flaw:
    reason: DeadLetterReason
    #: keys and indexes from the document's root to the flaw (at most ``_PATH_KEPT``)
    path: tuple[str | int, ...]
    detail: str


@dataclass(slots=True)
class Parsed:
    doc: Any
    #: the first flaw under each distinct two-level prefix of its path (for a batch:
    #: one per event), in document order; empty when the fast path read it
    flaws: list[Flaw] = field(default_factory=list)

    def flaws_under(self, *prefix: str | int) -> list[Flaw]:
        n = len(prefix)
        return [f for f in self.flaws if f.path[:n] == prefix]


def loads(payload: bytes, max_depth: int) -> Parsed:
    """``payload`` read as JSON. Fast when it is ordinary JSON; otherwise bounded by
    ``max_depth`` levels of nesting (the root container is level 1), with every bad
    string and unreadable number noted. Raises ``Malformed`` for what is not JSON."""
    try:
        return Parsed(from_json(payload))
    except ValueError:
        pass
    return _Parser(payload.decode("utf-8", "surrogateescape"), max_depth).parse()


def describe(path: tuple[str | int, ...]) -> str:
    """``("events", 3, "data")`` → ``events[3].data``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` levels (a container is one level; a
    scalar none). Iterative, and stops as soon as it knows."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, level = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if level > limit:
            return True
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = (
    ("true", True),
    ("false", False),
    ("null", None),
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
    ("-Infinity", float("-inf")),
)
#: inside a skipped subtree only strings and brackets matter
_SKIP = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_scanstring = json.decoder.scanstring  # the C implementation json.loads uses


def _valid_text(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Parser:
    """JSON as ``json.loads`` reads it (NaN and Infinity included), with an explicit
    stack instead of recursion."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.flaws: dict[tuple[str | int, ...], Flaw] = {}

    def fail(self, pos: int, what: str) -> Malformed:
        return Malformed(f"{what} at char {pos}")

    def flaw(self, reason: DeadLetterReason, path: list[str | int], detail: str) -> None:
        self.flaws.setdefault(tuple(path[:2]), Flaw(reason, tuple(path[:_PATH_KEPT]), detail))

    def ws(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()  # type: ignore[union-attr]

    def string(self, pos: int, path: list[str | int]) -> tuple[str, int]:
        """The string whose opening quote is at ``pos``."""
        try:
            s, end = _scanstring(self.text, pos + 1, True)
        except json.JSONDecodeError as err:
            raise self.fail(err.pos, err.msg) from None
        if not _valid_text(s):
            where = describe(tuple(path))
            self.flaw(
                DeadLetterReason.BAD_UNICODE,
                path,
                f"{where}: text is not valid Unicode (a lone surrogate or a byte that is not UTF-8)",
            )
            s = _SURROGATE.sub("\ufffd", s)
        return s, end

    def scalar(self, pos: int, path: list[str | int]) -> tuple[Any, int]:
        text = self.text
        c = text[pos] if pos < len(text) else ""
        if c == '"':
            return self.string(pos, path)
        m = _NUMBER.match(text, pos)
        if m is not None:
            digits = m.group()
            if m.group(1) or m.group(2):
                return float(digits), m.end()
            if len(digits.lstrip("-")) > MAX_INT_DIGITS:
                where = describe(tuple(path))
                self.flaw(
                    DeadLetterReason.OUT_OF_RANGE, path, f"{where}: integer of {len(digits)} digits"
                )
                return None, m.end()
            return int(digits), m.end()
        for word, value in _LITERALS:
            if text.startswith(word, pos):
                return value, pos + len(word)
        raise self.fail(pos, "expecting a value")

    def skip(self, pos: int) -> int:
        """The end of the container that opens at ``pos``, without building it."""
        level = 0
        for m in _SKIP.finditer(self.text, pos):
            tok = m.group()
            if tok in "[{":
                level += 1
            elif tok in "]}":
                level -= 1
                if level == 0:
                    return m.end()
        raise self.fail(len(self.text), "unterminated container")

    def key(self, pos: int, path: list[str | int]) -> tuple[str, int]:
        if pos >= len(self.text) or self.text[pos] != '"':
            raise self.fail(pos, "expecting a property name in double quotes")
        k, pos = self.string(pos, path)
        pos = self.ws(pos)
        if pos >= len(self.text) or self.text[pos] != ":":
            raise self.fail(pos, "expecting ':'")
        return k, self.ws(pos + 1)

    def parse(self) -> Parsed:
        text, n = self.text, len(self.text)
        stack: list[dict[str, Any] | list[Any]] = []
        #: keys and indexes down to the value being read; len(path) == len(stack)
        path: list[str | int] = []
        pos = self.ws(0)
        while True:
            # read one value at pos; containers push a frame and go on to their first item
            c = text[pos] if pos < n else ""
            if c == "{" or c == "[":
                if len(stack) >= self.max_depth:
                    pos = self.skip(pos)
                    self.flaw(
                        DeadLetterReason.TOO_DEEP,
                        path,
                        f"{describe(tuple(path))}: nested deeper than {self.max_depth} levels",
                    )
                    value: Any = TOO_DEEP
                else:
                    container: dict[str, Any] | list[Any] = {} if c == "{" else []
                    pos = self.ws(pos + 1)
                    close = "}" if c == "{" else "]"
                    if pos < n and text[pos] == close:
                        value, pos = container, pos + 1
                    else:
                        stack.append(container)
                        if c == "{":
                            path.append("")
                            k, pos = self.key(pos, path)
                            path[-1] = k
                        else:
                            path.append(0)
                        continue
            else:
                value, pos = self.scalar(pos, path)
            # attach it, then close as many containers as end here
            while True:
                if not stack:
                    pos = self.ws(pos)
                    if pos != n:
                        raise self.fail(pos, "extra data")
                    return Parsed(value, list(self.flaws.values()))
                parent = stack[-1]
                if isinstance(parent, list):
                    parent.append(value)
                else:
                    parent[path[-1]] = value  # type: ignore[index]
                pos = self.ws(pos)
                c = text[pos] if pos < n else ""
                if c == ",":
                    pos = self.ws(pos + 1)
                    if isinstance(parent, list):
                        path[-1] += 1  # type: ignore[operator]
                    else:
                        k, pos = self.key(pos, path)
                        path[-1] = k
                    break
                if c == ("]" if isinstance(parent, list) else "}"):
                    value = stack.pop()
                    path.pop()
                    pos += 1
                    continue
                raise self.fail(pos, "expecting ',' or the end of the container")
