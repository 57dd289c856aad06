"""The impact report on the local stack, after ``cchcc demo``, in real Chromium.

Given the session's hub, when ``cchcc demo --referrals 20`` sends synthetic residents through
its real endpoints, then the true count of people referred grows by exactly 20 (the report
before and after, ``--unsuppressed``), ``/_local/report/`` has no axe violations (no
JavaScript), its funnel table shows what ``/_local/report.json`` holds, and none of the demo's
synthetic personal details is in the HTML, CSV or JSON.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cchcc.ops.demo import POSTCODES

from .conftest import CCHCC, ROOT
from .test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e


def _report(hub, out: Path) -> dict:
    port = hub.base_url.rsplit(":", 1)[1]
    proc = subprocess.run([CCHCC, "report", "--port", port, "--unsuppressed", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "report.json").read_text())


def test_demo_then_report_counts_and_the_page_is_accessible(hub, context_for, tmp_path):
    before = _report(hub, tmp_path / "before")
    port = hub.base_url.rsplit(":", 1)[1]
    demo = subprocess.run([CCHCC, "demo", "--referrals", "20", "--port", port],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "20 referrals stored" in demo.stdout and "/_local/report/" in demo.stdout
    after = _report(hub, tmp_path / "after")
    assert after["funnel"]["referred"] - before["funnel"]["referred"] == 20
    assert after["funnel"]["contacted"] > before["funnel"]["contacted"]
    assert after["funnel"]["multi_spoke"] > before["funnel"]["multi_spoke"]  # some were referred on

    page = context_for(javascript=False).new_page()
    page.goto("/_local/report/")
    assert_accessible(page, "/_local/report/", javascript=False)
    with urllib.request.urlopen(hub.url("/_local/report.json"), timeout=30) as response:
        published = json.loads(response.read())
    rows = page.locator("#funnel-table").locator("xpath=ancestor::table//tbody/tr")
    shown = {rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())}
    assert shown["Referred"] == str(published["funnel"]["referred"])
    assert shown["Qualified"] == str(published["funnel"]["qualified"])
    assert shown["More than one spoke"] == str(published["funnel"]["multi_spoke"])
    assert all(isinstance(v, int) or v == "*" for v in published["funnel"].values())

    # a period asked for on the page's address: checked as the command checks it
    try:
        urllib.request.urlopen(hub.url("/_local/report.json?from=2026-06-01&to=2026-05-01"), timeout=30)
        raise AssertionError("a period ending before it starts was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and "is after --to" in json.loads(exc.read())["message"]

    html = page.content()
    everything = html + json.dumps(published) + (tmp_path / "after" / "report.csv").read_text() + (tmp_path / "after" / "index.html").read_text()
    # the charts' SVG, decoded, is checked as text like the rest
    charts = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", everything)
    assert charts
    everything = re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "", everything)
    everything += "".join(base64.b64decode(c).decode("utf-8") for c in charts)
    for secret in ("Test Resident", "example.com", "07700", *(p for ps in POSTCODES.values() for p in ps)):
        assert secret not in everything, secret
    assert not re.search(r"900\d{3}", re.sub(r"<svg.*?</svg>", "", everything, flags=re.S))  # drama numbers
