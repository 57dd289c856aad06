"""Built site: every page is there, nothing is loaded from another host, pages stay light."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from hub import references, thanks
from hub.config import load_programme
from tests.conftest import PROGRAMME

PAGES = [
    "/",
    "/find-a-role/",
    "/careers/",
    "/get-in-touch/",
    "/thanks/",
    "/privacy/",
    "/accessibility/",
]

INTERESTS = ["caring", "practical", "behind-the-scenes", "organising", "science"]


class _Assets(HTMLParser):
    """Collects what a page *loads* (link/script/img/iframe/source...), not plain <a> links."""

    LOADING = {"link": "href", "script": "src", "img": "src", "iframe": "src", "source": "src",
               "audio": "src", "video": "src", "embed": "src", "object": "data", "use": "href"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        attr = self.LOADING.get(tag)
        if attr and a.get(attr):
            self.urls.append((tag, a[attr]))
        if tag in ("img", "source") and a.get("srcset"):
            self.urls += [(tag, part.split()[0]) for part in a["srcset"].split(",") if part.strip()]
        if a.get("style") and "url(" in a["style"]:
            self.urls += [(tag, u) for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", a["style"])]


def _is_external(url: str, site_host: str) -> bool:
    url = url.strip()
    if url.startswith("//"):
        return True
    parts = urlsplit(url)
    if parts.scheme in ("", "data"):
        return False
    return parts.scheme in ("http", "https") and parts.netloc != site_host or parts.scheme not in ("http", "https")


@pytest.mark.parametrize("url", PAGES)
def test_given_the_built_site_then_each_page_exists_with_a_title_and_one_h1(site_build, url):
    html = site_build.page(url)
    assert re.search(r"<title>[^<]+</title>", html)
    assert len(re.findall(r"<h1[\s>]", html)) == 1, url


def test_every_role_page_in_the_nav_was_built(site_build):
    roles = sorted(p.stem for p in (Path(__file__).parents[2] / "site/docs/careers").glob("*.md") if p.stem != "index")
    assert len(roles) >= 10
    for role in roles:
        assert "<h2" in site_build.page(f"/careers/{role}/")


def test_the_servers_404_page_is_our_helpful_page_with_absolute_links(site_build):
    html = (site_build.site_dir / "404.html").read_text(encoding="utf-8")
    assert "Page not found" in html and "cannot find that page" in html
    assert 'href="/get-in-touch/"' in html
    # Assets of an error page must load from any depth of URL.
    assert re.search(r'<link rel="stylesheet" href="/assets/cchcc\.css">', html)


def test_find_a_role_works_without_javascript(site_build):
    html = site_build.page("/find-a-role/")
    for anchor in INTERESTS:
        assert f'id="{anchor}"' in html, anchor
        assert f'href="#{anchor}"' in html, anchor
    for href in re.findall(r'href="\.\./careers/([a-z-]+)/"', html):
        assert (site_build.site_dir / "careers" / href / "index.html").exists(), href
    assert "<script" not in html.split('<article')[1].split("</article>")[0]


def test_thanks_page_checks_the_reference_against_the_real_pattern_and_has_a_box_the_function_fills(site_build):
    html = site_build.page("/thanks/")
    pattern = re.search(r'data-cc-reference data-pattern="([^"]+)"', html).group(1)
    assert re.fullmatch(pattern, references.new_reference())
    assert not re.fullmatch(pattern, "<img src=x>")
    assert not re.fullmatch(pattern, "ABCD-EFGH")  # B is not in the alphabet
    # Without JavaScript the intake function fills the box (GET /thanks/, hub/thanks.py); served as
    # built, the page says plainly that it cannot show the reference, not to read the address bar.
    noscript = html.split("<noscript>")[1].split("</noscript>")[0]
    assert "cannot show your reference" in noscript and "ref=" not in noscript
    assert thanks.has_box(html)
    assert thanks.ThanksPage(load_programme(PROGRAMME), site_build.site_dir / "thanks" / "index.html").show("ACDE-3467").kind == "filled"


def test_search_is_local_and_has_an_index(site_build):
    assert (site_build.site_dir / "search" / "search_index.json").exists()
    assert 'for="__search"' in site_build.page("/")


def test_no_page_loads_anything_from_another_host(site_build):
    host = urlsplit(site_build.site_url).netloc
    problems = []
    for file in site_build.site_dir.rglob("*.html"):
        parser = _Assets()
        parser.feed(file.read_text(encoding="utf-8"))
        page_url = urljoin(site_build.site_url, str(file.relative_to(site_build.site_dir)))
        for tag, url in parser.urls:
            if _is_external(urljoin(page_url, url) if not url.startswith("//") else url, host):
                problems.append(f"{file.relative_to(site_build.site_dir)}: <{tag}> {url}")
    assert problems == []


def test_no_stylesheet_or_script_pulls_in_another_host(site_build):
    problems = []
    for file in [*site_build.site_dir.rglob("*.css"), *site_build.site_dir.rglob("*.js")]:
        if file.parent.name == "admin":
            # The editor (GitHub's API in production) is never loaded by a public page
            # (test_editor.py); tests/e2e/test_editor.py fails on any request it makes to another host.
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        refs = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^'\")\s]+)", text)
        refs += re.findall(r"@import\s+(?:url\()?\s*['\"]?((?:https?:)?//[^'\")\s;]+)", text)
        refs += re.findall(r"importScripts\(\s*['\"]((?:https?:)?//[^'\"]+)", text)
        problems += [f"{file.relative_to(site_build.site_dir)}: {r}" for r in refs]
    assert problems == []


def _loaded_assets(site_build, url: str) -> list[Path]:
    parser = _Assets()
    html = site_build.page(url)
    parser.feed(html)
    page_dir = site_build.site_dir / url.strip("/")
    files = []
    for tag, ref in parser.urls:
        if tag in ("link",) and not ref.endswith(".css"):
            continue
        target = (page_dir / ref.split("?")[0]).resolve() if not ref.startswith("/") else site_build.site_dir / ref.lstrip("/")
        if target.suffix in (".css", ".js"):
            files.append(target)
    return files


def _gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


def page_weight(site_build, url: str) -> tuple[int, list[tuple[str, int]]]:
    """gzip bytes of the page's HTML plus every stylesheet and script it loads at start-up,
    including Material's search worker (which Material's bundle starts on every page that loads it)."""
    html = site_build.page(url)
    parts = [(url, len(gzip.compress(html.encode("utf-8"), 9)))]
    parts += [(file.name, _gz(file)) for file in _loaded_assets(site_build, url)]
    worker = re.search(r'"search":\s*"([^"]+)"', html)
    if worker and any(name.startswith("bundle.") for name, _ in parts):
        page_dir = site_build.site_dir / url.strip("/")
        parts.append((Path(worker.group(1)).name, _gz((page_dir / worker.group(1)).resolve())))
    return sum(size for _, size in parts), parts


@pytest.mark.parametrize("url", ["/", "/get-in-touch/"])
def test_landing_pages_weigh_at_most_100_kb_gzip(site_build, url):
    total, parts = page_weight(site_build, url)
    index = _gz(site_build.site_dir / "search" / "search_index.json")
    print(
        f"\npage weight {url}: {total / 1024:.1f} KB gzip (HTML + CSS + JS) = "
        + ", ".join(f"{n} {s / 1024:.1f}" for n, s in parts)
        + f"; plus the search index Material fetches on load: {index / 1024:.1f} KB"
    )
    assert any(name == "cchcc.css" for name, _ in parts) and any(name == "cchcc.js" for name, _ in parts)
    assert total <= 100 * 1024


@pytest.mark.parametrize("slug", sorted(p.name for p in (Path(__file__).parents[2] / "campaigns").iterdir() if p.is_dir()))
def test_campaign_landing_pages_load_no_material_bundle_and_weigh_under_60_kb(site_build, slug):
    # Given the page a QR code opens, on a cheap phone over mobile data,
    # then it loads only the form's own script (no Material bundle, no search worker)
    # and its HTML + CSS + JS stay within the 60 KB gzip aim.
    url = f"/campaigns/{slug}/"
    total, parts = page_weight(site_build, url)
    names = [name for name, _ in parts]
    assert "cchcc.js" in names and "cchcc.css" in names
    assert not any(name.startswith("bundle.") or "search" in name for name in names), names
    assert total <= 60 * 1024, f"{total / 1024:.1f} KB: " + ", ".join(f"{n} {s / 1024:.1f}" for n, s in parts)


def test_every_page_footer_gives_the_programme_phone_number_as_a_link(site_build, programme):
    # Given contact_phone in programme.yml, then every page a resident can land on says who to call.
    phone = programme.programme.contact_phone
    pages = [p for p in site_build.site_dir.rglob("index.html") if "/q/" not in p.as_posix() and "/admin/" not in p.as_posix()]
    assert len(pages) > 20
    from hub import i18n

    for page in pages:
        html = page.read_text(encoding="utf-8")
        lang = re.search(r'<html lang="([a-z]+)"', html).group(1)
        footer = html.split('<footer class="md-footer cc-footer">', 1)[-1]
        # In the page's own language (hub.i18n), the number as a tel: link.
        words = i18n.translator(lang)("No smartphone? Call %(phone)s", phone=f'<a href="tel:+441134960000">{phone}</a>')
        assert words in footer, page
