"""The comms team's journey in the browser editor, in real Chromium, against `cchcc serve --edit`.

On a throwaway copy of the project (never this checkout): open /admin/, create a campaign with two
placements, look at the preview (axe: no violations), save; the files appear in campaigns/,
`cchcc check` passes, and the rebuilt local site has the landing page and the QR codes. A save
with a placement id another campaign uses is refused with `cchcc check`'s message, and nothing is
written. Every request to another host fails the test (the editor is bundled: no CDN).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.site.conftest import copy_project

from .conftest import CCHCC, START_TIMEOUT, _wait_until_answering
from .support import ROOT, ThirdPartyGuard, free_port, stop_process_group
from .test_accessibility import report, run_axe

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}


class EditingHub:
    def __init__(self, root: Path, base_url: str, log_path: Path):
        self.root = root
        self.base_url = base_url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def editing(tmp_path_factory, site_dir) -> Iterator[EditingHub]:
    """A copy of the project served with the editor (`cchcc serve --edit`), starting from the
    session's build (and its QR code and poster cache), so only what a save changes is made again."""
    import shutil

    base = tmp_path_factory.mktemp("editing")
    root = base / "project"
    root.mkdir()
    copy_project(root)
    for shared in ("infra", "functions", "node_modules"):  # read, never written, by the editor
        (root / shared).symlink_to(ROOT / shared, target_is_directory=True)
    if not (site_dir / "admin" / "cms.js").is_file():
        pytest.fail("the build has no editor: run `make install` (npm ci, npm run build:admin)")
    shutil.copytree(site_dir, root / "build" / "site")
    if (ROOT / "build" / "cache").is_dir():
        shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    port = free_port()
    log_path = base / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [CCHCC, "--project", str(root), "serve", "--edit", "--port", str(port)],
        cwd=root, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url + "/admin/", proc, log_path, START_TIMEOUT)
        yield EditingHub(root, url, log_path)
    finally:
        code = stop_process_group(proc)
        log.close()
    # Ctrl-C stops decap-server with the stack.
    assert code == 0 and "stopping" in log_path.read_text()


@pytest.fixture
def admin(browser, editing) -> Iterator:
    context = browser.new_context(viewport=DESKTOP, base_url=editing.base_url, locale="en-GB")
    context.set_default_timeout(15_000)
    guard = ThirdPartyGuard(editing.base_url)
    context.route(guard.is_foreign, guard.handle)
    page = context.new_page()
    page.goto("/admin/")
    page.get_by_role("button", name="Login").click()  # the local backend: no account, it is this computer
    page.get_by_role("link", name="Campaigns").wait_for()
    yield page
    context.close()
    assert not guard.blocked, f"the editor made third-party requests (blocked): {sorted(set(guard.blocked))}"


def new_campaign(page, title: str, placements: list[tuple[str, str, str]]) -> None:
    page.goto("/admin/#/collections/campaigns/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Headline").fill("Care jobs near you")
    page.get_by_label("Summary").fill("Free local help to find a job in health and care.")
    page.get_by_label("Area").fill("Harehills")
    dates = page.locator("input[type=date]")
    dates.nth(0).fill("2027-04-01")
    dates.nth(1).fill("2027-06-30")
    for i, (placement_id, name, paper) in enumerate(placements):
        if i:
            page.get_by_role("button", name="Add placements").click()
        page.get_by_label("Placement id").nth(i).fill(placement_id)
        page.get_by_label("Name", exact=True).nth(i).fill(name)
        page.get_by_label("Format").nth(i).click()
        page.get_by_role("option", name=paper, exact=True).click()
    page.locator("[data-slate-editor]").first.click()
    page.keyboard.type("Jobs in care homes and hospitals near you, with free help to apply.")


def publish(page) -> None:
    page.get_by_role("button", name="Publish").first.click()
    page.get_by_text("Publish now").click()


def wait_for(url: str, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status
        except OSError:
            time.sleep(0.5)
    return 0


def test_a_comms_officer_creates_previews_and_saves_a_campaign_and_a_bad_id_is_refused(admin, editing):
    folder = editing.root / "campaigns" / "harehills-spring"
    # Given a new campaign whose first placement id is one Lincoln Green already prints...
    new_campaign(admin, "Harehills spring", [("lg-library", "Harehills library", "poster-a4"),
                                             ("hs-flyers", "Flyers to hand out", "flyer-a6")])

    # The preview looks like the landing page, at phone width, and passes axe.
    admin.frame_locator("#preview-pane").get_by_role("heading", level=1, name="Care jobs near you").wait_for()
    preview = next(f for f in admin.frames if f != admin.main_frame and f.locator("h1").count())
    assert "Free local help" in preview.locator(".cc-campaign__lead").inner_text()
    assert preview.locator("form input[name=consent]").count() == 1  # the real form, as the page has it
    width = preview.evaluate("document.querySelector('[data-cc-phone]').getBoundingClientRect().width")
    assert width <= 390, f"the preview is {width}px wide, not a phone's"
    results = run_axe(preview)
    assert not results["violations"], report("the campaign preview", results)

    # ...when it is saved, then it is refused with cchcc check's message, and nothing is written.
    publish(admin)
    toast = admin.get_by_text("placement ids must be unique across all campaigns", exact=False)
    toast.wait_for()
    assert "'lg-library' is already used by" in toast.inner_text()
    assert not folder.exists()
    assert "editor: save refused" in editing.log()

    # When the id is fixed and it is saved again, then the files are there as cchcc check wants them.
    field = admin.get_by_label("Placement id").nth(0)
    field.click()
    field.press("Control+A")
    field.press_sequentially("hs-library")
    started = time.monotonic()
    publish(admin)
    admin.wait_for_url("**/entries/harehills-spring/campaign", timeout=20_000)
    saved = yaml.safe_load((folder / "campaign.yml").read_text())
    assert [p["id"] for p in saved["placements"]] == ["hs-library", "hs-flyers"]
    assert str(saved["starts"]) == "2027-04-01" and saved["placements"][1]["format"] == "flyer-a6"
    assert "free help to apply" in (folder / "index.md").read_text()
    check = subprocess.run([CCHCC, "--project", str(editing.root), "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    # And the local site is rebuilt: the landing page, the QR redirects and codes, the print pack.
    assert wait_for(editing.base_url + "/campaigns/harehills-spring/") == 200, editing.log()[-2000:]
    print(f"\nsave to rebuilt landing page: {time.monotonic() - started:.1f} s")
    for path in ("/q/hs-library/", "/print/hs-library/qr.svg", "/print/hs-flyers/poster.pdf",
                 "/campaigns/harehills-spring/print/"):
        assert wait_for(editing.base_url + path, timeout=10) == 200, path
