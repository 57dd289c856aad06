"""Shared fixtures for the site build tests: one real build per test session, into a temp folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from cchcc.project import Project
from tests.conftest import PROJECT, ROOT

SITE_URL = "https://jobs.example.org/"


@dataclass
class SiteBuild:
    site_dir: Path
    cache_dir: Path
    site_url: str
    campaigns: list  # cchcc.campaigns.Campaign
    generated: dict[str, int]

    def page(self, path: str) -> str:
        """The HTML of a built page by its URL path, e.g. ``/campaigns/lincoln-green/``."""
        target = self.site_dir / path.strip("/")
        if path.endswith("/") or target.is_dir():
            target = target / "index.html"
        return target.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def site_build(tmp_path_factory) -> SiteBuild:
    """Given the repository's pages, programme and sample campaigns, when the whole site is built
    (campaign hook included) into a temporary folder, then tests read the output from here."""
    from cchcc.site.build import build

    base = tmp_path_factory.mktemp("site-build")
    result = build(PROJECT, site_dir=base / "site", cache_dir=base / "cache", site_url=SITE_URL)
    return SiteBuild(base / "site", base / "cache", SITE_URL, result.campaigns, result.generated)


def copy_project(dest: Path) -> Project:
    """A throwaway copy of everything a build reads, so a test can break a campaign safely."""
    for name in ("mkdocs.yml", "programme.yml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "site", dest / "site", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "campaigns", dest / "campaigns")
    return Project.at(dest)


@pytest.fixture
def project_copy(tmp_path) -> Project:
    """A copy of the project in a temporary folder (``.root`` is where its files are)."""
    (tmp_path / "project").mkdir()
    return copy_project(tmp_path / "project")
