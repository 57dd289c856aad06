"""The campaign catalogue: made from campaign files by `cchcc build`, read by the functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cchcc.site.campaigns import Campaign, CampaignFile, catalogue
from hub.catalogue import EMPTY, Catalogue, load_catalogue
from hub.config import ConfigError
from hub.notifications import build_notification
from tests.unit.fakes import stored
from tests.unit.test_notifications import LCC, PROGRAMME, REFERRAL


def campaign(slug: str, title: str, placements: list[dict]) -> Campaign:
    data = CampaignFile.model_validate(
        {
            "title": title,
            "headline": "Work in health and care",
            "summary": "Free local help.",
            "area": "Lincoln Green",
            "starts": "2026-11-02",
            "ends": "2027-03-31",
            "placements": placements,
        }
    )
    return Campaign(slug=slug, folder=Path("campaigns") / slug, data=data, body="Words.")


CAMPAIGNS = [
    campaign(
        "lincoln-green",
        "Lincoln Green health and care jobs",
        [
            {"id": "lg-library", "name": "Local library", "format": "poster-a4", "location": "Notice board by the door",
             "copies": 3, "viewing_distance_m": 1},
            {"id": "lg-flyers", "name": "Flyers to hand out", "format": "flyer-a6"},
        ],
    ),
    campaign("east-leeds", "East Leeds jobs", [{"id": "el-market", "name": "Saturday market", "format": "flyer-a5"}]),
]


def test_given_campaigns_when_catalogued_then_only_public_names_by_id():
    result = catalogue(CAMPAIGNS).model_dump(mode="json")

    assert result == {
        "campaigns": {
            "lincoln-green": {"title": "Lincoln Green health and care jobs"},
            "east-leeds": {"title": "East Leeds jobs"},
        },
        "placements": {
            "lg-library": {"name": "Local library", "location": "Notice board by the door", "campaign": "lincoln-green"},
            "lg-flyers": {"name": "Flyers to hand out", "location": None, "campaign": "lincoln-green"},
            "el-market": {"name": "Saturday market", "location": None, "campaign": "east-leeds"},
        },
        "events": {},
        "codes": {},  # where each /q/ page points: the build adds them (tests/site/test_scan_codes.py)
    }


def test_given_written_catalogue_when_loaded_then_labels_name_with_id_in_brackets(tmp_path):
    path = catalogue(CAMPAIGNS).write(tmp_path / "build" / "campaigns.json")

    loaded = load_catalogue(path)

    assert loaded.campaign_label("lincoln-green") == "Lincoln Green health and care jobs (lincoln-green)"
    assert loaded.placement_label("lg-library") == "Local library (lg-library), Notice board by the door"
    assert loaded.placement_label("lg-flyers") == "Flyers to hand out (lg-flyers)"  # no location
    assert loaded.campaign_label("harehills-spring") == "harehills-spring"  # unknown: as it is
    assert loaded.placement_label("somewhere") == "somewhere"
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "not valid JSON"),
        ("[]", "(top level)"),
        ('{"campaigns": {}}', "placements"),
        ('{"campaigns": {"lg": {}}, "placements": {}}', "campaigns.lg.title"),
        ('{"campaigns": {"lg": {"title": 5}}, "placements": {}}', "campaigns.lg.title"),
        ('{"campaigns": {}, "placements": {"p1": {"name": "Library"}}}', "placements.p1.campaign"),
        ('{"campaigns": {}, "placements": {"p1": {"name": "L", "campaign": "c", "location": 3}}}', "placements.p1.location"),
        ('{"campaigns": {}, "placements": {"p1": "Library"}}', "placements.p1"),
    ],
)
def test_given_malformed_file_when_loaded_then_error_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "campaigns.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_catalogue(path)

    assert str(path) in str(caught.value) and field in str(caught.value)


def test_given_no_file_where_the_settings_point_when_loaded_then_empty(tmp_path):
    assert load_catalogue(tmp_path / "campaigns.json") == EMPTY
    assert load_catalogue(None) == EMPTY


def test_given_a_named_file_is_missing_when_required_then_error_names_it(tmp_path):
    with pytest.raises(ConfigError, match="nope.json: .*file not found"):
        load_catalogue(tmp_path / "nope.json", required=True)


def test_given_catalogue_when_notification_built_then_text_and_html_name_campaign_and_placement():
    referral, [lcc] = stored(programme=PROGRAMME, campaign="lincoln-green", source="lg-library")

    message = build_notification(referral, lcc, [lcc], PROGRAMME, catalogue(CAMPAIGNS))

    assert "Campaign: Lincoln Green health and care jobs (lincoln-green)\n" in message.text
    assert "Placement: Local library (lg-library), Notice board by the door\n" in message.text
    assert "<td>Lincoln Green health and care jobs (lincoln-green)</td>" in message.html
    assert "<td>Local library (lg-library), Notice board by the door</td>" in message.html
    assert message.payload["campaign"] == "lincoln-green" and message.payload["source"] == "lg-library"


def test_given_ids_the_catalogue_does_not_know_when_built_then_ids_shown_as_they_are():
    message = build_notification(REFERRAL, LCC, [LCC], PROGRAMME, catalogue(CAMPAIGNS))

    assert "Campaign: harehills-spring\n" in message.text and "Placement: harehills-library\n" in message.text
    assert "<td>harehills-spring</td>" in message.html and "<td>harehills-library</td>" in message.html


def test_given_names_with_markup_when_built_then_html_escapes_them():
    odd = Catalogue(campaigns={"c1": {"title": "Jobs <b>&</b> care"}}, placements={})
    referral, [lcc] = stored(programme=PROGRAMME, campaign="c1")

    message = build_notification(referral, lcc, [lcc], PROGRAMME, odd)

    assert "Jobs &lt;b&gt;&amp;&lt;/b&gt; care (c1)" in message.html
    assert "Campaign: Jobs <b>&</b> care (c1)" in message.text


def test_written_catalogue_is_stable_json(tmp_path):
    first = catalogue(CAMPAIGNS).write(tmp_path / "a.json").read_text(encoding="utf-8")
    second = catalogue(list(CAMPAIGNS)).write(tmp_path / "b.json").read_text(encoding="utf-8")
    assert first == second and json.loads(first) == catalogue(CAMPAIGNS).model_dump(mode="json")
