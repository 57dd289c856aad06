"""The referral form on the site is the function's form, byte for byte."""

from __future__ import annotations

import json
import re

import pytest

from cchcc.site import pages
from hub import form
from hub.render import render_form


def form_fragment(page_html: str) -> str:
    """From the error summary to the end of the form: what render_form produces."""
    start = page_html.index('<div class="cc-error-summary"')
    end = page_html.index("</form>", start) + len("</form>")
    return page_html[start:end]


def test_get_in_touch_form_is_identical_to_what_the_intake_function_renders(site_build):
    expected = render_form(action="/api/referrals").strip()
    assert form_fragment(site_build.page("/get-in-touch/")) == expected


def test_the_form_posts_to_the_api_without_javascript_and_carries_the_browser_rules(site_build):
    page = site_build.page("/get-in-touch/")
    tag = re.search(r"<form class=\"cc-form\"[^>]*>", page).group(0)
    assert 'method="post"' in tag and 'action="/api/referrals"' in tag and "novalidate" in tag
    rules = re.search(r'<script type="application/json" id="cc-form-rules">(.*?)</script>', page, re.S).group(1)
    assert json.loads(rules) == form.browser_rules()
    for name in ("name", "email", "phone", "postcode", "age", "interests", "situation", "support_needs",
                 "language", "consent", "campaign", "source", "submission_id", "website"):
        assert f'name="{name}"' in page, name
    assert 'src="../assets/cchcc.js"' in page


def test_form_with_errors_keeps_answers_and_links_each_message_to_its_field():
    html = render_form(values={"name": "Sam <b>"}, errors={"age": form.MESSAGES["age"]["required"]})
    assert 'value="Sam &lt;b&gt;"' in html
    assert '<a href="#age">Enter your age</a>' in html
    assert 'aria-describedby="age-hint age-error"' in html


@pytest.mark.parametrize("configured", ["/api/referrals", "/hub/api/referrals", "https://api.example.org/api/referrals"])
def test_api_address_is_configurable(configured):
    assert pages.check_api_url(configured) == configured


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "http://api.example.org/x", "/a b", "//evil.example"])
def test_a_bad_api_address_is_refused(bad):
    with pytest.raises(pages.PagesError, match="mkdocs.yml: extra.api_url"):
        pages.check_api_url(bad)


def test_site_search_does_not_index_the_form(site_build):
    # Given pages that carry the referral form, when the search index is built,
    # then searching for a job finds the pages' words, not every form label.
    index = json.loads((site_build.site_dir / "search" / "search_index.json").read_text(encoding="utf-8"))
    texts = [doc["text"] for doc in index["docs"]]
    assert any("porter" in text.lower() for text in texts)
    for label in ("Send my details", "How can we contact you?", "Leave this empty"):
        assert not [doc["location"] for doc in index["docs"] if label in doc["text"]], label
