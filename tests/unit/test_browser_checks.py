"""The browser's checks (``site/docs/assets/cchcc.js``, run in Node) agree with the server's.

A resident must never see the browser accept what the server refuses, or refuse what the
server takes, or word a mistake differently. So the real script's ``check`` runs in Node on
the same answers as :func:`hub.validation.parse_submission`, with the rules the page embeds
(:func:`hub.form.browser_rules`), and the two must give the same messages for the same fields.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from hub import form, i18n, postcodes
from hub.validation import SubmissionInvalidError, parse_submission
from tests.conftest import ROOT

SCRIPT = ROOT / "site" / "docs" / "assets" / "cchcc.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the site's script")

VALID = {
    "name": "Amina Khan", "email": "amina@example.com", "phone": "07700 900982", "postcode": "ls9 7ab", "age": "20",
    "interests": ["caring"], "situation": "looking-for-work", "support_needs": "", "language": "", "consent": "yes",
}

TYPED_POSTCODES = [
    "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "GIR 0AA", "gir0aa",
    "ls9 7ab", "LS97AB", "LS197AB", "  LS9 7AB  ", "LS9\t7AB", "LS9\u00a07AB", "SW1A 2AA",
    "LS9", "LS9 7", "LS9 7A", "LS9 7ABC", "LS9 AAB", "LS123 7AB", "LSA 7AB", "9S9 7AB",
    "LS9 7CB", "LS9 7AI", "LS9 7KA", "LS9 7AM", "LS9 7OA", "LS9 7AV", "Q1 1AA", "V1 1AA",
    "XS9 7AB", "LI9 7AB", "LJ9 7AB", "LZ9 7AB", "W1I 0AX", "EC1C 1BB", "GIR 0AB", "LS9-7AB",
    "LS9 7AB.", "\uff2c\uff33\uff19 \uff17\uff21\uff22", "LS9 7AB LS9 7AB",
]

CHANGES = [
    {},
    {"name": ""}, {"name": "   "}, {"name": "x" * 100}, {"name": "x" * 101}, {"name": "A\u0000B"},
    {"email": "", "phone": ""}, {"email": "", "phone": "  "}, {"email": "amina"}, {"email": "a@b"},
    {"email": "a@.example.com"}, {"email": "a@example.com."}, {"email": "a..b@example.com"},
    {"email": "a b@example.com"}, {"email": "x" * 250 + "@e.co"}, {"email": "", "phone": "0113 496 0000"},
    {"phone": "+44 7700 900982"}, {"phone": "0044 7700 900982"}, {"phone": "07700 90098"},
    {"phone": "0033 1 23 45 67 89"}, {"phone": "0033 123 4567"}, {"phone": "+33 1 23 45 67 89"},
    {"phone": "07700-900-982 ext"},
    {"phone": "(0113) 496 0000"}, {"phone": "0" * 31},
    {"age": ""}, {"age": "15"}, {"age": "16"}, {"age": "100"}, {"age": "101"}, {"age": "twenty"},
    {"age": "20.5"}, {"age": "0016"}, {"age": "-3"},
    {"interests": []}, {"interests": ["caring", "science"]}, {"interests": ["astronaut"]},
    {"situation": ""}, {"situation": "other"}, {"situation": "asleep"},
    {"support_needs": "x" * 1000}, {"support_needs": "x" * 1001}, {"support_needs": "line one\r\nline two"},
    {"language": "x" * 51}, {"consent": ""}, {"consent": "no"},
    {"name": "", "postcode": "", "age": "", "consent": ""},
    # Text that fools the reader (issue 13, finding 4): invisible-only names, bidi controls, markup as an address.
    {"name": "\u200b\u200b"}, {"name": "\u0301\u0301\u0301"}, {"name": "\u200d\u200c"}, {"name": "\u202e\u2066"},
    {"name": "Amina \u202eKhan"}, {"name": "\ufeffAmina"}, {"name": "!!!"}, {"name": "\u0645\u0631\u06cc\u0645"},
    {"name": "\u0645\u0631\u200c\u06cc\u0645"}, {"name": "Zo\u0065\u0308"}, {"name": "\u674e\u534e"},
    {"name": "Amina\u2028Reference: ABCD-EFGH"}, {"support_needs": "one\u2029Reference: FAKE"},
    {"email": "<script>alert(1)</script>@example.com"}, {"email": "\"a b\"@example.com"}, {"email": "a,b@example.com"},
    {"email": "amina@exa_mple.com"}, {"email": "amina@-example.com"}, {"email": "o'neil+cchcc@example.co.uk"},
    {"email": "\uff41\uff4d\uff49\uff4e\uff41\uff20example.com"}, {"email": "amina@m\u00fcnchen.de"},
    # Digits typed in other scripts (finding 5): Arabic-Indic, Persian, Devanagari, full-width.
    {"age": "\u0663\u0660"}, {"age": "\u06f3\u06f0"}, {"age": "\u0968\u0966"}, {"age": "\uff11\uff19"},
    {"age": "\u0661\u0665"}, {"age": "\u0663\u0660.\u0665"},
    {"phone": "\u0660\u0667\u0667\u0660\u0660 \u0669\u0660\u0660 \u0669\u0668\u0662"},
    {"phone": "\uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10 \uff19\uff18\uff12"},
    {"phone": "\u06f0\u06f1\u06f1\u06f3 \u06f4\u06f9\u06f6 \u06f0\u06f0\u06f0\u06f0"},
    {"postcode": "LS\u0669 \u0667AB"}, {"postcode": "\uff2c\uff33\uff19\u3000\uff17\uff21\uff22"},
] + [{"postcode": typed} for typed in TYPED_POSTCODES]


def server_errors(answers: dict) -> dict[str, str]:
    try:
        parse_submission(answers)
    except SubmissionInvalidError as exc:
        return exc.errors
    return {}


def browser_errors(cases: list[dict], lang: str = "en") -> list[dict[str, str]]:
    script = (
        "const checks = require(process.argv[1]);"
        "const [rules, cases] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(cases.map(c => checks.check(c, rules))));"
    )
    out = subprocess.run(
        ["node", "-e", script, str(SCRIPT)],
        input=json.dumps([form.browser_rules(lang), cases]), capture_output=True, text=True, check=True, timeout=30,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("lang", i18n.codes())
def test_the_browser_and_the_server_find_the_same_mistakes_with_the_same_words(lang):
    # In every language: the page's rules (in its language) and a post with lang=<code> agree.
    cases = [{**VALID, **change, "lang": lang} for change in CHANGES]
    browser = browser_errors(cases, lang)
    disagreements = [
        (change, server_errors(case), seen) for change, case, seen in zip(CHANGES, cases, browser)
        if server_errors(case) != seen
    ]
    assert not disagreements
    # And the table is not trivially agreeable: both accept some and refuse others.
    assert {} in browser and any(browser)
    # And outside English not one message is the English one.
    english = {m for f in form.FIELDS for m in f.messages.values()}
    assert lang == "en" or not english & {m for seen in browser for m in seen.values()}


def test_the_postcode_rule_is_the_servers_and_agrees_in_python_too():
    import re

    assert form.browser_rules()["postcodePattern"] == postcodes.BROWSER_PATTERN
    pattern = re.compile(postcodes.BROWSER_PATTERN)
    for typed in TYPED_POSTCODES:
        try:
            postcodes.parse(typed)
            accepted = True
        except postcodes.PostcodeError:
            accepted = False
        assert bool(pattern.match(re.sub(r"\s+", "", typed).upper())) == accepted, typed
