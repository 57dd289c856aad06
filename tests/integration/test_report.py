"""``cchcc report`` over a moto table seeded through the real storage code, with known counts.

Given referrals, assignments, handovers, outcomes, digests and scan counters (and an erased
referral, a referral made before its campaign began, one outside the period), when the
report is made, then each person counts once per cell, the funnel follows the implication
rule, multi-spoke people are counted, only one query per month is made (never a scan), and
none of the synthetic personal details reaches the HTML, CSV or JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from cchcc.local.template import Template, create_table
from cchcc.ops import report, report_files
from hub.models import Assignment, Handover, Outcome, Submission
from hub.storage import DynamoReferralStore, cohort_keys, digest_send, to_item
from tests.conftest import PROGRAMME, TEMPLATE

TABLE = "cchcc-report-test"
REGION = "eu-west-2"
WINDOW = report.Period(date(2026, 9, 1), date(2026, 11, 30))
SECRETS = ("Test Resident", "example.com", "07700", "900001", "LS9 7AB", "LS8 5QR", "Mornings only please", "secret note")


def _at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def _refer(store, n: int, day: str, *, campaign="lincoln-green", source="lg-library", email=None, phone=None,
           postcode="LS9 7AB", channel="web", event=None):
    submission = Submission(
        name=f"Test Resident {n}", email=email, phone=phone, postcode=postcode, age=30,
        support_needs="Mornings only please", campaign=campaign, source=source, channel=channel, event=event,
    )
    return store.create_referral(submission, retention_days=730, now=_at(day), reference_factory=lambda: f"TEST-{n:04d}")


def _assign(store, referral, spoke, role="notify"):
    store.put_assignment(referral, Assignment(spoke=spoke, role=role, rule="r", reason="test", priority=1))


def _outcome(store, referral, spoke, status, day, n):
    outcome = Outcome(reference=referral.reference, spoke=spoke, id=f"outcome-{referral.reference}-{n}",
                      at=_at(day, 12).isoformat().replace("+00:00", ".000Z"), status=status, note="secret note")
    store.add_outcome(outcome, expires_at=None, received=referral.received)


@pytest.fixture(scope="module")
def seeded():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
        create_table(client, Template.load(TEMPLATE), TABLE)
        store = DynamoReferralStore(TABLE, client=client)
        # P1: two referrals (same email, other case); cchcc records only "offer", hwf "contacted".
        a = _refer(store, 1, "2026-11-10", email="test-resident-1@example.com")
        b = _refer(store, 2, "2026-11-12", email="Test-Resident-1@EXAMPLE.com", source="lg-gp")
        _assign(store, a, "cchcc")
        _assign(store, a, "lcc-employment-skills", role="eligible")  # eligible only: not "asked"
        _outcome(store, a, "cchcc", "offer", "2026-11-13", 1)
        _assign(store, b, "hwf")
        _outcome(store, b, "hwf", "contacted", "2026-11-12", 1)
        # P2: phone only, referred on from cchcc to lcc (multi-spoke), contacted after 2 days, assisted.
        c = _refer(store, 3, "2026-10-05", phone="07700 900001", channel="assisted", postcode="LS8 5QR")
        _assign(store, c, "cchcc")
        _outcome(store, c, "cchcc", "contacted", "2026-10-07", 1)
        handover = Handover(reference=c.reference, id="handover-1", at="2026-10-08T09:00:00.000Z",
                            from_spoke="cchcc", to_spoke="lcc-employment-skills", kind="referred-on")
        store.add_handover(handover, expires_at=None, received=c.received)
        store.assign_by_handover(c, handover, priority=3, reason="Referred on by CCHCC team")
        _outcome(store, c, "lcc-employment-skills", "declined", "2026-10-09", 2)
        # P3: erased (no name, contact or postcode; district and age band kept), qualified at lcc.
        client.put_item(TableName=TABLE, Item=to_item({
            "pk": "REF#TEST-0004", "sk": "REFERRAL", "type": "referral", "reference": "TEST-0004",
            "created_at": "2026-09-20T10:00:00.000Z", "district": "LS8", "age_band": "25-34",
            "erased_at": "2026-11-01T10:00:00.000Z", "campaign": "lincoln-green", "source": "lg-mosque",
            "channel": "web", **cohort_keys("2026-09-20T10:00:00.000Z", "REFERRAL", "TEST-0004"),
        }))
        client.put_item(TableName=TABLE, Item=to_item({
            "pk": "REF#TEST-0004", "sk": "OUTCOME#lcc-employment-skills#x1", "type": "outcome",
            "reference": "TEST-0004", "spoke": "lcc-employment-skills", "id": "x1",
            "at": "2026-10-20T10:00:00.000Z", "status": "qualified",
            **cohort_keys("2026-09-20T10:00:00.000Z", "OUTCOME", "TEST-0004", "lcc-employment-skills", "x1"),
        }))
        # P4: made in September, before lincoln-green began (2 November 2026): still counted.
        e = _refer(store, 5, "2026-09-02", email="test-resident-5@example.com", event="el-vaccine-popup")
        _assign(store, e, "hub")
        # Outside the period: not counted.
        f = _refer(store, 6, "2026-08-20", email="test-resident-6@example.com")
        _assign(store, f, "cchcc")
        _outcome(store, f, "cchcc", "engaged", "2026-09-02", 1)
        # Digests: a reminder sent, an escalation that failed, a reminder of another month.
        for day, spoke, kind, ok in (("2026-11-16", "cchcc", "reminder", True), ("2026-11-16", "hub", "escalation", False),
                                     ("2026-12-01", "hwf", "reminder", True)):
            send = digest_send(day, spoke, kind, 3, ["TEST-0001"], 2_000_000_000)
            store.claim(send, "email")
            store.finish(send, "email", ok=ok)
        # Scan counters as the scans function writes them.
        for placement, day, n in (("lg-library", "2026-11-10", 12), ("lg-library", "2026-11-11", 5), ("lg-gp", "2026-08-01", 9)):
            client.put_item(TableName=TABLE, Item=to_item({
                "pk": f"SCAN#{placement}", "sk": f"DAY#{day}", "type": "scan", "kind": "placement",
                "placement": placement, "campaign": "lincoln-green", "day": day, "count": n,
                "gsi3pk": f"MONTH#{day[:7]}", "gsi3sk": f"{day}#SCAN#{placement}",
            }))
        calls: list[str] = []
        client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        made = report.make(store, WINDOW, unsuppressed=True, charts=False)
        published = report.make(store, WINDOW, charts=True)
        yield made, published, calls, store


def _row(rows, key, value):
    return next(r for r in rows if r[key] == value)


def test_funnel_counts_people_once_with_stages_implied(seeded):
    made, *_ = seeded
    assert made.data["funnel"] == {
        "referred": 4, "contacted": 3, "engaged": 2, "supported": 2, "offer": 2,
        "started_work": 1, "qualified": 1, "multi_spoke": 2,
    }


def test_breakdowns_count_each_person_once_per_cell(seeded):
    made, *_ = seeded
    data = made.data
    assert _row(data["by_campaign"], "campaign", "lincoln-green")["referred"] == 4  # P1's two referrals: one person
    library = _row(data["by_placement"], "placement", "lg-library")
    assert (library["scans"], library["referrals"], library["offer"]) == (17, 3, 1)  # August's scans are outside
    assert _row(data["by_placement"], "placement", "lg-gp")["scans"] == 0
    assert _row(data["by_district"], "district", "LS8")["referred"] == 2  # the erased one from its district
    assert _row(data["by_channel"], "channel", "assisted")["referred"] == 1
    assert _row(data["by_event"], "event", "el-vaccine-popup")["referred"] == 1
    assert [(m["month"], m["referred"]) for m in data["by_month"]] == [("2026-09", 2), ("2026-10", 1), ("2026-11", 1)]
    lcc = _row(data["by_spoke"], "spoke", "lcc-employment-skills")
    assert (lcc["referred"], lcc["contacted"], lcc["engaged"]) == (1, 1, 0)  # only the asked, only its own statuses
    assert _row(data["by_spoke"], "spoke", "cchcc")["offer"] == 1


def test_first_contact_and_digests(seeded):
    made, *_ = seeded
    cchcc = _row(made.data["first_contact"], "spoke", "cchcc")
    assert cchcc["people"] == 2 and cchcc["median_days"] == 3  # 3.1 days (P1) and 2.1 (P2): median 2.6, whole days
    assert made.data["messages"] == {"reminder": {"sent": 1, "referrals_listed": 3},
                                     "escalation": {"sent": 0, "referrals_listed": 0}}


def test_one_query_per_month_and_never_a_scan(seeded):
    *_, calls, store = seeded
    calls.clear()
    report.make(store, WINDOW, charts=False)
    assert calls == ["Query"] * 3


def test_published_figures_are_suppressed_and_hold_no_personal_data(seeded):
    _, published, *_ = seeded
    assert published.data["funnel"]["referred"] == "*"
    text = published.page + report_files.csv_text(published.data, unsuppressed=False) + json.dumps(published.data)
    for secret in SECRETS:
        assert secret.lower() not in text.lower()
    assert "<svg" not in published.page and "data:image/svg+xml;base64," in published.page  # charts as images with alt


def test_an_empty_period_is_a_report_that_says_so(seeded, tmp_path):
    *_, store = seeded
    empty = report.make(store, report.Period(date(2026, 1, 1), date(2026, 2, 28)))
    assert set(empty.data["funnel"].values()) == {0}
    body = empty.page.split("<main", 1)[1]
    assert "No referrals in this period." in body and "%<" not in body  # no rate: nothing to divide by
    report_files.write(tmp_path, empty.data, empty.page, unsuppressed=False)
    assert json.loads((tmp_path / "report.json").read_text())["funnel"]["referred"] == 0


def test_unsuppressed_files_are_marked_not_for_publication(seeded, tmp_path):
    made, *_ = seeded
    report_files.write(tmp_path, made.data, made.page, unsuppressed=True)
    assert "NOT FOR PUBLICATION" in (tmp_path / "index.html").read_text().split("<h1>")[0]  # title and banner
    assert (tmp_path / "report.csv").read_text().startswith("# NOT FOR PUBLICATION")
    assert json.loads((tmp_path / "report.json").read_text())["not_for_publication"].startswith("NOT FOR PUBLICATION")


def test_backfill_gives_old_items_the_month_index(seeded):
    *_, store = seeded
    client = store.client
    client.put_item(TableName=TABLE, Item=to_item({
        "pk": "REF#OLD-0001", "sk": "REFERRAL", "type": "referral", "reference": "OLD-0001",
        "created_at": "2026-10-15T10:00:00.000Z", "district": "LS9", "campaign": "lincoln-green"}))
    client.put_item(TableName=TABLE, Item=to_item({
        "pk": "REF#OLD-0001", "sk": "OUTCOME#cchcc#o1", "type": "outcome", "reference": "OLD-0001",
        "spoke": "cchcc", "id": "o1", "at": "2026-10-16T10:00:00.000Z", "status": "engaged"}))
    window = report.Period(date(2026, 10, 1), date(2026, 10, 31))
    before = report.make(store, window, unsuppressed=True, charts=False).data["funnel"]
    assert store.backfill_month_index() == 2
    after = report.make(store, window, unsuppressed=True, charts=False).data["funnel"]
    assert (after["referred"], after["engaged"]) == (before["referred"] + 1, before["engaged"] + 1)
    assert store.backfill_month_index() == 0  # once is enough
