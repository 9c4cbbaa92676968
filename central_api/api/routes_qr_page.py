"""``GET /q/{token}``: the page a phone's camera opens from a printed or emailed code.

Open (no API key: the code is the credential) and not part of the API document: it
answers people with HTML, or a redirect (``domain.code_opens.opening``). The printed URL
is upper case (``HTTPS://HOST/Q/TOKEN``, so that QR stores it compactly), so ``/Q/``
works as well as ``/q/``, and the token may come in any letter case. Whatever arrives,
the answer is a small page or a redirect, never a traceback, and it never repeats the
token.
"""

from __future__ import annotations

import logging
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central_api.codes import page as pages
from central_api.domain.code_opens.opening import open_code
from edge_sync.protocol import utcnow

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

#: on every answer: not stored anywhere (a code may be revoked the next minute, and a
#: cached redirect would skip the count), no referrer (the token would leak), no framing
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex",
}


def _html(page: pages.Page, status: int) -> HTMLResponse:
    headers = {**HEADERS, "Content-Security-Policy": pages.CSP, "Content-Language": page.lang}
    return HTMLResponse(pages.render(page), status_code=status, headers=headers)


def _answer(request: Request, token: str) -> Response:
    lang = pages.choose_lang(request.headers.get("accept-language"))
    if getattr(request.app.state, "code_keyring", None) is None:
        log.warning("q: this central process has no QR keys configured; codes cannot open")
        return _html(pages.page_for("unavailable", lang), 503)
    try:
        return _outcome(request, token, lang)
    except Exception:
        # A page for the shopper, the traceback for the operator's log only.
        log.exception("q: could not answer a code")
        return _html(pages.page_for("unavailable", lang), 503)


def _outcome(request: Request, token: str, lang: pages.Lang) -> Response:
    got = open_code(
        request.app.state.engine,
        request.app.state.code_keyring,
        token,
        utcnow(),
        record=request.method == "GET",
    )
    if got.location is not None:
        return RedirectResponse(got.location, status_code=got.status, headers=HEADERS)
    if got.page == "invalid":
        assert got.reason is not None
        return _html(pages.invalid_page(got.reason, lang), got.status)
    return _html(pages.page_for(cast(pages.PageId, got.page), lang, got.day), got.status)


@router.api_route("/q/{token:path}", methods=["GET", "HEAD"])
def open_code_lower(request: Request, token: str) -> Response:
    return _answer(request, token)


@router.api_route("/Q/{token:path}", methods=["GET", "HEAD"])
def open_code_upper(request: Request, token: str) -> Response:
    return _answer(request, token)
