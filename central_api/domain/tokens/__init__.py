"""QR tokens at central: the signing keys (``keystore``), revocations (``revocations``),
checking the tokens events carry (``check``) and pushing keys and revocations to the
kiosks (``publish``). The format and the verifier are ``edge_sync.protocol.tokens``,
shared with the kiosks."""
