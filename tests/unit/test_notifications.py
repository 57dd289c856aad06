"""Notification content and channels, without AWS (fakes only)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hub.config import load_programme
from hub.notifications import (
    NotificationFailedError,
    Notifiers,
    SesNotifier,
    WebhookNotifier,
    build_notification,
    sign,
)
from tests.conftest import PROGRAMME as PROGRAMME_FILE
from tests.unit.fakes import stored

PROGRAMME = load_programme(PROGRAMME_FILE)
# Stored through the real storage code: LS12 3AB, aged 47, matches Leeds City Council only.
REFERRAL, (LCC,) = stored(programme=PROGRAMME)


def test_given_lcc_assignment_when_built_then_only_its_configured_fields_appear():
    assert LCC.spoke == "lcc-employment-skills" and LCC.role == "notify"

    message = build_notification(REFERRAL, LCC, [LCC], PROGRAMME)

    assert message.to == ("employment.skills@example.org",)
    assert message.subject == "New referral HX4K-9TMR from CCHCC"
    for body in (message.text, message.html):
        assert "HX4K-9TMR" in body and "harehills-spring" in body and "harehills-library" in body
        assert "Any Leeds (LS) postcode" in body and "lives in Leeds" in body
        assert "Polish" in body and "Caring for people" in body
    assert "Received: 2025-03-12T10:15:00.000Z" in message.text
    assert "Age:" not in message.text and "47" not in message.text  # lcc does not receive age
    assert "Age" not in message.html
    assert set(message.payload["fields"]) == set(PROGRAMME.spoke("lcc-employment-skills").receives)
    assert "age" not in message.payload["fields"]


def test_given_personal_data_when_built_then_subject_has_none_and_html_is_escaped():
    message = build_notification(REFERRAL, LCC, [], PROGRAMME)

    assert "Zqx" not in message.subject and "LS12" not in message.subject
    assert "<b>Testperson</b>" not in message.html and "&lt;b&gt;Testperson&lt;/b&gt;" in message.html
    assert "Zqx <b>Testperson</b>" in message.text  # plain text is not HTML-escaped


def test_given_other_matches_when_built_then_they_are_named_as_also_eligible():
    referral, assignments = stored(programme=PROGRAMME, postcode="LS9 7AB", age="20")
    cchcc = assignments[0]
    assert [(a.spoke, a.role) for a in assignments] == [
        ("cchcc", "notify"), ("hwf", "eligible"), ("lcc-employment-skills", "eligible")
    ]

    message = build_notification(referral, cchcc, assignments, PROGRAMME)

    assert "Healthier Working Futures" in message.text and "Healthier Working Futures" in message.html
    assert message.payload["also_eligible"] == ["hwf", "lcc-employment-skills"]


def test_given_triage_assignment_when_built_then_goes_to_triage_address_with_all_fields():
    referral, [hub] = stored(programme=PROGRAMME, postcode="M1 1AE")
    assert hub.spoke == "hub" and hub.rule == "no-match"

    message = build_notification(referral, hub, [hub], PROGRAMME)

    assert message.to == ("cchcc.hub@example.org",) and message.spoke == "hub"
    assert "Age: 47" in message.text


class FakeSes:
    def __init__(self, error=None):
        self.calls, self.error = [], error

    def send_email(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"MessageId": "m-1"}


def test_given_notification_when_sent_by_ses_then_text_html_and_tags_go_with_it():
    client = FakeSes()
    message = build_notification(REFERRAL, LCC, [], PROGRAMME)

    SesNotifier("no-reply@example.org", client=client).send(message)

    [call] = client.calls
    assert call["FromEmailAddress"] == "no-reply@example.org"
    assert call["Destination"] == {"ToAddresses": ["employment.skills@example.org"]}
    body = call["Content"]["Simple"]["Body"]
    assert body["Text"]["Data"] == message.text and body["Html"]["Data"] == message.html
    assert {t["Name"]: t["Value"] for t in call["EmailTags"]} == {
        "spoke": "lcc-employment-skills",
        "reference": "HX4K-9TMR",
    }


def test_given_ses_refuses_when_sent_then_notification_failed_error_chained():
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "MessageRejected", "Message": "no"}}, "SendEmail")
    message = build_notification(REFERRAL, LCC, [], PROGRAMME)

    with pytest.raises(NotificationFailedError) as info:
        SesNotifier("no-reply@example.org", client=FakeSes(error)).send(message)
    assert info.value.__cause__ is error


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"k" * 16, b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(b"k" * 16, "1700000000", b"{}") == f"sha256={expected}"


def test_given_unreachable_webhook_when_sent_then_notification_failed_error():
    from hub.config import Webhook

    message = build_notification(REFERRAL, LCC, [], PROGRAMME)
    hook = Webhook(url="http://127.0.0.1:9/hook", secret_env="HOOK_SECRET")
    message = type(message)(**{**message.__dict__, "webhook": hook})

    with pytest.raises(NotificationFailedError):
        WebhookNotifier({"HOOK_SECRET": b"s" * 16}, timeout=1).send(message)
    assert [c for c, _ in Notifiers(email=object(), webhook=object()).channels(message)] == ["email", "webhook"]


def test_given_support_needs_over_several_lines_then_they_cannot_add_lines_of_ours_to_the_email():
    # Issue 13, finding 4: a multi-line answer that types "Reference:" and "Why you:" lines.
    forged = "Mornings\nReference: FAKE-0000\nWhy you: the person asked for the webhook secret"
    referral, (assignment,) = stored(programme=PROGRAMME, support_needs=forged)

    text = build_notification(referral, assignment, [assignment], PROGRAMME).text

    lines = text.splitlines()
    assert [line for line in lines if line.startswith("Reference:")] == [f"Reference: {referral.reference}"]
    assert [line for line in lines if line.startswith("Why you:")] == ["Why you: the person lives in Leeds."]
    assert "Support needs: Mornings\n    Reference: FAKE-0000\n    Why you: the person asked" in text
