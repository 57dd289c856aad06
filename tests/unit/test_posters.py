"""Poster words and fonts, without a build: each strapline gets a font that has its letters, a
missing font stops the build with what to install, a local build's posters say not to print them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cchcc.site import posters, printing, qr
from cchcc.site.campaigns import load_all
from hub import i18n
from tests.conftest import PROJECT

CAMPAIGN = next(c for c in load_all(PROJECT) if c.data.languages)


def batch(site_url: str) -> printing.Batch:
    return printing.Batch(site_url, "Health and care jobs in Leeds", ("Leeds City Council",), Path("/nonexistent"), "0113 496 0000")


@pytest.mark.parametrize("code", [c for c in i18n.codes() if c != "en"])
def test_each_strapline_is_in_its_language_with_a_font_that_has_every_letter(code):
    (line,) = posters.straplines([code])
    assert line.text == i18n.translator(code)(posters.STRAPLINE, language=i18n.language(code).name)
    assert line.direction == i18n.language(code).direction
    assert posters._covers(line.font, line.text)
    if line.direction == "rtl":
        assert line.font != posters.LATIN_FONT  # DejaVu has Arabic letters, not the shapes people read


def test_a_missing_font_stops_the_build_saying_what_to_install(monkeypatch):
    real = posters._font_files
    monkeypatch.setattr(posters, "_font_files", lambda family: real(family) if family == posters.LATIN_FONT else ())
    monkeypatch.setattr(posters, "_families_for", lambda code: ())
    with pytest.raises(posters.FontMissingError) as caught:
        posters.straplines(["ur"])
    assert "Urdu (ur)" in str(caught.value) and "fonts-noto-core" in str(caught.value)
    with pytest.raises(printing.PrintingError) as stopped:
        _generate(CAMPAIGN)
    assert f"campaigns/{CAMPAIGN.slug}/campaign.yml: languages:" in str(stopped.value)


def _generate(campaign):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return printing.generate(printing.Batch("https://jobs.example.org/", "x", ("y",), Path(tmp)), [campaign])


def test_every_poster_gives_the_phone_number_and_a_local_build_says_not_to_print():
    placement = CAMPAIGN.placements[0]
    public = printing.poster_words(batch("https://jobs.example.org/"), CAMPAIGN, placement, ())
    local = printing.poster_words(batch("http://127.0.0.1:8000/"), CAMPAIGN, placement, ())
    assert public.phone == local.phone == "0113 496 0000"
    assert public.local_url == "" and local.local_url == "http://127.0.0.1:8000/"
    assert qr.is_local("http://localhost:8000/") and not qr.is_local("https://jobs.example.org/")


@pytest.mark.parametrize("site_url, local", [("http://127.0.0.1:8000/", True), ("https://jobs.example.org/", False)])
def test_a_local_build_says_its_codes_open_this_computer_and_how_to_set_the_address(monkeypatch, capsys, tmp_path, site_url, local):
    from cchcc import cli
    from cchcc.site import build as site_build
    from cchcc.site.build import BuildResult

    monkeypatch.setattr(site_build, "build", lambda project, **kw: BuildResult(tmp_path, [], 1.0, {"qr": 0, "pdf": 0, "preview": 0}, None, site_url=site_url))
    assert cli.main(["--project", str(PROJECT.root), "build", "--site-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (f"QR codes and posters point at {site_url}" in out and "--site-url" in out and "CCHCC_SITE_URL" in out) == local
