"""Site build benchmark: campaign generation cost, rebuild cost and landing page weight.

Every build time is a ratio over a *plain* MkDocs build of the same Markdown with the
campaign hook switched off, measured in the same run on the same copy:

1. **Sample site** (the shipped campaigns): first build with an empty cache (every QR code
   and poster PDF made) and a no-change rebuild (everything from the cache).
2. **20 campaigns x 5 placements** generated into a temporary copy of the project: the same two.
3. **Landing page weight**, in every language: a campaign page's HTML plus every stylesheet and
   script it loads, each gzipped; at most 100 KB, aim 60 KB.
4. **Build time per added language**: a no-change rebuild of the sample site with English only,
   then with each community language added in turn; the cost of one language is the slope of
   rebuild time over the number of languages, as a ratio of the English-only rebuild.

    python -m bench build            # or: python -m bench.build
"""

from __future__ import annotations

import gzip
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cchcc.project import Project
from cchcc.site.build import build
from cchcc.site.campaigns import load_all

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("poster-a3", "poster-a4", "flyer-a5", "flyer-a6")
SITE_URL = "https://jobs.example.org/"
REPEATS = 3
LANGUAGE_REPEATS = 5  # each added language costs little: more repeats to see it through the noise


def _copy_project(dest: Path, *, campaigns: bool = True) -> Path:
    for name in ("mkdocs.yml", "programme.yml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "site", dest / "site", ignore=shutil.ignore_patterns("__pycache__"))
    if campaigns:
        shutil.copytree(ROOT / "campaigns", dest / "campaigns")
    return dest


def _generate_fixture(root: Path, campaigns: int = 20, placements: int = 5) -> None:
    """Write ``campaigns`` realistic-looking campaigns with ``placements`` placements each."""
    roles = sorted(p.stem for p in (root / "site" / "docs" / "careers").glob("*.md") if p.stem != "index")[:3]
    base = root / "campaigns"
    base.mkdir(exist_ok=True)
    for c in range(campaigns):
        folder = base / f"bench-{c:02d}"
        folder.mkdir()
        lines = [
            f"title: Bench campaign {c}",
            f"headline: Health and care jobs near you ({c})",
            "summary: Free local help to find a job, training or a course in health and care.",
            f"area: Test area {c}",
            "starts: 2027-01-01",
            "ends: 2027-06-30",
            "roles: [" + ", ".join(roles) + "]",
            "placements:",
        ]
        for p in range(placements):
            fmt = FORMATS[(c + p) % len(FORMATS)]
            lines += [f"  - id: b{c:02d}-{p}", f"    name: Place {p}", f"    format: {fmt}", f"    copies: {p + 1}"]
            if p == 4 and fmt.startswith("poster"):
                lines += ["    outdoor: true", "    viewing_distance_m: 1.2"]
        (folder / "campaign.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / "index.md").write_text(f"Words for bench campaign {c}.\n\n- one\n- two\n", encoding="utf-8")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measure(root: Path, work: Path) -> dict:
    project = Project.at(root)
    cache = work / "cache"

    def plain():
        build(project, site_dir=work / "plain", site_url=SITE_URL, campaigns=False)

    def full():
        build(project, site_dir=work / "site", cache_dir=cache, site_url=SITE_URL)

    plain()  # warm imports and theme templates; not counted
    baseline = statistics.median(_time(plain) for _ in range(REPEATS))
    shutil.rmtree(cache, ignore_errors=True)
    cold = _time(full)
    warm = statistics.median(_time(full) for _ in range(REPEATS))
    placements = sum(len(c.printed) for c in load_all(project))  # placements and event posters
    return {
        "campaigns": len(load_all(project)),
        "placements": placements,
        "plain_mkdocs_s": round(baseline, 3),
        "first_build_s": round(cold, 3),
        "no_change_rebuild_s": round(warm, 3),
        "first_build_ratio": round(cold / baseline, 2),
        "no_change_rebuild_ratio": round(warm / baseline, 2),
        "per_placement_first_build_ms": round((cold - baseline) / max(placements, 1) * 1000, 1),
    }


def languages_cost(root: Path, work: Path) -> dict:
    """No-change rebuilds with English only, then one more language at a time (same cache)."""
    from hub import i18n

    project = Project.at(root)
    cache = work / "cache"
    real = i18n.TRANSLATIONS
    codes = sorted(p.stem for p in real.glob("*.po"))
    times = []
    try:
        for count in range(len(codes) + 1):
            chosen = work / f"translations-{count}"
            chosen.mkdir(parents=True)
            for code in codes[:count]:
                shutil.copy2(real / f"{code}.po", chosen / f"{code}.po")
            i18n.TRANSLATIONS = chosen
            i18n.reload()

            def full():
                build(project, site_dir=work / f"site-{count}", cache_dir=cache, site_url=SITE_URL)

            full()  # posters for this set of languages into the cache; not counted
            times.append(statistics.median(_time(full) for _ in range(LANGUAGE_REPEATS)))
    finally:
        i18n.TRANSLATIONS = real
        i18n.reload()
    # The least-squares slope over every count of languages: steadier than the two ends alone.
    step = statistics.linear_regression(range(len(times)), times).slope if len(times) > 1 else 0.0
    return {
        "languages": ["en", *codes],
        "rebuild_s": [round(t, 3) for t in times],
        "per_language_s": round(step, 3),
        "per_language_ratio": round(step / times[0], 3),
    }


def landing_weight(site_dir: Path, slug: str, code: str = "en") -> dict:
    """Gzipped bytes of a landing page (in language ``code``) and every stylesheet and script it loads."""
    page = site_dir / ("" if code == "en" else code) / "campaigns" / slug / "index.html"
    html = page.read_text(encoding="utf-8")
    assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    assets += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"', html)
    assets += re.findall(r'<script[^>]+src="([^"]+)"', html)
    parts = {"html": len(gzip.compress(page.read_bytes(), 9))}
    for href in dict.fromkeys(assets):
        if re.match(r"^(https?:)?//", href):
            raise AssertionError(f"landing page loads a third-party asset: {href}")
        path = (page.parent / href.split("?")[0]).resolve()
        parts[str(path.relative_to(site_dir.resolve()))] = len(gzip.compress(path.read_bytes(), 9))
    total = sum(parts.values())
    path = f"/campaigns/{slug}/" if code == "en" else f"/{code}/campaigns/{slug}/"
    return {"page": path, "gzip_bytes": parts, "total_kb": round(total / 1024, 1), "limit_kb": 100, "aim_kb": 60}


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="cchcc-bench-") as tmp:
        tmp = Path(tmp)
        sample_root = _copy_project((tmp / "sample").resolve() if (tmp / "sample").mkdir() is None else tmp)
        sample = _measure(sample_root, tmp / "sample-out")
        slug = load_all(Project.at(sample_root))[0].slug
        from hub import i18n

        weights = [landing_weight(tmp / "sample-out" / "site", slug, code) for code in i18n.codes()]
        # The same site, its posters without straplines, so that it builds with any set of languages.
        (tmp / "languages-root").mkdir()
        languages_root = _copy_project(tmp / "languages-root")
        for yml in (languages_root / "campaigns").glob("*/campaign.yml"):
            yml.write_text(re.sub(r"(?m)^languages:.*$", "", yml.read_text(encoding="utf-8")), encoding="utf-8")
        languages = languages_cost(languages_root, tmp / "languages")
        (tmp / "fixture").mkdir()
        fixture_root = _copy_project(tmp / "fixture", campaigns=False)
        _generate_fixture(fixture_root)
        fixture = _measure(fixture_root, tmp / "fixture-out")
    return {"sample_site": sample, "fixture_20x5": fixture, "landing_page_weight": weights[0],
            "landing_page_weight_by_language": weights, "languages": languages}


def report(result: dict) -> str:
    lines = []
    for key, label in (("sample_site", "sample site"), ("fixture_20x5", "20 campaigns x 5 placements")):
        r = result[key]
        lines += [
            f"{label} ({r['campaigns']} campaigns, {r['placements']} QR posters and flyers):",
            f"  plain mkdocs build (hook off)   {r['plain_mkdocs_s']:7.2f} s   baseline",
            f"  first build (empty cache)       {r['first_build_s']:7.2f} s   {r['first_build_ratio']:5.2f} x"
            f"   ({r['per_placement_first_build_ms']:.0f} ms per placement)",
            f"  no-change rebuild               {r['no_change_rebuild_s']:7.2f} s   {r['no_change_rebuild_ratio']:5.2f} x",
        ]
    for w in result["landing_page_weight_by_language"]:
        lines.append(f"landing page {w['page']} weight, gzip: {w['total_kb']} KB (limit {w['limit_kb']}, aim {w['aim_kb']})")
        for name, size in w["gzip_bytes"].items():
            lines.append(f"  {name:45s} {size / 1024:6.1f} KB")
    lang = result["languages"]
    lines.append("no-change rebuild by number of languages: " + ", ".join(
        f"{'+'.join(lang['languages'][:i + 1])} {t:.2f} s" for i, t in enumerate(lang["rebuild_s"])))
    lines.append(f"  each added language: {lang['per_language_s']:.2f} s, {lang['per_language_ratio']:.2f} x the English-only rebuild")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
