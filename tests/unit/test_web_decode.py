"""Decoding a request body and validating what it holds, fuzzed: never a 5xx, never an invalid referral.

Table rows for the charsets an attacker tried (issue 13, finding 2), then Hypothesis properties
over every content type, charset, transfer encoding and Unicode category: ``decode`` either
returns a mapping or refuses with 400/413/415, and ``parse_submission`` either lists mistakes
or returns a submission that is valid by every rule of the form. Bounded for ``make test``
(the ``ci`` profile in tests/conftest.py); ``make fuzz`` runs the long profile.
"""

from __future__ import annotations

import base64
import encodings.aliases
import json
import re
import unicodedata
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import form, postcodes
from hub.validation import SubmissionInvalidError, parse_submission
from intake import web

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
EVERY_CODEC = sorted({*encodings.aliases.aliases, *encodings.aliases.aliases.values(), "rot13", "unicode_escape",
                      "raw_unicode_escape", "utf-7", "idna", "punycode", "hex", "base64", "zip", "uu"})


def decode(content_type: str | None, body: bytes, *, b64: bool = True):
    headers = {} if content_type is None else {"content-type": content_type}
    raw = base64.b64encode(body).decode("ascii") if b64 else body.decode("utf-8", "surrogatepass")
    return web.decode(headers, raw, b64)


@pytest.mark.parametrize("charset", EVERY_CODEC)
def test_every_codec_python_knows_is_a_text_encoding_or_a_415(charset):
    body = urlencode({"name": "Zo\u00eb"}).encode("ascii")
    try:
        fields = decode(f"{FORM}; charset={charset}", body)
    except web.RequestRejectedError as exc:
        assert exc.status == 415
        assert charset not in ("utf8", "utf_8", "latin1", "cp1252", "ascii", "us_ascii")
    else:
        assert fields == {"name": "Zo\u00eb"}


def test_text_charsets_are_the_ones_a_browser_sends():
    for charset in ("utf-8", "UTF-8", '"utf-8"', "us-ascii", "iso-8859-1", "windows-1252"):
        assert decode(f"{FORM}; charset={charset}", b"name=Amina") == {"name": "Amina"}


# -- properties --------------------------------------------------------------------------------------

_MEDIA = st.sampled_from([FORM, JSON, "application/JSON", "text/plain", "multipart/form-data", "", "application/x-www-form-urlencoded "])
_CHARSET = st.one_of(st.sampled_from(EVERY_CODEC), st.text(max_size=12))
_CONTENT_TYPE = st.one_of(
    st.none(),
    _MEDIA,
    st.builds(lambda m, c: f"{m}; charset={c}", _MEDIA, _CHARSET),
    st.builds(lambda m, p: f"{m};{p}", _MEDIA, st.text(max_size=20)),
)
_ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)  # surrogates included
_JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _ANY_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_ANY_TEXT, inner, max_size=4)),
    max_leaves=12,
)
_KEYS = st.sampled_from([*form.FIELD_ORDER, *form.HIDDEN, form.HONEYPOT, "x"])


def _bodies():
    structured = st.dictionaries(_KEYS, _JSON_VALUE, max_size=12)
    return st.one_of(
        st.binary(max_size=300),
        structured.map(lambda d: json.dumps(d).encode("utf-8")),
        structured.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        st.dictionaries(_KEYS, _ANY_TEXT, max_size=12).map(
            lambda d: urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in d.items()}).encode("ascii")
        ),
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(content_type=_CONTENT_TYPE, body=_bodies(), b64=st.booleans())
def test_decoding_any_request_gives_fields_or_a_4xx(content_type, body, b64):
    try:
        fields = decode(content_type, body, b64=b64) if b64 else web.decode(
            {} if content_type is None else {"content-type": content_type}, body.decode("latin-1"), False
        )
    except web.RequestRejectedError as exc:
        assert exc.status in (400, 413, 415)
        return
    assert isinstance(fields, dict)
    for key in fields:
        assert isinstance(key, str)
        key.encode("utf-8")  # nothing that cannot be stored or sent on


_ANSWER = st.one_of(
    _ANY_TEXT,
    st.sampled_from(["Amina Khan", "amina@example.com", "07700 900982", "LS9 7AB", "ls97ab", "30", "\u0663\u0660",
                     "yes", "caring", "looking-for-work", "\u200b", "\u202eKhan", "0044 7700 900982"]),
    st.integers(-10, 200),
    st.lists(st.sampled_from(["caring", "science", "astronaut", ""]), max_size=8),
    _JSON_VALUE,
)


def _valid_by_every_rule(submission) -> None:
    invisible = re.compile(form.INVISIBLE)
    for name, value in submission.model_dump().items():
        if isinstance(value, str):
            value.encode("utf-8")
            assert not invisible.search(value), name
            assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value), name
            field = form.BY_NAME.get(name)
            if field is not None and field.max_length is not None:
                assert len(value) <= field.max_length, name
            if field is not None and not field.multiline:
                assert "\n" not in value, name
    assert submission.name and any(unicodedata.category(c)[0] in "LN" for c in submission.name)
    assert submission.email or submission.phone
    assert submission.email is None or re.match(form.EMAIL_PATTERN, submission.email)
    assert submission.phone is None or re.fullmatch(r"0[0-9]{9,10}", submission.phone)
    assert postcodes.normalise(submission.postcode) == submission.postcode
    assert form.MIN_AGE <= submission.age <= form.MAX_AGE
    assert set(submission.interests) <= {value for value, _ in form.BY_NAME["interests"].choices}
    assert submission.consent is True
    # And it is a fixed point: validating what was stored gives it back unchanged.
    again = parse_submission({**submission.model_dump(exclude_none=True), "age": str(submission.age), "consent": "yes"})
    assert again == submission


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(_KEYS, _ANSWER, max_size=14))
def test_any_answers_give_mistakes_or_a_valid_submission(raw):
    try:
        submission = parse_submission(raw)
    except SubmissionInvalidError as exc:
        assert exc.errors and set(exc.errors) <= set(form.FIELD_ORDER)
        assert set(exc.errors.values()) <= {m for messages in form.MESSAGES.values() for m in messages.values()}
        return
    _valid_by_every_rule(submission)


@given(
    name=_ANY_TEXT.filter(lambda s: any(unicodedata.category(c)[0] in "LN" for c in s)),
    age=st.sampled_from(["16", "\u0661\u0666", "\u06f9\u06f9", "\uff11\uff10\uff10", "\u096a\u096b"]),
)
def test_a_readable_name_and_an_age_in_any_script_make_a_valid_submission(name, age):
    raw = {"name": name, "email": "a@example.com", "postcode": "LS9 7AB", "age": age, "consent": "yes"}
    try:
        submission = parse_submission(raw)
    except SubmissionInvalidError as exc:
        # The only way to fail: a name that is only invisible characters once cleaned, or too long.
        assert set(exc.errors) == {"name"}
        return
    _valid_by_every_rule(submission)
