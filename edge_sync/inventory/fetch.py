"""Fetching a snapshot from central over HTTP (``requests``), checked against its manifest.

``GET {central.url}{manifest.snapshot_url}`` with ``Authorization: Bearer <device key>``.
The body is read up to the manifest's size (one byte more is enough to know it is too
long), then its size and sha256 must be the manifest's: a body that is not exactly what
the manifest announced is never parsed, let alone loaded.

Two limits, so that a central that stops answering costs seconds, not the store's data:
``read_timeout_s`` is the longest central may stay silent (connecting, before the answer,
between two reads of the body), and ``timeout_s`` the longest the whole fetch may take
(looked at between pieces of ``_READ`` bytes). Either one passed is ``FetchFailed``,
which the sync retries; the connection is then closed, never reused.
"""

from __future__ import annotations

import time

import requests

from ..protocol.store_data import MAX_SNAPSHOT_BYTES, BadStoreData, Manifest, body_sha256

#: read in pieces this large, so that the deadline is looked at between them
_READ = 64 * 1024


class FetchFailed(Exception):
    """Central could not be asked or did not answer with the snapshot (try again later)."""


class SnapshotFetcher:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_s: float = 300.0,
        read_timeout_s: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.timeout_s = timeout_s
        self.read_timeout_s = min(read_timeout_s, timeout_s)
        self._session = requests.Session()

    def fetch(self, manifest: Manifest) -> bytes:
        """The body the manifest names, checked. ``FetchFailed`` when central is down or
        says no; ``BadStoreData`` when what came is not what the manifest announced."""
        if manifest.size > MAX_SNAPSHOT_BYTES:
            raise BadStoreData(f"manifest: snapshot of {manifest.size} bytes is too large")
        url = self.base_url + manifest.snapshot_url
        deadline = time.monotonic() + self.timeout_s
        # (connect, read): each wait on the socket is bounded by the read timeout
        timeout = (self.read_timeout_s, self.read_timeout_s)
        try:
            with self._session.get(url, headers=self._headers, timeout=timeout, stream=True) as r:
                if r.status_code != 200:
                    detail = r.text[:300].strip().replace("\n", " ")
                    raise FetchFailed(f"GET {url}: HTTP {r.status_code} {detail}")
                chunks, got = [], 0
                for chunk in r.iter_content(_READ):
                    chunks.append(chunk)
                    got += len(chunk)
                    if got > manifest.size:
                        break
                    if got < manifest.size and time.monotonic() > deadline:
                        raise FetchFailed(
                            f"GET {url}: not done after {self.timeout_s:g}s (timeout_s): "
                            f"{got} of {manifest.size} bytes"
                        )
        except requests.RequestException as err:
            raise FetchFailed(f"GET {url}: {type(err).__name__}: {err}") from None
        body = b"".join(chunks)
        if len(body) != manifest.size:
            raise BadStoreData(
                f"snapshot {manifest.version}: {'more than' if got > manifest.size else 'only'} "
                f"{min(len(body), manifest.size)} bytes, the manifest says {manifest.size}"
            )
        if body_sha256(body) != manifest.sha256:
            raise BadStoreData(
                f"snapshot {manifest.version}: sha256 {body_sha256(body)[:12]}… is not the "
                f"manifest's {manifest.sha256[:12]}…"
            )
        return body

    def close(self) -> None:
        self._session.close()
