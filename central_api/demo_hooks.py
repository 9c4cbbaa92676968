"""The demo's stand-in for a CRM: a tiny HTTP server that receives central's webhooks
and checks each signature, as a real receiver must."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .domain.webhooks.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


@dataclass
class Hook:
    """One webhook delivery as the receiver saw it."""

    payload: dict[str, Any]
    signature_ok: bool


@dataclass
class HookReceiver:
    """``start()`` serves on 127.0.0.1 (a free port); ``url`` is where to subscribe."""

    secret: str = ""
    received: list[Hook] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/omk-hook"

    def got(self) -> list[Hook]:
        with self._lock:
            return list(self.received)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ts = self.headers.get(TIMESTAMP_HEADER, "")
                ok = bool(receiver.secret) and self.headers.get(SIGNATURE_HEADER) == sign(
                    receiver.secret, ts, body
                )
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                with receiver._lock:
                    receiver.received.append(Hook(payload, ok))
                # A bad signature is refused, as a real receiver would; central retries.
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, name="demo-webhooks", daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
