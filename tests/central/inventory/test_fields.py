"""The one-value checks: barcodes and their check digits, prices, images, categories,
store fields (no database)."""

from __future__ import annotations

import pytest

from central_api.domain.inventory import fields as f


@pytest.mark.parametrize(
    ("code", "stored"),
    [
        ("4006381333931", "4006381333931"),  # EAN-13
        ("96385074", "96385074"),  # EAN-8
        ("036000291452", "0036000291452"),  # UPC-A, stored as the EAN-13 scanners read
        (" 5901234123457 ", "5901234123457"),
    ],
)
def test_valid_barcodes(code: str, stored: str) -> None:
    assert f.parse_barcode(code) == stored


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("4006381333932", "4006381333932: check digit 2 is wrong for an EAN-13; expected 1"),
        ("96385070", "check digit 0 is wrong for an EAN-8; expected 4"),
        ("036000291453", "check digit 3 is wrong for an UPC-A; expected 2"),
        ("4.00638E+12", "exponent form"),
        ("400638133393", "check digit"),  # 12 digits: read as a UPC-A, and wrong
        ("40063813339", "11 digits: EAN-8 has 8, UPC-A 12, EAN-13 13 (did a spreadsheet drop a leading 0?)"),
        ("ABC123", "digits only"),
        ("", "digits only"),
    ],
)  # fmt: skip
def test_bad_barcodes_say_why(code: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as err:
        f.parse_barcode(code)
    assert message in str(err.value)


def test_check_digit_against_every_digit() -> None:
    # exactly one last digit makes a valid code
    body = "400638133393"
    valid = [d for d in "0123456789" if _ok(body + d)]
    assert valid == ["1"] == [str(f.check_digit(body))]


def _ok(code: str) -> bool:
    try:
        f.parse_barcode(code)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("text", "currency", "comma", "minor"),
    [("12.99", "EUR", False, 1299), ("12.9", "EUR", False, 1290), ("12", "EUR", False, 1200),
     ("0", "EUR", False, 0), ("1500", "JPY", False, 1500), ("12.990", "EUR", False, 1299),
     ("12,99", "EUR", True, 1299), ("0.10", "USD", False, 10)],
)  # fmt: skip
def test_prices_in_minor_units(text: str, currency: str, comma: bool, minor: int) -> None:
    assert f.parse_price(text, currency, comma) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [("12.999", "EUR", "more decimals than EUR's 2"), ("1.5", "JPY", "JPY's 0"),
     ("-1", "EUR", "a number at least 0"), ("12,99", "EUR", "decimal point"),
     ("1,299.00", "EUR", "no thousands separators"), ("abc", "EUR", "not a price"),
     ("1e3", "EUR", "not a price")],
)  # fmt: skip
def test_bad_prices(text: str, currency: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        f.parse_price(text, currency)
    assert message in str(err.value)


def test_other_fields() -> None:
    assert f.parse_category(" Garden > Tools / Spades ") == "Garden/Tools/Spades"
    assert f.parse_image("products/spade.png") == "products/spade.png"
    assert f.parse_image("https://img.example.com/a.jpg") == "https://img.example.com/a.jpg"
    assert f.parse_image("") == ""
    assert f.parse_timezone("Europe/Berlin") == "Europe/Berlin"
    assert f.parse_flag("Yes") is True and f.parse_flag("") is False
    assert f.parse_coordinate("48,1372", -90, 90, decimal_comma=True) == 48.1372
    assert f.parse_count("0") == 0 and f.parse_sku("GW-00001") == "GW-00001"
    for parse, text, message in [
        (f.parse_category, "Garden//Tools", "none empty"),
        (f.parse_image, "../etc/passwd", "neither an http(s) URL nor an asset path"),
        (f.parse_image, "ftp://x/a.png", "http:// or https://"),
        (f.parse_timezone, "CEST", "not an IANA time zone"),
        (f.parse_timezone, "europe/berlin", "not an IANA time zone"),
        (f.parse_flag, "maybe", "not true or false"),
        (f.parse_count, "-3", "negative"),
        (f.parse_count, "2.5", "not a whole number"),
        (f.parse_sku, "has space", "not a SKU"),
        (f.parse_store_id, "S001", "lower case"),
    ]:
        with pytest.raises(ValueError) as err:
            parse(text)
        assert message in str(err.value), (text, str(err.value))
    with pytest.raises(ValueError, match="outside -90 to 90"):
        f.parse_coordinate("91", -90, 90)
