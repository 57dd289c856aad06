"""Outcome link tokens (DESIGN.md §4 "After the referral"): signed, expiring, rotatable, tamper-evident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.links import (
    LinkExpiredError,
    LinkInvalidError,
    LinkKeyError,
    OutcomeLinks,
    StaticKeys,
    parse_keys,
)

NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
KEY_A = b"a" * 43
KEY_B = b"b" * 43
KEY_C = b"c" * 43


def links(*keys: bytes, days: int = 120) -> OutcomeLinks:
    return OutcomeLinks(StaticKeys(keys), "https://cchcc.example.org", days)


def test_given_a_token_when_checked_then_it_names_the_reference_spoke_and_expiry():
    token = links(KEY_A).token("HX4K-9TMR", "cchcc", NOW)
    claim = links(KEY_A).check(token, NOW + timedelta(days=1))
    assert (claim.reference, claim.spoke) == ("HX4K-9TMR", "cchcc")
    assert claim.expires == NOW + timedelta(days=120)
    assert links(KEY_A).url("HX4K-9TMR", "hub", NOW).startswith("https://cchcc.example.org/api/outcomes/HX4K-9TMR.hub.")


def test_a_token_carries_no_personal_data_and_is_url_safe():
    token = links(KEY_A).token("HX4K-9TMR", "lcc-employment-skills", NOW)
    reference, spoke, expires, signature = token.split(".")
    assert (reference, spoke, expires) == ("HX4K-9TMR", "lcc-employment-skills", str(int((NOW + timedelta(days=120)).timestamp())))
    assert all(c.isalnum() or c in "-_." for c in token) and len(signature) == 43


def _flip(text: str, index: int) -> str:
    c = text[index]
    return text[:index] + ("B" if c != "B" else "C") + text[index + 1:]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t.replace("HX4K-9TMR", "HX4K-9TMW"), id="other-reference"),
        pytest.param(lambda t: t.replace(".cchcc.", ".hwf."), id="other-spoke"),
        pytest.param(lambda t: t.replace(".cchcc.", ".hub."), id="hub-spoke"),
        pytest.param(lambda t: ".".join([*t.split(".")[:2], str(int(t.split(".")[2]) + 86400 * 365), t.split(".")[3]]), id="longer-expiry"),
        pytest.param(lambda t: _flip(t, len(t) - 5), id="signature-changed"),
        pytest.param(lambda t: t[:-1], id="truncated"),
        pytest.param(lambda t: t[: len(t) // 2], id="half"),
        pytest.param(lambda t: t + "A", id="extended"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "x" * 500, id="huge"),
        pytest.param(lambda t: t.lower(), id="lowercased"),
    ],
)
def test_given_a_tampered_or_truncated_token_when_checked_then_it_is_invalid(tamper):
    token = links(KEY_A).token("HX4K-9TMR", "cchcc", NOW)
    with pytest.raises(LinkInvalidError):
        links(KEY_A).check(tamper(token), NOW)


def test_given_a_token_signed_with_another_key_when_checked_then_it_is_invalid():
    forged = links(KEY_C).token("HX4K-9TMR", "cchcc", NOW)  # re-signed by someone else's key
    with pytest.raises(LinkInvalidError):
        links(KEY_A).check(forged, NOW)


def test_given_an_expired_token_when_checked_then_410_says_which_referral():
    token = links(KEY_A, days=120).token("HX4K-9TMR", "hwf", NOW)
    links(KEY_A).check(token, NOW + timedelta(days=120) - timedelta(seconds=1))  # still valid
    with pytest.raises(LinkExpiredError) as caught:
        links(KEY_A).check(token, NOW + timedelta(days=120))
    assert (caught.value.reference, caught.value.spoke) == ("HX4K-9TMR", "hwf")


def test_an_expired_token_with_a_bad_signature_is_invalid_not_expired():
    token = links(KEY_A, days=7).token("HX4K-9TMR", "hwf", NOW)
    with pytest.raises(LinkInvalidError):
        links(KEY_B).check(token, NOW + timedelta(days=30))


def test_given_a_rotation_then_links_signed_with_the_previous_key_still_work_and_new_ones_use_the_new_key():
    old_link = links(KEY_A).token("HX4K-9TMR", "cchcc", NOW)
    rotated = links(KEY_B, KEY_A)  # new current, old previous
    assert rotated.check(old_link, NOW).spoke == "cchcc"
    new_link = rotated.token("HX4K-9TMR", "cchcc", NOW)
    with pytest.raises(LinkInvalidError):
        links(KEY_A).check(new_link, NOW)  # signed with the new key
    # A second rotation drops the first key: its links stop working.
    with pytest.raises(LinkInvalidError):
        links(KEY_C, KEY_B).check(old_link, NOW)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "expected the current key"),
        ("short", "at least 32 characters"),
        (f"{'a' * 40},", "expected the current key"),
        (",".join(["k" * 40] * 3), "at most 2"),
    ],
)
def test_given_a_bad_key_parameter_then_the_error_names_it_and_shows_no_key(value, message):
    with pytest.raises(LinkKeyError, match=message) as caught:
        parse_keys(value, "parameter /cchcc-hub/outcome-link-key")
    assert "/cchcc-hub/outcome-link-key" in str(caught.value)
    assert "k" * 40 not in str(caught.value)


def test_two_keys_parse_current_first():
    assert parse_keys(f" {'n' * 43} , {'o' * 43} ", "p") == (b"n" * 43, b"o" * 43)
