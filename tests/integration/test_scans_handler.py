"""The scans handler against moto: ``GET /q/<id>`` counts once per person's scan and always redirects."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from hub.scans import expires_at, london_day
from tests.conftest import PROJECT, ROOT
from tests.integration.conftest import TABLE, fresh_import, load_event

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(scope="module")
def scan_catalogue(tmp_path_factory):
    """campaigns.json with the codes `cchcc build` writes (where each /q/<id>/ points today)."""
    from cchcc.site import campaign_pages
    from cchcc.site.campaigns import catalogue, load_all
    from hub.config import load_programme

    campaigns = load_all(PROJECT)
    pages = campaign_pages.CampaignPages(
        site_url="https://jobs.example.org/", site_name="x", programme=load_programme(ROOT / "programme.yml"),
        campaigns=campaigns, today=dt.date.today(), files={},
    )
    path = tmp_path_factory.mktemp("scans") / "campaigns.json"
    return catalogue(campaigns, codes=campaign_pages.codes(pages)).write(path)


@pytest.fixture
def scans_app(aws, monkeypatch, scan_catalogue):
    monkeypatch.setenv("CCHCC_CAMPAIGNS_FILE", str(scan_catalogue))
    return fresh_import("scans.app")


def scan(path: str = "/q/lg-library", method: str = "GET", agent: str | None = None) -> dict:
    event = copy.deepcopy(load_event("scan_get.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} /q/{{proxy+}}"
    if agent is not None:
        event["headers"]["user-agent"] = event["requestContext"]["http"]["userAgent"] = agent
    return event


def counters(client) -> list[dict]:
    items = client.scan(TableName=TABLE)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("SCAN#")]


def test_a_scan_redirects_to_the_campaign_and_adds_one_to_the_days_counter(scans_app, aws, lambda_context):
    # The event as CloudFront's directory index function leaves it: /q/<id>/index.html.
    answer = scans_app.lambda_handler(load_event("scan_get.json"), lambda_context)
    assert answer["statusCode"] == 302
    assert answer["headers"]["Location"] == "/campaigns/lincoln-green/?s=lg-library"
    assert answer["headers"]["Cache-Control"] == "no-store"
    day = london_day(dt.datetime.now(dt.UTC))
    [item] = counters(aws)
    assert item == {
        "pk": {"S": "SCAN#lg-library"}, "sk": {"S": f"DAY#{day}"}, "type": {"S": "scan"},
        "kind": {"S": "placement"}, "placement": {"S": "lg-library"}, "campaign": {"S": "lincoln-green"},
        "day": {"S": str(day)}, "count": {"N": "1"},
        "expires_at": {"N": str(expires_at(day, scans_app.programme.retention_days))},
        "gsi3pk": {"S": f"MONTH#{day:%Y-%m}"}, "gsi3sk": {"S": f"{day}#SCAN#lg-library"},
    }  # nothing about the visitor: no address, no user agent


def test_twenty_scans_at_once_count_twenty(scans_app, aws, lambda_context, monkeypatch):
    # DynamoDB applies each UpdateItem to an item atomically; moto does not (it reads, changes and
    # writes back unlocked), so its update is serialised here as DynamoDB's is. A read-modify-write
    # in our code (GetItem, then a write) would still lose counts, and is refused outright below.
    from moto.dynamodb.models import DynamoDBBackend

    lock, update = threading.Lock(), DynamoDBBackend.update_item

    def atomic_update(self, *args, **kwargs):
        with lock:
            return update(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", atomic_update)
    operations = []
    scans_app.store.client.meta.events.register("before-call.dynamodb", lambda model, **_: operations.append(model.name))
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: scans_app.lambda_handler(scan(), lambda_context), range(20)))
    assert {a["statusCode"] for a in answers} == {302}
    [item] = counters(aws)
    assert item["count"] == {"N": "20"}
    assert operations == ["UpdateItem"] * 20  # one atomic write per scan, nothing read first


def test_an_events_poster_is_counted_as_an_event(scans_app, aws, lambda_context):
    answer = scans_app.lambda_handler(scan("/q/el-jobs-fair-mar"), lambda_context)
    assert answer["headers"]["Location"] == "/events/el-jobs-fair-mar/?s=el-jobs-fair-mar"
    [item] = counters(aws)
    assert (item["kind"], item["campaign"]) == ({"S": "event"}, {"S": "east-leeds"})


@pytest.mark.parametrize(("method", "agent"), [("HEAD", None), ("GET", BOT), ("GET", "")])
def test_head_requests_and_robots_are_redirected_but_not_counted(scans_app, aws, lambda_context, method, agent):
    answer = scans_app.lambda_handler(scan(method=method, agent=agent), lambda_context)
    assert (answer["statusCode"], answer["headers"]["Location"]) == (302, "/campaigns/lincoln-green/?s=lg-library")
    assert counters(aws) == []


def test_an_unknown_code_is_404_so_cloudfront_shows_the_static_site(scans_app, aws, lambda_context):
    answer = scans_app.lambda_handler(scan("/q/never-printed"), lambda_context)
    assert answer["statusCode"] == 404 and "Location" not in answer["headers"]
    assert counters(aws) == []


def test_when_the_table_is_gone_the_resident_is_still_redirected(scans_app, aws, lambda_context, capsys, caplog):
    caplog.set_level("DEBUG")
    aws.delete_table(TableName=TABLE)
    answer = scans_app.lambda_handler(scan(), lambda_context)
    assert (answer["statusCode"], answer["headers"]["Location"]) == (302, "/campaigns/lincoln-green/?s=lg-library")
    logged = caplog.text + "".join(capsys.readouterr())
    assert "scan not counted" in logged
    assert "iPhone" not in logged and "203.0.113.10" not in logged
