"""After the referral, in real Chromium at phone size, JavaScript on and off (DESIGN.md §4).

A referral reaches a spoke; the spoke opens the link from ``/_local/outbox`` without logging in,
records contacted -> engaged -> offer, refers the person on, and the second spoke gets exactly one
message with a link of its own. Then axe on the outcome page, its error state and the 403/410 pages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from .support import unique_name
from .test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e

LINK = re.compile(r"https?://[^\s\"<>]+/api/outcomes/[A-Za-z0-9._-]+")


def referral_for(hub, label: str, **answers) -> tuple[str, str, str]:
    """(name, reference, outcome link path) of a new referral, the link taken from the spoke's message."""
    name = unique_name(label)
    status, body = hub.post_json("/api/referrals", {"name": name, "phone": "07700 900123", "postcode": "LS9 7AB",
                                                    "age": 30, "consent": "yes", **answers})
    assert status == 201, body
    [message] = hub.wait_for_messages(lambda m: name in (m.get("text") or "") and m.get("kind") == "notification")
    assert message["spoke"] == "cchcc"
    url = LINK.search(message["text"]).group(0)
    return name, body["reference"], urlsplit(url).path


def submitted(page, button: str, saved: str) -> None:
    """Press a form's button; the browser follows the 303 back to the page, which must be the page."""
    with page.expect_response(lambda r: r.url.endswith(f"?saved={saved}")) as shown:
        page.click(f"button:has-text('{button}')")
    page.wait_for_url(re.compile(rf"\?saved={saved}$"))
    assert shown.value.status == 200, f"the page after saving answered {shown.value.status}: {page.content()[:500]}"


def save(page, status: str) -> None:
    page.check(f"#status-{status}")
    submitted(page, "Save what happened", "status")
    assert "What happened is recorded." in page.inner_text("main")


def test_given_a_link_in_the_outbox_when_the_spoke_records_and_refers_on_then_the_next_spoke_is_told_once(page, mode, hub):
    name, reference, path = referral_for(hub, f"outcomes {mode}")
    page.goto("/_local/")  # the spoke's email, as the local outbox shows it: its link is a link
    page.click(f"a[href*='/api/outcomes/{reference}.cchcc.']")
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    assert page.title() == f"Referral {reference} - CCHCC"
    assert name not in page.inner_text("body")  # the person's details stay in the email
    if mode == "js":  # (and without JavaScript in the test below, with its error and link pages)
        assert_accessible(page, "outcome page (JavaScript on)")

    save(page, "contacted")
    save(page, "engaged")
    save(page, "offer")
    history = page.inner_text(".cc-history")
    assert history.index("Contacted") < history.index("Engaged") < history.index("Conditional job offer")
    assert "Latest status: Conditional job offer" in page.inner_text("main")

    page.check("#refer_to-hwf")
    page.fill("#refer-note", f"Referred on in the {mode} journey")
    submitted(page, "Refer them on", "refer")
    assert "Referred on to Healthier Working Futures" in page.inner_text(".cc-history")

    messages = hub.wait_for_messages(
        lambda m: m.get("reference") == reference and m.get("kind") == "referred-on", settle=1.5
    )
    assert len(messages) == 1, messages
    [onward] = messages
    assert onward["spoke"] == "hwf" and onward["to"] == ["hwf.referrals@example.org"]
    assert name in onward["text"] and f"Referred on in the {mode} journey" in onward["text"]
    hwf_path = urlsplit(LINK.search(onward["text"]).group(0)).path
    assert hwf_path != path and ".hwf." in hwf_path
    page.goto(hwf_path)
    assert "Referred to you by CCHCC team" in page.inner_text(".cc-history")


def _stack_links(hub):
    """Outcome links signed with the running stack's own key (read from its embedded SSM)."""
    import boto3

    from cchcc.local.state import StackState
    from hub.links import OutcomeLinks, StaticKeys, parse_keys
    from tests.conftest import PROJECT

    state = StackState.read(PROJECT, urlsplit(hub.base_url).port)
    env = state.aws_environment()
    ssm = boto3.client("ssm", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    [link_key] = [n for n in state.extra["secure_parameters"].split(",") if "outcome-link" in n]
    value = ssm.get_parameter(Name=link_key, WithDecryption=True)["Parameter"]["Value"]
    return OutcomeLinks(StaticKeys(parse_keys(value, "local")), hub.base_url, 120)


def test_outcome_pages_and_their_error_states_have_no_axe_violations(context_for, hub):
    javascript = False  # the pages work without it; with it, the journey above checks the page too
    page = context_for(javascript=javascript).new_page()
    _, reference, path = referral_for(hub, f"axe {javascript}")

    page.goto(path)
    assert_accessible(page, "outcome page", javascript=javascript)

    with page.expect_response(lambda r: urlsplit(r.url).path == path and r.request.method == "POST") as info:
        page.click("button:has-text('Save what happened')")  # nothing chosen
    assert info.value.status == 422
    page.wait_for_selector("[data-error-summary]")
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement && document.activeElement.hasAttribute('data-error-summary')")
    assert_accessible(page, "outcome page with an error", javascript=javascript)

    response = page.goto(path.replace(".cchcc.", ".hwf."))
    assert response.status == 403 and "This link does not work" in page.inner_text("main")
    assert response.headers["referrer-policy"] == "no-referrer" and response.headers["cache-control"] == "no-store"
    assert_accessible(page, "403 page", javascript=javascript)

    expired = _stack_links(hub).token(reference, "cchcc", datetime.now(UTC) - timedelta(days=200))
    response = page.goto(f"/api/outcomes/{expired}")
    assert response.status == 410 and reference in page.inner_text("main")
    assert_accessible(page, "410 page", javascript=javascript)
