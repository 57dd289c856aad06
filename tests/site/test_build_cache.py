"""Unchanged QR codes and posters are not made again on a rebuild."""

from __future__ import annotations

from pathlib import Path

from cchcc.site.build import build
from cchcc.site.campaigns import load_all
from tests.conftest import PROJECT

LG = "campaigns/lincoln-green/campaign.yml"


def _cached(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in (cache / "print").rglob("*") if p.is_file()}


def test_rebuild_without_changes_reuses_every_qr_and_pdf(site_build, tmp_path):
    # Given the session build (which made every QR code and poster into its cache)
    placements = sum(len(c.printed) for c in site_build.campaigns)  # placements and event posters
    before = _cached(site_build.cache_dir)
    assert len([k for k in before if k.endswith("poster.pdf")]) == placements
    # When the same site is built again with the same cache
    again = build(PROJECT, site_dir=tmp_path / "site", cache_dir=site_build.cache_dir, site_url=site_build.site_url)
    # Then nothing is generated and no cached file is rewritten, yet the site has every file
    assert again.generated == {"qr": 0, "pdf": 0, "preview": 0}
    assert _cached(site_build.cache_dir) == before
    for campaign in site_build.campaigns:
        for placement in campaign.placements:
            assert (tmp_path / "site" / "print" / placement.id / "poster.pdf").stat().st_size > 0


def test_changing_one_campaign_remakes_only_its_placements(project_copy):
    cache, out = project_copy.root / "cache", project_copy.root / "out"
    first = build(project_copy, site_dir=out, cache_dir=cache)
    total = sum(len(c.printed) for c in first.campaigns)
    assert first.generated["pdf"] == total
    # When the Lincoln Green headline changes
    path = project_copy.root / LG
    path.write_text(path.read_text().replace("close to home", "near where you live"))
    second = build(project_copy, site_dir=out, cache_dir=cache)
    # Then only its posters are made again, and the old cache entries are cleared away
    lincoln = next(c for c in load_all(project_copy) if c.slug == "lincoln-green")
    assert second.generated["pdf"] == len(lincoln.printed)
    assert len(list((cache / "print").glob("*/poster.pdf"))) == total


def test_the_build_writes_the_checked_programme_the_functions_load(site_build):
    """Beside the site (not in it): programme.json, current for this programme.yml and this code."""
    import json

    from hub.programme import stale_because
    from tests.conftest import PROGRAMME

    written = site_build.site_dir.parent / "programme.json"
    assert stale_because(json.loads(written.read_text(encoding="utf-8")), PROGRAMME) is None
    assert not (site_build.site_dir / "programme.json").exists()
