"""Events from campaign.yml: the list, each event's page, its calendar file, its QR poster, sign-up.

The calendar file is read back with the ``icalendar`` library; times are checked against the
campaign file read with PyYAML and Europe/London from ``zoneinfo``.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
import yaml
import zxingcpp
from PIL import Image

from cchcc.site import campaign_pages
from cchcc.site.campaigns import check_all, out_of_date
from tests.conftest import PROJECT, ROOT

EL = "campaigns/east-leeds/campaign.yml"
RAW = yaml.safe_load((ROOT / EL).read_text(encoding="utf-8"))
EVENTS = {e["id"]: e for e in RAW["events"]}
REGISTER = next(e for e in RAW["events"] if e["booking"] == "register")
DROP_IN = next(e for e in RAW["events"] if e["booking"] == "none")
LONDON = ZoneInfo("Europe/London")


def london(value) -> dt.datetime:
    value = value if isinstance(value, dt.datetime) else dt.datetime.strptime(value, "%Y-%m-%d %H:%M")
    return value.replace(tzinfo=LONDON)


def test_the_events_page_lists_upcoming_events_soonest_first(site_build):
    page = site_build.page("/events/")
    found = re.findall(r'<h2><a href="([^"]+)">', page)
    expected = sorted(EVENTS, key=lambda i: london(EVENTS[i]["starts"]))
    assert [href.strip("./").split("/")[-1] for href in found] == expected


def test_a_past_event_leaves_the_list_at_the_next_build_but_keeps_its_page(site_build):
    campaigns = site_build.campaigns
    last_day = max(london(e["ends"]).date() for e in RAW["events"])

    def ids(today):
        pages = campaign_pages.CampaignPages("https://x.org/", "x", None, campaigns, today, {})
        return [e.id for _, e in campaign_pages.upcoming(pages)]

    first = min(EVENTS, key=lambda i: london(EVENTS[i]["ends"]))
    the_day_after = london(EVENTS[first]["ends"]).date() + dt.timedelta(days=1)
    assert first in ids(the_day_after - dt.timedelta(days=1)) and first not in ids(the_day_after)
    assert ids(last_day + dt.timedelta(days=1)) == []


def test_an_event_page_says_when_where_access_and_what_to_bring_and_links_a_map_not_an_embed(site_build):
    page = site_build.page(f"/events/{REGISTER['id']}/")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    start = london(REGISTER["starts"])
    assert f"{start:%A} {start.day} {start:%B %Y}, 10am to 2pm" in text
    for key in ("venue", "postcode", "access", "bring"):
        assert " ".join(str(REGISTER[key]).split()) in " ".join(text.split()).replace("&#39;", "'")
    assert re.search(r'href="https://www\.openstreetmap\.org/search\?query=[^"]*LS8%205AB"', page)
    assert "<iframe" not in page and "openstreetmap.org/export/embed" not in page
    assert 'href="event.ics"' in page


def test_an_event_with_registration_carries_the_form_with_its_id_and_a_drop_in_does_not(site_build):
    page = site_build.page(f"/events/{REGISTER['id']}/")
    assert f'name="event" value="{REGISTER["id"]}"' in page and 'name="campaign" value="east-leeds"' in page
    assert "data-referral-form" in page
    assert "data-referral-form" not in site_build.page(f"/events/{DROP_IN['id']}/")


@pytest.mark.parametrize("event_id", sorted(EVENTS))
def test_the_calendar_file_is_rfc_5545_in_leeds_time(site_build, event_id):
    from icalendar import Calendar

    raw = (site_build.site_dir / "events" / event_id / "event.ics").read_bytes()
    assert b"\r\n" in raw and all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded lines, CRLF
    calendar = Calendar.from_ical(raw)
    assert str(calendar["VERSION"]) == "2.0" and calendar.get("PRODID")
    (event,) = calendar.walk("VEVENT")
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/London"
    expected = EVENTS[event_id]
    assert event.decoded("DTSTART") == london(expected["starts"]) and event.decoded("DTSTART").utcoffset() is not None
    assert event.decoded("DTEND") == london(expected["ends"])
    assert str(event["SUMMARY"]) == expected["title"]
    assert expected["postcode"] in str(event["LOCATION"]) and expected["venue"] in str(event["LOCATION"])
    assert str(event["UID"]) == f"{event_id}@jobs.example.org"
    assert str(event["URL"]) == f"{site_build.site_url}events/{event_id}/"


@pytest.mark.parametrize("event_id", sorted(EVENTS))
def test_each_event_has_its_own_qr_poster_redirect_and_a_place_in_the_print_pack(site_build, event_id, tmp_path):
    redirect = site_build.page(f"/q/{event_id}/")
    assert f'url=/events/{event_id}/?s={event_id}"' in redirect
    pdf = site_build.site_dir / "print" / event_id / "poster.pdf"
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(tmp_path / "p")], check=True)
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "p.png"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [c.text for c in codes] == [f"{site_build.site_url}q/{event_id}"]
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert EVENTS[event_id]["title"] in text and "No smartphone? Call 0113 496 0000" in text
    assert f'id="{event_id}"' in site_build.page("/campaigns/east-leeds/print/")


# --- what cchcc check refuses ------------------------------------------------------------------


def _edit(project, old: str, new: str) -> None:
    path = project.root / EL
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("ends: 2027-03-06 14:00", "ends: 2027-03-06 09:00",
         rf"^{EL}: events\[0\]\.ends \(line \d+\): the event ends \(2027-03-06 09:00\) before it starts"),
        ("id: el-jobs-fair-mar", "id: el-pharmacy",
         rf"^{EL}: events\[0\]\.id \(line \d+\): 'el-pharmacy' is used twice"),
        ("languages: [ur, pl, ro]", "languages: [ur, xx]", rf"^{EL}: languages\[1\] \(line \d+\): unknown language 'xx'; the site has pl, ro, ur"),
        ("postcode: LS8 5AB", "postcode: Harehills", rf"^{EL}: events\[0\]\.postcode \(line \d+\): .*not a full UK postcode"),
        ("booking: register", "booking: maybe", rf"^{EL}: events\[0\]\.booking \(line \d+\)"),
        ("starts: 2027-03-06 10:00", "starts: 2027-03-06 10:00+01:00", rf"^{EL}: events\[0\]\.starts \(line \d+\): .*Leeds time"),
    ],
)
def test_a_wrong_event_or_language_is_refused_naming_file_and_field(project_copy, old, new, expected):
    _edit(project_copy, old, new)
    problems = [str(p) for p in check_all(project_copy)]
    assert any(re.search(expected, p) for p in problems), problems


def test_a_past_event_still_taking_registrations_fails_check_but_only_warns_a_build(project_copy):
    from cchcc.site.build import PublishError, SiteContext

    the_day_after = london(REGISTER["ends"]).date() + dt.timedelta(days=1)
    with pytest.raises(PublishError) as caught:
        SiteContext.load(project_copy, today=the_day_after, strict=True)
    assert any(
        re.match(rf"^{EL}: events\[0\]\.booking \(line \d+\): the event '{REGISTER['id']}' ended on", str(p))
        for p in caught.value.problems
    ), caught.value.problems
    context = SiteContext.load(project_copy, today=the_day_after)
    assert [p.field for p in context.warnings] == ["events[0].booking"]
    assert out_of_date(PROJECT, context.campaigns, london(REGISTER["starts"]).date()) == []
