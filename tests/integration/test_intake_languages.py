"""The intake function in the resident's language, and what it records about how they signed up.

A form posted from a page in Urdu (``lang=ur``) that has a mistake comes back as a 422 page in
Urdu, right to left, with the Urdu error; JSON errors are in Urdu too; a valid post goes to the
thanks page in Urdu, which the function serves from the built Urdu page. An unknown ``lang`` is
English. ``channel`` and ``event`` are stored on the referral.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from babel.messages.pofile import read_po

from hub import form, i18n
from tests.integration.conftest import api_event, fresh_import, valid_answers
from tests.integration.test_intake_handler import header, post_form, post_json, stored, thanks_event

TRANSLATIONS = Path(i18n.__file__).parent / "translations"


def po(code: str) -> dict[str, str]:
    with (TRANSLATIONS / f"{code}.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=code) if m.id}


def plain(text: str) -> str:
    return text.replace(i18n.LRI, "").replace(i18n.PDI, "")


@pytest.mark.parametrize("lang, direction", [("ur", "rtl"), ("pl", "ltr")])
def test_given_a_page_in_a_language_when_the_age_is_wrong_then_the_422_page_is_in_that_language(
    intake_app, aws, lambda_context, lang, direction
):
    words = po(lang)
    response = post_form(intake_app, lambda_context, valid_answers(age="12", lang=lang))
    assert response["statusCode"] == 422
    page = plain(response["body"])
    assert f'<html lang="{lang}" dir="{direction}">' in page
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert title.startswith(words["Error:"] + " ") and words["Sign up to hear about health and care jobs"] in title
    assert words[form.BY_NAME["age"].messages["too_small"]] in page
    assert words["There is a problem"] in page and words["Send my details"] in page
    assert f'name="lang" value="{lang}"' in page  # posting again stays in the language
    # Not one of the form's English words or messages is left on the page.
    english = {form.BY_NAME["age"].messages["too_small"], "There is a problem", "Send my details", "Your name", "Postcode"}
    assert not [w for w in english if f">{w}<" in page or f"> {w}<" in page]


def test_given_json_in_a_language_when_invalid_then_the_errors_are_in_that_language(intake_app, aws, lambda_context):
    response = post_json(intake_app, lambda_context, valid_answers(postcode="nowhere", lang="ur"))
    assert response["statusCode"] == 422
    errors = json.loads(response["body"])["errors"]
    assert plain(errors["postcode"]) == po("ur")[form.BY_NAME["postcode"].messages["invalid"]]


@pytest.mark.parametrize("lang", ["xx", "", "../ur"])
def test_given_an_unknown_language_then_the_page_and_messages_are_english(intake_app, aws, lambda_context, lang):
    response = post_form(intake_app, lambda_context, valid_answers(age="12", lang=lang))
    assert response["statusCode"] == 422
    assert '<html lang="en" dir="ltr">' in response["body"]
    assert form.BY_NAME["age"].messages["too_small"] in response["body"]


@pytest.fixture
def built_pages(tmp_path, monkeypatch):
    """thanks.html and thanks.ur.html as functions/Makefile puts them in the artifact."""
    from hub.thanks import reference_box

    for name, lang in (("thanks.html", "en"), ("thanks.ur.html", "ur")):
        (tmp_path / name).write_text(
            f'<!doctype html><html lang="{lang}"><title>{lang}</title><main>{reference_box(lang=lang)}</main></html>',
            encoding="utf-8",
        )
    monkeypatch.setenv("CCHCC_THANKS_PAGE", str(tmp_path / "thanks.html"))
    return tmp_path


def test_given_a_valid_post_in_urdu_then_the_thanks_page_is_the_urdu_one_with_the_reference(aws, built_pages, lambda_context):
    app = fresh_import("intake.app")
    posted = post_form(app, lambda_context, valid_answers(lang="ur"))
    assert posted["statusCode"] == 303
    location = header(posted, "Location")
    query = dict(parse_qsl(urlsplit(location).query))
    assert urlsplit(location).path == "/thanks/" and query["lang"] == "ur"
    shown = app.lambda_handler(thanks_event(urlsplit(location).query), lambda_context)
    assert shown["statusCode"] == 200
    assert '<html lang="ur">' in shown["body"]
    assert f">{query['ref']}</p>" in shown["body"] and po("ur")["Your reference is"] in plain(shown["body"])
    # An English post keeps today's address; an unknown lang on the thanks page is English.
    assert "lang=" not in header(post_form(app, lambda_context, valid_answers(name="Someone Else")), "Location")
    english = app.lambda_handler(thanks_event(f"ref={query['ref']}&lang=zz"), lambda_context)
    assert '<html lang="en">' in english["body"]


def test_given_an_assisted_event_sign_up_then_channel_event_and_language_are_stored(intake_app, aws, lambda_context):
    posted = post_form(intake_app, lambda_context, valid_answers(channel="assisted", event="el-jobs-fair-mar", lang="pl"))
    assert posted["statusCode"] == 303
    (referral,) = stored(aws)
    assert (referral["channel"], referral["event"], referral["lang"]) == ("assisted", "el-jobs-fair-mar", "pl")


def test_given_no_javascript_on_an_assisted_page_then_the_referer_marks_the_channel(intake_app, aws, lambda_context):
    from urllib.parse import urlencode

    event = api_event(urlencode(valid_answers(source=None), doseq=True), "application/x-www-form-urlencoded")
    event["headers"]["referer"] = "http://127.0.0.1:8000/ur/campaigns/lincoln-green/?s=lg-gp&assisted=1"
    assert intake_app.lambda_handler(event, lambda_context)["statusCode"] == 303
    (referral,) = stored(aws)
    assert (referral["channel"], referral["source"]) == ("assisted", "lg-gp")
