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


# -- finding 9: one client cannot flood the spokes -------------------------------------------------


def from_address(body: str, content_type: str, viewer: str | None = None, source: str = "198.51.100.20"):
    event = api_event(body, content_type)
    event["requestContext"]["http"]["sourceIp"] = source
    if viewer:
        event["headers"]["cloudfront-viewer-address"] = viewer
    return event


def test_given_a_script_sending_hundreds_then_429_with_retry_after_and_the_form_kept(
    aws, lambda_context, monkeypatch
):
    from tests.integration.conftest import fresh_import, referral_items

    monkeypatch.setenv("RATE_LIMIT_BURST", "5")
    monkeypatch.setenv("RATE_LIMIT_PER_HOUR", "60")
    app = fresh_import("intake.app")
    statuses = []
    for n in range(8):
        body = json.dumps(valid_answers(name=f"Flood Person {n}", submission_id=f"flood-0000000{n}"))
        statuses.append(app.lambda_handler(from_address(body, "application/json", "203.0.113.7:40000"), lambda_context))
    assert [r["statusCode"] for r in statuses] == [201] * 5 + [429] * 3
    limited = statuses[-1]
    assert 1 <= int(header(limited, "Retry-After")) <= 60
    assert "wait" in json.loads(limited["body"])["message"]
    assert len(referral_items(aws)) == 5

    # Without JavaScript: the page says what to do and keeps every answer.
    body = urlencode(valid_answers(name="Flood Person Nine", support_needs="Mornings"), doseq=True)
    page = app.lambda_handler(from_address(body, FORM, "203.0.113.7:40001"), lambda_context)
    assert page["statusCode"] == 429 and header(page, "Retry-After")
    assert "<title>Error: You have sent a lot of forms" in page["body"]
    assert 'value="Flood Person Nine"' in page["body"] and "Mornings</textarea>" in page["body"]
    assert 'value="caring" checked' in page["body"]

    # A repeat of a stored submission still gets its reference: it makes nothing new.
    repeat = json.dumps(valid_answers(name="Flood Person 0", submission_id="flood-00000000"))
    assert app.lambda_handler(from_address(repeat, "application/json", "203.0.113.7:1"), lambda_context)["statusCode"] == 201

    # Another visitor through the same CloudFront edge is not held up by this one.
    other = json.dumps(valid_answers(name="Someone Else"))
    assert app.lambda_handler(from_address(other, "application/json", "192.0.2.55:443"), lambda_context)["statusCode"] == 201

    # No address is stored anywhere, in any form a person could read.
    from tests.integration.conftest import all_items

    dump = json.dumps(all_items(aws), default=str)
    assert "203.0.113.7" not in dump and "198.51.100.20" not in dump and "192.0.2.55" not in dump


def test_given_forged_viewer_addresses_sent_straight_to_the_api_then_the_source_address_is_limited(
    aws, lambda_context, monkeypatch
):
    from tests.integration.conftest import fresh_import

    monkeypatch.setenv("RATE_LIMIT_BURST", "2")
    app = fresh_import("intake.app")
    codes = [
        app.lambda_handler(
            from_address(json.dumps(valid_answers(name=f"Forged {n}")), "application/json", f"10.0.{n}.1:1", "198.51.100.99"),
            lambda_context,
        )["statusCode"]
        for n in range(22)
    ]
    assert codes == [201] * 20 + [429] * 2  # the edge bucket: ten times the client's


def test_an_outreach_worker_entering_40_at_an_event_is_never_limited_and_a_script_is():
    """The default tuning, on a clock: 40 people from one tablet pass at any pace; 300 in 5 minutes do not."""
    from hub.limits import Client, Limiter, RateLimitedError
    from hub.settings import load_settings
    from hub.storage import DynamoReferralStore
    from tests.unit.fakes import FakeDynamoDB

    defaults = load_settings({"TABLE_NAME": "cchcc-referrals", "SITE_ORIGIN": "https://cchcc.example.org"})

    def run(count: int, seconds_apart: float) -> int:
        clock = [1_767_225_600.0]
        limiter = Limiter(DynamoReferralStore("t", client=FakeDynamoDB()), burst=defaults.rate_limit_burst,
                          per_hour=defaults.rate_limit_per_hour, clock=lambda: clock[0])
        passed = 0
        for _ in range(count):
            try:
                limiter.take(Client("203.0.113.7"))
                passed += 1
            except RateLimitedError:
                pass
            clock[0] += seconds_apart
        return passed

    assert run(40, 30) == 40  # an event: one every 30 seconds
    assert run(40, 1) == 40  # a rush: paper forms typed in as fast as fingers go
    assert run(120, 30) == 120  # a long day at a busy venue on its shared wifi
    assert run(300, 1) < 60  # a script


# -- finding 8: alarms that can fire ------------------------------------------------------------------


def _emf(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def _alarm(name: str) -> dict:
    from cchcc.local.template import Template
    from tests.conftest import TEMPLATE

    return Template.load(TEMPLATE).resources[name]["Properties"]


@pytest.mark.parametrize("fault", ["store-outage", "bug"])
def test_given_a_5xx_answer_then_the_metric_the_alarm_watches_is_published_without_personal_data(
    intake_app, aws, lambda_context, monkeypatch, capsys, fault
):
    from botocore.exceptions import ClientError

    if fault == "store-outage":
        def put_item(**kwargs):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem")

        monkeypatch.setattr(intake_app.intake.store.client, "put_item", put_item)
    else:
        monkeypatch.setattr(intake_app.intake, "submit", lambda *a, **k: 1 / 0)
    capsys.readouterr()

    response = intake_app.lambda_handler(api_event(json.dumps(valid_answers()), "application/json"), lambda_context)

    assert response["statusCode"] == (503 if fault == "store-outage" else 500)
    alarm = _alarm("IntakeServerErrorsAlarm")
    [dimension] = alarm["Dimensions"]
    published = [
        blob for blob in _emf(capsys.readouterr().out)
        if blob.get(alarm["MetricName"]) == [1.0] and blob.get(dimension["Name"]) == dimension["Value"]
    ]
    assert len(published) == 1
    [directive] = published[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == alarm["Namespace"]
    assert directive["Dimensions"] == [[dimension["Name"]]]  # the alarm's dimensions, exactly
    text = json.dumps(published[0])
    for personal in ("Zqx", "Testperson", "zqx.testperson", "900982", "LS9"):
        assert personal not in text


def test_given_the_rate_limit_refuses_then_the_flood_alarm_metric_is_published(aws, lambda_context, monkeypatch, capsys):
    from tests.integration.conftest import fresh_import

    monkeypatch.setenv("RATE_LIMIT_BURST", "1")
    app = fresh_import("intake.app")
    for n in range(2):
        app.lambda_handler(api_event(json.dumps(valid_answers(name=f"Person {n}")), "application/json"), lambda_context)
    alarm = _alarm("IntakeFloodAlarm")
    assert any(blob.get(alarm["MetricName"]) == [1.0] for blob in _emf(capsys.readouterr().out))
