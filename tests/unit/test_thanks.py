"""The thanks page with the reference in it: filled by the intake function, for browsers without JavaScript."""

from __future__ import annotations

import re

import pytest

from hub import references, thanks

BUILT = (
    "<!doctype html><html lang=en><head><title>Thank you</title>"
    "<script>var __config = {};</script></head><body><main><h1>Thank you, we have your details</h1>\n"
    + thanks.reference_box()
    + "<p>Please write down your reference.</p></main></body></html>\n"
)


@pytest.fixture
def page_file(tmp_path):
    path = tmp_path / "thanks.html"
    path.write_text(BUILT, encoding="utf-8")
    return path


def test_built_box_is_hidden_and_says_without_javascript_that_it_cannot_show_a_reference():
    box = thanks.reference_box()
    assert box.startswith(thanks.START) and box.rstrip().endswith(thanks.END)
    assert "data-cc-reference-filled" not in box
    noscript = box.split("<noscript>")[1]
    assert thanks.MISSING in noscript and "ref=" not in noscript  # no "read the address bar"
    assert "<script" not in box


def test_given_a_valid_reference_when_filled_then_only_the_box_changes_and_shows_it(page_file, programme):
    reference = references.new_reference()
    shown = thanks.ThanksPage(programme, page_file).show(reference)
    assert shown.kind == "filled"
    before, after = BUILT.split(thanks.START)[0], BUILT.split(thanks.END)[1]
    assert shown.html.startswith(before) and shown.html.endswith(after)  # inline scripts byte for byte
    box = shown.html[len(before):len(shown.html) - len(after)]
    assert f"data-cc-reference-value>{reference}</p>" in box
    assert " hidden" not in box and "<noscript>" not in box and thanks.MISSING not in box
    assert "data-cc-reference-filled" in box


@pytest.mark.parametrize("raw, expected", [("acde 3467", "ACDE-3467"), (" ACDE3467 ", "ACDE-3467"), ("ACDE-3467", "ACDE-3467")])
def test_given_a_reference_typed_loosely_then_it_is_shown_tidied(page_file, programme, raw, expected):
    shown = thanks.ThanksPage(programme, page_file).show(raw)
    assert f">{expected}<" in shown.html


@pytest.mark.parametrize(
    "raw",
    [None, "", "ABCD-EFGH", "<script>alert(1)</script>", "ACDE-3467<b>", "ACDE-3467,ACDE-3467", '"><img src=x>', "A" * 5000],
)
def test_given_no_or_an_invalid_reference_then_the_page_is_served_as_built(page_file, programme, raw):
    shown = thanks.ThanksPage(programme, page_file).show(raw)
    assert shown.kind == "unfilled"
    assert shown.html == BUILT


def test_only_a_reference_can_go_in_and_it_is_escaped():
    with pytest.raises(ValueError):
        thanks.reference_box("<b>ACDE-3467</b>")
    with pytest.raises(ValueError):
        thanks.fill("<p>no box</p>", "ACDE-3467")
    assert thanks.valid_reference("<ACDE-3467>") is None


@pytest.mark.parametrize("contents", [None, "<html><body>an old build without the box</body></html>", BUILT + BUILT])
def test_given_no_usable_page_then_a_short_page_still_shows_the_reference_and_what_happens_next(tmp_path, programme, contents):
    path = tmp_path / "thanks.html"
    if contents is not None:
        path.write_text(contents, encoding="utf-8")
    reference = references.new_reference()
    shown = thanks.ThanksPage(programme, path).show(reference)
    assert shown.kind == "fallback"
    page = shown.html
    assert f"data-cc-reference-value>{reference}</p>" in page
    assert '<html lang="en" dir="ltr">' in page and '<main class="cc-main" id="main-content"' in page
    assert "<h1" in page and "What happens next" in page
    assert f"{programme.programme.contact_within_working_days} working days" in page
    assert str(programme.programme.hub_email) in page and programme.programme.contact_phone in page
    assert "write down your reference" in page
    assert "<script>" not in page  # only the site's own cchcc.js, by src


def test_fallback_without_a_reference_says_it_cannot_show_one(tmp_path, programme):
    page = thanks.ThanksPage(programme, tmp_path / "missing.html").show("nonsense").html
    assert thanks.MISSING in page and "write down your reference" not in page
    assert not re.search(r"data-cc-reference-value>[^<]", page)


def test_page_is_read_again_when_the_file_changes(tmp_path, programme):
    path = tmp_path / "thanks.html"
    page = thanks.ThanksPage(programme, path)
    assert page.show(None).kind == "fallback"
    path.write_text(BUILT, encoding="utf-8")
    assert page.show(None).html == BUILT
    path.write_text(BUILT.replace("Thank you,", "Thanks,"), encoding="utf-8")
    assert "Thanks, we have" in page.show(None).html
