"""Scan counting (:mod:`hub.scans`): who counts, which day, where to, and never losing the resident."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from hub.scans import Code, CodesFileError, Scans, code_id, expires_at, is_robot, load_codes, london_day
from hub.storage import StoreUnavailableError

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"


@pytest.mark.parametrize(
    ("agent", "robot"),
    [
        (IPHONE, False),
        (ANDROID, False),
        ("Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36 [FBAN/EMA;FBLC/en_GB]", False),
        ("Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 LinkedInApp", False),  # the app, a person
        ("Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 Instagram 312.0", False),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", True),
        ("WhatsApp/2.23.20.0", True),
        ("TelegramBot (like TwitterBot)", True),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", True),
        ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", True),
        ("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", True),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0 Safari/537.36", True),
        ("curl/8.5.0", True),
        ("python-requests/2.32.3", True),
        ("", True),
        ("   ", True),
        (None, True),
    ],
)
def test_robots_and_link_previews_are_told_from_people(agent, robot):
    assert is_robot(agent) is robot


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC), date(2027, 1, 15)),  # GMT: London = UTC
        (datetime(2027, 1, 16, 0, 0, 0, tzinfo=UTC), date(2027, 1, 16)),
        (datetime(2027, 6, 15, 22, 59, 59, tzinfo=UTC), date(2027, 6, 15)),  # BST: 23:59:59 in Leeds
        (datetime(2027, 6, 15, 23, 0, 0, tzinfo=UTC), date(2027, 6, 16)),  # BST: already tomorrow in Leeds
        (datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC), date(2027, 3, 28)),  # the night the clocks go forward
        (datetime(2027, 10, 30, 23, 30, tzinfo=UTC), date(2027, 10, 31)),  # the night they go back (00:30 BST)
    ],
)
def test_the_day_is_the_day_in_leeds(moment, day):
    assert london_day(moment) == day


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/q/lg-library", "lg-library"),
        ("/q/lg-library/", "lg-library"),
        ("/q/lg-library/index.html", "lg-library"),  # as CloudFront's directory index function passes it on
        ("/q/", None),
        ("/q/LG-Library", None),
        ("/q/lg-library/extra", None),
        ("/q/../etc/passwd", None),
        ("/q/" + "a" * 65, None),
        ("/campaigns/x/", None),
    ],
)
def test_the_code_is_read_from_the_path(path, found):
    assert code_id(path) == found


CODE = Code("placement", "lincoln-green", "/campaigns/lincoln-green/?s=lg-library", date(2027, 3, 31), "/get-in-touch/")


@pytest.mark.parametrize(
    ("day", "target"),
    [
        (date(2027, 3, 30), "/campaigns/lincoln-green/?s=lg-library"),
        (date(2027, 3, 31), "/campaigns/lincoln-green/?s=lg-library"),  # the last day is still the campaign's
        (date(2027, 4, 1), "/get-in-touch/"),
    ],
)
def test_after_the_campaign_ends_the_code_points_to_redirect_after_end(day, target):
    assert CODE.target_on(day) == target
    assert Code("placement", "x", "/campaigns/x/?s=p", None, None).target_on(day) == "/campaigns/x/?s=p"


class Counter:
    def __init__(self, fail: Exception | None = None):
        self.calls: list[dict] = []
        self.fail = fail

    def count_scan(self, **kwargs):
        if self.fail:
            raise self.fail
        self.calls.append(kwargs)


CODES = {"lg-library": CODE, "el-jobs-fair-mar": Code("event", "east-leeds", "/events/el-jobs-fair-mar/?s=el-jobs-fair-mar")}
SUMMER_NIGHT = datetime(2027, 3, 30, 23, 30, tzinfo=UTC)  # 00:30 on 31 March in Leeds (BST)


@pytest.mark.parametrize(
    ("path", "method", "agent", "status", "location", "counted"),
    [
        ("/q/lg-library", "GET", IPHONE, 302, "/campaigns/lincoln-green/?s=lg-library", True),
        ("/q/lg-library/", "GET", ANDROID, 302, "/campaigns/lincoln-green/?s=lg-library", True),
        ("/q/el-jobs-fair-mar", "GET", IPHONE, 302, "/events/el-jobs-fair-mar/?s=el-jobs-fair-mar", True),
        ("/q/lg-library", "HEAD", IPHONE, 302, "/campaigns/lincoln-green/?s=lg-library", False),
        ("/q/lg-library", "GET", "WhatsApp/2.23.20.0", 302, "/campaigns/lincoln-green/?s=lg-library", False),
        ("/q/no-such-code", "GET", IPHONE, 404, None, False),
        ("/q/Bad_Id", "GET", IPHONE, 404, None, False),
    ],
)
def test_a_scan_is_answered_and_counted_only_when_a_person_made_it(path, method, agent, status, location, counted):
    counter = Counter()
    answer = Scans(CODES, counter, retention_days=730).scan(path, method, agent, now=SUMMER_NIGHT)
    assert (answer.status, answer.location, answer.counted) == (status, location, counted)
    assert len(counter.calls) == int(counted)
    if counted:
        item_id = code_id(path)
        assert counter.calls[0] == {
            "code": item_id, "kind": CODES[item_id].kind, "campaign": CODES[item_id].campaign,
            "day": date(2027, 3, 31), "expires_at": expires_at(date(2027, 3, 31), 730),
        }


def test_when_the_store_fails_the_resident_is_still_sent_on_and_nothing_personal_is_logged(caplog):
    cause = StoreUnavailableError("update_item failed (ProvisionedThroughputExceededException)")
    answer = Scans(CODES, Counter(fail=cause), retention_days=730).scan("/q/lg-library", "GET", IPHONE, now=SUMMER_NIGHT)
    assert (answer.status, answer.location, answer.counted) == (302, "/campaigns/lincoln-green/?s=lg-library", False)
    record = next(r for r in caplog.records if r.getMessage() == "scan not counted")
    assert record.levelname == "WARNING" and record.code == "lg-library"
    assert "iPhone" not in caplog.text


def test_a_counter_expires_retention_days_after_its_day_at_midnight_in_leeds():
    assert expires_at(date(2027, 6, 15), 1) == int(datetime(2027, 6, 16, 23, 0, tzinfo=UTC).timestamp())


def test_codes_are_read_from_the_catalogue_without_pydantic(tmp_path):
    path = tmp_path / "campaigns.json"
    assert load_codes(path) == {}  # no build: every id 404s, CloudFront shows the static page
    path.write_text(json.dumps({"codes": {"lg-library": {
        "kind": "placement", "campaign": "lincoln-green", "target": "/campaigns/lincoln-green/?s=lg-library",
        "ends": "2027-03-31", "after_end": "/get-in-touch/"}}}), encoding="utf-8")
    assert load_codes(path) == {"lg-library": CODE}
    path.write_text(json.dumps({"codes": {"lg-library": {"kind": "placement"}}}), encoding="utf-8")
    with pytest.raises(CodesFileError, match="codes.lg-library"):
        load_codes(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CodesFileError, match="JSON"):
        load_codes(path)
