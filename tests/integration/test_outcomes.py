"""After the referral, on moto: outcome links, recording, referring on, the hub assigning,
the resident's confirmation, reminders and escalation (DESIGN.md §4 "After the referral").

Real handlers (intake, router, outcomes, reminders) cold-started against one moto account;
the table's stream is read as Lambda's event source mapping would and handed to the router,
filtered by the template's FilterCriteria with the local stack's matcher.
"""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from cchcc.local import filters
from cchcc.local.http_api import http_api_event
from cchcc.local.template import Template
from hub.links import OutcomeLinks, StaticKeys
from hub.validation import parse_submission
from tests.conftest import TEMPLATE
from tests.integration.conftest import (
    LINK_KEY,
    PERSON,
    StreamReader,
    api_event,
    fresh_import,
    sent_emails,
    valid_answers,
)

ROUTER_FILTERS = next(f for f in Template.load(TEMPLATE).functions().values() if f.streams).streams[0].filters
EMAILS = {
    "cchcc": "cchcc.team@example.org",
    "hwf": "hwf.referrals@example.org",
    "lcc-employment-skills": "employment.skills@example.org",
    "hub": "cchcc.hub@example.org",
}
LINK = re.compile(r"/api/outcomes/([A-Za-z0-9._-]+)")
FORM = "application/x-www-form-urlencoded"


class Flow:
    """The four functions, the stream between them, and what SES accepted."""

    def __init__(self, aws, ctx):
        self.ctx = ctx
        self.intake = fresh_import("intake.app")
        self.reader = StreamReader(aws)
        self.router = fresh_import("router.app")
        self.outcomes = fresh_import("outcomes.app")
        self.reminders = fresh_import("reminders.app")
        self.store = self.router.routing.store

    def submit(self, **overrides) -> str:
        body = json.dumps(valid_answers(**overrides))
        response = self.intake.lambda_handler(api_event(body, "application/json"), self.ctx)
        assert response["statusCode"] == 201, response["body"]
        return json.loads(response["body"])["reference"]

    def stored(self, created: datetime, **overrides) -> str:
        """A referral stored as the intake would have at ``created``."""
        submission = parse_submission(valid_answers(**overrides))
        return self.store.create_referral(submission, retention_days=730, now=created).reference

    def drain(self) -> int:
        """Hand every new stream record that passes the router's filter to the router, until none is left."""
        handled = 0
        for _ in range(10):
            records = [r for r in self.reader.read()["Records"] if filters.passes(ROUTER_FILTERS, r)]
            if not records:
                return handled
            result = self.router.lambda_handler({"Records": records}, self.ctx)
            assert result == {"batchItemFailures": []}, result
            handled += len(records)
        raise AssertionError("the stream did not settle")

    def messages(self, to: str) -> list:
        return [m for m in sent_emails() if m.destinations["ToAddresses"] == [to]]

    def token(self, spoke: str, reference: str) -> str:
        """The outcome link token in the latest message to ``spoke`` about ``reference``."""
        about = [m for m in self.messages(EMAILS[spoke]) if reference in m.subject]
        assert about, f"no message to {spoke} about {reference}"
        return LINK.search(about[-1].body).group(1)

    def call(self, method: str, token: str, body: bytes = b"", content_type: str | None = None,
             accept: str = "text/html", query: str = "") -> dict:
        headers = [("accept", accept), ("host", "cchcc.example.org")]
        if content_type:
            headers.append(("content-type", content_type))
        event = http_api_event(
            method=method, path=f"/api/outcomes/{token}", query=query, headers=headers, body=body,
            source_ip="203.0.113.10", route_key=f"{method} /api/outcomes/{{token}}", path_parameters={"token": token},
        )
        response = self.outcomes.lambda_handler(event, self.ctx)
        response["headers"] = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        return response

    def get(self, token: str, **kw) -> dict:
        return self.call("GET", token, **kw)

    def post(self, token: str, fields: dict, *, as_json: bool = False) -> dict:
        if as_json:
            return self.call("POST", token, json.dumps(fields).encode(), "application/json", accept="application/json")
        return self.call("POST", token, urllib.parse.urlencode(fields).encode(), FORM)

    def remind(self, at: str) -> dict:
        return self.reminders.lambda_handler({"at": at}, self.ctx)


@pytest.fixture
def flow(aws, lambda_context) -> Flow:
    return Flow(aws, lambda_context)


def outcome_items(aws, reference: str) -> list[dict]:
    items = aws.query(TableName="cchcc-referrals-test", KeyConditionExpression="pk = :pk",
                      ExpressionAttributeValues={":pk": {"S": f"REF#{reference}"}})["Items"]
    return [i for i in items if i["sk"]["S"].startswith(("OUTCOME#", "HANDOVER#"))]


# -- the link in the notification, and the page -------------------------------------------------


def test_given_a_spoke_link_then_a_private_page_and_every_status_is_kept_once_in_any_order(flow, aws):
    reference = flow.submit(email=None)  # LS9 7AB -> cchcc
    flow.drain()
    [message] = flow.messages(EMAILS["cchcc"])
    assert "Record what happened, or refer them on" in message.body
    token = flow.token("cchcc", reference)

    # The page: why this spoke, the forms; no personal data, no caching, no referrer.
    page = flow.get(token)
    assert page["statusCode"] == 200
    assert page["headers"]["cache-control"] == "no-store"
    assert page["headers"]["referrer-policy"] == "no-referrer"
    html = page["body"]
    assert f"Referral {reference}" in html and "CCHCC team" in html
    assert "lives in the CCHCC target area" in html  # why this spoke was asked
    for value in (*PERSON.values(), "07700900982", "LS9 7AB"):
        assert value not in html  # the person's details stay in the email
    assert 'name="status"' in html and 'name="refer_to"' in html and 'value="hwf"' in html
    assert 'value="cchcc"' not in html.split('name="refer_to"', 1)[1]  # never offered to refer to yourself

    # Statuses in any order (real life is messy), a double submit and a replayed old form.
    form = {"status": "engaged", "note": "engaged note", "submission_id": "form-engaged-0001"}
    for fields in (form, {"status": "contacted", "submission_id": "form-contacted-0001"}, form):
        response = flow.post(token, fields)
        assert response["statusCode"] == 303
        assert response["headers"]["location"] == f"/api/outcomes/{token}?saved=status"
    for _ in range(2):  # JSON without an id: the same answers within minutes are one post
        supported = flow.post(token, {"status": "supported", "support": "pre-employment"}, as_json=True)
        assert supported["statusCode"] == 200
    assert json.loads(supported["body"]) == {"reference": reference, "spoke": "cchcc", "status": "supported"}
    flow.drain()

    case = flow.store.case(reference)
    assert [(o.status, o.support, o.note) for o in case.outcomes] == [
        ("engaged", None, "engaged note"), ("contacted", None, None), ("supported", "pre-employment", None)
    ]  # the replay neither doubled nor reordered anything
    assignment = case.assignment("cchcc")
    assert assignment.last_status == "supported" and not assignment.awaiting
    page = flow.get(token, query="saved=status")["body"]
    assert "What happened is recorded." in page and "Latest status: <strong>Supported</strong>" in page
    assert page.index("Engaged") < page.index("Contacted") < page.index("Pre-employment course")
    summary = json.loads(flow.get(token, accept="application/json")["body"])
    assert summary["status"] == "supported" and summary["history"][-1]["what"] == "Supported"


BAD_POSTS = [
    ({}, {"status": "Choose what happened"}),
    ({"status": "hired"}, {"status": "Choose one of the statuses listed"}),
    ({"status": "supported"}, {"support": "Choose the kind of support they had"}),
    ({"status": "supported", "support": "gardening"}, {"support": "Choose one of the kinds of support listed"}),
    ({"status": "engaged", "support": "training"}, {"support": "Only choose a kind of support with the status Supported"}),
    ({"status": "engaged", "note": "x" * 501}, {"note": "The note must be 500 characters or fewer (it has 501)"}),
    ({"refer_to": "nobody"}, {"refer_to": "Choose one of the partners listed"}),
    ({"refer_to": "cchcc"}, {"refer_to": "They are already with you: choose another partner"}),
    ({"refer_to": "hwf", "status": "engaged"},
     {"refer_to": "Record what happened or send them to another partner, one at a time"}),
    ({"assign_to": "hwf"}, {"assign_to": "Only the hub can assign a referral. To pass them on, refer them to another partner"}),
]


def test_given_bad_input_then_422_names_the_problem_keeps_the_form_and_stores_nothing(flow, aws):
    reference = flow.submit(email=None)
    flow.drain()
    token = flow.token("cchcc", reference)

    for fields, errors in BAD_POSTS:
        as_json = flow.post(token, fields, as_json=True)
        page = flow.post(token, fields)

        assert as_json["statusCode"] == 422 and json.loads(as_json["body"]) == {"errors": errors}, fields
        assert page["statusCode"] == 422
        html = page["body"]
        assert "<title>Error: " in html and "There is a problem" in html
        for message in errors.values():
            assert message in html
        if fields.get("note"):
            assert fields["note"] in html  # the form kept what they wrote
    assert outcome_items(aws, reference) == []


def test_given_a_tampered_expired_or_foreign_link_then_403_or_410(flow, aws):
    reference = flow.submit(email=None, postcode="LS9 7AB", age="19")  # cchcc notified, hwf only eligible
    flow.drain()
    token = flow.token("cchcc", reference)
    signer = OutcomeLinks(StaticKeys((LINK_KEY.encode(),)), "https://cchcc.example.org", 120)
    other_key = OutcomeLinks(StaticKeys((b"z" * 43,)), "https://cchcc.example.org", 120)
    now = datetime.now(UTC)

    tampered = [
        token.replace(".cchcc.", ".hwf."), token[:-3], token + "x", "not-a-token",
        other_key.token(reference, "cchcc", now),  # re-signed with another key
        signer.token(reference, "hwf", now),  # a valid signature, but hwf was never asked about it
        signer.token(reference, "lcc-employment-skills", now),
    ]
    for bad in tampered:
        assert flow.get(bad)["statusCode"] == 403, bad
        assert flow.post(bad, {"status": "contacted"})["statusCode"] == 403
    forbidden = flow.get("HX4K-9TMR.cchcc.1.x", accept="application/json")
    assert forbidden["statusCode"] == 403 and json.loads(forbidden["body"]) == {"message": "This link does not work"}

    expired = signer.token(reference, "cchcc", now - timedelta(days=121))
    page = flow.get(expired)
    assert page["statusCode"] == 410 and "This link has expired" in page["body"]
    assert reference in page["body"] and "cchcc.hub@example.org" in page["body"]  # how to get a new one
    assert page["headers"]["cache-control"] == "no-store" and page["headers"]["referrer-policy"] == "no-referrer"
    assert flow.post(expired, {"status": "contacted"})["statusCode"] == 410

    gone = signer.token("ACDE-3467", "cchcc", now)
    assert flow.get(gone)["statusCode"] == 410 and "no longer held" in flow.get(gone)["body"]
    assert outcome_items(aws, reference) == []


# -- refer on, back to the hub, the hub assigning ---------------------------------------------------


def test_given_a_spoke_refers_on_then_the_next_spoke_is_notified_once_with_its_own_link(flow, aws):
    reference = flow.submit(email=None)  # cchcc
    flow.drain()
    token = flow.token("cchcc", reference)

    response = flow.post(token, {"refer_to": "hwf", "note": "Better suited to HWF now", "submission_id": "refer-0001"})
    assert response["statusCode"] == 303 and response["headers"]["location"].endswith("?saved=refer")
    assert flow.post(token, {"refer_to": "hwf", "note": "Better suited to HWF now", "submission_id": "refer-0001"})[
        "statusCode"] == 303  # double submit
    flow.drain()
    flow.drain()  # the router's own writes come back on the stream: nothing more happens

    [message] = flow.messages(EMAILS["hwf"])
    assert message.subject == f"Referral {reference} referred to you by CCHCC team"
    assert "Better suited to HWF now" in message.body and PERSON["name"] in message.body
    hwf_token = flow.token("hwf", reference)
    assert hwf_token != token and ".hwf." in hwf_token
    hwf_page = flow.get(hwf_token)["body"]
    assert "Referred on by CCHCC team" in hwf_page and "Referred to you by CCHCC team" in hwf_page
    case = flow.store.case(reference)
    hwf = case.assignment("hwf")
    assert (hwf.role, hwf.rule, hwf.referred_by, hwf.awaiting) == ("notify", "referred-on", "cchcc", True)
    assert hwf.reason == "Referred on by CCHCC team"
    assert not case.assignment("cchcc").awaiting  # referring on is an answer
    assert flow.get(token)["statusCode"] == 200  # the first spoke's link keeps working
    assert len(case.handovers) == 1 and case.handovers[0].channels == {"email": "sent"}


def test_given_a_triage_referral_then_the_hub_link_assigns_it_and_the_spoke_is_told(flow, aws):
    reference = flow.submit(email=None, postcode="M1 1AA")  # matches no spoke: the hub's triage
    flow.drain()
    [triage] = flow.messages(EMAILS["hub"])
    assert "Assign them to a partner, or record what happened" in triage.body
    hub_token = flow.token("hub", reference)
    page = flow.get(hub_token)["body"]
    assert 'name="assign_to"' in page and 'value="lcc-employment-skills"' in page and 'name="refer_to"' not in page

    assert flow.post(hub_token, {"assign_to": "lcc-employment-skills", "submission_id": "assign-0001"})["statusCode"] == 303
    flow.drain()

    [message] = flow.messages(EMAILS["lcc-employment-skills"])
    assert message.subject == f"Referral {reference} assigned to you by the CCHCC hub"
    case = flow.store.case(reference)
    assert not case.assignment("hub").awaiting and case.assignment("lcc-employment-skills").awaiting
    assert case.assignment("lcc-employment-skills").handover_reason == "Assigned by the hub"
    # The hub's page now lists the partner, with a fresh link to send on if theirs expires.
    assert "Leeds City Council Employment and Skills" in flow.get(hub_token)["body"]

    # An escalated referral: the hub gives it to another partner; the first is no longer waited for.
    escalated = flow.submit(email=None, submission_id="escalated-0001")  # cchcc
    flow.drain()
    signer = OutcomeLinks(StaticKeys((LINK_KEY.encode(),)), "https://cchcc.example.org", 120)
    hub_link = signer.token(escalated, "hub", datetime.now(UTC))  # as the hub's digest carries it
    assert flow.post(hub_link, {"assign_to": "hwf", "submission_id": "reassign-0001"})["statusCode"] == 303
    flow.drain()
    case = flow.store.case(escalated)
    assert not case.assignment("cchcc").awaiting and case.assignment("hwf").awaiting
    assert len(flow.messages(EMAILS["hwf"])) == 1

    # The partner sends them back to the hub: the hub is told, and awaits again.
    lcc_token = flow.token("lcc-employment-skills", reference)
    assert flow.post(lcc_token, {"refer_to": "hub", "submission_id": "back-0001"})["statusCode"] == 303
    flow.drain()
    messages = flow.messages(EMAILS["hub"])
    assert len(messages) == 2 and "referred a person back to the hub" in messages[-1].body
    assert flow.store.case(reference).assignment("hub").awaiting


# -- the resident's confirmation ----------------------------------------------------------------------


def test_given_an_email_then_one_confirmation_and_a_rejected_address_never_holds_routing_up(flow, monkeypatch):
    reference = flow.submit()  # with the person's email
    flow.drain()
    [confirmation] = flow.messages(PERSON["email"])
    assert confirmation.subject == f"Your CCHCC reference is {reference}"
    assert reference in confirmation.body and "0113 496 0000" in confirmation.body
    assert "CCHCC team" in confirmation.body and "within 5 working days" in confirmation.body
    assert flow.router.routing.route(reference).status == "already-routed"  # redriven: never a second one
    assert len(flow.messages(PERSON["email"])) == 1
    assert "confirmed" in {e.type for e in flow.store.events(reference)}

    # SES will not send to the next resident's address (the SES sandbox, a typo...): given up, not retried.
    client = flow.router.routing.notifiers.email.client
    real = client.send_email

    def send_email(**kwargs):
        if kwargs["Destination"]["ToAddresses"] == ["other.resident@example.com"]:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(client, "send_email", send_email)
    rejected = flow.submit(email="other.resident@example.com", submission_id="second-resident-0001")
    flow.drain()

    assert len(flow.messages(EMAILS["cchcc"])) == 2 and flow.messages("other.resident@example.com") == []
    assert flow.store.get_referral(rejected).status == "routed"  # not held up
    assert "confirm-failed" in {e.type for e in flow.store.events(rejected)}


# -- reminders and escalation ------------------------------------------------------------------------


def test_given_a_referral_left_alone_then_one_reminder_on_the_right_working_day_then_an_escalation(flow):
    # Asked on Monday 10 March 2025 (09:30 London); nobody records anything.
    reference = flow.stored(datetime(2025, 3, 10, 9, 30, tzinfo=UTC), email=None)
    triage = flow.stored(datetime(2025, 3, 11, 11, 0, tzinfo=UTC), email=None, postcode="M1 1AA")
    # Asked the same day, but that spoke said it could not reach them: no reminder for it.
    answered = flow.stored(datetime(2025, 3, 10, 9, 45, tzinfo=UTC), email=None, postcode="LS12 3AB", age="19")
    flow.drain()
    assert flow.post(flow.token("hwf", answered), {"status": "not-reached"}, as_json=True)["statusCode"] == 200
    flow.drain()
    before = len(sent_emails())

    early = flow.remind("2025-03-17T09:00:00Z")  # four whole working days: not yet
    assert (early["reminders_sent"], early["overdue"]) == (0, 0)
    assert early["escalations_sent"] == 1 and early["unassigned"] == 1  # the hub's triage list, though

    due = flow.remind("2025-03-18T09:00:00Z")
    [reminder] = flow.messages(EMAILS["cchcc"])[1:]
    assert reminder.subject == "Reminder: 1 referral waiting for an update (CCHCC)"
    assert reference in reminder.body and "/api/outcomes/" in reminder.body
    for value in (*PERSON.values(), "LS9 7AB"):
        assert value not in reminder.body  # references and links only
    assert (due["reminders_sent"], due["overdue"], due["escalated"]) == (1, 1, 0)

    again = flow.remind("2025-03-18T09:00:00Z")  # the same day twice: nothing new
    assert again["reminders_sent"] == again["escalations_sent"] == 0 and again["already_sent"] == 2
    assert len(flow.messages(EMAILS["cchcc"])) == 2

    holiday = flow.remind("2025-04-18T09:00:00Z")  # Good Friday
    assert holiday["working_day"] is False and "Good Friday" in holiday["skipped"]

    late = flow.remind("2025-03-25T09:00:00Z")  # ten whole working days: the hub is told
    assert late["escalated"] == 1
    digest = flow.messages(EMAILS["hub"])[-1]
    assert digest.subject == "CCHCC hub digest for 25 March 2025: 1 with no update, 1 to assign"
    assert reference in digest.body and triage in digest.body and ".hub." in digest.body
    assert len(sent_emails()) - before == 1 + 2 + 2  # days 17, 18, 25: one digest per recipient per day
    assert all(answered not in m.body for m in sent_emails()[before:])
    assert len(flow.messages(EMAILS["hwf"])) == 1  # its notification only


def test_given_ses_fails_during_a_reminder_then_the_retry_sends_it_once(flow, monkeypatch):
    from hub.reminders import RemindersIncompleteError

    flow.stored(datetime(2025, 3, 10, 9, 30, tzinfo=UTC), email=None)
    flow.stored(datetime(2025, 3, 10, 9, 30, tzinfo=UTC), email=None, postcode="LS12 3AB", age="19")  # hwf
    flow.drain()
    client = flow.reminders.reminders.email.client
    real, calls = client.send_email, {"n": 0}

    def send_email(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the first digest of the run (cchcc's) fails
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(client, "send_email", send_email)
    with pytest.raises(RemindersIncompleteError):
        flow.remind("2025-03-18T09:00:00Z")  # Lambda retries a run that raised
    assert len(flow.messages(EMAILS["hwf"])) == 2 and len(flow.messages(EMAILS["cchcc"])) == 1

    retry = flow.remind("2025-03-18T09:00:00Z")

    assert retry["reminders_sent"] == 1 and retry["already_sent"] == 1
    assert len(flow.messages(EMAILS["cchcc"])) == 2 and len(flow.messages(EMAILS["hwf"])) == 2


# -- logs -----------------------------------------------------------------------------------------------


def test_no_token_note_or_personal_data_in_any_log_line(flow, monkeypatch, caplog):
    # Every log handler the functions set up (Powertools' JSON to stdout) writes here instead.
    written = io.StringIO()
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler):
                monkeypatch.setattr(handler, "stream", written)
    caplog.set_level("DEBUG")
    reference = flow.submit()
    flow.drain()
    token = flow.token("cchcc", reference)
    note = "Qpz private note about the person"
    flow.get(token)
    flow.post(token, {"status": "engaged", "note": note})
    flow.post(token, {"refer_to": "hwf", "note": note + " again"})
    flow.post(token, {"status": "engaged", "note": "y" * 600})  # invalid
    flow.get(token + "x")
    flow.drain()
    flow.remind(datetime.now(UTC).strftime("%Y-%m-%dT09:00:00Z"))

    output = written.getvalue() + caplog.text
    for expected in (reference, "outcome recorded", "handover recorded", "referral handed over", "outcome link refused"):
        assert expected in output, expected
    signature = token.rsplit(".", 1)[1]
    for value in (signature, note, "y" * 50, *PERSON.values(), "07700900982"):
        assert value not in output, value
