"""Validation of what a resident submits: ``parse_submission`` and friends.

Tables read as the specification of the referral form (DESIGN.md §4): given a
valid submission with one answer changed, then the stored value, or the one
field in error and the exact message the visitor sees.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub import form
from hub.models import Submission
from hub.validation import (
    SubmissionInvalidError,
    is_honeypot_filled,
    normalise_phone,
    parse_submission,
)

MESSAGES = form.MESSAGES
REMOVE = object()  # marks a key to leave out of the submission

VALID: dict[str, Any] = {
    "name": "Amina Khan",
    "email": "amina@example.com",
    "phone": "07700 900982",
    "postcode": "ls9 7ab",
    "age": "20",
    "interests": ["caring", "science"],
    "situation": "looking-for-work",
    "support_needs": "I use a wheelchair",
    "language": "Urdu",
    "consent": "yes",
    "campaign": "spring-2025",
    "source": "lib-harehills",
    "submission_id": "d6a1f0c2-7b0e-4c55",
    "website": "",
}


def submission(**changes: Any) -> dict[str, Any]:
    raw = dict(VALID)
    for key, value in changes.items():
        if value is REMOVE:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def errors_for(**changes: Any) -> SubmissionInvalidError:
    with pytest.raises(SubmissionInvalidError) as info:
        parse_submission(submission(**changes))
    return info.value


# --- a valid submission ---------------------------------------------------------


def test_valid_submission_is_normalised() -> None:
    result = parse_submission(submission())
    assert result == Submission(
        name="Amina Khan",
        email="amina@example.com",
        phone="07700900982",
        postcode="LS9 7AB",
        age=20,
        interests=["caring", "science"],
        situation="looking-for-work",
        support_needs="I use a wheelchair",
        language="Urdu",
        consent=True,
        campaign="spring-2025",
        source="lib-harehills",
        submission_id="d6a1f0c2-7b0e-4c55",
    )


def test_minimal_submission_needs_only_the_required_fields() -> None:
    raw = {"name": "Amina", "phone": "07700900982", "postcode": "LS9 7AB", "age": "30", "consent": "yes"}
    result = parse_submission(raw)
    assert (result.email, result.interests, result.situation, result.support_needs, result.language) == (
        None,
        [],
        None,
        None,
        None,
    )
    assert (result.campaign, result.source, result.submission_id) == (None, None, None)


def test_answers_leave_out_the_submission_id() -> None:
    answers = parse_submission(submission()).answers()
    assert "submission_id" not in answers
    assert answers["postcode"] == "LS9 7AB"


# --- accepted variations: (changes, field, stored value) -----------------------

ACCEPTED = [
    # postcode: any case, spaces anywhere
    ({"postcode": "LS97AB"}, "postcode", "LS9 7AB"),
    ({"postcode": "ls97ab"}, "postcode", "LS9 7AB"),
    ({"postcode": "  LS9   7AB "}, "postcode", "LS9 7AB"),
    ({"postcode": "LS19 7AB"}, "postcode", "LS19 7AB"),
    ({"postcode": "ec1a1bb"}, "postcode", "EC1A 1BB"),
    # age: both ends of the allowed range, typed or sent as JSON numbers
    ({"age": "16"}, "age", 16),
    ({"age": "100"}, "age", 100),
    ({"age": " 25 "}, "age", 25),
    ({"age": "016"}, "age", 16),
    ({"age": 16}, "age", 16),
    ({"age": 100}, "age", 100),
    ({"age": ["42"]}, "age", 42),
    # contact: either email or phone is enough
    ({"email": REMOVE}, "email", None),
    ({"email": ""}, "email", None),
    ({"email": None}, "email", None),
    ({"phone": REMOVE}, "phone", None),
    ({"phone": "   "}, "phone", None),
    # email: trimmed, domain lower-cased, local part kept as typed
    ({"email": "  amina@example.com  "}, "email", "amina@example.com"),
    ({"email": "Amina.Khan@Example.COM"}, "email", "Amina.Khan@example.com"),
    ({"email": "first.last+cchcc@mail.example.co.uk"}, "email", "first.last+cchcc@mail.example.co.uk"),
    ({"email": "o'neill@example.ie"}, "email", "o'neill@example.ie"),
    # phone: UK formats stored in national form
    ({"phone": "+44 7700 900982"}, "phone", "07700900982"),
    ({"phone": "(0113) 496 0000"}, "phone", "01134960000"),
    # consent: exactly "yes", or JSON true
    ({"consent": True}, "consent", True),
    ({"consent": ["yes"]}, "consent", True),
    # interests: one value as a string, duplicates collapsed, empty dropped
    ({"interests": "caring"}, "interests", ["caring"]),
    ({"interests": ["caring", "caring", "science"]}, "interests", ["caring", "science"]),
    ({"interests": []}, "interests", []),
    ({"interests": ""}, "interests", []),
    ({"interests": REMOVE}, "interests", []),
    ({"interests": ["caring", ""]}, "interests", ["caring"]),
    # optional text
    ({"situation": ""}, "situation", None),
    ({"situation": "other"}, "situation", "other"),
    ({"support_needs": "   "}, "support_needs", None),
    ({"language": ""}, "language", None),
    # form-encoded bodies arrive as lists: the first value counts
    ({"name": ["Amina Khan", "Someone Else"]}, "name", "Amina Khan"),
    ({"name": "  Amina Khan  "}, "name", "Amina Khan"),
]


@pytest.mark.parametrize(("changes", "field", "stored"), ACCEPTED)
def test_accepted_answers_are_stored_normalised(changes: dict[str, Any], field: str, stored: Any) -> None:
    result = parse_submission(submission(**changes))
    assert getattr(result, field) == stored


# --- rejected answers: (changes, field, message key) ---------------------------

REJECTED = [
    # name
    ({"name": REMOVE}, "name", "required"),
    ({"name": ""}, "name", "required"),
    ({"name": "   "}, "name", "required"),
    ({"name": "\x00\x07"}, "name", "required"),
    ({"name": None}, "name", "required"),
    ({"name": {"first": "Amina"}}, "name", "required"),
    ({"name": []}, "name", "required"),
    # contact: at least one of email and phone
    ({"email": REMOVE, "phone": REMOVE}, "email", "contact"),
    ({"email": "", "phone": ""}, "email", "contact"),
    ({"email": "  ", "phone": "  "}, "email", "contact"),
    # email formats
    ({"email": "amina"}, "email", "invalid"),
    ({"email": "amina@"}, "email", "invalid"),
    ({"email": "@example.com"}, "email", "invalid"),
    ({"email": "amina@example"}, "email", "invalid"),
    ({"email": "amina@@example.com"}, "email", "invalid"),
    ({"email": "amina@home@example.com"}, "email", "invalid"),
    ({"email": "amina khan@example.com"}, "email", "invalid"),
    ({"email": "amina@exa mple.com"}, "email", "invalid"),
    ({"email": "amina..khan@example.com"}, "email", "invalid"),
    ({"email": "amina@example..com"}, "email", "invalid"),
    ({"email": "amina@.example.com"}, "email", "invalid"),
    ({"email": "amina@example.com."}, "email", "invalid"),
    ({"email": "Amina <amina@example.com>"}, "email", "invalid"),
    ({"email": "amina@example.com\nbcc@example.com"}, "email", "invalid"),
    # an email typed wrong is an error even when the phone number is fine
    ({"email": "amina@example"}, "email", "invalid"),
    # phone formats (email removed so phone is the only contact)
    ({"email": REMOVE, "phone": "0770 090"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": "077009009821"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": "7700 900982"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": "+33 1 23 45 67 89"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": "0033 1234 567"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": "07700 900982 ext 12"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": "call me"}, "phone", "invalid"),
    ({"email": REMOVE, "phone": 7700900982}, "phone", "invalid"),
    ({"phone": "07700 9OO 982"}, "phone", "invalid"),
    # postcode
    ({"postcode": REMOVE}, "postcode", "required"),
    ({"postcode": ""}, "postcode", "required"),
    ({"postcode": "LS9"}, "postcode", "invalid"),
    ({"postcode": "LS9 7CB"}, "postcode", "invalid"),
    ({"postcode": "QS9 7AB"}, "postcode", "invalid"),
    ({"postcode": "LS9 7AB 1"}, "postcode", "invalid"),
    ({"postcode": "Leeds"}, "postcode", "invalid"),
    ({"postcode": 97}, "postcode", "invalid"),
    # age: both ends of the range, and anything that is not a whole number
    ({"age": "15"}, "age", "too_small"),
    ({"age": 15}, "age", "too_small"),
    ({"age": "0"}, "age", "too_small"),
    ({"age": "101"}, "age", "too_big"),
    ({"age": 101}, "age", "too_big"),
    ({"age": "999"}, "age", "too_big"),
    ({"age": REMOVE}, "age", "required"),
    ({"age": ""}, "age", "required"),
    ({"age": None}, "age", "required"),
    ({"age": "twenty"}, "age", "invalid"),
    ({"age": "20.5"}, "age", "invalid"),
    ({"age": 20.5}, "age", "invalid"),
    ({"age": "-20"}, "age", "invalid"),
    ({"age": -20}, "age", "invalid"),
    ({"age": "2 0"}, "age", "invalid"),
    ({"age": "1e2"}, "age", "invalid"),
    ({"age": "1000"}, "age", "invalid"),
    ({"age": "٢٠.٥"}, "age", "invalid"),  # a decimal, in any script (whole numbers in any script are read)
    ({"age": True}, "age", "invalid"),
    # interests: only the listed choices
    ({"interests": ["caring", "astronaut"]}, "interests", "invalid"),
    ({"interests": "astronaut"}, "interests", "invalid"),
    ({"interests": {"caring": True}}, "interests", "invalid"),
    ({"interests": 3}, "interests", "invalid"),
    # situation: only the listed choices
    ({"situation": "retired"}, "situation", "invalid"),
    ({"situation": "Looking-For-Work"}, "situation", "invalid"),
    # consent: exactly "yes" (or JSON true)
    ({"consent": REMOVE}, "consent", "required"),
    ({"consent": ""}, "consent", "required"),
    ({"consent": "no"}, "consent", "required"),
    ({"consent": "Yes"}, "consent", "required"),
    ({"consent": "YES"}, "consent", "required"),
    ({"consent": "on"}, "consent", "required"),
    ({"consent": "true"}, "consent", "required"),
    ({"consent": "1"}, "consent", "required"),
    ({"consent": "yess"}, "consent", "required"),
    ({"consent": 1}, "consent", "required"),
    ({"consent": False}, "consent", "required"),
    ({"consent": None}, "consent", "required"),
]


@pytest.mark.parametrize(("changes", "field", "problem"), REJECTED)
def test_rejected_answers_name_the_field_and_the_problem(
    changes: dict[str, Any], field: str, problem: str
) -> None:
    error = errors_for(**changes)
    assert error.errors == {field: MESSAGES[field][problem]}


# --- length limits: every limited field at its limit and one over --------------


def _of_length(field: str, length: int) -> str:
    """A valid-looking value for ``field`` that is exactly ``length`` characters long."""
    if field == "email":
        domain = "@example.com"
        return "a" * (length - len(domain)) + domain
    if field == "phone":
        return "07700" + " " * (length - 11) + "900982"
    if field == "postcode":
        return "LS9" + " " * (length - 6) + "7AB"
    return "a" * length


@pytest.mark.parametrize("field", sorted(form.MAX_LENGTHS))
def test_each_field_accepts_its_maximum_length(field: str) -> None:
    limit = form.MAX_LENGTHS[field]
    value = _of_length(field, limit)
    assert len(value) == limit
    result = parse_submission(submission(**{field: value}))
    assert getattr(result, field)  # stored (normalised where the field is normalised)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("name", MESSAGES["name"]["too_long"]),
        ("email", MESSAGES["email"]["too_long"]),
        ("phone", MESSAGES["phone"]["too_long"]),
        ("postcode", MESSAGES["postcode"]["invalid"]),
        ("support_needs", MESSAGES["support_needs"]["too_long"]),
        ("language", MESSAGES["language"]["too_long"]),
    ],
)
def test_each_field_refuses_one_character_over_its_maximum(field: str, message: str) -> None:
    assert set(form.MAX_LENGTHS) == {"name", "email", "phone", "postcode", "support_needs", "language"}
    value = _of_length(field, form.MAX_LENGTHS[field] + 1)
    error = errors_for(**{field: value})
    assert error.errors == {field: message}


def test_length_is_counted_after_control_characters_and_outer_spaces_are_removed() -> None:
    name = "  " + "a" * form.MAX_LENGTHS["name"] + "\x00\x00  "
    assert parse_submission(submission(name=name)).name == "a" * form.MAX_LENGTHS["name"]


def test_a_line_break_sent_by_a_browser_counts_as_one_character() -> None:
    """Browsers send textarea line breaks as CRLF but count them as one character."""
    half = form.MAX_LENGTHS["support_needs"] // 2
    text = "a" * (half - 1) + "\r\n" + "a" * half
    result = parse_submission(submission(support_needs=text))
    assert result.support_needs is not None
    assert len(result.support_needs) == form.MAX_LENGTHS["support_needs"]


# --- phone numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "national"),
    [
        ("07700900982", "07700900982"),
        ("07700 900982", "07700900982"),
        ("07700 900 982", "07700900982"),
        ("07700-900-982", "07700900982"),
        ("+447700900982", "07700900982"),
        ("+44 7700 900982", "07700900982"),
        ("+44 (0)7700 900982", "07700900982"),
        ("+44 (0) 113 496 0000", "01134960000"),
        ("0044 7700 900982", "07700900982"),
        ("0044 (0)7700 900982", "07700900982"),
        ("(0113) 496 0000", "01134960000"),
        ("0113 496 0000", "01134960000"),
        ("0113-496-0000", "01134960000"),
        ("0800 123456", "0800123456"),  # ten digits: some UK numbers are this short
    ],
)
def test_uk_phone_numbers_are_normalised_to_national_form(typed: str, national: str) -> None:
    assert normalise_phone(typed) == national


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("", id="empty"),
        pytest.param("077009009", id="too short: nine digits"),
        pytest.param("0770 090", id="too short: seven digits"),
        pytest.param("077009009821", id="too long: twelve digits"),
        pytest.param("+44 7700 9009821", id="too long after +44"),
        pytest.param("+44", id="+44 alone"),
        pytest.param("0044", id="0044 alone"),
        pytest.param("7700 900982", id="no leading zero"),
        pytest.param("44 7700 900982", id="44 without + or 00"),
        pytest.param("+33 1 23 45 67 89", id="another country with +"),
        pytest.param("0033 1234 567", id="another country with 00 (eleven digits)"),
        pytest.param("001 212 555 01", id="USA with 00 (eleven digits)"),
        pytest.param("+44 +7700 900982", id="two plus signs"),
        pytest.param("07700+900982", id="plus in the middle"),
        pytest.param("07700.900.982", id="dots"),
        pytest.param("07700 900982 x12", id="extension letters"),
        pytest.param("tel:07700900982", id="tel: prefix"),
        pytest.param("０７７００９００９８２", id="full-width digits"),
    ],
)
def test_other_phone_numbers_are_refused(typed: str) -> None:
    assert normalise_phone(typed) is None


# --- hidden fields: a visitor cannot fix them, so bad values are dropped -------


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("campaign", "Spring 2025!"),
        ("campaign", "<script>alert(1)</script>"),
        ("campaign", "-starts-with-dash"),
        ("campaign", "a" * 65),
        ("campaign", {"slug": "spring-2025"}),
        ("source", "LIB-HAREHILLS"),
        ("source", "lib_harehills"),
        ("source", "../../etc/passwd"),
        ("source", "lib harehills"),
        ("submission_id", "short"),
        ("submission_id", "a" * 65),
        ("submission_id", "has spaces in it"),
        ("submission_id", "quote'injection--x"),
        ("submission_id", ["a", "b"]),
    ],
)
def test_hidden_fields_with_bad_values_are_dropped_not_errors(field: str, sent: Any) -> None:
    result = parse_submission(submission(**{field: sent}))
    assert getattr(result, field) is None


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("campaign", "spring-2025"),
        ("campaign", "a" * 64),
        ("source", "gp-1"),
        ("source", "9"),
        ("submission_id", "abcdefgh"),
        ("submission_id", "A" * 64),
        ("submission_id", "0f8b_1c2D-3e4F"),
    ],
)
def test_hidden_fields_with_good_values_are_kept(field: str, sent: str) -> None:
    assert getattr(parse_submission(submission(**{field: sent})), field) == sent


def test_bad_hidden_fields_are_blank_in_the_values_shown_again() -> None:
    error = errors_for(name="", campaign="Bad Slug", source="<b>", submission_id="x")
    assert (error.values["campaign"], error.values["source"], error.values["submission_id"]) == ("", "", "")
    assert set(error.errors) == {"name"}


# --- control characters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        ("name", "Amina\x00 Khan", "Amina Khan"),
        ("name", "\x1b[31mAmina Khan\x1b[0m", "[31mAmina Khan[0m"),
        ("name", "Amina\x7f Khan\x07", "Amina Khan"),
        ("name", "Amina\x9b Khan", "Amina Khan"),  # C1 control (CSI)
        ("name", "Amina\r\nKhan", "Amina Khan"),  # a name is one line
        ("name", "Amina\tKhan", "Amina Khan"),
        ("language", "Urdu\nBcc: someone@example.com", "Urdu Bcc: someone@example.com"),
        ("postcode", "LS9\x00 7AB", "LS9 7AB"),
        ("email", "amina\x00@example.com", "amina@example.com"),
        ("phone", "07700\x08 900982", "07700900982"),
        ("support_needs", "Line one\x00\nLine two", "Line one\nLine two"),  # free text keeps lines
        ("support_needs", "Line one\r\nLine two", "Line one\nLine two"),
    ],
)
def test_control_characters_are_stripped(field: str, sent: str, stored: str) -> None:
    assert getattr(parse_submission(submission(**{field: sent})), field) == stored


# --- JSON-typed values -----------------------------------------------------------


def test_a_json_body_with_native_types_is_accepted() -> None:
    raw = {
        "name": "Amina Khan",
        "email": "amina@example.com",
        "phone": None,
        "postcode": "LS9 7AB",
        "age": 19,
        "interests": ["caring"],
        "consent": True,
    }
    result = parse_submission(raw)
    assert (result.age, result.consent, result.phone, result.interests) == (19, True, None, ["caring"])


# --- several mistakes at once --------------------------------------------------


def test_all_mistakes_are_reported_in_form_order() -> None:
    error = errors_for(consent="no", age="12", postcode="nowhere", name="", email="x", phone="1")
    assert list(error.errors) == ["name", "email", "phone", "postcode", "age", "consent"]
    assert list(error.errors) == [f for f in form.FIELD_ORDER if f in error.errors]


def test_answers_are_kept_to_show_the_form_again() -> None:
    error = errors_for(
        age="15",
        postcode="ls97ab",
        interests=["caring", "astronaut"],
        situation="retired",
        consent="no",
    )
    assert error.values["name"] == "Amina Khan"
    assert error.values["email"] == "amina@example.com"
    assert error.values["postcode"] == "LS9 7AB"  # normalised, since it was valid
    assert error.values["age"] == "15"
    assert error.values["interests"] == ["caring"]  # unknown choices are not echoed back
    assert error.values["situation"] == ""
    assert error.values["consent"] is False


# --- personal data never in error messages ----------------------------------------

PERSONAL = [
    ("name", "Zebedee Quintrell-" + "x" * 100),
    ("email", "zebedee.quintrell@nowhere"),
    ("phone", "01632 9603 4567 89"),
    ("postcode", "ZZ99 9ZZ"),
    ("age", "1234"),
    ("age", "173"),
    ("situation", "zebedee-situation"),
    ("interests", ["zebedee-interest"]),
    ("support_needs", "Zebedee " * 200),
    ("language", "Zebedee-language " * 5),
    ("consent", "zebedee-consent"),
]


@pytest.mark.parametrize(("field", "sent"), PERSONAL)
def test_error_messages_never_contain_the_submitted_value(field: str, sent: Any) -> None:
    error = errors_for(**{field: sent})
    assert field in error.errors
    text = sent[0] if isinstance(sent, list) else sent
    fragments = {text, text.strip(), text.split()[0]}
    for message in [*error.errors.values(), str(error), repr(error)]:
        for fragment in fragments:
            assert fragment not in message


def test_every_message_a_visitor_can_see_is_defined_once_in_form() -> None:
    """Errors come only from hub.form.MESSAGES, so nothing typed can leak into them."""
    seen: set[str] = set()
    for changes, field, problem in REJECTED:
        error = errors_for(**changes)
        seen.update(error.errors.values())
    defined = {message for problems in MESSAGES.values() for message in problems.values()}
    assert seen <= defined


# --- honeypot ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("website", "filled"),
    [
        (REMOVE, False),
        ("", False),
        ("   ", False),
        (None, False),
        ([], False),
        ("http://spam.example", True),
        ("x", True),
        (["http://spam.example"], True),
        (0, True),
        (True, True),
    ],
)
def test_honeypot(website: Any, filled: bool) -> None:
    assert is_honeypot_filled(submission(website=website)) is filled


def test_a_filled_honeypot_does_not_make_the_submission_invalid() -> None:
    """The handler decides to pretend success; validation itself ignores the honeypot."""
    raw = submission(website="http://spam.example")
    assert is_honeypot_filled(raw)
    assert parse_submission(raw).name == "Amina Khan"
