"""Pages in every language: lang and dir, hreflang, the switch, the draft notice, every form word
translated, the 404, page weight, and the posters' strapline in a font that prints it.

The expected words come straight from each language's ``.po`` file (Babel's reader), not from
the code that put them on the page.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub import form, i18n
from tests.site.test_pages import page_weight

TRANSLATIONS = Path(i18n.__file__).parent / "translations"
LANGUAGES = ["en", *sorted(p.stem for p in TRANSLATIONS.glob("*.po"))]
OTHERS = LANGUAGES[1:]
RTL = {"ur", "ar", "fa"}
CAMPAIGN = "lincoln-green"


def po(code: str) -> dict[str, str]:
    with (TRANSLATIONS / f"{code}.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=code) if m.id}


def plain(text: str) -> str:
    return htmllib.unescape(text).replace(i18n.LRI, "").replace(i18n.PDI, "")


def prefix(code: str) -> str:
    return "" if code == "en" else f"{code}/"


def rules_of(page: str) -> dict:
    return json.loads(htmllib.unescape(re.search(r'<script type="application/json" id="cc-form-rules">(.*?)</script>', page, re.S).group(1)))


@pytest.mark.parametrize("code", LANGUAGES)
def test_each_campaign_page_says_its_language_and_direction_and_links_every_other(site_build, code):
    page = site_build.page(f"/{prefix(code)}campaigns/{CAMPAIGN}/")
    direction = "rtl" if code in RTL else "ltr"
    assert re.search(rf'<html lang="{code}" dir="{direction}"', page)
    for other in LANGUAGES:
        href = f"{site_build.site_url}{prefix(other)}campaigns/{CAMPAIGN}/"
        assert f'<link rel="alternate" hreflang="{other}" href="{href}">' in page
    assert f'<link rel="alternate" hreflang="x-default" href="{site_build.site_url}campaigns/{CAMPAIGN}/">' in page
    # The switch names each language in itself, in that language's script and direction.
    switch = page.split('class="cc-languages"', 1)[1].split("</ul>", 1)[0]
    for other in LANGUAGES:
        language = i18n.language(other)
        assert f'lang="{other}" dir="{language.direction}">{language.name}<' in switch
    assert 'aria-current="page"' in switch and switch.count("<a ") == len(LANGUAGES) - 1


@pytest.mark.parametrize("code", OTHERS)
def test_every_word_of_the_form_on_a_page_in_a_language_is_that_languages(site_build, code):
    page = plain(site_build.page(f"/{code}/campaigns/{CAMPAIGN}/"))
    words = po(code)
    for field in form.FIELDS:
        assert words[field.label] in page
        for _, label in field.choices:
            assert words[label] in page
    assert words["Send my details"] in page and words["Tell us about you"] in page
    assert f'name="lang" value="{code}"' in page
    # The browser's checks carry every message in the language, none in English.
    rules = rules_of(page)
    for field in rules["fields"]:
        for problem, message in field["messages"].items():
            english = form.BY_NAME[field["name"]].messages[problem]
            assert plain(message) == words[english] != english
    assert all(plain(rules["text"][k]) == words[v] for k, v in form.BROWSER_TEXT.items())
    # And the English form's words are not on the page.
    for english in ("Send my details", "Your name", "There is a problem", "How can we contact you?"):
        assert f">{english}<" not in page


@pytest.mark.parametrize("code", OTHERS)
def test_a_draft_language_says_so_in_both_languages(site_build, code):
    page = plain(site_build.page(f"/{code}/"))
    notice = "This translation is a draft: a fluent speaker has not checked it yet."
    assert i18n.language(code).draft
    assert words_in(page, po(code)[notice]) and notice in page
    english = plain(site_build.page(f"/campaigns/{CAMPAIGN}/"))
    assert notice not in english


def words_in(page: str, words: str) -> bool:
    return words in page


@pytest.mark.parametrize("code", OTHERS)
@pytest.mark.parametrize("path, words", [
    ("", "Tell us about you"),
    ("thanks/", "What happens next"),
    ("privacy/", "Who gets your details"),
])
def test_the_entry_thanks_and_privacy_pages_exist_in_each_language(site_build, code, path, words):
    page = plain(site_build.page(f"/{code}/{path}"))
    assert po(code)[words] in page
    assert po(code)["No smartphone? Call %(phone)s"].split("%")[0].strip() in page
    if path == "thanks/":
        assert "<!--cchcc:reference-->" in page and po(code)["Your reference is"] in page
    if path == "privacy/":
        assert 'href="/privacy/"' in page  # the full notice, in English


def test_the_english_pages_offer_the_other_languages(site_build):
    home = site_build.page("/")
    for code in OTHERS:
        assert f'href="/{code}/" hreflang="{code}" lang="{code}"' in home
    assert 'hreflang="ur"' in site_build.page("/thanks/") and 'hreflang="ur"' in site_build.page("/get-in-touch/")


def test_the_404_page_speaks_every_language(site_build):
    page = plain(site_build.page("/404.html"))
    for code in OTHERS:
        assert re.search(rf'lang="{code}" dir="{i18n.language(code).direction}"', page)
        assert po(code)["Sorry, we cannot find that page."] in page
        assert f'href="/{code}/"' in page


@pytest.mark.parametrize("code", LANGUAGES)
def test_landing_page_weight_in_each_language_is_within_the_aim(site_build, code):
    total, parts = page_weight(site_build, f"/{prefix(code)}campaigns/{CAMPAIGN}/")
    assert total <= 60 * 1024, f"{code}: {total / 1024:.1f} KB: " + ", ".join(f"{n} {s / 1024:.1f}" for n, s in parts)


def test_a_poster_prints_its_urdu_strapline_in_an_embedded_font_that_has_the_letters(site_build):
    pdf = site_build.site_dir / "print" / "lg-mosque" / "poster.pdf"
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    arabic = [line for line in fonts.splitlines() if "Naskh" in line or "Nastaliq" in line]
    assert arabic and all(line.split()[-5:-2] == ["yes", "yes", "yes"] for line in arabic), fonts  # embedded, subset, unicode
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    strapline = po("ur")["Scan the code, then choose %(language)s at the top of the page."] % {"language": "اردو"}
    flat = " ".join(text.replace("\u202b", "").replace("\u202c", "").replace("\u202a", "").split())
    for word in strapline.split():
        assert word.strip("،۔") in flat, (word, flat)
    for code in ("pl", "ro"):
        line = po(code)["Scan the code, then choose %(language)s at the top of the page."]
        assert " ".join(line.split("%(language)s")[0].split()) in " ".join(text.split())
