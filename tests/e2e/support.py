"""Helpers shared by the end-to-end tests: campaign placements and form steps."""

from __future__ import annotations

import datetime
import os
import re
import signal
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
API = "/api/referrals"
CHROMIUM = os.environ.get("CCHCC_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium_problem(path: str = CHROMIUM, ci: str | None = None) -> tuple[str, str] | None:
    """What to do when the browser is missing: ``None`` if present, else ("fail"|"skip", reason).

    On CI (``CI=true``) a missing browser fails the run: a green build must never mean
    "the browser tests were skipped". ``make test`` installs Chromium with apt when run as root.
    """
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return None
    ci = os.environ.get("CI", "") if ci is None else ci
    reason = (
        f"Chromium not found at {path}: install Debian's package "
        "(`sudo apt-get install chromium`, or run `make test` as root); never a downloaded browser"
    )
    return ("fail" if ci.lower() == "true" else "skip", reason)


def stop_process_group(proc: subprocess.Popen, timeout: float = 15) -> int | None:
    """Ctrl-C (SIGINT) the process group, as a person would; kill it if it does not stop."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
    return proc.returncode


@dataclass(frozen=True)
class Placement:
    id: str
    name: str
    campaign_slug: str
    campaign_title: str
    ended: bool = False
    redirect_after_end: str = ""


def load_placements() -> list[Placement]:
    placements = []
    for path in sorted((ROOT / "campaigns").glob("*/campaign.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        ends = data.get("ends")
        ended = isinstance(ends, datetime.date) and ends < datetime.date.today()
        for item in data.get("placements") or []:
            placements.append(
                Placement(
                    str(item["id"]),
                    str(item.get("name", "")),
                    path.parent.name,
                    str(data.get("title", "")),
                    ended,
                    str(data.get("redirect_after_end") or ""),
                )
            )
    return placements


PLACEMENTS = load_placements()


def first_placement() -> Placement:
    live = [p for p in PLACEMENTS if not p.ended]
    if not live:
        pytest.fail("no placements of a running campaign in campaigns/*/campaign.yml (the publishing work ships samples)")
    return live[0]


def unique_name(label: str) -> str:
    """A name no other test uses, so outbox messages can be told apart."""
    return f"Test {label} {uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- page helpers


def scan(page, placement: Placement) -> None:
    """What scanning the QR code does: open /q/<id>/ and follow it to the campaign page."""
    page.goto(f"/q/{placement.id}/")
    page.wait_for_url(re.compile(rf"/campaigns/{re.escape(placement.campaign_slug)}/\?s={re.escape(placement.id)}$"))
    page.wait_for_selector("form[data-referral-form], form#referral-form")


def fill(page, *, name="", email="", phone="", postcode="", age="", consent=True, interests=("caring",)) -> None:
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#phone", phone)
    page.fill("#postcode", postcode)
    page.fill("#age", age)
    for value in interests:
        page.check(f"#interests-{value}")
    if consent:
        page.check("#consent")
    else:
        page.uncheck("#consent")


def submit(page, mode: str):
    """Submit with the button; return the intake response the browser got."""
    with page.expect_response(lambda r: urlsplit(r.url).path == API and r.request.method == "POST") as info:
        page.click("button[type=submit]")
    return info.value


def reference_from(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == "/thanks/", f"expected the thanks page, got {url}"
    refs = parse_qs(parts.query).get("ref") or [""]
    assert refs[0], f"thanks page URL has no ?ref=: {url}"
    return refs[0]


def check_thanks_page(page, mode: str) -> str:
    page.wait_for_url(re.compile(r"/thanks/\?ref="))
    ref = reference_from(page.url)
    page.wait_for_load_state()
    assert page.title() and not page.title().startswith("Error"), page.title()
    # With JavaScript cchcc.js shows it; without, the intake function filled it in (GET /thanks/).
    text = page.inner_text("main")
    assert ref in text, f"the thanks page ({mode}) does not show the reference {ref}"
    assert page.is_visible("[data-cc-reference-value]"), f"the reference box ({mode}) is not visible"
    assert "cannot show your reference" not in text, f"the thanks page ({mode}) says it cannot show the reference"
    assert "ref=" not in text, f"the thanks page ({mode}) still points at the address bar"
    return ref


def active_id(page) -> str:
    return page.evaluate("document.activeElement ? (document.activeElement.id || '') : ''")


def active_is_error_summary(page) -> bool:
    return page.evaluate(
        "(() => { const a = document.activeElement; return !!a && !!a.closest('[data-error-summary], .cc-error-summary'); })()"
    )


def messages_for(hub, name: str, **kw) -> list[dict]:
    return hub.wait_for_messages(lambda m: name in (m.get("text") or ""), **kw)


class ThirdPartyGuard:
    """Aborts, and records, every request to a host other than the local server."""

    def __init__(self, base_url: str) -> None:
        local = urlsplit(base_url)
        self.origin = (local.scheme, local.hostname, local.port)
        self.blocked: list[str] = []

    def is_foreign(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return False
        return (parts.scheme, parts.hostname, parts.port) != self.origin

    def handle(self, route) -> None:
        self.blocked.append(route.request.url)
        route.abort("blockedbyclient")
