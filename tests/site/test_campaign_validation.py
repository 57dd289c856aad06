"""A broken campaign is refused before anything is written, with the file, field and reason."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cchcc import cli
from cchcc.site.build import PublishError, build
from cchcc.site.campaigns import check_all

LG = "campaigns/lincoln-green/campaign.yml"
EL = "campaigns/east-leeds/campaign.yml"


def _edit(project, rel: str, old: str, new: str) -> None:
    path = project.root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _remove(project, rel: str, *_: str) -> None:
    (project.root / rel).unlink()


# One row per broken campaign: (case, change to make, the line we expect, as a regex).
CASES = [
    ("bad yaml", (_edit, LG, "title: Lincoln Green", "title: [Lincoln Green"),
     rf"^{LG}: line \d+, column \d+: YAML syntax error"),
    ("unknown key", (_edit, LG, "area:", "colour: green\narea:"),
     rf"^{LG}: colour \(line 6\): unknown key"),
    ("missing key", (_edit, LG, "headline: Work in health and care, close to home\n", ""),
     rf"^{LG}: headline: is required but missing"),
    ("bad placement id", (_edit, LG, "id: lg-library", "id: LG Library!"),
     rf"^{LG}: placements\[0\]\.id \(line \d+\): must be short and use only lowercase letters"),
    ("reserved placement id", (_edit, LG, "id: lg-library", "id: unknown"),
     rf"^{LG}: placements\[0\]\.id \(line \d+\): 'unknown' is kept for referrals that name no real placement"),
    ("duplicate id across campaigns", (_edit, LG, "id: lg-library", "id: el-pharmacy"),
     rf"^{LG}: placements\[0\]\.id \(line \d+\): 'el-pharmacy' is already used by {EL}"),
    ("duplicate id in one campaign", (_edit, LG, "id: lg-mosque", "id: lg-library"),
     rf"^{LG}: placements\[2\]\.id \(line \d+\): 'lg-library' is used twice in this campaign"),
    ("end before start", (_edit, LG, "ends: 2027-03-31", "ends: 2026-10-01"),
     rf"^{LG}: ends \(line \d+\): the end date 2026-10-01 is before the start date 2026-11-02"),
    ("unknown format", (_edit, LG, "format: flyer-a5", "format: flyer-a2"),
     rf"^{LG}: placements\[1\]\.format \(line \d+\): must be poster-a3, poster-a4, flyer-a5 or flyer-a6"),
    ("missing index.md", (_remove, "campaigns/lincoln-green/index.md"),
     r"^campaigns/lincoln-green/index\.md: \(file\): missing"),
    ("QR too big for the paper", (_edit, LG, "viewing_distance_m: 1.5", "viewing_distance_m: 4"),
     rf"^{LG}: placements\[3\]\.viewing_distance_m \(line \d+\): seen from 4 m the QR code must be 40 cm wide"),
    ("unknown role", (_edit, LG, "  - porter\n", "  - astronaut\n"),
     rf"^{LG}: roles\[2\] \(line \d+\): no careers page called 'astronaut'"),
    ("bad redirect", (_edit, LG, "redirect_after_end: /get-in-touch/", "redirect_after_end: www.example.com"),
     rf"^{LG}: redirect_after_end \(line \d+\): must be a page on this site"),
    ("bad folder name", (lambda project, *a: shutil.move(project.root / "campaigns/east-leeds", project.root / "campaigns/East_Leeds"),),
     r"^campaigns/East_Leeds: \(folder name\): must use only lowercase"),
]


@pytest.mark.parametrize("change,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_campaign_is_refused_with_file_field_and_reason(project_copy, change, expected):
    # Given a copy of the project with one campaign broken
    fn, *args = change
    fn(project_copy, *args)
    # When it is checked, then exactly the expected problem is reported
    problems = check_all(project_copy)
    assert problems, "the broken campaign was accepted"
    assert any(re.search(expected, str(line)) for line in problems), problems
    # And when it is built, the build stops before writing the site or any QR code or poster
    out, cache = project_copy.root / "out", project_copy.root / "cache"
    with pytest.raises(PublishError) as err:
        build(project_copy, site_dir=out, cache_dir=cache)
    assert re.search(expected, str(err.value), re.M)
    assert not out.exists() and not cache.exists()


def test_plain_mkdocs_build_stops_in_the_hook_before_writing(project_copy, caplog):
    # Given a broken campaign, when MkDocs itself builds (as `mkdocs build` / `mkdocs serve` would),
    # then the hook stops it with the same message and the site folder is not touched.
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    _edit(project_copy, LG, "format: flyer-a5", "format: flyer-a2")
    out = project_copy.root / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    cfg = load_config(str(project_copy.mkdocs_file), site_dir=str(out))
    with caplog.at_level("ERROR"), pytest.raises(Abort):
        mkdocs_build(cfg)
    assert re.search(r"placements\[1\]\.format \(line \d+\): must be poster-a3", caplog.text)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_cchcc_build_refuses_and_says_nothing_was_built(project_copy, capsys):
    _edit(project_copy, LG, "ends: 2027-03-31", "ends: 2026-10-01")
    code = cli.main(["--project", str(project_copy.root), "build", "--site-dir", str(project_copy.root / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{LG}: ends" in err and "nothing was built" in err
    assert not (project_copy.root / "out").exists()


def test_campaign_new_scaffolds_a_campaign_that_check_refuses_until_its_example_text_is_replaced(project_copy, capsys, site_build):
    # When the comms team starts a new campaign, then it has comments on every key...
    assert cli.main(["--project", str(project_copy.root), "campaign", "new", "Harehills Spring"]) == 0
    yml = project_copy.campaigns_dir / "harehills-spring" / "campaign.yml"
    md = yml.parent / "index.md"
    assert yml.exists() and md.exists()
    assert yml.read_text().count("#") > 10
    # ...and `cchcc check` refuses it, naming each place that still has the example text.
    problems = [str(p) for p in check_all(project_copy)]
    rel = "campaigns/harehills-spring/campaign.yml"
    for field in ("headline", "summary", "area", "placements[0].name", "placements[0].location", "placements[1].name"):
        assert any(p.startswith(f"{rel}: {field} (line ") and "example text" in p for p in problems), (field, problems)
    assert "campaigns/harehills-spring/index.md: (file) (line 1): still holds the example text from 'cchcc campaign new'; replace it with a few sentences about this campaign" in problems
    # When the words are replaced, then it is valid...
    text = yml.read_text()
    text = re.sub(r'"\[Replace this[^"]*\]"', '"Harehills words"', text)
    yml.write_text(text)
    md.write_text("Jobs in health and care in Harehills. The help is free.\n")
    assert check_all(project_copy) == []
    # And it builds into a landing page with its placements.
    out = project_copy.root / "out"
    # (a copy of the session build's cache: the other campaigns' posters are already made)
    cache = project_copy.root / "cache"
    shutil.copytree(site_build.cache_dir, cache)
    build(project_copy, site_dir=out, cache_dir=cache, site_url=site_build.site_url)
    assert (out / "campaigns" / "harehills-spring" / "index.html").exists()
    assert (out / "q" / "hs-library" / "index.html").exists()


@pytest.mark.parametrize("name,message", [("lincoln green", "already exists"), ("!!!", "not a usable name")])
def test_campaign_new_refuses_existing_or_bad_names(project_copy, capsys, name, message):
    before = sorted(p.name for p in project_copy.campaigns_dir.iterdir())
    assert cli.main(["--project", str(project_copy.root), "campaign", "new", name]) != 0
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in project_copy.campaigns_dir.iterdir()) == before


def test_every_command_has_help(capsys):
    for argv in (["build", "--help"], ["campaign", "--help"], ["campaign", "new", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 0
        assert "usage:" in capsys.readouterr().out
