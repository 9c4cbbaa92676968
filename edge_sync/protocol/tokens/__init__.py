"""QR tokens: one format and one verifier, shared by the kiosk and central.

``codec`` is the format (payload, base32, URL), ``keyring`` the public keys and
revocations a kiosk holds, ``verify`` the check and the signer. See docs/decisions.md
("QR tokens") for why the format is what it is.
"""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".codec": (
            "EPOCH",
            "MAX_TEXT",
            "MAX_VALIDITY_DAYS",
            "QR_V7_M_ALNUM",
            "Fields",
            "Kind",
            "TooLong",
            "code_url",
            "max_payload_for",
        ),
        ".keyring": (
            "ALL_GENERATIONS",
            "MAX_KEYS_MESSAGE_BYTES",
            "MAX_REVOCATIONS",
            "NO_REVOCATIONS",
            "Keyring",
            "KeysMessage",
            "PublicKey",
            "Revocation",
            "Revocations",
            "campaign_scope",
            "keys_message",
            "order_scope",
            "parse_keys_message",
            "profile_scope",
            "scope_hash",
            "token_scope",
        ),
        ".reasons": (
            "MESSAGES",
            "InvalidToken",
            "Reason",
        ),
        ".verify": (
            "Signer",
            "Token",
            "hash_of",
            "peek",
            "verify",
        ),
    },
)
