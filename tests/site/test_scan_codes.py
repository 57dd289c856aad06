"""The scans function and the static ``/q/<id>/`` pages never disagree: both come from one build.

The function answers from ``codes`` in the build's ``campaigns.json`` (:mod:`hub.scans`); the
bucket holds the redirect pages. Read independently (the HTML's refresh target against the
function's answer), for every code the build made, and on days either side of a campaign's end.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cchcc.site import campaign_pages
from cchcc.site.build import catalogue_path
from cchcc.site.campaigns import catalogue, load_all
from cchcc.site.published import load as load_published
from hub.scans import Scans, load_codes
from tests.conftest import PROJECT, ROOT

REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')


class Counter:
    def __init__(self):
        self.calls = []

    def count_scan(self, **kwargs):
        self.calls.append(kwargs)


def _static_target(html: str) -> str:
    found = REFRESH.search(html)
    assert found, "no refresh in the redirect page"
    return found.group(1).replace("&amp;", "&")


def test_the_function_sends_every_code_where_its_static_page_does(site_build):
    # Given the build's redirect pages and its catalogue, when the function answers each code on the
    # build's day, then it points where the page does; and it knows every code the build made.
    codes = load_codes(catalogue_path(site_build.site_dir))
    pages = {p.parent.name: p for p in (site_build.site_dir / "q").glob("*/index.html")}
    assert pages and set(codes) == set(pages)
    scans = Scans(codes, Counter(), retention_days=365)
    kinds = set()
    for item_id, page in sorted(pages.items()):
        answer = scans.scan(f"/q/{item_id}", "GET", "Mozilla/5.0 (iPhone)", now=dt.datetime.now(dt.UTC))
        assert (answer.status, answer.location) == (302, _static_target(page.read_text(encoding="utf-8"))), item_id
        kinds.add(codes[item_id].kind)
    assert kinds == {"placement", "event"}  # placements and events' posters both checked


@pytest.mark.parametrize("days_after_end", [-1, 0, 1, 30])
def test_before_and_after_a_campaign_ends_the_function_agrees_with_a_build_on_that_day(days_after_end, tmp_path):
    # Given a build made on a day around the campaign's end, then the code the function holds
    # (made by any build) points on that day where that day's static page does.
    from hub.config import load_programme

    campaigns = load_all(PROJECT)
    campaign = next(c for c in campaigns if c.data.redirect_after_end)
    day = campaign.data.ends + dt.timedelta(days=days_after_end)

    def pages(today: dt.date) -> campaign_pages.CampaignPages:
        return campaign_pages.CampaignPages(
            site_url="https://jobs.example.org/", site_name="x", programme=load_programme(ROOT / "programme.yml"),
            campaigns=campaigns, today=today, files={}, retired=load_published(PROJECT).retired(campaigns),
        )

    # The codes an earlier build wrote, read back as the function reads them.
    written = catalogue(campaigns, codes=campaign_pages.codes(pages(campaign.data.ends - dt.timedelta(days=100))))
    held = load_codes(written.write(tmp_path / "campaigns.json"))
    that_day = pages(day)
    for item in campaign.printed:
        assert held[item.id].target_on(day) == campaign_pages.redirect_target(that_day, campaign, item), item.id
    expected_after = days_after_end > 0
    placement = campaign.placements[0]
    assert (held[placement.id].target_on(day) == campaign.data.redirect_after_end) is expected_after
