"""Limits on a rules file, checked before its TOML is parsed.

``tomllib`` parses arrays and inline tables by recursion, so ``x = [[[[…]]]]`` a few
thousand deep raises ``RecursionError`` inside the parser; and it parses a dotted key
(``a.a.a.… = 1``) in time that grows with the square of its parts, into a document deep
enough to break whatever walks it next. A rules file is a few kilobytes and a handful of levels
deep (``central_api/domain/scoring/default_rules.toml``: 8 KB, 4 levels), so the bounds here are
generous for any real file and cheap to check.
"""

from __future__ import annotations

#: the largest rules file accepted, in bytes of UTF-8
MAX_RULES_BYTES = 256 * 1024
#: arrays and tables nested in one another (a file's top level is 0)
MAX_RULES_DEPTH = 16


class RulesTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"the rules file is {size} bytes, limit {MAX_RULES_BYTES}")
        self.size = size


class RulesTooDeep(Exception):
    def __init__(self, where: str) -> None:
        super().__init__(f"{where} nested more than {MAX_RULES_DEPTH} levels deep")
        self.where = where


def check_size(text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_RULES_BYTES:
        raise RulesTooLarge(size)


def check_nesting(text: str) -> None:
    """Brackets, braces and the dots of dotted keys outside strings and comments, counted
    as TOML reads them: raises ``RulesTooDeep`` past ``MAX_RULES_DEPTH``, before the
    parser recurses (arrays, inline tables) or slows down (tomllib takes a minute over a
    key of 50,000 parts: its time grows with the square of the parts)."""
    depth, dots, i, n = 0, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch in "[{":
            depth += 1
            if depth > MAX_RULES_DEPTH:
                raise RulesTooDeep(f"line {_line(text, i)}: arrays or inline tables")
        elif ch in "]}":
            depth = max(depth - 1, 0)
        if ch == ".":
            # one run of dots is one key (or a float's single dot after "=")
            dots += 1
            if dots > MAX_RULES_DEPTH:
                raise RulesTooDeep(f"line {_line(text, i)}: a dotted key")
        elif ch in "\n=,[]{}":
            dots = 0
        i += 1


def _line(text: str, i: int) -> int:
    return text.count("\n", 0, i) + 1


def _skip_string(text: str, i: int) -> int:
    """The index after the string that starts at ``i`` (or the end of an unclosed one;
    the parser says what is wrong with it)."""
    quote = text[i]
    triple = quote * 3
    escapes = quote == '"'
    if text.startswith(triple, i):
        j = i + 3
        while j < len(text):
            if escapes and text[j] == "\\":
                j += 2
                continue
            if text.startswith(triple, j):
                j += 3
                while j < len(text) and text[j] == quote:  # up to two quotes may end it
                    j += 1
                return j
            j += 1
        return len(text)
    j = i + 1
    while j < len(text) and text[j] != "\n":
        if escapes and text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return j
