"""``cchcc serve`` routes ``/q/`` as CloudFront's origin group does: the scans function first
(counting, 302), the static redirect in the site when the function fails or does not know the id."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from cchcc.local.state import StackState
from tests.conftest import PROJECT
from tests.integration.test_serve import Server, request, start

TARGET = "/campaigns/lincoln-green/?s=lg-library"
STATIC_PAGE = '<!doctype html><html lang=en><title>Taking you</title><meta http-equiv="refresh" content="0; url={}">'
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def _site(base):
    """A built site with one /q/ page and its build's campaigns.json beside it (where the codes are)."""
    site = base / "site"
    for name, text in {
        "index.html": "<!doctype html><html lang=en><title>Home</title><h1>Home</h1>",
        "404.html": "<!doctype html><html lang=en><title>Not found</title><h1>Scans test 404</h1>",
        "q/lg-library/index.html": STATIC_PAGE.format(TARGET),
    }.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    codes = {"lg-library": {"kind": "placement", "campaign": "lincoln-green", "target": TARGET,
                            "ends": "2099-12-31", "after_end": "/get-in-touch/"}}
    (base / "campaigns.json").write_text(
        json.dumps({"campaigns": {}, "placements": {}, "events": {}, "codes": codes}), encoding="utf-8"
    )
    return site


def _serve(tmp_path_factory, *args):
    base = tmp_path_factory.mktemp("scans-serve")
    proc, port, out, err = start(base, "--site-dir", str(_site(base)), *args)
    served = Server(proc, port, out, err)
    served.wait_until_answering()
    return served


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    served = _serve(tmp_path_factory)
    yield served
    served.proc.kill()
    served.proc.wait(10)


def _count(served: Server) -> int:
    state = StackState.read(PROJECT, served.port)
    assert state is not None
    client = boto3.client("dynamodb", endpoint_url=state.endpoint_url, region_name=state.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    items = client.query(
        TableName=state.table_name, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "SCAN#lg-library"}}, ConsistentRead=True,
    )["Items"]
    return sum(int(item["count"]["N"]) for item in items)


def test_a_scan_is_counted_and_redirected_by_the_function(served):
    before = _count(served)
    for path in ("/q/lg-library", "/q/lg-library/"):  # what the QR code encodes, and with its slash
        status, headers, _ = request(served.url(path), headers={"User-Agent": IPHONE})
        assert (status, headers["Location"], headers["Cache-Control"]) == (302, TARGET, "no-store")
    status, headers, _ = request(served.url("/q/lg-library"), headers={"User-Agent": IPHONE}, method="HEAD")
    assert (status, headers["Location"]) == (302, TARGET)
    status, _, _ = request(served.url("/q/lg-library"), headers={"User-Agent": "WhatsApp/2.23.20.0"})
    assert status == 302
    assert _count(served) == before + 2  # the two GETs; not the HEAD, not the link preview


def test_an_unknown_code_falls_over_to_the_static_404(served):
    status, _, body = request(served.url("/q/never-printed/"), headers={"User-Agent": IPHONE})
    assert status == 404 and "Scans test 404" in body.decode()


def test_when_the_function_fails_the_static_redirect_answers(tmp_path_factory):
    failing = _serve(tmp_path_factory, "--faults", "scans=1")
    try:
        status, headers, _ = request(failing.url("/q/lg-library"), headers={"User-Agent": IPHONE})
        assert (status, headers["Location"]) == (301, "/q/lg-library/")  # the site's own slash redirect
        status, headers, body = request(failing.url("/q/lg-library/"), headers={"User-Agent": IPHONE})
        assert status == 200 and f'url={TARGET}"' in body.decode()
        deadline = time.monotonic() + 5
        while "the site answers instead" not in failing.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "the site answers instead" in failing.output()
        assert _count(failing) == 0
    finally:
        failing.proc.kill()
        failing.proc.wait(10)
