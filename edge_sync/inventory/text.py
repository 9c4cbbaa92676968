"""Search text: the query's words as FTS5 sees them, and cheap typo candidates.

FTS5's ``unicode61`` tokenizer (``remove_diacritics 2``) folds case and accents and
splits on anything that is not a letter or digit; ``words`` does the same in Python so
that a query word and an indexed word compare equal ("Müller" → "muller").

A typo is tried only when the search found nothing: each query word that is not in the
vocabulary (``product_words``, the index's words, built at load) is replaced by the
vocabulary words one edit away (a letter deleted, added, changed or two swapped). The
candidates are generated here (a few hundred for a word of eight letters) and looked up
by primary key, which costs far less than comparing against every word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SPLIT = re.compile(r"[^\w]+|_+")
#: shorter words are not corrected: one edit away from them is half the vocabulary
MIN_TYPO_LEN = 4
#: at most this many query words are looked at for typos
MAX_TYPO_WORDS = 4
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(fold(text)) if w]


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_query(
    ws: list[str], prefix: bool = True, alternatives: dict[str, list[str]] | None = None
) -> str:
    """An FTS5 MATCH expression: every word must match; each word also matches as a
    prefix, except a word already replaced by typo candidates (which are whole words).
    A query of one word of one character matches it only whole, else "a" would match
    half the catalog; next to other words ("dr 1") it is a prefix too."""
    alternatives = alternatives or {}
    parts = []
    for w in ws:
        alts = alternatives.get(w)
        if alts:
            parts.append("(" + " OR ".join(_quote(a) for a in alts) + ")")
        elif prefix and (len(w) > 1 or len(ws) > 1):
            parts.append(_quote(w) + "*")
        else:
            parts.append(_quote(w))
    return " AND ".join(parts)


def edits1(word: str, alphabet: str = ALPHABET) -> set[str]:
    """Every string one edit (deletion, transposition, substitution, insertion) away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in alphabet}
    out |= {a + c + b for a, b in splits for c in alphabet}
    out.discard(word)
    return out


def vocabulary(fields: Iterable[str]) -> set[str]:
    """The words of ``fields`` for the typo vocabulary: not those with digits (a barcode
    or SKU one digit off is another product, not a typo)."""
    return {w for f in fields for w in words(f) if not any(ch.isdigit() for ch in w)}
