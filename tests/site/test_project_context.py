"""One project, resolved once: the checkout you stand in, and the programme file you name.

Before, six modules each decided which programme file to use and seven found the project
from where the package was installed: `cchcc build --programme other.yml` put the other
file's partners on the posters but the repository's on the privacy notice, and a second
checkout built the first. These tests hold each of those cases.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cchcc import cli
from cchcc.project import Project, ProjectError, find_root
from tests.conftest import ROOT
from tests.site.conftest import copy_project

CCHCC = str(Path(sys.executable).parent / "cchcc")
OTHER_ORGANISATION = "Gipton and Harehills Community Trust"


OTHER_RECEIVES = "receives: [name, phone, postcode, language]"


def other_programme(folder: Path) -> Path:
    """The sample programme with Leeds City Council's spoke run by another organisation, which
    receives fewer details."""
    text = (ROOT / "programme.yml").read_text(encoding="utf-8")
    assert "organisation: Leeds City Council" in text
    spoke_at = text.index("organisation: Leeds City Council")
    lcc_receives = "receives: [name, email, phone, postcode, interests, situation, support_needs, language]"
    assert text.index(lcc_receives, spoke_at) > spoke_at
    text = text[:spoke_at] + text[spoke_at:].replace(lcc_receives, OTHER_RECEIVES, 1)
    path = folder / "other-programme.yml"
    path.write_text(text.replace("Leeds City Council", OTHER_ORGANISATION), encoding="utf-8")
    return path


def pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) reads the posters")
    return subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_root_is_found_from_any_folder_inside_it(tmp_path):
    assert find_root(ROOT / "site" / "docs" / "careers") == ROOT
    assert find_root(ROOT / "campaigns" / "lincoln-green") == ROOT
    with pytest.raises(ProjectError, match="not inside a CCHCC project"):
        find_root(tmp_path)


def test_a_programme_named_on_the_command_line_is_relative_to_where_it_was_typed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = Project.find(ROOT / "site", "mine.yml")
    assert project.root == ROOT and project.programme_file == tmp_path / "mine.yml"
    assert Project.find(ROOT).programme_file == ROOT / "programme.yml"


def test_build_with_another_programme_puts_its_partners_on_the_privacy_notice_and_the_posters(tmp_path, capsys):
    # Given a copy of the project and another programme file naming another partner
    project = copy_project(tmp_path / "project" if (tmp_path / "project").mkdir() is None else tmp_path)
    other = other_programme(tmp_path)
    site = project.root / "build" / "site"
    # When it is built with --programme
    code = cli.main(["--project", str(project.root), "build", "--programme", str(other)])
    assert code == 0, capsys.readouterr().err
    # Then the privacy notice, the home page and every poster name that file's partners, not the repository's
    for page in ("privacy/index.html", "index.html"):
        html = (site / page).read_text(encoding="utf-8")
        assert OTHER_ORGANISATION in html, page
        assert "Leeds City Council" not in html, page
    # and its data sharing table gives each partner exactly the details that file says it receives
    privacy = (site / "privacy" / "index.html").read_text(encoding="utf-8")
    rows = {
        cells[0]: cells[2]
        for row in re.findall(r"<tr>(.*?)</tr>", privacy.split("<table", 1)[1].split("</table>", 1)[0], re.S)
        if len(cells := re.findall(r"<td>(.*?)</td>", row, re.S)) == 4
    }
    other_spoke = f"{OTHER_ORGANISATION} Employment and Skills ({OTHER_ORGANISATION})"
    assert rows[other_spoke] == "Name, Phone, Postcode, Preferred language"
    assert rows["Healthier Working Futures"] == (
        "Name, Email, Phone, Postcode, Age, Interested in, At the moment, Support needs, Preferred language"
    )
    poster = pdf_text(site / "print" / "lg-library" / "poster.pdf")
    assert OTHER_ORGANISATION.split()[0] in poster and "Leeds City Council" not in poster


def test_the_command_builds_the_checkout_it_is_run_in(tmp_path):
    # Given a second checkout whose campaign differs from this one's
    second = copy_project(tmp_path / "second" if (tmp_path / "second").mkdir() is None else tmp_path).root
    campaign = second / "campaigns" / "lincoln-green" / "campaign.yml"
    campaign.write_text(campaign.read_text(encoding="utf-8").replace(
        "headline: Work in health and care, close to home", "headline: A headline only the second checkout has"
    ), encoding="utf-8")
    before = (ROOT / "build" / "site" / "campaigns" / "lincoln-green" / "index.html")
    before_text = before.read_text(encoding="utf-8") if before.exists() else None
    # When this checkout's command is run inside the second checkout
    proc = subprocess.run([CCHCC, "build"], cwd=second / "campaigns", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Then the second checkout is built, into its own build folder, and this one is untouched
    built = (second / "build" / "site" / "campaigns" / "lincoln-green" / "index.html").read_text(encoding="utf-8")
    assert "A headline only the second checkout has" in built
    assert "site built in build/site" in proc.stdout
    if before_text is not None:
        assert before.read_text(encoding="utf-8") == before_text
