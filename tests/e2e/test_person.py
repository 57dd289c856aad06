"""A person's data on the served stack (DESIGN.md §4 "A person's data"), commands and browser.

A resident's referral reaches a spoke; the data controller finds it by the email it was made
with, exports it, erases it; the spoke gets an erasure notice in ``/_local/outbox``; the outcome
link from the spoke's message now says the referral was erased; and neither the table nor the
stack's log holds any of the person's details any more.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .test_accessibility import assert_accessible
from .test_outcomes import LINK

pytestmark = pytest.mark.e2e

CCHCC = str(Path(sys.executable).parent / "cchcc")


def person(hub, *args: str) -> subprocess.CompletedProcess:
    from tests.conftest import ROOT

    port = str(urlsplit(hub.base_url).port)
    return subprocess.run([CCHCC, "person", *args, "--port", port], cwd=ROOT, capture_output=True, text=True, timeout=60)


def table_items(hub) -> list[dict]:
    import boto3

    from cchcc.local.state import StackState
    from tests.conftest import PROJECT

    state = StackState.read(PROJECT, urlsplit(hub.base_url).port)
    env = state.aws_environment()
    client = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    items, kwargs = [], {"TableName": state.table_name}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_person_is_found_exported_and_erased_and_the_spoke_is_told(context_for, hub):
    tag = uuid.uuid4().hex[:8]
    details = {
        "name": f"Erasable Resident {tag}",
        "email": f"erasable.{tag}@example.com",
        "phone": "07700 900613",
        "postcode": "LS9 6XW",
        "support_needs": f"Private support need {tag}",
    }
    status, body = hub.post_json("/api/referrals", {**details, "age": 41, "consent": "yes", "situation": "other"})
    assert status == 201, body
    reference = body["reference"]
    [notice] = hub.wait_for_messages(lambda m: m.get("reference") == reference and m.get("kind") == "notification")
    link = urlsplit(LINK.search(notice["text"]).group(0)).path

    # find by the email, however it is typed: the reference only, nothing personal printed
    found = person(hub, "find", "--email", details["email"].upper())
    assert found.returncode == 0, found.stderr
    assert reference in found.stdout and details["email"] not in found.stdout + found.stderr
    missing = person(hub, "find", "--email", f"nobody.{tag}@example.com")
    assert missing.returncode == 1 and "no referral found for that email" in missing.stderr

    exported = person(hub, "export", reference, "--format", "text")
    assert exported.returncode == 0, exported.stderr
    assert details["name"] in exported.stdout and "CCHCC team" in exported.stdout and "deleted on" in exported.stdout

    erased = person(hub, "erase", reference, "--reason", "resident asked by phone")
    assert erased.returncode == 0, erased.stderr
    assert f"erasure notice queued: {reference} -> cchcc" in erased.stdout

    # The spoke's erasure notice reaches the outbox through the stream and the router.
    [told] = hub.wait_for_messages(lambda m: m.get("reference") == reference and m.get("kind") == "erasure")
    assert told["spoke"] == "cchcc" and told["to"] == ["cchcc.team@example.org"]
    assert not [v for v in details.values() if v in json.dumps(told)]

    # The outcome link from the spoke's message now says the referral was erased: no form.
    page = context_for(javascript=False).new_page()  # the page needs no JavaScript
    response = page.goto(link)
    assert response.status == 410
    assert "This referral has been erased" in page.inner_text("main") and page.locator("form").count() == 0
    assert_accessible(page, "erased referral page", javascript=False)

    # Nothing of the person is left: not in any table item, not in any log line.
    leaks = [v for item in table_items(hub) for v in details.values() if v.casefold() in json.dumps(item, default=str).casefold()]
    assert leaks == []
    log = hub.log()
    assert reference in log  # the functions' log lines are there, with references only
    assert not [v for v in details.values() if v in log]
    assert not re.search(re.escape(details["phone"].replace(" ", "")), log)

    audit = person(hub, "audit", reference)
    assert audit.returncode == 0, audit.stderr
    for action in ("find", "export", "erase", "outcome-page-read"):
        assert action in audit.stdout, action
    assert not [v for v in details.values() if v in audit.stdout]
    again = person(hub, "erase", reference, "--reason", "resident asked by phone")
    assert again.returncode == 0 and "already erased" in again.stdout
