"""End-to-end fixtures: one site build, one local hub, one real Chromium per test session.

The site is built once into a temporary folder with ``cchcc build``; ``cchcc serve`` runs the
whole hub (site + API + embedded AWS) on a free loopback port pointing at that build; Debian's
Chromium (``/usr/bin/chromium``, never a downloaded browser) drives it at phone size, with
JavaScript on and off. Any request to a host other than the local server fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .support import CHROMIUM, ROOT, ThirdPartyGuard, chromium_problem, free_port, stop_process_group

BIN = Path(sys.executable).parent
CCHCC = str(BIN / "cchcc")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
START_TIMEOUT = 90  # seconds for `cchcc serve` to answer (moto start-up included)


# --------------------------------------------------------------------------- helpers


def _wait_until_answering(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"`cchcc serve` exited with {proc.returncode} before answering:\n{log_path.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.25)
    raise RuntimeError(f"`cchcc serve` did not answer {url} within {timeout}s ({last_error}):\n{log_path.read_text()[-4000:]}")


# --------------------------------------------------------------------------- build and serve


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per session into a temporary folder (never the working tree's build/)."""
    out = tmp_path_factory.mktemp("site")
    cmd = [CCHCC, "build", "--site-dir", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert (out / "index.html").is_file(), f"`cchcc build` wrote no index.html into {out}"
    return out


@dataclass
class Hub:
    """The running local hub: base URL and helpers for its local-only endpoints."""

    base_url: str
    site_dir: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def url(self, path: str) -> str:
        return self.base_url + path

    def outbox(self) -> list[dict]:
        with urllib.request.urlopen(self.url("/_local/outbox"), timeout=5) as resp:
            return json.loads(resp.read())

    def wait_for_messages(self, predicate, *, count: int = 1, timeout: float = 20, settle: float = 0.0) -> list[dict]:
        """Poll the outbox until at least ``count`` messages match; then wait ``settle`` seconds
        more and return every match (so a test can prove nothing extra arrived)."""
        deadline = time.monotonic() + timeout
        matches: list[dict] = []
        while time.monotonic() < deadline:
            matches = [m for m in self.outbox() if predicate(m)]
            if len(matches) >= count:
                break
            time.sleep(0.2)
        if settle and len(matches) >= count:
            time.sleep(settle)
            matches = [m for m in self.outbox() if predicate(m)]
        return matches

    def post_json(self, path: str, body: dict) -> tuple[int, dict]:
        req = urllib.request.Request(
            self.url(path), data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def hub(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """``cchcc serve`` on a free port, serving ``site_dir`` and the API on one origin."""
    port = free_port()
    cmd = [CCHCC, "serve", "--port", str(port), "--site-dir", str(site_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(base_url + "/_local/outbox", proc, log_path, START_TIMEOUT)
        _wait_until_answering(base_url + "/", proc, log_path, 10)
        served = Hub(base_url, site_dir, log_path, proc)
        _check_serves_this_build(served)
        yield served
    finally:
        stop_process_group(proc)
        log.close()


def _check_serves_this_build(served: Hub) -> None:
    """Fail clearly if the server answers with some other build than the one made for this session."""
    expected = (served.site_dir / "index.html").read_bytes()
    with urllib.request.urlopen(served.url("/"), timeout=5) as resp:
        body = resp.read()
    if body != expected:
        pytest.fail(
            "`cchcc serve` does not serve the build made for this test session "
            f"({served.site_dir}) although it was given --site-dir"
        )


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser() -> Iterator:
    problem = chromium_problem()
    if problem:
        action, reason = problem
        (pytest.fail if action == "fail" else pytest.skip)(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _context(browser, hub: Hub, *, javascript: bool):
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=javascript,
        base_url=hub.base_url,
        locale="en-GB",
    )
    context.set_default_timeout(10_000)
    guard = ThirdPartyGuard(hub.base_url)
    context.route(guard.is_foreign, guard.handle)
    return context, guard


@pytest.fixture(params=["js", "nojs"])
def mode(request) -> str:
    """Run a test with JavaScript on and with JavaScript off."""
    return request.param


@pytest.fixture
def context_for(browser, hub: Hub) -> Iterator:
    """Factory: ``context_for(javascript=True)`` → a fresh phone-sized context with the guard on."""
    made: list = []

    def make(javascript: bool = True):
        context, guard = _context(browser, hub, javascript=javascript)
        made.append((context, guard))
        return context

    yield make
    blocked = [url for _, guard in made for url in guard.blocked]
    for context, _ in made:
        context.close()
    assert not blocked, f"the site made third-party requests (blocked): {sorted(set(blocked))}"


@pytest.fixture
def page(context_for, mode: str):
    """A phone-sized page, JavaScript on or off according to ``mode``."""
    return context_for(javascript=(mode == "js")).new_page()


@pytest.fixture
def js_page(context_for):
    return context_for(javascript=True).new_page()


@pytest.fixture
def nojs_page(context_for):
    return context_for(javascript=False).new_page()
