"""Referral references: short, unambiguous, readable over the phone (DESIGN.md §4)."""

from __future__ import annotations

import re

import pytest

from hub.references import ALPHABET, is_reference, new_reference, normalise_reference

LOOK_ALIKES = "0O1IL2Z5S8BUV"


def test_alphabet_has_no_look_alikes_and_no_repeats() -> None:
    assert not set(ALPHABET) & set(LOOK_ALIKES)
    assert len(set(ALPHABET)) == len(ALPHABET) == 23
    assert ALPHABET == ALPHABET.upper()


def test_new_references_are_two_groups_of_four_from_the_alphabet() -> None:
    for _ in range(500):
        ref = new_reference()
        assert re.fullmatch(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", ref), ref
        assert is_reference(ref)
        assert normalise_reference(ref) == ref


def test_new_references_do_not_repeat() -> None:
    """23**8 (7.8e10) combinations: 2,000 draws colliding has odds of about 1 in 40,000."""
    refs = [new_reference() for _ in range(2000)]
    assert len(set(refs)) == len(refs)


def test_new_references_use_the_whole_alphabet() -> None:
    """A generator stuck on part of the alphabet (or on one position) would fail this."""
    refs = [new_reference().replace("-", "") for _ in range(2000)]
    assert set("".join(refs)) == set(ALPHABET)
    for position in range(8):
        assert len({ref[position] for ref in refs}) > len(ALPHABET) // 2


@pytest.mark.parametrize(
    ("typed", "reference"),
    [
        ("HX4K-9TMR", "HX4K-9TMR"),
        ("hx4k-9tmr", "HX4K-9TMR"),
        ("HX4K9TMR", "HX4K-9TMR"),
        ("hx4k 9tmr", "HX4K-9TMR"),
        ("  HX4K - 9TMR  ", "HX4K-9TMR"),
        ("H X 4 K 9 T M R", "HX4K-9TMR"),
        ("HX-4K-9T-MR", "HX4K-9TMR"),
        ("HX4K--9TMR", "HX4K-9TMR"),
        ("HX4K\t9TMR\n", "HX4K-9TMR"),
    ],
)
def test_references_typed_or_read_out_are_tidied(typed: str, reference: str) -> None:
    assert normalise_reference(typed) == reference


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("", id="empty"),
        pytest.param(None, id="None"),
        pytest.param("HX4K-9TM", id="seven characters"),
        pytest.param("HX4K-9TMRA", id="nine characters"),
        pytest.param("HX4K-9TM0", id="zero"),
        pytest.param("HX4K-9TMO", id="letter O"),
        pytest.param("HX4K-9TM1", id="one"),
        pytest.param("HX4K-9TMI", id="letter I"),
        pytest.param("HX4K-9TML", id="letter L"),
        pytest.param("HX4K-9TM2", id="two"),
        pytest.param("HX4K-9TMZ", id="letter Z"),
        pytest.param("HX4K-9TM5", id="five"),
        pytest.param("HX4K-9TMS", id="letter S"),
        pytest.param("HX4K-9TM8", id="eight"),
        pytest.param("HX4K-9TMB", id="letter B"),
        pytest.param("HX4K-9TMU", id="letter U"),
        pytest.param("HX4K-9TMV", id="letter V"),
        pytest.param("HX4K_9TMR", id="underscore"),
        pytest.param("HX4K.9TMR", id="dot"),
        pytest.param("ＨＸ４Ｋ-９ＴＭＲ", id="full-width"),
    ],
)
def test_things_that_are_not_references_are_refused(typed: str | None) -> None:
    assert normalise_reference(typed) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "is_ref"),
    [
        ("HX4K-9TMR", True),
        ("hx4k-9tmr", False),  # is_reference checks the stored form; normalise first
        ("HX4K9TMR", False),
        (" HX4K-9TMR", False),
        ("HX4K-9TMR\n", False),
        ("HX4K-9TMO", False),
        ("", False),
        (None, False),
    ],
)
def test_is_reference_accepts_only_the_canonical_form(text: str | None, is_ref: bool) -> None:
    assert is_reference(text) is is_ref  # type: ignore[arg-type]
