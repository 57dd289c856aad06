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


# -- finding 1: a correction reaches the spoke, once ------------------------------------------------

SPOKE_EMAILS = {"cchcc": "cchcc.team@example.org", "hwf": "hwf.referrals@example.org",
                "lcc-employment-skills": "employment.skills@example.org"}


@pytest.fixture
def stack(aws, lambda_context):
    from tests.integration.conftest import StreamReader, fresh_import

    intake = fresh_import("intake.app")
    reader = StreamReader(aws)
    router = fresh_import("router.app")
    return intake, reader, router


def send(intake, ctx, **answers) -> str:
    response = intake.lambda_handler(api_event(json.dumps(valid_answers(**answers)), "application/json"), ctx)
    assert response["statusCode"] == 201, response["body"]
    return json.loads(response["body"])["reference"]


def emails_by_spoke():
    from tests.integration.conftest import sent_emails

    out: dict[str, list] = {}
    for message in sent_emails():
        spoke = next(s for s, a in SPOKE_EMAILS.items() if message.destinations["ToAddresses"] == [a])
        out.setdefault(spoke, []).append(message)
    return out


def test_given_the_same_id_with_a_fixed_phone_then_the_spoke_gets_the_correction_once(stack, aws, lambda_context):
    intake, reader, router = stack
    sid = "back-fix-resend-0001"
    first = send(intake, lambda_context, submission_id=sid, phone="07700 900000")
    assert router.lambda_handler(reader.read(), lambda_context) == {"batchItemFailures": []}

    # The person goes Back, fixes the phone number, sends again; then taps send twice more.
    second = send(intake, lambda_context, submission_id=sid, phone="07700 900982")
    again = send(intake, lambda_context, submission_id=sid, phone="07700 900982")
    original = send(intake, lambda_context, submission_id=sid, phone="07700 900000")
    assert second != first and again == second and original == first
    from tests.integration.conftest import referral_items

    stored = {i["reference"]["S"]: i for i in referral_items(aws)}
    assert set(stored) == {first, second}
    assert stored[second]["corrects"]["S"] == first and "corrects" not in stored[first]

    # The stream delivers the correction (and, as Lambda may, everything again).
    event = reader.read()
    assert router.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert router.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    [original_email, correction] = emails_by_spoke()["cchcc"]
    assert original_email.subject == f"New referral {first} from CCHCC"
    assert correction.subject == f"Corrected referral {second} (replaces {first}) from CCHCC"
    assert f"This corrects referral {first}" in correction.body and "07700900982" in correction.body
    assert set(emails_by_spoke()) == {"cchcc"}  # nobody else, nothing twice


def test_given_a_correction_that_moves_the_person_then_old_and_new_spokes_each_hear_once(stack, aws, lambda_context):
    intake, reader, router = stack
    sid = "moved-house-000002"
    first = send(intake, lambda_context, submission_id=sid, postcode="LS9 7AB", age="19")  # cchcc
    router.lambda_handler(reader.read(), lambda_context)
    second = send(intake, lambda_context, submission_id=sid, postcode="LS12 3AB", age="19")  # hwf by the rules
    router.lambda_handler(reader.read(), lambda_context)

    by_spoke = emails_by_spoke()
    assert [m.subject for m in by_spoke["cchcc"]] == [
        f"New referral {first} from CCHCC", f"Corrected referral {second} (replaces {first}) from CCHCC"
    ]
    assert [m.subject for m in by_spoke["hwf"]] == [f"Corrected referral {second} (replaces {first}) from CCHCC"]
    assert "Was sent referral " + first in by_spoke["cchcc"][1].body


def test_given_a_second_correction_then_it_replaces_the_latest(stack, aws, lambda_context):
    intake, reader, router = stack
    sid = "three-tries-000003"
    refs = [send(intake, lambda_context, submission_id=sid, age=age) for age in ("30", "31", "32")]
    from tests.integration.conftest import referral_items

    corrects = {i["reference"]["S"]: i.get("corrects", {}).get("S") for i in referral_items(aws)}
    assert corrects == {refs[0]: None, refs[1]: refs[0], refs[2]: refs[1]}
    router.lambda_handler(reader.read(), lambda_context)
    assert len(emails_by_spoke()["cchcc"]) == 3
