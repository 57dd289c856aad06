"""The resident's journey in real Chromium at phone size, with JavaScript on and off.

Scan (visit ``/q/<placement>/``) → campaign page → a mistake → the correction → thanks page showing
the reference (filled by cchcc.js, or by the intake function without JavaScript) → the right spoke's message in the local outbox, naming campaign and placement →
``/_local/`` shows it to a person.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .support import (
    API,
    PLACEMENTS,
    active_id,
    active_is_error_summary,
    check_thanks_page,
    fill,
    first_placement,
    messages_for,
    scan,
    submit,
    unique_name,
)

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- QR redirect


@pytest.mark.parametrize("placement", PLACEMENTS or [None], ids=lambda p: p.id if p else "none")
def test_given_a_qr_placement_when_scanned_then_lands_on_its_campaign_with_source(page, mode, placement, hub):
    if placement is None:
        pytest.fail("no placements in campaigns/*/campaign.yml")
    if placement.ended:
        # Posters outlive campaigns: an ended campaign's codes open its redirect_after_end page.
        page.goto(f"/q/{placement.id}/")
        page.wait_for_url(re.compile(re.escape(placement.redirect_after_end or "/")))
        return
    scan(page, placement)
    campaign = page.get_attribute("input[name=campaign]", "value")
    assert campaign in (placement.campaign_slug, placement.campaign_title), f"hidden campaign is {campaign!r}"
    source = page.get_attribute("input[name=source]", "value")
    if mode == "js":
        assert source == placement.id, f"hidden source is {source!r}, expected {placement.id!r} from ?s="
    # Without JavaScript a static page cannot copy ?s= into the form; the end-to-end test below
    # checks that the placement still reaches the spoke's message.


# --------------------------------------------------------------------------- whole journey, routed


ROUTES = [
    # postcode, age, spoke picked by the sample programme.yml
    pytest.param("LS9 7AB", "30", "cchcc", id="target-area-to-cchcc"),
    pytest.param("ls12 3ab", "19", "hwf", id="young-leeds-to-hwf"),
]


@pytest.mark.parametrize("postcode, age, spoke", ROUTES)
def test_given_a_resident_when_they_complete_the_form_then_the_picked_spoke_is_told(page, mode, hub, postcode, age, spoke):
    placement = first_placement()
    name = unique_name(f"route {spoke} {mode}")
    scan(page, placement)
    fill(page, name=name, email="resident@example.com", postcode=postcode, age=age)
    response = submit(page, mode)
    assert response.status in (201, 303), f"intake answered {response.status}"
    ref = check_thanks_page(page, mode)
    # On the page itself in both paths: without JavaScript the intake function filled it in.
    assert page.inner_text("[data-cc-reference-value]").strip() == ref

    messages = messages_for(hub, name, settle=1.0)
    assert len(messages) == 1, f"expected one message for {name}, got {len(messages)}: {messages}"
    message = messages[0]
    assert message.get("spoke") == spoke, f"routed to {message.get('spoke')!r}, expected {spoke!r}"
    assert message.get("reference") == ref, f"outbox reference {message.get('reference')!r} != thanks page {ref!r}"
    text = message.get("text") or ""
    # Names for the person phoning, ids in brackets for the records (the catalogue from campaigns/).
    assert f"{placement.campaign_title} ({placement.campaign_slug})" in text, f"message does not name the campaign:\n{text}"
    assert f"{placement.name} ({placement.id})" in text, f"message does not name the placement:\n{text}"

    page.goto("/_local/")
    assert ref in page.inner_text("body"), "/_local/ does not show the message's reference to a person"


# --------------------------------------------------------------------------- mistake then correction


def test_given_mistakes_when_submitted_then_error_summary_then_correction_succeeds(page, mode, hub):
    placement = first_placement()
    name = unique_name(f"correction {mode}")
    scan(page, placement)
    # Mistakes: no name, a postcode that is not one, no consent. Good answers must be kept.
    fill(page, name="", email="kept@example.com", postcode="LS99", age="19", consent=False, interests=("science",))
    if mode == "js":
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.click("button[type=submit]")
        summary = page.wait_for_selector("[data-error-summary]:not([hidden])")
        assert not posts, "the form posted answers that fail the browser-side checks"
    else:
        response = submit(page, mode)
        assert response.status == 422, f"intake answered {response.status} for a form with mistakes"
        page.wait_for_load_state()
        summary = page.wait_for_selector("[data-error-summary]:not([hidden])")

    assert summary.is_visible()
    # GOV.UK Frontend's pattern: the focused container is not the alert; an element inside it is.
    assert summary.get_attribute("role") is None
    assert summary.query_selector(":scope > [role=alert] .cc-error-summary__title") is not None
    assert page.title().startswith("Error:"), f"page title is {page.title()!r}"
    assert active_is_error_summary(page), f"focus is on #{active_id(page)!r}, not the error summary"

    links = summary.query_selector_all("a")
    targets = [link.get_attribute("href") for link in links]
    assert len(targets) >= 3, f"expected an error per mistake (name, postcode, consent), got {targets}"
    for expected in ("#name", "#postcode", "#consent"):
        assert expected in targets, f"no summary link to {expected}: {targets}"
    for href in targets:
        page.click(f"[data-error-summary] a[href='{href}']")
        assert active_id(page) == href[1:], f"summary link {href} moved focus to #{active_id(page)!r}"
        error_id = f"{href[1:]}-error"
        if page.query_selector(f"#{error_id}"):
            described = page.get_attribute(href, "aria-describedby") or ""
            container = page.evaluate(f"document.querySelector('{href}').closest('fieldset')?.getAttribute('aria-describedby') || ''")
            assert error_id in f"{described} {container}", f"{href} is not described by #{error_id}"

    # The answers given are kept.
    assert page.input_value("#email") == "kept@example.com"
    assert page.input_value("#age") == "19"
    assert page.input_value("#postcode") == "LS99"
    assert page.is_checked("#interests-science")

    # The correction.
    page.fill("#name", name)
    page.fill("#postcode", "LS9 7AB")
    page.check("#consent")
    response = submit(page, mode)
    assert response.status in (201, 303), f"intake answered {response.status} after the correction"
    ref = check_thanks_page(page, mode)
    messages = messages_for(hub, name)
    assert [m.get("reference") for m in messages] == [ref]
    text = messages[0].get("text") or ""
    assert placement.id in text or placement.name in text, f"the placement was lost on the way through the error page:\n{text}"


# --------------------------------------------------------------------------- keyboard alone


def tab_to(page, element_id: str, limit: int = 200) -> None:
    for _ in range(limit):
        if active_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached #{element_id} (stuck on #{active_id(page)!r})")


def test_given_only_a_keyboard_when_completing_the_form_then_it_is_sent(page, mode, hub):
    placement = first_placement()
    name = unique_name(f"keyboard {mode}")
    scan(page, placement)
    for element_id, text in (("name", name), ("email", "keys@example.com"), ("postcode", "LS9 6AA"), ("age", "44")):
        tab_to(page, element_id)
        page.keyboard.type(text)
    tab_to(page, "interests-practical")
    page.keyboard.press("Space")
    tab_to(page, "situation-looking-for-work")
    page.keyboard.press("Space")
    tab_to(page, "consent")
    page.keyboard.press("Space")
    assert page.is_checked("#interests-practical") and page.is_checked("#situation-looking-for-work") and page.is_checked("#consent")
    for _ in range(10):
        if page.evaluate("document.activeElement && document.activeElement.type === 'submit'"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("Tab never reached the submit button after the consent box")
    with page.expect_response(lambda r: urlsplit(r.url).path == API and r.request.method == "POST") as info:
        page.keyboard.press("Enter")
    assert info.value.status in (201, 303)
    ref = check_thanks_page(page, mode)
    assert [m.get("reference") for m in messages_for(hub, name)] == [ref]


# --------------------------------------------------------------------------- double click


def test_given_a_double_click_when_submitting_then_one_referral(page, mode, hub):
    placement = first_placement()
    name = unique_name(f"double {mode}")
    scan(page, placement)
    fill(page, name=name, phone="07700 900982", postcode="LS8 5AB", age="52")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and urlsplit(r.url).path == API else None)
    page.dblclick("button[type=submit]")
    ref = check_thanks_page(page, mode)
    if mode == "js":
        assert len(posts) == 1, f"a double click sent {len(posts)} POSTs"
    messages = messages_for(hub, name, settle=2.0)
    assert len(messages) == 1, f"a double click ({len(posts)} POSTs) notified {len(messages)} times: {[m.get('reference') for m in messages]}"
    assert messages[0].get("reference") == ref


# --------------------------------------------------------------------------- network failure (JavaScript path)


def test_given_the_network_fails_when_submitting_then_answers_kept_and_retry_succeeds(js_page, hub):
    page = js_page
    placement = first_placement()
    name = unique_name("network")
    scan(page, placement)
    fill(page, name=name, email="net@example.com", postcode="LS9 7AB", age="23")
    aborted: list[str] = []

    def fail_once(route):
        aborted.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(f"**{API}", fail_once)
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelector('[data-form-status]') && document.querySelector('[data-form-status]').innerText.trim().length > 0")
    page.unroute(f"**{API}")
    assert aborted, "the submit never reached the network"
    assert urlsplit(page.url).path.startswith("/campaigns/"), f"left the form after a network failure: {page.url}"
    status = page.inner_text("[data-form-status]")
    assert page.input_value("#name") == name and page.input_value("#postcode") == "LS9 7AB" and page.is_checked("#consent"), "answers lost"
    assert not page.is_disabled("button[type=submit]"), f"cannot retry: the button stays disabled ({status!r})"

    page.click("button[type=submit]")
    ref = check_thanks_page(page, "js")
    messages = messages_for(hub, name, settle=1.0)
    assert [m.get("reference") for m in messages] == [ref]
