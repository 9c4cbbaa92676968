"""Benchmark of QR token checking and signing, each next to a bare baseline from the same run.

* token_verify_p99_ms: ``tokens.verify`` of a code URL (parse the URL, base32, the
  payload, the Ed25519 signature, validity, kind, store, a revocation list of 10,000
  scopes), p99 over single calls; target ≤ 1 ms. Baseline: a bare
  ``Ed25519PublicKey.verify`` of the same signed bytes; ``token_verify_ratio`` is ours ÷
  bare at p99.
* token_verify_kiosk_p99_ms: the same through ``EdgeClient.verify_code`` as a kiosk runs
  it, keys and 50,000 revocations read from a real edge.db.
* token_verify_cpu_p99_ms: the same p99 in this thread's CPU time, which leaves out
  the time the process waits for a core on a shared machine.
* token_sign_per_s: ``Signer.sign`` (pack, sign, base32) in codes per second; its
  ratio to bare ``Ed25519PrivateKey.sign`` of the same payloads is printed.

The ratio's target is ours (the issue sets only the 1 ms): checking a code may cost up
to three bare signature checks. ``--quick`` uses small sizes (to check that it runs).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks._common import median, percentile, quick, result
from edge_sync import EdgeClient, Outbox
from edge_sync.protocol.tokens import (
    Keyring,
    PublicKey,
    Revocation,
    Revocations,
    Signer,
    keys_message,
    verify,
)
from edge_sync.protocol.tokens.codec import DOMAIN, SIGNATURE_BYTES, from_text

HOST = "shop.example-retailer.com"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
NB, NA = date(2026, 1, 1), date(2026, 12, 31)


def codes(signer: Signer, n: int) -> list[str]:
    out = []
    for i in range(n):
        kind = "pcro"[i % 4]
        extra = {"r": {"campaign_id": f"cmp-{i % 50}"}, "o": {"store_id": "s042"}}.get(kind, {})
        subject = f"p-{i:020x}" if kind in "pr" else f"ord-{i}" if kind == "o" else f"cmp-{i}"
        out.append(signer.url(signer.sign(kind, subject, not_before=NB, not_after=NA, **extra)))
    return out


def timed(fn, items: list, clock=time.perf_counter) -> list[float]:
    """Milliseconds per call (``clock``: wall time, or this thread's CPU time)."""
    out = []
    for item in items:
        t = clock()
        fn(item)
        out.append((clock() - t) * 1000)
    return out


def revocations(n: int) -> list[Revocation]:
    return [Revocation(f"{i:032x}", 255, NA) for i in range(n)]


def main() -> int:
    small = quick()
    n = 2_000 if small else 20_000
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    signer = Signer(1, private, HOST)
    ring = Keyring([PublicKey.of(1, public.public_bytes_raw(), datetime(2025, 1, 1, tzinfo=UTC))])
    urls = codes(signer, n)
    revoked = Revocations(revocations(10_000))
    signed = [from_text(u.rsplit("/", 1)[1]) for u in urls]
    pairs = [(s[-SIGNATURE_BYTES:], DOMAIN + s[:-SIGNATURE_BYTES]) for s in signed]

    def ours(url: str) -> None:
        verify(url, ring, now=NOW, revoked=revoked, store_id="s042")

    def bare(pair: tuple[bytes, bytes]) -> None:
        public.verify(*pair)

    # Interleaved rounds, so that both see the same machine; the median round counts.
    rounds = 3
    ours_p99, bare_p99, ours_p50, cpu_p99 = [], [], [], []
    for _ in range(rounds):
        b = timed(bare, pairs)
        o = timed(ours, urls)
        bare_p99.append(percentile(b, 99))
        ours_p99.append(percentile(o, 99))
        ours_p50.append(percentile(o, 50))
        cpu_p99.append(percentile(timed(ours, urls, time.thread_time), 99))
    print(
        f"verify: p50 {median(ours_p50):.3f} ms, p99 {median(ours_p99):.3f} ms (CPU time p99 "
        f"{median(cpu_p99):.3f} ms); bare Ed25519 verify p99 {median(bare_p99):.3f} ms "
        f"({n} codes of 4 kinds, 10,000 revocations). On a shared machine the wall-clock "
        "p99 of both is mostly time spent descheduled."
    )

    with tempfile.TemporaryDirectory(prefix="omk-bench-qr-") as tmp:
        db = Path(tmp) / "edge.db"
        outbox = Outbox(db, store_id="s042", device_id="s042-k1", max_rows=1000,
                        max_bytes=2**30, clock_source="assume_synced")  # fmt: skip
        client = EdgeClient(outbox)
        client.codes.apply(keys_message(ring, revocations(50_000), NOW))
        sample = urls[: max(1000, n // 5)]
        kiosk = timed(lambda u: client.verify_code(u, now=NOW), sample)
        client.close()
    print(f"kiosk verify_code: p50 {percentile(kiosk, 50):.3f} ms, p99 {percentile(kiosk, 99):.3f} ms "
          "(edge.db with 50,000 revocations)")  # fmt: skip

    payloads = [s[:-SIGNATURE_BYTES] for s in signed]
    sign_rates, bare_rates = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for p in payloads:
            private.sign(DOMAIN + p)
        bare_rates.append(len(payloads) / (time.perf_counter() - t))
        t = time.perf_counter()
        codes(signer, len(payloads))
        sign_rates.append(len(payloads) / (time.perf_counter() - t))
    print(
        f"sign: {median(sign_rates):.0f} codes/s; bare Ed25519 sign {median(bare_rates):.0f}/s "
        f"(ratio {median(sign_rates) / median(bare_rates):.2f})"
    )

    result("token_verify_p99_ms", median(ours_p99), "<=", 1.0)
    result("token_verify_ratio", median(ours_p99) / median(bare_p99), "<=", 3.0)
    result("token_verify_kiosk_p99_ms", percentile(kiosk, 99), "<=", 1.0)
    result("token_verify_cpu_p99_ms", median(cpu_p99), "<=", 1.0)
    result("token_sign_per_s", median(sign_rates), ">=", 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
