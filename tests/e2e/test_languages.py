"""A resident finishes the form in their language, and outreach staff sign people up at a venue.

In real Chromium at phone size, with JavaScript on and off: a right-to-left (Urdu) and a
left-to-right (Polish) language, from the campaign page through a mistake to the thanks page,
without one English word of the form; axe on the error states in Urdu. Then an assisted sign-up
on an event page whose network drops: the answers wait on the device and each reaches the spoke
once when the network is back.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.pofile import read_po

from hub import form, i18n

from .support import messages_for, submit, unique_name
from .test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e

TRANSLATIONS = Path(i18n.__file__).parent / "translations"
CAMPAIGN = "lincoln-green"
ENGLISH = [
    *(m for f in form.FIELDS for m in f.messages.values()), *(f.label for f in form.FIELDS),
    "There is a problem", "Send my details", "Error:", "Your reference is", "What happens next",
]


def po(code: str) -> dict[str, str]:
    with (TRANSLATIONS / f"{code}.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=code) if m.id}


def visible(page, selector: str = "main") -> str:
    return page.inner_text(selector).replace(i18n.LRI, "").replace(i18n.PDI, "")


def no_english(text: str) -> list[str]:
    return [w for w in ENGLISH if w in text]


@pytest.mark.parametrize("lang, direction", [("ur", "rtl"), ("pl", "ltr")])
def test_given_a_page_in_a_language_when_a_mistake_is_fixed_then_the_whole_journey_is_in_that_language(
    page, mode, hub, lang, direction
):
    words = po(lang)
    name = unique_name(f"{lang} {mode}")
    page.goto(f"/campaigns/{CAMPAIGN}/?s=lg-mosque")
    # The switch names the language in itself.
    page.click(f".cc-languages a[hreflang={lang}]")
    page.wait_for_url(re.compile(rf"/{lang}/campaigns/{CAMPAIGN}/$"))
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [lang, direction]

    page.fill("#name", name)
    page.fill("#email", "resident@example.com")
    page.fill("#postcode", "LS9 7AB")
    page.fill("#age", "12")
    page.check("#consent")
    if mode == "js":
        page.click("button[type=submit]")
    else:
        assert submit(page, mode).status == 422
    summary = page.wait_for_selector("[data-error-summary]:not([hidden])")
    assert words[form.BY_NAME["age"].messages["too_small"]] in visible(page, "[data-error-summary]")
    assert page.title().startswith(words["Error:"]), page.title()
    assert page.evaluate("document.documentElement.dir") == direction
    assert not no_english(visible(page)), no_english(visible(page))
    assert summary.is_visible()
    if lang == "ur":  # the error state of the right-to-left form, in both paths
        assert_accessible(page, f"/{lang}/ form with errors ({mode})", javascript=(mode == "js"))

    page.fill("#age", "30")
    response = submit(page, mode)
    assert response.status in (201, 303)
    page.wait_for_url(re.compile(r"/thanks/\?ref="))
    query = parse_qs(urlsplit(page.url).query)
    assert query["lang"] == [lang]
    ref = query["ref"][0]
    assert page.evaluate("document.documentElement.lang") == lang
    text = visible(page)
    assert ref in text and words["Your reference is"] in text and words["What happens next"] in text
    assert not no_english(text), no_english(text)
    # The spoke is told the person's language.
    (message,) = messages_for(hub, name)
    assert f"{i18n.language(lang).english_name} ({lang})" in message["text"]


def test_given_assisted_sign_ups_at_an_event_when_the_network_drops_then_each_is_kept_and_sent_once(context_for, hub):
    context = context_for(javascript=True)
    page = context.new_page()
    page.goto("/events/el-jobs-fair-mar/?assisted=1")
    assert page.is_visible("[data-assisted]"), "the staff panel with the consent words to read aloud is not shown"
    assert page.input_value("input[name=channel]") == "assisted"
    people = [unique_name("assisted A"), unique_name("assisted B")]
    context.set_offline(True)
    for person in people:
        page.fill("#name", person)
        page.fill("#phone", "07700 900982")
        page.fill("#postcode", "LS8 5AB")
        page.fill("#age", "40")
        page.check("#consent")
        page.click("button[type=submit]")
        page.wait_for_function("document.querySelector('#name').value === ''")  # empty for the next person
    waiting = page.evaluate("JSON.parse(localStorage.getItem('cchcc-assisted-waiting') || '[]')")
    assert [w["name"] for w in waiting] == people and len({w["submission_id"] for w in waiting}) == 2
    assert page.is_visible("[data-assisted-queue]")
    assert not any(person in (m.get("text") or "") for m in hub.outbox() for person in people)

    context.set_offline(False)  # the browser fires "online": what waits is sent
    page.wait_for_function("localStorage.getItem('cchcc-assisted-waiting') === null", timeout=20_000)
    for person in people:
        messages = messages_for(hub, person, settle=1.0)
        assert len(messages) == 1, f"{person}: {len(messages)} messages"
        text = messages[0]["text"]
        assert "with outreach staff" in text and "(el-jobs-fair-mar)" in text
    # Nothing is sent twice when the page checks again.
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(500)
    assert sum(person in (m.get("text") or "") for m in hub.outbox() for person in people) == 2
