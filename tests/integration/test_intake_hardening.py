"""What an attacker's review of the intake found (issue 13), each as a test against the real
handler and moto: bad encodings are a 4xx, never a 500 or an endless 503."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest

from tests.integration.conftest import all_items, api_event, valid_answers

FORM = "application/x-www-form-urlencoded"


def header(response, name):
    return {k.lower(): v for k, v in (response.get("headers") or {}).items()}.get(name.lower())


# -- finding 2: a charset that is not a text encoding ---------------------------------------------


@pytest.mark.parametrize(("charset", "media"), [("rot13", "application/json"), ("hex", FORM), ("unicode_escape", FORM)])
def test_given_a_charset_that_is_not_a_text_encoding_when_posted_then_415_and_nothing_stored(
    intake_app, aws, lambda_context, charset, media
):
    # (tests/unit/test_web_decode.py goes through every codec Python has)
    body = json.dumps(valid_answers()) if media.endswith("json") else urlencode(valid_answers(), doseq=True)
    response = intake_app.lambda_handler(api_event(body, f"{media}; charset={charset}"), lambda_context)

    assert response["statusCode"] == 415
    assert "Traceback" not in response["body"]
    assert all_items(aws) == []


@pytest.mark.parametrize("charset", ["UTF8", "windows-1252"])
def test_given_a_text_encoding_when_posted_then_accepted(intake_app, aws, lambda_context, charset):
    body = urlencode(valid_answers(name="Zoe Testperson"), doseq=True)
    response = intake_app.lambda_handler(api_event(body, f"{FORM}; charset={charset}"), lambda_context)
    assert response["statusCode"] == 303


# -- finding 3: lone surrogates are bad input, not a store outage -------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "A \\ud800", "email": "a@example.com", "postcode": "LS9 7AB", "age": "30", "consent": "yes"}',
        '{"name": "Zqx", "\\udfff": "x", "email": "a@example.com", "postcode": "LS9 7AB", "age": 30, "consent": "yes"}',
        '{"name": "Zqx", "interests": ["caring", "\\ud83d"], "postcode": "LS9 7AB", "age": 30, "consent": "yes"}',
    ],
    ids=["in-a-value", "in-a-key", "in-a-list"],
)
def test_given_a_lone_surrogate_in_json_when_posted_then_400_at_once_and_nothing_stored(
    intake_app, aws, lambda_context, body
):
    response = intake_app.lambda_handler(api_event(body, "application/json"), lambda_context)

    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"message": "The request body is not valid text"}
    assert header(response, "Retry-After") is None  # not "try again later": it can never succeed
    assert all_items(aws) == []


def test_given_unicode_escape_charset_on_a_form_post_then_415_never_503(intake_app, aws, lambda_context):
    body = "name=A%20%5Cud800&" + urlencode(valid_answers(name=None), doseq=True)
    response = intake_app.lambda_handler(api_event(body, f"{FORM}; charset=unicode_escape"), lambda_context)
    assert response["statusCode"] == 415
    assert all_items(aws) == []


def test_given_a_paired_surrogate_escape_in_json_then_it_is_the_character_it_means(intake_app, aws, lambda_context):
    payload = json.dumps(valid_answers(support_needs="Call after 6 \U0001f642"))  # ensure_ascii: "\ud83d\ude42"
    assert "\\ud83d\\ude42" in payload
    response = intake_app.lambda_handler(api_event(payload, "application/json"), lambda_context)
    assert response["statusCode"] == 201


def test_given_percent_encoded_invalid_utf8_in_a_form_then_it_is_replaced_not_a_crash(intake_app, aws, lambda_context):
    body = urlencode(valid_answers(name=None), doseq=True) + "&name=Zqx" + quote(b"\xed\xa0\x80")
    response = intake_app.lambda_handler(api_event(body, FORM), lambda_context)
    assert response["statusCode"] == 303
