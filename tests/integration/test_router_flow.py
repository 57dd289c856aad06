"""Intake -> table -> stream -> router -> SES / webhook, against moto, with the fault cases."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import (
    PERSON,
    StreamReader,
    api_event,
    fresh_import,
    load_event,
    programme_variant,
    sent_emails,
    valid_answers,
)

SPOKE_EMAILS = {
    "cchcc": "cchcc.team@example.org",
    "hwf": "hwf.referrals@example.org",
    "lcc-employment-skills": "employment.skills@example.org",
    "hub": "cchcc.hub@example.org",
}


def submit(intake, ctx, **overrides) -> str:
    """A referral with a phone number only: the spokes' messages are the only ones sent (the
    resident's confirmation, for someone who gives an email, is tests/integration/test_outcomes.py's)."""
    overrides.setdefault("email", None)
    response = intake.lambda_handler(api_event(json.dumps(valid_answers(**overrides)), "application/json"), ctx)
    assert response["statusCode"] == 201, response["body"]
    return json.loads(response["body"])["reference"]


def run_router(router, event, ctx):
    return router.lambda_handler(event, ctx)


# -- full flow -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "age", "notified", "eligible"),
    [
        ("LS9 7AB", "30", "cchcc", ["lcc-employment-skills"]),
        ("LS9 7AB", "19", "cchcc", ["hwf", "lcc-employment-skills"]),
        ("LS12 3AB", "19", "hwf", ["lcc-employment-skills"]),
        ("LS12 3AB", "40", "lcc-employment-skills", []),
        ("M1 1AA", "30", "hub", []),
    ],
)
def test_given_referral_when_stream_reaches_router_then_rule_picked_spoke_gets_one_email(
    stack, aws, lambda_context, postcode, age, notified, eligible
):
    intake, reader, router = stack
    reference = submit(intake, lambda_context, postcode=postcode, age=age)

    event = reader.read()
    result = run_router(router, event, lambda_context)

    assert result == {"batchItemFailures": []}
    [message] = sent_emails()
    assert message.destinations["ToAddresses"] == [SPOKE_EMAILS[notified]]
    assert message.source == "no-reply@example.org"
    assert message.subject == f"New referral {reference} from CCHCC"
    body = message.body  # moto keeps the HTML part
    assert reference in body and "lincoln-green" in body and "lg-library" in body
    for spoke in eligible:
        name = router.programme.spoke(spoke).name
        assert name in body
    if notified != "hub":
        spoke = router.programme.spoke(notified)
        assert spoke.why in body and spoke.rules[0].description in body
    # Stored: assignments (one per match), events, status routed.
    store = router.routing.store
    assignments = {a.spoke: a for a in store.get_assignments(reference)}
    assert set(assignments) == {notified, *eligible}
    assert assignments[notified].role == "notify" and assignments[notified].notified_at
    assert assignments[notified].channels == {"email": "sent"}
    assert all(assignments[s].role == "eligible" for s in eligible)
    assert [a.reference for a in store.list_for_spoke(notified)] == [reference]
    assert store.get_referral(reference).status == "routed"
    assert {e.type for e in store.events(reference)} == {"received", "notified", "routed"}


def test_given_campaign_catalogue_when_notified_then_email_names_campaign_and_placement(stack, lambda_context):
    # Given the catalogue from campaigns/ (CCHCC_CAMPAIGNS_FILE, see conftest) and a scan of lg-library
    intake, reader, router = stack
    submit(intake, lambda_context, postcode="LS9 7AB", age="30", campaign="lincoln-green", source="lg-library")

    # When the router notifies the spoke
    run_router(router, reader.read(), lambda_context)

    # Then the message names both, with the ids in brackets, and the placement's location
    [message] = sent_emails()
    placement = router.catalogue.placements["lg-library"]
    assert "Lincoln Green health and care jobs (lincoln-green)" in message.body
    assert f"{placement.name} (lg-library), {placement.location}" in message.body


def test_given_malformed_campaigns_file_when_router_starts_then_it_fails_naming_the_file(aws, tmp_path, monkeypatch):
    from hub.config import ConfigError

    bad = tmp_path / "campaigns.json"
    bad.write_text('{"campaigns": {"lincoln-green": {}}, "placements": {}}', encoding="utf-8")
    monkeypatch.setenv("CCHCC_CAMPAIGNS_FILE", str(bad))

    with pytest.raises(ConfigError) as caught:
        fresh_import("router.app")
    assert str(bad) in str(caught.value) and "campaigns.lincoln-green.title" in str(caught.value)


def test_given_lcc_receives_no_age_when_notified_then_only_configured_fields_sent(stack, lambda_context):
    intake, reader, router = stack
    submit(intake, lambda_context, postcode="LS12 3AB", age="47", language="Polish")

    run_router(router, reader.read(), lambda_context)

    [message] = sent_emails()
    assert message.destinations["ToAddresses"] == [SPOKE_EMAILS["lcc-employment-skills"]]
    assert PERSON["name"] in message.body and "Polish" in message.body
    assert ">Age<" not in message.body and ">47<" not in message.body  # lcc does not receive age


def test_given_sample_stream_event_when_router_runs_then_the_referral_is_routed(aws, router_app, lambda_context):
    # Given the referral in tests/events/stream_insert_referral.json is in the table
    event = load_event("stream_insert_referral.json")
    aws.put_item(TableName="cchcc-referrals-test", Item=event["Records"][0]["dynamodb"]["NewImage"])

    result = router_app.lambda_handler(event, lambda_context)

    assert result == {"batchItemFailures": []}
    # The spoke's notification, and the resident's confirmation (the sample gave an email).
    message, confirmation = sent_emails()
    assert message.destinations["ToAddresses"] == [SPOKE_EMAILS["cchcc"]]
    assert "HX4K-9TMR" in message.subject
    assert confirmation.subject == "Your CCHCC reference is HX4K-9TMR"


def test_given_non_referral_records_when_router_runs_then_they_are_ignored(aws, router_app, lambda_context):
    result = router_app.lambda_handler(load_event("stream_ignored_records.json"), lambda_context)

    assert result == {"batchItemFailures": []}
    assert sent_emails() == []
    assert aws.scan(TableName="cchcc-referrals-test")["Items"] == []  # nothing read-then-written


def test_given_stream_replayed_when_router_runs_again_then_no_second_message(stack, lambda_context):
    intake, reader, router = stack
    submit(intake, lambda_context)
    event = reader.read()

    run_router(router, event, lambda_context)
    run_router(router, event, lambda_context)
    # The router's own writes (assignments, events, status) come back on the stream too.
    assert run_router(router, reader.read(), lambda_context) == {"batchItemFailures": []}

    assert len(sent_emails()) == 1


def test_given_routing_mode_all_when_routed_then_every_match_is_notified(aws, lambda_context, monkeypatch, tmp_path):
    monkeypatch.setenv("CCHCC_PROGRAMME_FILE", str(programme_variant(tmp_path, mode="all")))
    intake = fresh_import("intake.app")
    reader = StreamReader(aws)
    router = fresh_import("router.app")
    reference = submit(intake, lambda_context, postcode="LS9 7AB", age="20")

    run_router(router, reader.read(), lambda_context)

    recipients = sorted(m.destinations["ToAddresses"][0] for m in sent_emails())
    assert recipients == sorted(SPOKE_EMAILS[s] for s in ("cchcc", "hwf", "lcc-employment-skills"))
    assert all(reference in m.subject for m in sent_emails())


# -- faults --------------------------------------------------------------------------------


def _ses_fails(client, monkeypatch, times: int):
    real = client.send_email
    calls = {"n": 0}

    def send_email(**kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(client, "send_email", send_email)
    return calls


def test_given_ses_fails_once_when_retried_then_exactly_one_message(stack, lambda_context, monkeypatch):
    intake, reader, router = stack
    reference = submit(intake, lambda_context)
    event = reader.read()
    calls = _ses_fails(router.routing.notifiers.email.client, monkeypatch, times=1)

    first = run_router(router, event, lambda_context)

    sequence = next(r for r in event["Records"] if r["dynamodb"]["Keys"]["sk"]["S"] == "REFERRAL")["dynamodb"][
        "SequenceNumber"
    ]
    assert first == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    assert sent_emails() == []
    store = router.routing.store
    assert store.get_referral(reference).status == "received"
    assert reference in store.list_unrouted()
    assert "notify-failed" in {e.type for e in store.events(reference)}

    second = run_router(router, event, lambda_context)

    assert second == {"batchItemFailures": []}
    assert len(sent_emails()) == 1 and calls["n"] == 2
    assert store.get_referral(reference).status == "routed"
    assert store.list_unrouted() == []


def test_given_unrouted_referral_when_redriven_with_route_referral_then_routed_once(stack, lambda_context, monkeypatch):
    from hub.routing import RoutingIncompleteError

    intake, reader, router = stack
    reference = submit(intake, lambda_context)
    _ses_fails(router.routing.notifiers.email.client, monkeypatch, times=1)
    run_router(router, reader.read(), lambda_context)

    r = router.routing
    for ref in r.store.list_unrouted():  # what `cchcc redrive` does
        result = r.route(ref)
    assert result.status == "routed" and result.sent == ["cchcc/email"]
    assert r.route(reference).status == "already-routed"
    assert len(sent_emails()) == 1
    assert RoutingIncompleteError  # the exception a redrive reports when a send fails again


def test_given_router_crash_mid_batch_then_only_that_record_is_reported(stack, lambda_context, monkeypatch):
    intake, reader, router = stack
    refs = [submit(intake, lambda_context, submission_id=f"crash-test-{i:04d}", age=str(30 + i)) for i in range(3)]
    event = reader.read()
    assert sum(r["dynamodb"]["Keys"]["sk"]["S"] == "REFERRAL" for r in event["Records"]) == 3
    store = router.routing.store
    real_get = store.get_referral

    def get_referral(reference):
        if reference == refs[1]:
            raise RuntimeError("router bug")
        return real_get(reference)

    monkeypatch.setattr(store, "get_referral", get_referral)

    result = run_router(router, event, lambda_context)

    crashed = next(r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == f"REF#{refs[1]}")
    assert result == {"batchItemFailures": [{"itemIdentifier": crashed["dynamodb"]["SequenceNumber"]}]}
    assert sorted(m.subject for m in sent_emails()) == sorted(f"New referral {r} from CCHCC" for r in (refs[0], refs[2]))

    # Lambda retries; the records that succeeded are no-ops.
    monkeypatch.setattr(store, "get_referral", real_get)
    assert run_router(router, event, lambda_context) == {"batchItemFailures": []}
    assert len(sent_emails()) == 3


def test_given_claim_held_by_another_attempt_when_routed_then_nothing_sent_and_retried(stack, lambda_context):
    from hub.rules import RoutingFacts, assignments_for

    intake, reader, router = stack
    reference = submit(intake, lambda_context)
    store = router.routing.store
    referral = store.get_referral(reference)
    for assignment in assignments_for(RoutingFacts.typed(postcode="LS9 7AB", age=30), router.routing.programme):
        store.put_assignment(referral, assignment)
    assert store.claim_notification(reference, "cchcc", "email").state == "claimed"  # another attempt, mid-send

    result = run_router(router, reader.read(), lambda_context)

    assert len(result["batchItemFailures"]) == 1
    assert sent_emails() == []


# -- webhooks ------------------------------------------------------------------------------


class WebhookReceiver:
    """A loopback HTTP server that records deliveries and answers with the next queued status."""

    def __init__(self, statuses=()):
        self.deliveries: list[dict] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.deliveries.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


SECRET = "webhook-secret-for-tests-0123456789"


@pytest.fixture
def webhook_stack(aws, monkeypatch, tmp_path):
    def start(receiver):
        monkeypatch.setenv("CCHCC_PROGRAMME_FILE", str(programme_variant(tmp_path, webhook_url=receiver.url)))
        monkeypatch.setenv("CCHCC_WEBHOOK_SECRET", SECRET)
        intake = fresh_import("intake.app")
        reader = StreamReader(aws)
        return intake, reader, fresh_import("router.app")

    return start


def test_given_spoke_webhook_when_notified_then_post_is_signed_and_minimal(webhook_stack, lambda_context):
    with WebhookReceiver() as receiver:
        intake, reader, router = webhook_stack(receiver)
        reference = submit(intake, lambda_context)

        assert run_router(router, reader.read(), lambda_context) == {"batchItemFailures": []}

    [delivery] = receiver.deliveries
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    timestamp = headers["x-cchcc-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + delivery["body"], hashlib.sha256).hexdigest()
    assert headers["x-cchcc-signature"] == f"sha256={expected}"
    assert headers["content-type"] == "application/json"
    payload = json.loads(delivery["body"])
    assert payload["reference"] == reference and payload["spoke"] == "cchcc"
    assert payload["rule"] == "target-area" and payload["also_eligible"] == ["lcc-employment-skills"]
    assert set(payload["fields"]) <= set(router.programme.spoke("cchcc").receives)
    assert len(sent_emails()) == 1  # the email still goes


def test_given_webhook_fails_when_retried_then_delivered_once_and_email_not_doubled(webhook_stack, lambda_context):
    with WebhookReceiver(statuses=[500]) as receiver:
        intake, reader, router = webhook_stack(receiver)
        submit(intake, lambda_context)
        event = reader.read()

        first = run_router(router, event, lambda_context)
        second = run_router(router, event, lambda_context)
        third = run_router(router, event, lambda_context)

    assert len(first["batchItemFailures"]) == 1
    assert second == third == {"batchItemFailures": []}
    assert [d["status"] for d in receiver.deliveries] == [500, 200]
    assert len(sent_emails()) == 1


def test_given_webhook_secret_missing_when_router_cold_starts_then_fails_naming_it(aws, monkeypatch, tmp_path):
    from hub.settings import SettingsError

    monkeypatch.setenv("CCHCC_PROGRAMME_FILE", str(programme_variant(tmp_path, webhook_url="https://example.org/h")))
    monkeypatch.delenv("CCHCC_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SettingsError, match="CCHCC_WEBHOOK_SECRET"):
        fresh_import("router.app")


# -- logs ----------------------------------------------------------------------------------


def test_given_full_flow_with_failure_when_logged_then_no_personal_data(stack, lambda_context, monkeypatch, capsys, caplog):
    caplog.set_level("DEBUG")
    intake, reader, router = stack
    reference = submit(intake, lambda_context)
    event = reader.read()
    _ses_fails(router.routing.notifiers.email.client, monkeypatch, times=1)
    run_router(router, event, lambda_context)
    run_router(router, event, lambda_context)

    captured = capsys.readouterr()
    output = captured.out + captured.err + caplog.text
    assert reference in output and "spoke notified" in output
    for value in (*PERSON.values(), "07700900982", "LS9 7AB", "zqx", "Zqx"):
        assert value not in output
