"""UK postcodes: what a resident may type, and what the hub stores and routes on.

Each row is one case of the specification: given what someone typed, then the
normalised postcode (or a refusal), and its area, district and sector.
"""

from __future__ import annotations

import pytest

from hub import postcodes
from hub.postcodes import PostcodeError


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        # Every valid shape of outward code.
        pytest.param("M1 1AE", "M1 1AE", id="A9 9AA"),
        pytest.param("B33 8TH", "B33 8TH", id="A99 9AA"),
        pytest.param("CR2 6XH", "CR2 6XH", id="AA9 9AA"),
        pytest.param("DN55 1PT", "DN55 1PT", id="AA99 9AA"),
        pytest.param("W1A 0AX", "W1A 0AX", id="A9A 9AA"),
        pytest.param("EC1A 1BB", "EC1A 1BB", id="AA9A 9AA"),
        pytest.param("GIR 0AA", "GIR 0AA", id="GIR 0AA (Girobank exception)"),
        pytest.param("gir0aa", "GIR 0AA", id="GIR 0AA lower case, no space"),
        # How people actually type them.
        pytest.param("ls9 7ab", "LS9 7AB", id="lower case"),
        pytest.param("Ls9 7aB", "LS9 7AB", id="mixed case"),
        pytest.param("LS97AB", "LS9 7AB", id="no space: LS97AB is LS9 7AB, not LS97 AB"),
        pytest.param("ls97ab", "LS9 7AB", id="no space, lower case"),
        pytest.param("LS197AB", "LS19 7AB", id="no space, two-digit district"),
        pytest.param("  LS9 7AB  ", "LS9 7AB", id="leading and trailing spaces"),
        pytest.param("LS9   7AB", "LS9 7AB", id="several spaces in the middle"),
        pytest.param("L S 9 7 A B", "LS9 7AB", id="spaces between every character"),
        pytest.param("LS9\t7AB\n", "LS9 7AB", id="tab and newline"),
        pytest.param("LS9\u00a07AB", "LS9 7AB", id="non-breaking space (pasted)"),
        pytest.param("w1a0ax", "W1A 0AX", id="A9A no space"),
        pytest.param("ec1a1bb", "EC1A 1BB", id="AA9A no space"),
        pytest.param("SW1A 2AA", "SW1A 2AA", id="AA9A Downing Street"),
        pytest.param("WC1B 3DG", "WC1B 3DG", id="AA9A with B in fourth position"),
    ],
)
def test_valid_postcodes_are_normalised(typed: str, normalised: str) -> None:
    assert postcodes.normalise(typed) == normalised
    assert str(postcodes.parse(typed)) == normalised


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="only spaces"),
        pytest.param(None, id="None"),
        pytest.param("LS9", id="outward code only"),
        pytest.param("LS9 7", id="sector only"),
        pytest.param("LS9 7A", id="unit too short"),
        pytest.param("LS9 7ABC", id="unit too long"),
        pytest.param("LS9 AAB", id="inward code without a digit"),
        pytest.param("LS123 7AB", id="three-digit district"),
        pytest.param("LSA 7AB", id="outward without a digit"),
        pytest.param("9S9 7AB", id="starts with a digit"),
        # The last two letters never use C, I, K, M, O or V.
        pytest.param("LS9 7CB", id="inward C in first letter"),
        pytest.param("LS9 7AI", id="inward I"),
        pytest.param("LS9 7KA", id="inward K"),
        pytest.param("LS9 7AM", id="inward M"),
        pytest.param("LS9 7OA", id="inward O"),
        pytest.param("LS9 7AV", id="inward V"),
        # Q, V and X are never the first letter.
        pytest.param("Q1 1AA", id="first letter Q"),
        pytest.param("V1 1AA", id="first letter V"),
        pytest.param("XS9 7AB", id="first letter X"),
        # I, J and Z are never the second letter.
        pytest.param("LI9 7AB", id="second letter I"),
        pytest.param("LJ9 7AB", id="second letter J"),
        pytest.param("LZ9 7AB", id="second letter Z"),
        # A9A and AA9A take only some letters in the last outward position.
        pytest.param("W1I 0AX", id="A9A with I in third position"),
        pytest.param("EC1C 1BB", id="AA9A with C in fourth position"),
        pytest.param("GIR 0AB", id="GIR with another unit"),
        pytest.param("LS9-7AB", id="dash instead of space"),
        pytest.param("LS9 7AB.", id="trailing punctuation"),
        pytest.param("ＬＳ９ ７ＡＢ", id="full-width characters"),
    ],
)
def test_invalid_postcodes_are_refused(typed: str | None) -> None:
    with pytest.raises(PostcodeError):
        postcodes.parse(typed)  # type: ignore[arg-type]


def test_refusal_message_does_not_repeat_what_was_typed() -> None:
    """Given a wrong postcode, the error carries no personal data (it may be logged)."""
    with pytest.raises(PostcodeError) as info:
        postcodes.parse("LS9 7OO")
    assert "LS9" not in str(info.value)
    assert "7OO" not in str(info.value)


@pytest.mark.parametrize(
    ("typed", "area", "district", "sector"),
    [
        ("LS9 7AB", "LS", "LS9", "LS9 7"),
        ("ls97ab", "LS", "LS9", "LS9 7"),
        ("LS19 7AB", "LS", "LS19", "LS19 7"),
        ("LS1 9AB", "LS", "LS1", "LS1 9"),
        ("M1 1AE", "M", "M1", "M1 1"),
        ("L1 8JQ", "L", "L1", "L1 8"),
        ("W1A 0AX", "W", "W1A", "W1A 0"),
        ("EC1A 1BB", "EC", "EC1A", "EC1A 1"),
        ("DN55 1PT", "DN", "DN55", "DN55 1"),
    ],
)
def test_area_district_and_sector(typed: str, area: str, district: str, sector: str) -> None:
    code = postcodes.parse(typed)
    assert (code.area, code.district, code.sector) == (area, district, sector)


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("LS9 7", "LS9 7"),
        ("ls9 7", "LS9 7"),
        ("LS9  7", "LS9 7"),
        (" LS8 5 ", "LS8 5"),
        ("LS97", "LS9 7"),
        ("LS19 7", "LS19 7"),
        ("W1A 0", "W1A 0"),
        ("EC1A 1", "EC1A 1"),
    ],
)
def test_configured_sectors_are_normalised(written: str, normalised: str) -> None:
    assert postcodes.normalise_sector(written) == normalised


@pytest.mark.parametrize(
    "written",
    ["", "LS9", "LS9 7A", "LS9 7AB", "QS9 7", "LS 7", "LS9 A", "7"],
)
def test_bad_configured_sectors_are_refused(written: str) -> None:
    with pytest.raises(PostcodeError, match="sector"):
        postcodes.normalise_sector(written)


@pytest.mark.parametrize(
    ("written", "normalised"),
    [("ls9", "LS9"), ("LS19", "LS19"), (" w1a ", "W1A"), ("EC1A", "EC1A"), ("M1", "M1")],
)
def test_configured_districts_are_normalised(written: str, normalised: str) -> None:
    assert postcodes.normalise_district(written) == normalised


@pytest.mark.parametrize("written", ["", "LS", "LS9 7", "LS123", "Q1", "9LS"])
def test_bad_configured_districts_are_refused(written: str) -> None:
    with pytest.raises(PostcodeError, match="district"):
        postcodes.normalise_district(written)


@pytest.mark.parametrize(("written", "normalised"), [("ls", "LS"), ("L", "L"), (" bd ", "BD"), ("M", "M")])
def test_configured_areas_are_normalised(written: str, normalised: str) -> None:
    assert postcodes.normalise_area(written) == normalised


@pytest.mark.parametrize("written", ["", "LS9", "LSX", "Q", "XL", "LI", "L5", "L S"])
def test_bad_configured_areas_are_refused(written: str) -> None:
    with pytest.raises(PostcodeError, match="area"):
        postcodes.normalise_area(written)
