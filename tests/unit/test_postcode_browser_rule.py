"""The browser's postcode check (hub.postcodes.BROWSER_PATTERN, run by site/docs/assets/cchcc.js)
must agree with the server's: a resident never sees the browser accept what the server refuses,
or refuse a real postcode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from hub import form, postcodes

TYPED = [
    "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "GIR 0AA", "gir0aa",
    "ls9 7ab", "LS97AB", "LS197AB", "  LS9 7AB  ", "LS9\t7AB", "LS9\u00a07AB", "SW1A 2AA",
    "LS9", "LS9 7", "LS9 7A", "LS9 7ABC", "LS9 AAB", "LS123 7AB", "LSA 7AB", "9S9 7AB",
    "LS9 7CB", "LS9 7AI", "LS9 7KA", "LS9 7AM", "LS9 7OA", "LS9 7AV", "Q1 1AA", "V1 1AA",
    "XS9 7AB", "LI9 7AB", "LJ9 7AB", "LZ9 7AB", "W1I 0AX", "EC1C 1BB", "GIR 0AB", "LS9-7AB",
    "LS9 7AB.", "\uff2c\uff33\uff19 \uff17\uff21\uff22",
]


def server_accepts(typed: str) -> bool:
    try:
        postcodes.parse(typed)
    except postcodes.PostcodeError:
        return False
    return True


def test_the_rule_is_shipped_to_the_browser():
    assert form.browser_rules()["postcodePattern"] == postcodes.BROWSER_PATTERN


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the browser's regular expression")
def test_browser_pattern_in_javascript_agrees_with_the_server():
    # Given the pattern as the browser runs it (JavaScript RegExp, input compacted and upper-cased
    # exactly as cchcc.js does), when every case is checked, then it agrees with hub.postcodes.parse.
    script = (
        "const [pattern, cases] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const re = new RegExp(pattern);"
        "console.log(JSON.stringify(cases.map(c => re.test(c.replace(/\\s+/g, '').toUpperCase()))));"
    )
    out = subprocess.run(
        ["node", "-e", script],
        input=json.dumps([postcodes.BROWSER_PATTERN, TYPED]),
        capture_output=True, text=True, check=True,
    ).stdout
    browser = json.loads(out)
    disagreements = [t for t, b in zip(TYPED, browser) if b != server_accepts(t)]
    assert not disagreements
    assert any(browser) and not all(browser)


def test_browser_pattern_agrees_with_the_server_in_python_too():
    pattern = re.compile(postcodes.BROWSER_PATTERN)
    for typed in TYPED:
        assert bool(pattern.match(re.sub(r"\s+", "", typed).upper())) == server_accepts(typed), typed
