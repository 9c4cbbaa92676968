"""A profile's check-in code (kind ``p``), as an email or SMS service asks for it.

The same request gives the same code all month: validity runs from the first day of
the current UTC month through the last day of the month ``months`` later, and Ed25519
signatures are deterministic, so an email sent twice (or re-rendered) carries one code.
A code revoked on its own (``token:`` scope) or by a generation of the profile's codes
is never handed out again: the next generation is signed instead.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection

from edge_sync.protocol.tokens import ALL_GENERATIONS, Kind, Signer, Token

from ..domain.tokens.revocations import revoked_among

DEFAULT_MONTHS = 12
#: the last day is then the day before the first of the month 36 months on: at most
#: 1,096 days away, within the signer's ``MAX_VALIDITY_DAYS`` (1,098) of any day
MAX_MONTHS = 35


class AllRevoked(Exception):
    """Every generation of the profile's check-in code is revoked."""


def validity(today: date, months: int) -> tuple[date, date]:
    """``(not_before, not_after)``: this month's first day, and the last day of the
    month ``months`` after this one (both inclusive)."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be 1 to {MAX_MONTHS}")
    first = today.replace(day=1)
    years, month0 = divmod(first.month - 1 + months + 1, 12)
    return first, date(first.year + years, month0 + 1, 1) - timedelta(days=1)


def check_in_code(
    conn: Connection, signer: Signer, profile_id: str, today: date, months: int
) -> Token:
    """The profile's check-in code for this month and length of validity."""
    not_before, not_after = validity(today, months)
    for generation in range(ALL_GENERATIONS):
        token = signer.sign(
            Kind.PROFILE, profile_id, not_before=not_before, not_after=not_after,
            generation=generation,
        )  # fmt: skip
        hashes = token.scope_hashes()
        if not revoked_among(conn, hashes).revokes(hashes, generation):
            return token
    raise AllRevoked(f"every check-in code of profile {profile_id} is revoked")
