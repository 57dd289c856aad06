"""A person's data on moto (DESIGN.md §4 "A person's data"): find, export, erase, audit, backfill,
erasure notices through the stream and the router, retention of every item kind.

The real intake, router and outcomes handlers cold-started against one moto account (the
``Flow`` of test_outcomes), with the person hash key in SSM and a webhook on the ``cchcc`` spoke.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from cchcc.local import filters
from hub.links import ParameterKeys
from hub.lookup import PersonError
from hub.person import NotFoundError, PersonData
from tests.integration.conftest import PERSON, REGION, TABLE, all_items, programme_variant, sent_emails
from tests.integration.test_outcomes import EMAILS, ROUTER_FILTERS, Flow
from tests.integration.test_router_flow import SECRET, WebhookReceiver

KEY_PARAMETER = "/cchcc-test/person-hash-key"
NOTE = "Qzv private note about the person"
HANDOVER_NOTE = "Hxq handover note about the person"
SECRETS = (*PERSON.values(), "07700900982", "LS9 7AB", NOTE, HANDOVER_NOTE)


@pytest.fixture
def people(aws, monkeypatch, tmp_path, lambda_context):
    """Start the functions with a webhook on cchcc; returns (receiver, flow, PersonData)."""
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=KEY_PARAMETER, Type="SecureString", Value="person-hash-key-" + "p" * 30)
    monkeypatch.setenv("PERSON_HASH_KEY_PARAMETER", KEY_PARAMETER)
    monkeypatch.setenv("CCHCC_WEBHOOK_SECRET", SECRET)

    def start(receiver: WebhookReceiver) -> tuple[Flow, PersonData]:
        monkeypatch.setenv("CCHCC_PROGRAMME_FILE", str(programme_variant(tmp_path, webhook_url=receiver.url)))
        flow = Flow(aws, lambda_context)
        person = PersonData(flow.store, flow.router.programme, "tester (local stack)",
                            keys=ParameterKeys(KEY_PARAMETER, max_age=0, what="person hash key"))
        return flow, person

    return start


def _dump(data) -> str:
    return json.dumps(data, default=str)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s.casefold() in text.casefold()]


def test_find_export_erase_audit_end_to_end_with_notices_and_nothing_left(people, aws, capsys, caplog):
    caplog.set_level(logging.DEBUG, logger="hub")
    with WebhookReceiver() as receiver:
        flow, person = people(receiver)
        first = flow.submit(submission_id="person-test-0001")  # LS9 7AB, 30: cchcc (webhook) + eligible lcc
        second = flow.submit(email=" ZQX.Testperson@EXAMPLE.com ", phone=None, age="31")  # same person, later
        other = flow.submit(email="someone.else@example.com", phone="07700 900111", name="Other Person")
        flow.drain()

        # find: by email (however typed), by phone, by reference; several matches are all listed.
        by_email = person.find(email="zqx.testperson@example.com")
        assert [f.reference for f in by_email] == [first, second]
        assert [f.reference for f in person.find(phone="+44 7700 900982")] == [first]
        assert [f.reference for f in person.find(reference=other.lower())] == [other]
        with pytest.raises(NotFoundError, match="no referral found for that email"):
            person.find(email="nobody@example.com")
        with pytest.raises(PersonError, match="not a UK phone number"):
            person.find(phone="12")

        # The spoke records an outcome with a note and refers the person on with another.
        token = flow.token("cchcc", first)
        assert flow.post(token, {"status": "engaged", "note": NOTE, "submission_id": "outcome-0001"})["statusCode"] == 303
        handover = {"refer_to": "hwf", "note": HANDOVER_NOTE, "submission_id": "handover-0001"}
        assert flow.post(token, handover)["statusCode"] == 303
        flow.drain()
        assert flow.get(token)["statusCode"] == 200  # an outcome-page read: audited

        # export: everything, with who was sent which fields and when it goes.
        exported = person.export(first)
        [held] = exported["referrals"]
        assert held["referral"]["name"] == PERSON["name"] and held["referral"]["email"] == PERSON["email"]
        assert [o["note"] for o in held["outcomes"]] == [NOTE] and held["handovers"][0]["note"] == HANDOVER_NOTE
        sent = {(m["to"], m["channel"]) for m in held["messages"]}
        assert {("cchcc", "email"), ("cchcc", "webhook"), ("hwf", "email")} <= sent
        cchcc_fields = next(m["fields"] for m in held["messages"] if m["to"] == "cchcc")
        assert set(cchcc_fields) <= set(flow.router.programme.spoke("cchcc").receives) and "name" in cchcc_fields
        expires = flow.store.get_referral(first).expires_at
        assert held["deleted_on"] == datetime.fromtimestamp(expires, UTC).date().isoformat()
        from cchcc.ops.person import as_text

        text = as_text(exported)
        assert PERSON["name"] in text and NOTE in text and f"deleted on {held['deleted_on']}" in text

        # erase: refused while the reason holds the person's details; nothing changed.
        with pytest.raises(PersonError, match="reason contains the person's email"):
            person.erase(first, f"asked by {PERSON['email']}")
        assert flow.store.get_referral(first).name == PERSON["name"]

        emails_before = len(sent_emails())
        result = person.erase(first, "Subject asked by phone on 1 Dec")
        assert result.references == [first] and not result.already
        assert result.notices == [f"{first} -> cchcc", f"{first} -> hwf"]
        flow.drain()

    # Each spoke that had the details got one notice (email; cchcc's webhook too), signed, with no personal data.
    notices = [m for m in sent_emails()[emails_before:]]
    assert sorted(m.destinations["ToAddresses"][0] for m in notices) == [EMAILS["cchcc"], EMAILS["hwf"]]
    for message in notices:
        assert first in message.subject and "Erasure" in message.subject and not _leaks(message.body)
    [hook] = [d for d in receiver.deliveries if json.loads(d["body"]).get("type") == "erasure"]
    payload = json.loads(hook["body"])
    assert payload["reference"] == first and payload["spoke"] == "cchcc" and not _leaks(hook["body"].decode())
    headers = {k.lower(): v for k, v in hook["headers"].items()}
    signed = hmac.new(SECRET.encode(), f"{headers['x-cchcc-timestamp']}.".encode() + hook["body"], hashlib.sha256)
    assert headers["x-cchcc-signature"] == f"sha256={signed.hexdigest()}"

    # Nothing of the person is left anywhere in the table but in the other people's referrals.
    for item in all_items(aws):
        if item["pk"]["S"] in (f"REF#{second}", f"REF#{other}"):
            continue
        assert not _leaks(_dump(item)), item["sk"]
    anonymised = flow.store.referral_item(first)
    assert anonymised["erased"] is True and anonymised["district"] == "LS9" and anonymised["age_band"] == "25-34"
    assert anonymised["campaign"] == "lincoln-green" and "gsi4pk" not in anonymised and "gsi5pk" not in anonymised
    assert not flow.store.idempotency_records(first)
    assert not [i for i in all_items(aws) if i["pk"]["S"] == "SUBMISSION#person-test-0001"]
    assert [f.reference for f in person.find(email=PERSON["email"])] == [second]  # the lookup hash went too

    # export shows only the anonymised record; a second erase changes and sends nothing.
    [left] = person.export(first)["referrals"]
    assert left["erased"] is True and not _leaks(_dump(left))
    assert set(left) == {"reference", "erased", "anonymised_record", "deleted_on"}
    again = person.erase(first, "Subject asked by phone on 1 Dec")
    assert again.already and again.notices == []
    flow.drain()
    assert len(sent_emails()) == emails_before + 2

    # The outcome link now says the referral was erased (410, a page without a form).
    page = flow.get(token)
    assert page["statusCode"] == 410 and "This referral has been erased" in page["body"]
    assert "<form" not in page["body"]

    # The audit trail: who, what, when; never the contact, its hash or the data.
    trail = person.audit(first)
    actions = [a["action"] for a in trail]
    assert actions.count("find") == 2 and "export" in actions and actions.count("erase") == 2
    assert actions.count("outcome-page-read") == 2
    assert all(a["actor"] for a in trail) and not _leaks(_dump(trail))
    [erase] = [a for a in trail if a["action"] == "erase" and not a["already_erased"]]
    assert erase["reason"] == "Subject asked by phone on 1 Dec" and erase["actor"] == "tester (local stack)"
    for item in all_items(aws):
        if item.get("type", {}).get("S") == "audit":
            assert not _leaks(_dump(item)) and "PERSON#" not in _dump(item)
    [nobody] = [i for i in all_items(aws) if i["pk"]["S"].startswith("AUDIT#")]
    assert nobody["matches"]["N"] == "0" and nobody["by"]["S"] == "email"

    # Logs: nothing personal in any line the functions or the commands wrote.
    logged = capsys.readouterr()
    assert not _leaks(logged.out + logged.err + caplog.text)


def test_retention_every_item_of_a_referral_goes_with_it_even_a_late_handover(people, aws):
    """moto runs no TTL: every item about a referral carries expires_at, never later than the referral's,
    whatever the clock says when it is written (a handover a year later does not extend anything)."""
    with WebhookReceiver() as receiver:
        flow, person = people(receiver)
        reference = flow.submit(submission_id="retention-0001")
        flow.drain()
        token = flow.token("cchcc", reference)
        later = datetime.now(UTC) + timedelta(days=110)
        flow.outcomes.desk.clock = lambda: later
        flow.post(token, {"status": "contacted", "note": NOTE, "submission_id": "late-outcome-01"})
        flow.post(token, {"refer_to": "hwf", "note": HANDOVER_NOTE, "submission_id": "late-handover-1"})
        flow.drain()
        person.find(email=PERSON["email"])
        person.erase(reference, "retention test")
        flow.drain()

    expires = flow.store.get_referral(reference).expires_at
    items = all_items(aws)
    mine = [i for i in items if i["pk"]["S"] == f"REF#{reference}"]
    kinds = {i["sk"]["S"].split("#")[0] for i in mine}
    assert {"REFERRAL", "ASSIGN", "OUTCOME", "HANDOVER", "EVENT", "AUDIT", "ERASURE"} <= kinds
    for item in mine:
        assert int(item["expires_at"]["N"]) <= expires, item["sk"]["S"]
    others = [i for i in items if i["pk"]["S"].startswith(("IDEMPOTENCY#", "SUBMISSION#", "LIMIT#"))]
    for item in others:
        assert "expires_at" in item and int(item["expires_at"]["N"]) <= expires, item["pk"]["S"]


@pytest.mark.parametrize("moment", ["after-the-claim", "before-the-assignment"])
def test_erasing_while_the_router_is_mid_way_sends_no_details_and_tells_the_spoke(people, aws, moment):
    """The router has read the referral when the erasure lands: after it claimed the spoke's send, or
    before it wrote the assignment. The message does not go, nothing is half-erased, nobody is left
    awaiting (reminded), and a spoke whose send had been claimed is still sent the erasure notice."""
    with WebhookReceiver() as receiver:
        flow, person = people(receiver)
        reference = flow.submit(email=None)
        store = flow.router.routing.store
        method = "claim" if moment == "after-the-claim" else "put_assignment"
        original = getattr(store, method)
        erased = []

        def then_erase(*args, **kwargs):
            if moment == "before-the-assignment" and not erased:
                erased.append(person.erase(reference, "asked while routing"))
            result = original(*args, **kwargs)
            if moment == "after-the-claim" and not erased and result.state == "claimed":
                erased.append(person.erase(reference, "asked while routing"))
            return result

        setattr(store, method, then_erase)
        try:
            flow.drain()
        finally:
            setattr(store, method, original)

    told = ["cchcc"] if moment == "after-the-claim" else []
    assert erased and erased[0].notices == [f"{reference} -> {spoke}" for spoke in told]
    sent = sent_emails()
    assert [m.destinations["ToAddresses"] for m in sent] == [[EMAILS[spoke]] for spoke in told]
    assert all("Erasure" in m.subject and not _leaks(m.body) for m in sent)
    assert [json.loads(d["body"])["type"] for d in receiver.deliveries] == ["erasure" for _ in told]
    case = flow.store.case(reference)
    assert case.referral.erased and case.referral.name == "" and case.assignment("cchcc").channels["email"] == "rejected"
    assert not [a for a in case.assignments if a.awaiting]  # no reminder will list it
    for item in all_items(aws):
        assert not _leaks(_dump(item)), item["sk"]


def test_a_spoke_webhook_down_during_an_erasure_notice_is_retried_then_redriven(people, aws, capsys):
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from cchcc.ops.redrive import Redriver
    from cchcc.ops.target import Target

    with WebhookReceiver(statuses=[200] + [503] * 3) as receiver:
        flow, person = people(receiver)
        reference = flow.submit(email=None)
        flow.drain()  # notified: email and webhook
        person.erase(reference, "asked by letter")
        records = [r for r in flow.reader.read()["Records"] if filters.passes(ROUTER_FILTERS, r)]
        assert len(records) == 1  # the erasure notice item's INSERT
        failures = 0
        for _ in range(3):  # Lambda's retries of the stream record, each one failing at the webhook
            with pytest.raises(BatchProcessingError, match="webhook answered 503"):  # the batch's only record failed
                flow.router.lambda_handler({"Records": records}, flow.ctx)
            failures += 1
        assert failures == 3  # then Lambda puts the batch in the dead-letter queue
        emails = [m for m in sent_emails() if "Erasure" in m.subject]
        assert len(emails) == 1  # the email went once, whatever the webhook's retries

        target = Target(table_name=TABLE, programme_file=flow.router.settings.programme_file, local=True)
        redriver = Redriver(target)
        assert redriver.sweep_erasures() is True
    assert redriver.summary.notices_sent == [f"{reference} -> cchcc"]
    assert f"erasure notice {reference} -> cchcc: sent (cchcc/webhook)" in capsys.readouterr().out
    assert [d["status"] for d in receiver.deliveries] == [200, 503, 503, 503, 200]
    assert len([m for m in sent_emails() if "Erasure" in m.subject]) == 1
    assert Redriver(target).sweep_erasures() is True  # nothing left: nothing sent again
    assert len(receiver.deliveries) == 5


def test_backfill_adds_the_hash_to_older_referrals_and_a_key_rotation_hides_nobody(people, aws):
    with WebhookReceiver() as receiver:
        flow, person = people(receiver)
        old = flow.stored(datetime.now(UTC) - timedelta(days=30))  # made before the hash existed
        new = flow.submit(email=PERSON["email"].upper())
        with pytest.raises(NotFoundError, match="no referral found for that reference"):
            person.find(reference="ZZZZ-ZZZZ")
        assert [f.reference for f in person.find(email=PERSON["email"])] == [new]

        assert person.backfill() == (1, 1)
        assert {f.reference for f in person.find(email=PERSON["email"])} == {old, new}
        assert person.backfill() == (0, 2)  # safe to run again

        ssm = boto3.client("ssm", region_name=REGION)
        current = ssm.get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"]
        ssm.put_parameter(Name=KEY_PARAMETER, Type="SecureString", Value=f"rotated-key-{'r' * 32},{current}",
                          Overwrite=True)
        assert {f.reference for f in person.find(phone=PERSON["phone"])} == {old, new}  # the previous key still finds
        assert person.backfill() == (2, 0)
        ssm.put_parameter(Name=KEY_PARAMETER, Type="SecureString", Value=f"rotated-key-{'r' * 32}", Overwrite=True)
        assert {f.reference for f in person.find(phone=PERSON["phone"])} == {old, new}
    assert [a["action"] for a in person.audit(old)].count("backfill") == 2
