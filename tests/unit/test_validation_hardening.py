"""What an attacker's review found in validation (issue 13, findings 4 and 5), as a specification.

Text that fools the reader is refused or cleaned; digits typed in other scripts are read
as the number they mean. ``test_browser_checks`` runs the same cases through the browser's
script, so both sides agree on every row below.
"""

from __future__ import annotations

import pytest

from hub import form
from hub.validation import SubmissionInvalidError, parse_submission, plain, text

VALID = {
    "name": "Amina Khan", "email": "amina@example.com", "phone": "07700 900982", "postcode": "ls9 7ab",
    "age": "20", "consent": "yes",
}


def parsed(**changes):
    return parse_submission({**VALID, **changes})


def error(field: str, **changes) -> str:
    with pytest.raises(SubmissionInvalidError) as info:
        parsed(**changes)
    return info.value.errors[field]


# -- finding 4: text that fools the reader ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["\u200b\u200b", "\u0301\u0301\u0301", "\u200d\u200c", "\u202e\u2066\u2069", "\ufeff", "!!!", "\u0301 \u200b"],
    ids=["zero-width-spaces", "combining-marks", "joiners", "bidi-controls", "bom", "punctuation", "mixed"],
)
def test_given_a_name_nobody_can_read_when_submitted_then_enter_your_name(name):
    assert error("name", name=name) == form.MESSAGES["name"]["required"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Amina \u202eKhan", "Amina Khan"),  # right-to-left override removed
        ("\u2066Amina\u2069 Khan", "Amina Khan"),  # isolates removed
        ("Ami\u200bna", "Amina"),  # zero-width space removed
        ("\u0645\u0631\u200c\u06cc\u0645", "\u0645\u0631\u200c\u06cc\u0645"),  # ZWNJ kept: Persian needs it
        ("Zoe\u0308", "Zoe\u0308"),  # a combining mark on a letter is a letter
        ("\u674e\u534e", "\u674e\u534e"),
    ],
)
def test_given_invisible_controls_in_a_name_then_they_are_removed_and_scripts_kept(typed, stored):
    assert parsed(name=typed).name == stored


def test_given_a_line_separator_in_a_one_line_answer_then_it_is_one_line():
    assert parsed(name="Amina\u2028Reference: ABCD-EFGH").name == "Amina Reference: ABCD-EFGH"


def test_given_unicode_line_separators_in_support_needs_then_they_are_plain_line_breaks():
    assert parsed(support_needs="one\u2029two\u2028three").support_needs == "one\ntwo\nthree"


def test_lone_surrogates_never_survive_cleaning():
    assert text({"name": "A \ud800B\udfff"}, "name") == "A B"


@pytest.mark.parametrize(
    "email",
    [
        "<script>alert(1)</script>@example.com",
        '"a b"@example.com',
        "a,b@example.com",
        "amina@exa_mple.com",
        "amina@-example.com",
        "amina@example-.com",
        "amina@m\u00fcnchen.de",
        "amina@example.com\u202e",  # removed, but then the address is fine; see below
    ][:-1],
)
def test_given_something_that_is_not_an_address_then_the_email_is_refused(email):
    assert error("email", email=email) == form.MESSAGES["email"]["invalid"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("o'neil+cchcc@example.co.uk", "o'neil+cchcc@example.co.uk"),
        ("Amina@Example.COM", "Amina@example.com"),
        ("\uff41\uff4d\uff49\uff4e\uff41\uff20example.com", "amina@example.com"),  # typed full-width
        ("amina@example.com\u202e", "amina@example.com"),
    ],
)
def test_given_an_address_then_it_is_stored_plain(typed, stored):
    assert parsed(email=typed).email == stored


# -- finding 5: digits typed in other scripts -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "age"),
    [
        ("\u0663\u0660", 30),  # Arabic-Indic
        ("\u06f3\u06f0", 30),  # Persian (Extended Arabic-Indic)
        ("\u0968\u0966", 20),  # Devanagari
        ("\u09e8\u09e7", 21),  # Bengali
        ("\uff11\uff19", 19),  # full-width
    ],
)
def test_given_an_age_in_another_script_then_it_is_read_as_that_number(typed, age):
    assert parsed(age=typed).age == age


def test_given_an_age_in_another_script_under_16_then_the_same_message_as_in_latin_digits():
    assert error("age", age="\u0661\u0665") == form.MESSAGES["age"]["too_small"]


def test_given_a_decimal_age_in_another_script_then_enter_a_whole_number():
    assert error("age", age="\u0663\u0660.\u0665") == form.MESSAGES["age"]["invalid"]


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("\u0660\u0667\u0667\u0660\u0660 \u0669\u0660\u0660 \u0669\u0668\u0662", "07700900982"),
        ("\u06f0\u06f1\u06f1\u06f3 \u06f4\u06f9\u06f6 \u06f0\u06f0\u06f0\u06f0", "01134960000"),
        ("\uff0b\uff14\uff14 \uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff19\uff18\uff12", "07700900982"),
    ],
)
def test_given_a_phone_number_in_another_script_then_it_is_stored_in_national_form(typed, phone):
    assert parsed(phone=typed).phone == phone


@pytest.mark.parametrize(
    "typed", ["LS\u0669 \u0667AB", "\uff2c\uff33\uff19\u3000\uff17\uff21\uff22", "\uff4c\uff53\uff19\uff17\uff41\uff42"]
)
def test_given_a_postcode_with_other_digits_or_full_width_then_it_is_normalised(typed):
    assert parsed(postcode=typed).postcode == "LS9 7AB"


def test_plain_leaves_letters_of_other_scripts_alone():
    assert plain("\u0645\u0631\u06cc\u0645 \u0663") == "\u0645\u0631\u06cc\u0645 3"


def test_every_script_has_its_zero_in_the_browser_rules():
    zeros = form.browser_rules()["digitZeros"]
    assert {0x30, 0x660, 0x6F0, 0x966, 0xFF10} <= set(zeros)
