"""Campaign landing pages and /q/ redirects in the built site."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cchcc.site import campaign_pages
from cchcc.site.build import catalogue_path
from cchcc.site.campaigns import FORMATS, load_all
from tests.conftest import PROJECT, ROOT

SAMPLES = load_all(PROJECT)
PLACEMENTS = [(c, p) for c in SAMPLES for p in c.placements]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Collect()
    parser.feed(html)
    return parser.tags


def test_samples_cover_every_format_with_at_least_five_placements():
    # Given the shipped sample campaigns, then they use all four formats across 5+ placements.
    assert len(SAMPLES) >= 2
    assert len(PLACEMENTS) >= 5
    assert {p.format for _, p in PLACEMENTS} == set(FORMATS)
    assert any(p.outdoor and p.viewing_distance_m for _, p in PLACEMENTS)


@pytest.mark.parametrize("campaign", SAMPLES, ids=lambda c: c.slug)
def test_landing_page_has_headline_form_and_roles(site_build, campaign):
    html = site_build.page(f"/campaigns/{campaign.slug}/")
    found = tags(html)
    # Then the headline is the page's h1 and the summary is under it.
    assert re.search(r"<h1[^>]*>\s*" + re.escape(campaign.data.headline) + r"\s*</h1>", html)
    assert campaign.data.summary in html
    # And the shared form is there with the campaign filled in and an empty source for ?s=.
    hidden = {a["name"]: a.get("value", "") for t, a in found if t == "input" and a.get("type") == "hidden"}
    assert hidden["campaign"] == campaign.slug
    assert "source" in hidden
    assert any(t == "form" and a.get("id") == "referral-form" for t, a in found)
    # And the form comes before the longer copy from index.md, near the top of the page.
    assert html.index('id="referral-form"') < html.index('<h2 id="about-this-campaign"')
    # And each role link points at a careers page that was built.
    links = [a["href"] for t, a in found if t == "a" and "/careers/" in ("/" + a.get("href", ""))]
    for role in campaign.data.roles:
        assert any(link.rstrip("/").endswith(f"careers/{role}") for link in links), role
        assert (site_build.site_dir / "careers" / role / "index.html").exists()


def _redirect_targets(html: str) -> set[str]:
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html)
    link = re.search(r'<a href="([^"]+)">', html)
    assert refresh and link, "redirect needs a meta refresh (works with and without JavaScript) and a visible link"
    # No inline script: the Content-Security-Policy allows scripts by hash only, and a hash per
    # placement would outgrow CloudFront's header limit.
    assert "<script" not in html
    return {refresh.group(1), link.group(1)}


@pytest.mark.parametrize("campaign,placement", PLACEMENTS, ids=[p.id for _, p in PLACEMENTS])
def test_redirect_goes_to_campaign_page_with_source(site_build, campaign, placement):
    # Given a live campaign, when /q/<id>/ is opened (with or without JavaScript),
    # then it goes to /campaigns/<slug>/?s=<id>, which exists.
    html = site_build.page(f"/q/{placement.id}/")
    assert _redirect_targets(html) == {f"/campaigns/{campaign.slug}/?s={placement.id}"}
    assert (site_build.site_dir / "campaigns" / campaign.slug / "index.html").exists()


def test_redirect_points_elsewhere_once_the_campaign_has_ended():
    # Given a campaign with redirect_after_end, when the build runs after its end date,
    # then its QR codes send people there instead; before the end they go to the campaign.
    campaign = next(c for c in SAMPLES if c.data.redirect_after_end)
    placement = campaign.placements[0]
    from hub.config import load_programme

    def pages(today: dt.date) -> campaign_pages.CampaignPages:
        return campaign_pages.CampaignPages(
            site_url="https://jobs.example.org/", site_name="x",
            programme=load_programme(ROOT / "programme.yml"), campaigns=SAMPLES, today=today, files={},
        )

    after = pages(campaign.data.ends + dt.timedelta(days=1))
    during = pages(campaign.data.ends)
    assert campaign_pages.redirect_target(after, campaign, placement) == campaign.data.redirect_after_end
    assert campaign_pages.redirect_target(during, campaign, placement) == f"/campaigns/{campaign.slug}/?s={placement.id}"
    assert campaign.data.redirect_after_end in campaign_pages.redirect_html(after, campaign, placement)


def test_campaign_pages_make_no_third_party_requests(site_build):
    # Then nothing on a landing page, print pack or redirect loads from another site.
    pages = [f"/campaigns/{c.slug}/" for c in SAMPLES] + [f"/campaigns/{c.slug}/print/" for c in SAMPLES]
    pages += [f"/q/{p.id}/" for _, p in PLACEMENTS]
    for path in pages:
        for tag, attrs in tags(site_build.page(path)):
            for key in ("src", "href", "action", "content"):
                value = attrs.get(key, "")
                if key == "content" and tag != "meta":
                    continue
                if re.search(r"(^|url=)(https?:)?//", value):
                    # Only the canonical link / og data may name our own address.
                    assert value.startswith(site_build.site_url) or "url=" + site_build.site_url in value, (path, tag, value)


def test_build_writes_the_campaign_catalogue_beside_the_site_for_the_functions(site_build):
    """Given the built site, then campaigns.json beside (not in) it names every campaign and
    placement by id, holds only public fields, and loads in the functions' reader."""
    import json

    from hub.catalogue import load_catalogue

    path = site_build.site_dir.parent / "campaigns.json"
    assert path == catalogue_path(site_build.site_dir)
    assert not (site_build.site_dir / "campaigns.json").exists()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"campaigns", "placements", "events", "codes"}  # codes: tests/site/test_scan_codes.py
    assert set(data["campaigns"]) == {c.slug for c in site_build.campaigns}
    for campaign in site_build.campaigns:
        assert data["campaigns"][campaign.slug] == {"title": campaign.data.title}
        for placement in campaign.placements:
            assert data["placements"][placement.id] == {
                "name": placement.name, "location": placement.location, "campaign": campaign.slug
            }
        for event in campaign.events:
            assert data["events"][event.id]["title"] == event.title
    loaded = load_catalogue(path)
    assert loaded.campaign_label("lincoln-green") == "Lincoln Green health and care jobs (lincoln-green)"
