"""``/api/v1/profiles/{id}/code``: a check-in code as JSON, PNG and SVG that decode back
to the URL and verify; the same code all month; 404s that say why; roles."""

from __future__ import annotations

import re
from datetime import date

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from central_api.codes.checkin import MAX_MONTHS, check_in_code, validity
from central_api.codes.qr_image import QUIET_ZONE
from central_api.domain.identity.erasure import erase_profile
from central_api.domain.identity.identity import merge
from central_api.domain.tokens.keystore import KeyStore
from central_api.domain.tokens.revocations import revoke
from central_api.store.db import write_transaction
from edge_sync.protocol import utcnow
from edge_sync.protocol.tokens import MAX_VALIDITY_DAYS, Kind, token_scope, verify
from kiosk.qr_decode import decode_frame
from tests.central.api.conftest import Keys, bearer

from .conftest import HOST, make_customer


def code(client: TestClient, key: str, pid: str, suffix: str = "", **params) -> object:
    return client.get(f"/api/v1/profiles/{pid}/code{suffix}", params=params, headers=bearer(key))


def test_json_png_and_svg_are_one_code_that_verifies(qclient, keys: Keys, engine, code_keys):
    pid = make_customer(qclient, keys, engine, "C-1")
    r = code(qclient, keys.integration, pid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["cache-control"] == "private, max-age=3600"
    assert (
        body["url"].startswith(f"HTTPS://{HOST.upper()}/Q/") and body["url"] == body["url"].upper()
    )
    token = verify(body["url"], code_keys.keyring())
    assert (token.kind, token.profile_id, token.token_hash) == (
        Kind.PROFILE,
        pid,
        body["token_hash"],
    )
    today = utcnow().date()
    assert body["not_before"] == today.replace(day=1).isoformat()
    assert (body["png_url"], body["svg_url"]) == (f"/api/v1/profiles/{pid}/code.png",
                                                  f"/api/v1/profiles/{pid}/code.svg")  # fmt: skip
    # No personal data in the code: the customer id is nowhere in what it decodes to.
    assert "C-1" not in repr(token.fields)

    png = qclient.get(body["png_url"], headers=bearer(keys.integration))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "private, max-age=3600"
    image = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert list(decode_frame(image).texts) == [body["url"]]

    svg = qclient.get(body["svg_url"], headers=bearer(keys.integration))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    n = int(re.search(r'viewBox="0 0 (\d+) \1"', svg.text).group(1))
    grid = np.full((n, n), 255, np.uint8)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", svg.text):
        grid[int(y), int(x) : int(x) + int(w)] = 0
    drawn = np.kron(grid, np.ones((8, 8), np.uint8))  # the SVG at 8 px a module
    assert list(decode_frame(drawn).texts) == [body["url"]]
    assert (grid[:QUIET_ZONE] == 255).all()


def test_the_same_code_all_month_and_months_choose_its_length(qclient, keys, engine):
    pid = make_customer(qclient, keys, engine, "C-2")
    first = code(qclient, keys.integration, pid).json()
    assert code(qclient, keys.marketer, pid).json() == first  # an email sent twice
    short = code(qclient, keys.integration, pid, months=1).json()
    assert short["token_hash"] != first["token_hash"] and short["not_before"] == first["not_before"]
    assert short["png_url"].endswith("/code.png?months=1")
    for bad in (0, MAX_MONTHS + 1, "x"):
        r = code(qclient, keys.integration, pid, months=bad)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "months"


@pytest.mark.parametrize(
    ("today", "months", "expected"),
    [
        (date(2026, 3, 17), 12, (date(2026, 3, 1), date(2027, 3, 31))),
        (date(2026, 12, 31), 1, (date(2026, 12, 1), date(2027, 1, 31))),
        (date(2026, 1, 1), 13, (date(2026, 1, 1), date(2027, 2, 28))),
        (date(2027, 12, 31), MAX_MONTHS, (date(2027, 12, 1), date(2030, 11, 30))),
    ],
)
def test_validity_is_aligned_to_months(today, months, expected):
    assert validity(today, months) == expected


def test_the_longest_validity_is_within_what_the_signer_gives():
    for year in (2027, 2028):
        for month in range(1, 13):
            first = date(year, month, 1)
            _, last = validity(first, MAX_MONTHS)
            assert (last - first).days <= MAX_VALIDITY_DAYS


def test_unknown_erased_and_merged_profiles_get_a_404_that_says_why(qclient, keys, engine):
    r = code(qclient, keys.integration, "p-00000000000000000000")
    assert r.status_code == 404 and "never created, or erased" in r.json()["detail"]
    a = make_customer(qclient, keys, engine, "C-3")
    b = make_customer(qclient, keys, engine, "C-4")
    with write_transaction(engine) as conn:
        merged = merge(conn, a, b, "same person", utcnow())
    gone = code(qclient, keys.integration, merged["merged"])
    assert gone.status_code == 404 and gone.json()["type"].endswith("profile-merged")
    assert merged["survivor"] in gone.json()["detail"]
    with write_transaction(engine) as conn:
        erase_profile(conn, merged["survivor"], "test", utcnow())
    for suffix in ("", ".png", ".svg"):
        r = code(qclient, keys.integration, merged["survivor"], suffix)
        assert r.status_code == 404 and "erased" in r.json()["detail"]


def test_a_profile_without_consent_still_gets_its_code(qclient, keys, engine):
    pid = make_customer(qclient, keys, engine, "C-5", consent=False)
    assert code(qclient, keys.integration, pid).status_code == 200


def test_a_revoked_code_is_replaced_by_the_next_generation(qclient, keys, engine, code_keys):
    pid = make_customer(qclient, keys, engine, "C-6")
    first = code(qclient, keys.integration, pid).json()
    with write_transaction(engine) as conn:
        revoke(conn, [token_scope(first["token_hash"])], utcnow())
    second = code(qclient, keys.integration, pid).json()
    assert second["token_hash"] != first["token_hash"]
    assert verify(second["url"], code_keys.keyring()).fields.generation == 1
    with engine.connect() as conn:  # the same one again: stable after the revocation too
        again = check_in_code(conn, code_keys.signer(), pid, utcnow().date(), 12)
    assert again.token_hash == second["token_hash"]


def test_roles_and_a_central_without_keys(qclient, keys, engine, client):
    pid = make_customer(qclient, keys, engine, "C-7")
    assert code(qclient, keys.admin, pid).status_code == 200
    assert code(qclient, keys.revoked, pid).status_code == 401
    assert qclient.get(f"/api/v1/profiles/{pid}/code").status_code == 401
    # ``client`` is an app made without signing keys: it says so, as a problem
    r = code(client, keys.integration, pid)
    assert r.status_code == 503 and r.json()["type"].endswith("codes-unavailable")


def test_a_key_directory_central_may_not_use_is_a_503(qclient, keys, engine, code_keys: KeyStore):
    pid = make_customer(qclient, keys, engine, "C-8")
    key_file = next(code_keys.dir.glob("k*.json"))
    key_file.chmod(0o644)
    r = code(qclient, keys.integration, pid)
    assert r.status_code == 503 and "chmod 600" in r.json()["detail"]
