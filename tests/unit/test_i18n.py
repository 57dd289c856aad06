"""Languages: the catalogues, the form's words and messages in each language, the hidden fields.

The expected translations are read straight from each ``functions/hub/translations/<code>.po`` with
Babel's PO reader, not through :mod:`hub.i18n`, so a broken lookup cannot agree with itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub import form, i18n
from hub.validation import SubmissionInvalidError, parse_submission

TRANSLATIONS = Path(i18n.__file__).parent / "translations"
CODES = sorted(p.stem for p in TRANSLATIONS.glob("*.po"))
RTL = {"ur", "ar", "fa", "he"}
VALID = {"name": "Amina Khan", "email": "amina@example.com", "postcode": "LS9 7AB", "age": "20", "consent": "yes"}


def po(code: str) -> dict[str, str]:
    with (TRANSLATIONS / f"{code}.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=code) if m.id}


def plain(text: str) -> str:
    """Without the Unicode isolates a right-to-left translation puts round numbers and postcodes."""
    return text.replace(i18n.LRI, "").replace(i18n.PDI, "")


def errors_for(**changes) -> dict[str, str]:
    with pytest.raises(SubmissionInvalidError) as caught:
        parse_submission({**VALID, **changes})
    return caught.value.errors


def test_there_are_at_least_three_community_languages_and_one_is_right_to_left():
    assert len(CODES) >= 3 and set(CODES) & RTL
    assert i18n.codes()[0] == "en" and set(i18n.codes()) == {"en", *CODES}


@pytest.mark.parametrize("code", CODES)
def test_each_language_is_named_in_itself_with_its_direction_and_is_a_draft_until_reviewed(code):
    language = i18n.language(code)
    assert language.direction == ("rtl" if code in RTL else "ltr")
    assert language.name != language.english_name  # "اردو", "Polski": not "Urdu", "Polish"
    # Every draft message carries gettext's fuzzy mark; the language is a draft while one does.
    with (TRANSLATIONS / f"{code}.po").open("rb") as handle:
        fuzzy = any(m.fuzzy for m in read_po(handle, locale=code) if m.id)
    assert language.draft == fuzzy


@pytest.mark.parametrize("code", [None, "", "xx", "EN", "../etc", "ur-PK", 5, ["ur"]])
def test_an_unknown_language_is_english(code):
    assert i18n.language(code).code == "en"
    assert i18n.translator(code).gettext("Enter your name") == "Enter your name"
    assert not i18n.is_language(code) or code == "en"


@pytest.mark.parametrize("code", CODES)
def test_every_word_of_the_form_is_translated(code):
    catalogue = po(code)
    t = i18n.translator(code)
    words = [w for f in form.FIELDS for w in (f.label, f.hint, f.legend, *f.messages.values(), *(l for _, l in f.choices)) if w]
    words += [g.legend for g in form.GROUPS.values()] + [g.hint for g in form.GROUPS.values()]
    words += list(form.BROWSER_TEXT.values())
    for word in words:
        assert catalogue.get(word), f"{code}: no translation for {word!r}"
        assert plain(t.gettext(word)) == catalogue[word]


@pytest.mark.parametrize("code", CODES)
def test_a_page_in_a_language_posting_a_bad_age_gets_the_message_in_that_language(code):
    errors = errors_for(age="12", lang=code)
    assert plain(errors["age"]) == po(code)[form.BY_NAME["age"].messages["too_small"]]
    assert errors["age"] != form.BY_NAME["age"].messages["too_small"]


@pytest.mark.parametrize("lang", ["", "xx", "<script>", "urdu", "u r", {"ur": 1}])
def test_an_unknown_or_bad_lang_gives_english_messages_and_is_stored_as_english(lang):
    assert errors_for(age="12", lang=lang)["age"] == form.BY_NAME["age"].messages["too_small"]
    assert parse_submission({**VALID, "lang": lang}).lang == "en"


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        ("lang", "ur", "ur"), ("lang", "pl", "pl"), ("lang", "zz", "en"), ("lang", None, "en"),
        ("channel", "assisted", "assisted"), ("channel", "web", "web"), ("channel", "staff", "web"),
        ("channel", None, "web"), ("channel", "ASSISTED", "web"),
        ("event", "el-jobs-fair-mar", "el-jobs-fair-mar"), ("event", "Jobs Fair!", None), ("event", None, None),
    ],
)
def test_hidden_lang_channel_and_event_are_kept_when_good_and_dropped_never_an_error_when_bad(field, sent, stored):
    answers = {**VALID, **({field: sent} if sent is not None else {})}
    assert getattr(parse_submission(answers), field) == stored


@pytest.mark.parametrize("code", CODES)
def test_browser_rules_carry_the_servers_messages_and_the_scripts_words_in_the_language(code):
    rules = form.browser_rules(code)
    assert rules["lang"] == code
    t = i18n.translator(code)
    for field in rules["fields"]:
        for problem, message in field["messages"].items():
            assert message == form.message(form.BY_NAME[field["name"]], problem, code) == t.gettext(
                form.BY_NAME[field["name"]].messages[problem]
            )
    assert set(rules["text"]) == set(form.BROWSER_TEXT)
    assert all(plain(rules["text"][k]) == po(code)[v] for k, v in form.BROWSER_TEXT.items())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("فون 0113 496 0000 کریں", f"فون {i18n.LRI}0113 496 0000{i18n.PDI} کریں"),
        ("مثال LS9 7AB", f"مثال {i18n.LRI}LS9 7AB{i18n.PDI}"),
        ("جیسے name@example.com", f"جیسے {i18n.LRI}name@example.com{i18n.PDI}"),
        ("%(phone)s پر کال", f"{i18n.LRI}%(phone)s{i18n.PDI} پر کال"),
        ('ہمارا <a href="%(privacy_url)s">نوٹس</a>', 'ہمارا <a href="%(privacy_url)s">نوٹس</a>'),
        ("صرف اردو", "صرف اردو"),
    ],
)
def test_in_right_to_left_text_numbers_postcodes_and_addresses_stay_left_to_right(text, expected):
    # Unicode isolates, outside tags only: "0113 496 0000" must never show as "0000 496 0113".
    assert i18n.isolate_ltr(text) == expected


def test_a_right_to_left_translation_keeps_its_placeholders_working():
    t = i18n.translator("ur")
    filled = t("No smartphone? Call %(phone)s", phone="0113 496 0000")
    assert f"{i18n.LRI}0113 496 0000{i18n.PDI}" in filled and "%(" not in filled
    assert i18n.translator("pl")("No smartphone? Call %(phone)s", phone="0113") == plain(
        po("pl")["No smartphone? Call %(phone)s"] % {"phone": "0113"}
    )
