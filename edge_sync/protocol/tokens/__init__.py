"""QR tokens: one format and one verifier, shared by the kiosk and central.

``codec`` is the format (payload, base32, URL), ``keyring`` the public keys and
revocations a kiosk holds, ``verify`` the check and the signer. See docs/decisions.md
("QR tokens") for why the format is what it is.
"""

from .codec import (
    EPOCH,
    MAX_TEXT,
    MAX_VALIDITY_DAYS,
    QR_V7_M_ALNUM,
    Fields,
    Kind,
    TooLong,
    code_url,
    max_payload_for,
)
from .keyring import (
    ALL_GENERATIONS,
    MAX_KEYS_MESSAGE_BYTES,
    MAX_REVOCATIONS,
    NO_REVOCATIONS,
    Keyring,
    KeysMessage,
    PublicKey,
    Revocation,
    Revocations,
    campaign_scope,
    keys_message,
    order_scope,
    parse_keys_message,
    profile_scope,
    scope_hash,
    token_scope,
)
from .verify import MESSAGES, InvalidToken, Reason, Signer, Token, hash_of, peek, verify

__all__ = [
    "ALL_GENERATIONS",
    "EPOCH",
    "MAX_KEYS_MESSAGE_BYTES",
    "MAX_REVOCATIONS",
    "MAX_TEXT",
    "MAX_VALIDITY_DAYS",
    "MESSAGES",
    "NO_REVOCATIONS",
    "QR_V7_M_ALNUM",
    "Fields",
    "InvalidToken",
    "Keyring",
    "KeysMessage",
    "Kind",
    "PublicKey",
    "Reason",
    "Revocation",
    "Revocations",
    "Signer",
    "Token",
    "TooLong",
    "campaign_scope",
    "code_url",
    "hash_of",
    "keys_message",
    "max_payload_for",
    "order_scope",
    "parse_keys_message",
    "peek",
    "profile_scope",
    "scope_hash",
    "token_scope",
    "verify",
]
