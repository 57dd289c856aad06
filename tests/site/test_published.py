"""Printed QR codes keep working after their campaign is gone (campaigns/published.yml), and the
landing page's "who will contact you" agrees with the routing rules."""

from __future__ import annotations

import shutil

import re

import yaml

from cchcc.site import areas, published
from cchcc.site.build import PublishError, SiteContext, build
from cchcc.site.campaigns import load_all
from hub.rules import RoutingFacts, assignments_for
from tests.conftest import PROJECT, ROOT


def test_the_committed_registry_has_every_placement_and_event_the_site_prints():
    # The build keeps it; a build of this checkout would have written any id it lacked.
    entries = yaml.safe_load((ROOT / "campaigns" / "published.yml").read_text(encoding="utf-8"))["ids"]
    for campaign in load_all(PROJECT):
        for item in campaign.printed:
            assert entries[item.id]["campaign"] == campaign.slug


def test_removing_a_campaign_keeps_its_printed_codes_redirecting(project_copy, site_build):
    # Given the registry lists Lincoln Green's codes, when its folder is removed and the site built,
    registry = yaml.safe_load((project_copy.campaigns_dir / "published.yml").read_text(encoding="utf-8"))["ids"]
    lincoln = [i for i, e in registry.items() if e["campaign"] == "lincoln-green"]
    assert lincoln
    shutil.rmtree(project_copy.campaigns_dir / "lincoln-green")
    out = project_copy.root / "out"
    # (a copy of the session build's cache: the other campaigns' posters are already made)
    cache = project_copy.root / "cache"
    shutil.copytree(site_build.cache_dir, cache)
    build(project_copy, site_dir=out, cache_dir=cache, site_url=site_build.site_url)
    # then every one of its codes still opens a page: where the campaign said to go after it ended.
    for item_id in lincoln:
        page = (out / "q" / item_id / "index.html").read_text(encoding="utf-8")
        assert 'url=/get-in-touch/"' in page, item_id
    assert (out / "get-in-touch" / "index.html").exists()
    # And the registry still has them: a later build keeps them too.
    again = published.load(project_copy)
    assert set(lincoln) <= set(again.entries)


def test_a_new_placement_cannot_take_an_id_printed_for_another_campaign(project_copy):
    path = project_copy.campaigns_dir / "published.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "  lg-old-poster:\n    campaign: lincoln-green\n    kind: placement\n    after: /\n", encoding="utf-8")
    yml = project_copy.campaigns_dir / "east-leeds" / "campaign.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("id: el-market", "id: lg-old-poster"), encoding="utf-8")
    try:
        SiteContext.load(project_copy)
    except PublishError as exc:
        problems = [str(p) for p in exc.problems]
    else:
        problems = []
    assert any(re.match(r"^campaigns/east-leeds/campaign\.yml: placements\[3\]\.id \(line \d+\): 'lg-old-poster' was "
                        r"printed on posters for the campaign 'lincoln-green'", p) for p in problems), problems


def test_who_will_contact_you_comes_from_the_routing_rules(programme):
    helps = areas.who_helps(programme, ["LS9 7", "LS14 6", "LS8 5"])
    # Each sentence is checked against the rules engine itself, for every age the form accepts.
    for help_ in helps:
        for place in help_.places:
            for band, names in help_.partners:
                for age in {band.low, band.high or 100}:
                    told = [programme.spoke_name(a.spoke) for a in assignments_for(RoutingFacts.typed(f"{place}AB", age), programme)
                            if a.role == "notify"]
                    assert tuple(told) == names, (place, age)
    text = " ".join(s["text"] + " " + " ".join(s["items"]) for s in areas.sentences(helps, "en"))
    assert "If your postcode starts LS9 7 or LS8 5, CCHCC team will contact you." in text
    assert "If your postcode starts LS14 6:" in text and "Healthier Working Futures if you are 16 to 25" in text


def test_the_east_leeds_page_does_not_promise_seacroft_the_target_area_team(site_build):
    page = site_build.page("/campaigns/east-leeds/")
    seacroft = re.search(r"<p>If your postcode starts [^<]*LS14 1 or LS14 6:</p>\s*<ul>(.*?)</ul>", page, re.S)
    assert seacroft, "no sentence for Seacroft (LS14)"
    assert "CCHCC team" not in seacroft.group(1) and "Leeds City Council Employment and Skills" in seacroft.group(1)


def test_a_campaign_area_nobody_helps_or_that_the_rules_split_is_refused(project_copy):
    yml = project_copy.campaigns_dir / "east-leeds" / "campaign.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("postcodes: [LS9 6,", "postcodes: [BD1 1, LS9,"), encoding="utf-8")
    try:
        SiteContext.load(project_copy)
        problems = []
    except PublishError as exc:
        problems = [str(p) for p in exc.problems]
    assert any("postcodes[0] (line" in p and "no partner in programme.yml helps people in BD1 1" in p for p in problems), problems
    assert any("postcodes[1] (line" in p and "treat parts of LS9 differently" in p for p in problems), problems
