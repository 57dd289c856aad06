"""The fault matrix: whatever breaks, after Lambda's retries and ``redrive``, 0 referrals lost
and 0 duplicate notifications.

Six residents send a referral (one for each rule, one for the hub's triage, and the CCHCC
team has a webhook as well as email). (A webhook that times out *after* doing its work is
sent the same payload again: no system can tell that from a lost request, so receivers
drop repeats by reference and spoke; see docs/deploy.md.) Then one thing goes wrong: the store at intake, SES,
the webhook (timeout or 500), the router dies mid-batch, or the stream delivers a batch
twice. The batch is delivered again as Lambda would retry it, and ``cchcc redrive``'s own
code sweeps what is still unrouted. Every stored referral is then routed, every ``notify``
spoke got exactly one email per referral, and the webhook exactly one POST.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import (
    TABLE,
    StreamReader,
    api_event,
    fresh_import,
    programme_variant,
    referral_items,
    sent_emails,
    valid_answers,
)

PEOPLE = [
    {"postcode": "LS9 7AB", "age": "30"},  # cchcc (email and webhook)
    {"postcode": "LS8 5QR", "age": "45"},  # cchcc
    {"postcode": "LS12 3AB", "age": "19"},  # hwf
    {"postcode": "LS12 3AB", "age": "40"},  # lcc
    {"postcode": "LS6 2AB", "age": "22"},  # hwf
    {"postcode": "M1 1AE", "age": "30"},  # hub triage
]
FAULTS = ["store-outage-at-intake", "ses-throttling", "webhook-timeout", "webhook-500", "router-crash-mid-batch",
          "duplicate-stream-delivery"]


class Webhook:
    """A spoke's webhook receiver that can be made slow or broken."""

    def __init__(self):
        self.received: list[str] = []
        self.mode = "ok"
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.mode == "timeout":
                    time.sleep(1.0)
                if hook.mode == "500":
                    self.send_response(500)
                else:
                    hook.received.append(body["reference"])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.mark.parametrize("fault", FAULTS)
def test_after_a_fault_the_retries_and_redrive_lose_nothing_and_notify_nobody_twice(
    aws, lambda_context, monkeypatch, tmp_path, webhook, fault
):
    monkeypatch.setenv("CCHCC_PROGRAMME_FILE", str(programme_variant(tmp_path, webhook_url=webhook.url)))
    monkeypatch.setenv("CCHCC_WEBHOOK_SECRET", "fault-matrix-webhook-secret-0123")
    intake = fresh_import("intake.app")
    reader = StreamReader(aws)
    router = fresh_import("router.app")
    router.routing.notifiers.webhook.timeout = 0.3

    # -- the residents send; with the store down at intake, each of the first three gets a 503 once
    refused = Counter()
    if fault == "store-outage-at-intake":
        client = intake.intake.store.client
        real_put = client.put_item

        def put_item(**kwargs):
            name = kwargs["Item"].get("name", {}).get("S")
            if kwargs["Item"]["sk"]["S"] == "REFERRAL" and name not in refused and len(refused) < 3:
                refused[name] += 1
                raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem")
            return real_put(**kwargs)

        monkeypatch.setattr(client, "put_item", put_item)
    for n, person in enumerate(PEOPLE):
        body = json.dumps(valid_answers(name=f"Resident {n}", submission_id=f"fault-matrix-{n:04d}", **person))
        response = intake.lambda_handler(api_event(body, "application/json"), lambda_context)
        if response["statusCode"] == 503:  # "Nothing was saved. Please try again": they do
            response = intake.lambda_handler(api_event(body, "application/json"), lambda_context)
        assert response["statusCode"] == 201
    assert fault != "store-outage-at-intake" or sum(refused.values()) == 3

    # -- the stream delivers the batch to the router while the fault lasts
    event = reader.read()
    ses = router.routing.notifiers.email.client
    real_send, calls = ses.send_email, Counter()
    if fault == "ses-throttling":
        def send_email(**kwargs):
            calls["send"] += 1
            if calls["send"] % 2:
                raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")
            return real_send(**kwargs)

        monkeypatch.setattr(ses, "send_email", send_email)
    elif fault in ("webhook-timeout", "webhook-500"):
        webhook.mode = fault.removeprefix("webhook-")
    elif fault == "router-crash-mid-batch":
        real_mark = router.routing.store.mark_routed

        def mark_routed(reference, *args, **kwargs):
            calls["mark"] += 1
            if calls["mark"] == 3:  # three referrals notified, then the process dies
                raise SystemExit("the sandbox was lost")
            return real_mark(reference, *args, **kwargs)

        monkeypatch.setattr(router.routing.store, "mark_routed", mark_routed)

    try:
        first = router.lambda_handler(event, lambda_context)
    except SystemExit:
        first = "crashed"
    if fault in ("ses-throttling", "webhook-timeout", "webhook-500"):
        assert first["batchItemFailures"], "the fault should have failed some records"
    if fault == "duplicate-stream-delivery":
        assert router.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    # -- the fault clears; Lambda delivers the batch again (all of it: the worst case), redrive sweeps
    monkeypatch.setattr(ses, "send_email", real_send)
    webhook.mode = "ok"
    if fault == "router-crash-mid-batch":
        monkeypatch.setattr(router.routing.store, "mark_routed", real_mark)
    router.lambda_handler(event, lambda_context)

    from cchcc.ops.redrive import Redriver
    from cchcc.ops.target import Target

    redriver = Redriver(Target(table_name=TABLE, programme_file=tmp_path / "programme.yml", local=False))
    assert redriver.sweep_unrouted()
    assert redriver.store.list_unrouted() == []

    # -- then: nothing lost, nobody told twice
    stored = {item["reference"]["S"]: item for item in referral_items(aws)}
    assert len(stored) == len(PEOPLE)  # one each, none lost, none doubled by the retried posts
    assert {item["status"]["S"] for item in stored.values()} == {"routed"}
    emails = Counter()
    for message in sent_emails():
        [reference] = [r for r in stored if r in message.subject]
        emails[(reference, message.destinations["ToAddresses"][0])] += 1
    assert sorted(emails.values()) == [1] * len(PEOPLE)  # one notify spoke each, one email each
    cchcc = [r for r, item in stored.items() if item["postcode"]["S"] in ("LS9 7AB", "LS8 5QR")]
    if fault == "webhook-timeout":
        # A webhook that does its work but answers too late cannot be told apart from one that never
        # got it: it gets the same payload (same reference and spoke) again, and must drop the repeat.
        # Emails, which SES accepts or refuses outright, are never repeated (above).
        assert set(webhook.received) == set(cchcc) and max(Counter(webhook.received).values()) <= 2
    else:
        assert sorted(webhook.received) == sorted(cchcc)
