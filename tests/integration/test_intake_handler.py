"""The intake handler against moto: every row of the DESIGN.md §4 response table."""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import (
    PERSON,
    PROGRAMME,
    all_items,
    api_event,
    fresh_import,
    load_event,
    referral_items,
    valid_answers,
)

REF = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")


def post_form(app, ctx, answers, *, base64_encode=False, content_type="application/x-www-form-urlencoded"):
    return app.lambda_handler(api_event(urlencode(answers, doseq=True), content_type, base64_encode=base64_encode), ctx)


def post_json(app, ctx, payload, content_type="application/json"):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return app.lambda_handler(api_event(body, content_type), ctx)


def header(response, name):
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return headers.get(name.lower())


def stored(client):
    from hub.storage import from_item

    return [from_item(i) for i in referral_items(client)]


# -- valid submissions ---------------------------------------------------------------------


@pytest.mark.parametrize("event_file", ["intake_form_base64.json", "intake_form_plain.json"])
def test_given_valid_form_event_when_posted_then_303_to_thanks_and_one_referral_stored(
    intake_app, aws, lambda_context, event_file
):
    response = intake_app.lambda_handler(load_event(event_file), lambda_context)

    assert response["statusCode"] == 303
    location = header(response, "Location")
    assert location.startswith("/thanks/?ref=")
    reference = location.removeprefix("/thanks/?ref=")
    assert REF.match(reference)
    [item] = stored(aws)
    assert item["reference"] == reference
    assert item["postcode"] == "LS9 7AB"  # normalised
    assert item["interests"] == ["caring", "organising"]  # multi-valued kept
    assert item["status"] == "received"
    assert item["campaign"] == "lincoln-green" and item["source"] == "lg-library"
    assert item["expires_at"] > 0 and item["created_at"].endswith("Z")


def test_given_valid_json_event_when_posted_then_201_with_reference(intake_app, aws, lambda_context):
    response = intake_app.lambda_handler(load_event("intake_json.json"), lambda_context)

    assert response["statusCode"] == 201
    reference = json.loads(response["body"])["reference"]
    assert REF.match(reference)
    [item] = stored(aws)
    assert item["reference"] == reference and item["age"] == 19 and item["postcode"] == "LS12 3AB"


def test_given_retention_days_when_stored_then_expires_at_is_created_plus_retention(intake_app, aws, lambda_context):
    from datetime import datetime

    post_json(intake_app, lambda_context, valid_answers())
    [item] = stored(aws)
    created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")).timestamp()
    assert abs(item["expires_at"] - (created + 730 * 86400)) < 2


# -- invalid submissions -------------------------------------------------------------------


def test_given_invalid_form_when_posted_then_422_page_with_errors_and_answers_kept(intake_app, aws, lambda_context):
    answers = valid_answers(postcode="LS9", age="15", consent=None)

    response = post_form(intake_app, lambda_context, answers)

    assert response["statusCode"] == 422
    assert header(response, "Content-Type").startswith("text/html")
    page = response["body"]
    assert re.search(r"<title>Error: [^<]+</title>", page)
    assert '<html lang="en" dir="ltr">' in page
    assert 'href="#main-content"' in page and '<main class="cc-main" id="main-content"' in page
    assert 'href="/assets/cchcc.css"' in page and 'src="/assets/cchcc.js"' in page
    assert "There is a problem" in page
    for anchor in ('href="#postcode"', 'href="#age"', 'href="#consent"'):
        assert anchor in page
    assert 'value="Zqx Testperson"' in page  # answers kept
    assert 'value="caring" checked' in page
    assert 'name="campaign" value="lincoln-green"' in page
    assert all_items(aws) == []


def test_given_invalid_form_with_markup_when_page_rendered_then_it_is_escaped(intake_app, aws, lambda_context):
    response = post_form(intake_app, lambda_context, valid_answers(name='<script>alert(1)</script>', age=""))

    assert response["statusCode"] == 422
    assert "<script>alert(1)" not in response["body"]
    assert "&lt;script&gt;" in response["body"]


def test_given_invalid_json_when_posted_then_422_naming_each_field(intake_app, aws, lambda_context):
    response = post_json(
        intake_app, lambda_context, valid_answers(name="", email="not-an-email", postcode="XX", age="abc", consent="no")
    )

    assert response["statusCode"] == 422
    errors = json.loads(response["body"])["errors"]
    assert set(errors) == {"name", "email", "postcode", "age", "consent"}
    assert all(isinstance(m, str) and m for m in errors.values())
    assert all_items(aws) == []


# -- unusable requests ---------------------------------------------------------------------


@pytest.mark.parametrize("base64_encode", [False, True])
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_given_body_over_16_kib_when_posted_then_413_and_nothing_stored(
    intake_app, aws, lambda_context, content_type, base64_encode
):
    body = "support_needs=" + "a" * (16 * 1024)
    response = intake_app.lambda_handler(api_event(body, content_type, base64_encode=base64_encode), lambda_context)

    assert response["statusCode"] == 413
    assert all_items(aws) == []


def test_given_body_of_exactly_16_kib_when_posted_then_not_413(intake_app, aws, lambda_context):
    answers = urlencode(valid_answers(), doseq=True)
    body = answers + "&x=" + "a" * (16 * 1024 - len(answers) - 3)
    assert len(body.encode()) == 16 * 1024
    response = intake_app.lambda_handler(api_event(body, "application/x-www-form-urlencoded"), lambda_context)
    assert response["statusCode"] == 303


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x", "application/xml"])
def test_given_unsupported_content_type_when_posted_then_415(intake_app, aws, lambda_context, content_type):
    response = intake_app.lambda_handler(api_event(json.dumps(valid_answers()), content_type), lambda_context)

    assert response["statusCode"] == 415
    assert all_items(aws) == []


def test_given_form_with_charset_parameter_when_posted_then_accepted(intake_app, aws, lambda_context):
    response = post_form(intake_app, lambda_context, valid_answers(), content_type="application/x-www-form-urlencoded; charset=utf-8")
    assert response["statusCode"] == 303


@pytest.mark.parametrize("body", ['{"name": "Zqx', "[1, 2]", '"just a string"', "", "null"])
def test_given_malformed_json_or_not_an_object_when_posted_then_400(intake_app, aws, lambda_context, body):
    response = post_json(intake_app, lambda_context, body)

    assert response["statusCode"] == 400
    assert "Traceback" not in response["body"]
    assert all_items(aws) == []


# -- honeypot ------------------------------------------------------------------------------


def test_given_honeypot_filled_form_when_posted_then_looks_like_success_and_nothing_stored(
    intake_app, aws, lambda_context
):
    response = post_form(intake_app, lambda_context, valid_answers(website="http://spam.example"))

    assert response["statusCode"] == 303
    assert REF.match(header(response, "Location").removeprefix("/thanks/?ref="))
    assert all_items(aws) == []  # no referral, no idempotency record


def test_given_honeypot_filled_json_when_posted_then_201_and_nothing_stored(intake_app, aws, lambda_context):
    response = post_json(intake_app, lambda_context, valid_answers(website="x", age="3"))

    assert response["statusCode"] == 201
    assert REF.match(json.loads(response["body"])["reference"])
    assert all_items(aws) == []


# -- duplicates ----------------------------------------------------------------------------


def test_given_same_submission_id_twice_when_posted_then_same_reference_and_one_referral(
    intake_app, aws, lambda_context
):
    first = post_json(intake_app, lambda_context, valid_answers(submission_id="sub-0123456789abcdef"))
    # The same answers, typed a little differently (different answers are a correction:
    # tests/integration/test_intake_hardening.py)
    second = post_json(intake_app, lambda_context, valid_answers(submission_id="sub-0123456789abcdef", postcode="ls97ab"))

    assert first["statusCode"] == second["statusCode"] == 201
    assert json.loads(first["body"])["reference"] == json.loads(second["body"])["reference"]
    assert len(referral_items(aws)) == 1


def test_given_same_answers_without_id_twice_when_posted_then_one_referral(intake_app, aws, lambda_context):
    first = post_form(intake_app, lambda_context, valid_answers())
    # A double tap: the same person, same answers, whitespace and case aside.
    second = post_form(intake_app, lambda_context, valid_answers(name="  zqx  TESTPERSON ", postcode="ls97ab"))

    assert first["statusCode"] == second["statusCode"] == 303
    assert header(first, "Location") == header(second, "Location")
    assert len(referral_items(aws)) == 1


def test_given_different_answers_without_id_when_posted_then_two_referrals(intake_app, aws, lambda_context):
    post_form(intake_app, lambda_context, valid_answers())
    post_form(intake_app, lambda_context, valid_answers(age="31"))

    assert len(referral_items(aws)) == 2


def test_given_window_passed_when_same_answers_posted_then_new_referral(aws, lambda_context, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_WINDOW_SECONDS", "1")
    app = fresh_import("intake.app")
    post_form(app, lambda_context, valid_answers())
    import time

    time.sleep(2.1)
    post_form(app, lambda_context, valid_answers())

    assert len(referral_items(aws)) == 2


def test_given_reference_collision_when_stored_then_new_reference_used(intake_app, aws, lambda_context, monkeypatch):
    import hub.storage

    refs = iter(["AAAA-AAAA", "AAAA-AAAA", "CCCC-CCCC"])
    monkeypatch.setattr(hub.storage, "new_reference", lambda: next(refs))
    first = post_json(intake_app, lambda_context, valid_answers(submission_id="first-submission-1"))
    second = post_json(intake_app, lambda_context, valid_answers(submission_id="second-submission-2"))

    assert json.loads(first["body"])["reference"] == "AAAA-AAAA"
    assert json.loads(second["body"])["reference"] == "CCCC-CCCC"
    assert {i["reference"]["S"] for i in referral_items(aws)} == {"AAAA-AAAA", "CCCC-CCCC"}


# -- store outage --------------------------------------------------------------------------


def _fail_put(client, monkeypatch, *, only_referrals: bool):
    real = client.put_item

    def put_item(**kwargs):
        if not only_referrals or kwargs["Item"]["sk"]["S"] == "REFERRAL":
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "put_item", put_item)


@pytest.mark.parametrize("only_referrals", [False, True], ids=["idempotency-write-fails", "referral-write-fails"])
@pytest.mark.parametrize("kind", ["json", "form"])
def test_given_store_throttling_when_posted_then_503_retry_after_and_nothing_written(
    intake_app, aws, lambda_context, monkeypatch, only_referrals, kind
):
    _fail_put(intake_app.intake.store.client, monkeypatch, only_referrals=only_referrals)

    if kind == "json":
        response = post_json(intake_app, lambda_context, valid_answers())
    else:
        response = post_form(intake_app, lambda_context, valid_answers())

    assert response["statusCode"] == 503
    assert int(header(response, "Retry-After")) > 0
    assert "Traceback" not in response["body"] and "slow down" not in response["body"]
    if kind == "form":
        assert "<title>Error: " in response["body"]
    # Nothing half-written, not even an idempotency record (the rate limit's token, which holds
    # no personal data, was taken before the write failed).
    assert [i for i in all_items(aws) if not i["pk"]["S"].startswith("LIMIT#")] == []

    # When the store recovers, the same submission goes through.
    monkeypatch.setattr(intake_app.intake.store.client, "put_item", type(intake_app.intake.store.client).put_item.__get__(intake_app.intake.store.client))
    ok = post_json(intake_app, lambda_context, valid_answers())
    assert ok["statusCode"] == 201
    assert len(referral_items(aws)) == 1


def test_given_store_unreachable_when_posted_then_503_and_nothing_written(aws, lambda_context, monkeypatch):
    # Given the DynamoDB endpoint is a closed loopback port
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    app = fresh_import("intake.app")

    response = post_json(app, lambda_context, valid_answers())

    assert response["statusCode"] == 503
    assert header(response, "Retry-After")
    assert all_items(aws) == []


# -- other faults and CORS -----------------------------------------------------------------


def test_given_a_bug_when_posted_then_500_without_details(intake_app, aws, lambda_context, monkeypatch):
    def broken(answers):
        raise RuntimeError("zqx secret detail")

    monkeypatch.setattr(intake_app.intake, "submit", broken)
    response = post_json(intake_app, lambda_context, valid_answers())

    assert response["statusCode"] == 500
    assert "zqx" not in response["body"] and "Traceback" not in response["body"]


def test_given_site_origin_when_preflight_then_cors_allows_only_it(intake_app, lambda_context):
    event = api_event("", None)
    event["requestContext"]["http"]["method"] = "OPTIONS"
    event["routeKey"] = "OPTIONS /api/referrals"
    event["headers"].update({"origin": "http://127.0.0.1:8000", "access-control-request-method": "POST"})

    allowed = intake_app.lambda_handler(event, lambda_context)
    event["headers"]["origin"] = "https://evil.example"
    other = intake_app.lambda_handler(event, lambda_context)

    assert header(allowed, "Access-Control-Allow-Origin") == "http://127.0.0.1:8000"
    assert header(other, "Access-Control-Allow-Origin") is None


def test_given_post_from_site_origin_when_accepted_then_cors_header_present(intake_app, aws, lambda_context):
    event = api_event(json.dumps(valid_answers()), "application/json")
    event["headers"]["origin"] = "http://127.0.0.1:8000"

    response = intake_app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 201
    assert header(response, "Access-Control-Allow-Origin") == "http://127.0.0.1:8000"


# -- start-up and logs ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["TABLE_NAME", "SITE_ORIGIN"])
def test_given_required_env_missing_when_cold_start_then_fails_naming_it(aws, monkeypatch, missing):
    from hub.settings import Settings, SettingsError

    assert Settings.variables()[missing]  # required
    monkeypatch.delenv(missing)
    with pytest.raises(SettingsError, match=missing):
        fresh_import("intake.app")


def test_given_bad_programme_file_when_cold_start_then_fails_naming_file_and_field(aws, monkeypatch, tmp_path):
    from hub.config import ConfigError

    bad = tmp_path / "programme.yml"
    bad.write_text(PROGRAMME.read_text().replace("retention_days: 730", "retention_days: 5"))
    monkeypatch.setenv("CCHCC_PROGRAMME_FILE", str(bad))
    with pytest.raises(ConfigError) as info:
        fresh_import("intake.app")
    assert str(bad) in str(info.value) and "retention_days" in str(info.value)


def test_given_submissions_when_handled_then_no_personal_data_in_logs(
    intake_app, aws, lambda_context, capsys, caplog
):
    caplog.set_level("DEBUG")
    post_form(intake_app, lambda_context, valid_answers())
    post_json(intake_app, lambda_context, valid_answers(age="12"))
    post_form(intake_app, lambda_context, valid_answers(postcode="nope"))
    post_json(intake_app, lambda_context, valid_answers(submission_id="sub-logs-0123456789"))

    captured = capsys.readouterr()
    output = captured.out + captured.err + caplog.text
    assert "referral stored" in output  # the logs are there …
    for value in (*PERSON.values(), "07700900982", "LS9 7AB", "zqx", "Zqx"):
        assert value not in output  # … but never what the person told us


# -- placement without JavaScript ----------------------------------------------------------


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("http://127.0.0.1:8000/campaigns/lincoln-green/?s=lg-library", "lg-library"),  # same origin
        ("https://evil.example/campaigns/lincoln-green/?s=lg-library", None),  # other origin ignored
        ("http://127.0.0.1:8000/get-in-touch/?s=lg-library", None),  # not a campaign page
        # not a placement of the build: kept as unknown, never as a placement (hub.attribution)
        ("http://127.0.0.1:8000/campaigns/lincoln-green/?s=Not%20An%20Id", "unknown"),
        ("http://127.0.0.1:8000/campaigns/lincoln-green/", None),
    ],
)
def test_given_no_js_form_without_source_when_posted_from_campaign_page_then_source_from_referer(
    intake_app, aws, lambda_context, referer, expected
):
    # Given a static campaign page whose hidden `source` stayed empty (no JavaScript to copy ?s=)
    event = api_event(urlencode(valid_answers(source=""), doseq=True), "application/x-www-form-urlencoded")
    event["headers"]["referer"] = referer
    # When it is posted
    response = intake_app.lambda_handler(event, lambda_context)
    # Then the placement comes from the page's address, only when that page is one of ours
    assert response["statusCode"] == 303
    [item] = stored(aws)
    assert item.get("source") == expected


def test_given_source_in_form_when_referer_differs_then_form_value_wins(intake_app, aws, lambda_context):
    event = api_event(urlencode(valid_answers(source="el-market"), doseq=True), "application/x-www-form-urlencoded")
    event["headers"]["referer"] = "http://127.0.0.1:8000/campaigns/lincoln-green/?s=lg-library"
    intake_app.lambda_handler(event, lambda_context)
    [item] = stored(aws)
    assert item["source"] == "el-market"


# -- GET /thanks/ ----------------------------------------------------------------------------


def thanks_event(query: str) -> dict:
    event = copy.deepcopy(load_event("intake_json.json"))
    event.update(routeKey="GET /thanks/", rawPath="/thanks/", rawQueryString=query, body=None, isBase64Encoded=False)
    event["requestContext"]["http"].update(method="GET", path="/thanks/")
    event["requestContext"]["routeKey"] = "GET /thanks/"
    event["headers"] = {"accept": "text/html", "host": "cchcc.example.org"}
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    else:
        event.pop("queryStringParameters", None)
    return event


@pytest.fixture
def thanks_file(tmp_path, monkeypatch):
    from hub.thanks import reference_box

    path = tmp_path / "thanks.html"
    path.write_text(f"<!doctype html><html lang=en><title>Thank you</title><main>{reference_box()}</main></html>", encoding="utf-8")
    monkeypatch.setenv("CCHCC_THANKS_PAGE", str(path))
    return path


def test_given_the_303_location_when_got_then_the_thanks_page_shows_the_reference(aws, thanks_file, lambda_context, caplog, capsys):
    app = fresh_import("intake.app")
    posted = post_form(app, lambda_context, valid_answers())
    location = header(posted, "Location")
    reference = location.removeprefix("/thanks/?ref=")

    response = app.lambda_handler(thanks_event(location.split("?", 1)[1]), lambda_context)

    assert response["statusCode"] == 200
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert header(response, "Cache-Control") == "no-store"
    assert f"data-cc-reference-value>{reference}</p>" in response["body"]
    logged = caplog.text + "".join(capsys.readouterr())
    assert "ref=" not in logged  # the query string is never logged


@pytest.mark.parametrize("query", ["", "ref=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "ref=ABCD-EFGH", "other=1"])
def test_given_no_valid_reference_when_got_then_the_page_is_as_built(aws, thanks_file, lambda_context, query):
    app = fresh_import("intake.app")
    response = app.lambda_handler(thanks_event(query), lambda_context)
    assert response["statusCode"] == 200
    assert response["body"] == thanks_file.read_text(encoding="utf-8")
    assert "<script>alert" not in response["body"]


def test_given_no_built_page_when_got_then_a_short_page_shows_the_reference(aws, tmp_path, monkeypatch, lambda_context):
    monkeypatch.setenv("CCHCC_THANKS_PAGE", str(tmp_path / "not-built.html"))
    app = fresh_import("intake.app")
    response = app.lambda_handler(thanks_event("ref=acde-3467"), lambda_context)
    assert response["statusCode"] == 200
    assert "data-cc-reference-value>ACDE-3467</p>" in response["body"]
    assert "What happens next" in response["body"]
