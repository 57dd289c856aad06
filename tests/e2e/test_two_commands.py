"""The two-command promise: a fresh clone runs the README's commands as written.

``make serve`` is started in a clone with a free ``PORT``, must answer with the home page and accept
a referral on ``/api/referrals``, then stop on Ctrl-C. ``make test`` cannot run inside itself (it
would recurse), so its prerequisites — what it installs before running pytest — are made in the
clone, and ``.ci/run`` must call ``make test``. Slow: it builds a fresh virtualenv (pip's cache is
reused; no browser is ever downloaded).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .support import ROOT, free_port, stop_process_group

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTALL_TIMEOUT = 900  # a fresh virtualenv from pip's cache takes well under a minute here


def readme_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The commands of the README's code block that holds both `make serve` and `make test`."""
    blocks = re.findall(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", readme.read_text(), flags=re.M | re.S)
    for block in blocks:
        commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
        commands = [c for c in commands if c]
        if any(c.startswith("make serve") for c in commands) and any(c.startswith("make test") for c in commands):
            return commands
    raise AssertionError("README.md has no code block with both `make serve` and `make test`")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a person has in a new shell: no virtualenv of ours leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("fresh") / "cchcc"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, capture_output=True)
    assert not (target / ".venv").exists()
    # The editor's npm packages (280 MB, a minute and a half to unpack here) are hard-linked from
    # this checkout rather than installed again: `npm ci` itself runs in every fresh checkout's
    # `make test` (CI's included), which could not have reached this test without it.
    installed = ROOT / "node_modules" / ".installed"
    if installed.exists() and subprocess.run(
        ["cp", "-al", str(ROOT / "node_modules"), str(target / "node_modules")], capture_output=True
    ).returncode == 0:
        os.utime(target / "node_modules" / ".installed")  # newer than the clone's package-lock.json
    return target


def test_readme_block_holds_the_two_commands():
    commands = readme_commands()
    assert commands[:2] == ["make serve", "make test"] or {"make serve", "make test"} <= set(commands), commands


def test_ci_entry_point_calls_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK), ".ci/run is not executable"
    assert re.search(r"^\s*make test\s*$", script, flags=re.M), ".ci/run does not call `make test`"


def test_given_a_fresh_clone_when_make_serve_then_the_hub_answers_and_stops_on_ctrl_c(clone: Path):
    command = next(c for c in readme_commands() if c.startswith("make serve"))
    port = free_port()
    log_path = clone.parent / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            shlex.split(command), cwd=clone, env=clean_env(PORT=str(port)), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            base = f"http://127.0.0.1:{port}"
            home = wait_for_page(base + "/", proc, log_path, INSTALL_TIMEOUT)
            site_name = re.search(r"^site_name:\s*(.+)$", (clone / "mkdocs.yml").read_text(), flags=re.M).group(1).strip()
            assert "<title>" in home and site_name in home, f"{base}/ is not the home page:\n{home[:500]}"

            referral = {
                "name": "Fresh Clone",
                "email": "fresh@example.com",
                "postcode": "LS9 7AB",
                "age": "30",
                "consent": "yes",
                "campaign": "",
                "source": "",
            }
            req = urllib.request.Request(
                base + "/api/referrals", data=json.dumps(referral).encode(), headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=15) as resp:
                    status, body = resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read().decode(errors="replace")
            assert status == 201 and body.get("reference"), f"/api/referrals answered {status}: {body}"
        finally:
            returncode = stop_process_group(proc, timeout=30)
    log_text = log_path.read_text(errors="replace")
    assert returncode is not None, "make serve did not stop"
    assert "Traceback" not in log_text, f"make serve printed a traceback:\n{log_text[-3000:]}"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def wait_for_page(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make serve exited with {proc.returncode} before answering:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return resp.read().decode()
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"make serve did not answer {url} within {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}")


def make_prerequisites(clone: Path, target: str) -> list[str]:
    """The prerequisites of a make target, expanded, from make's own database."""
    db = subprocess.run(["make", "-pRrq", target], cwd=clone, capture_output=True, text=True, env=clean_env()).stdout
    match = re.search(rf"^{re.escape(target)}:(?!=)(.*)$", db, flags=re.M)
    assert match, f"no `{target}` rule in the Makefile"
    return match.group(1).split("|")[0].split()


def test_given_a_fresh_clone_when_make_test_installs_then_it_succeeds(clone: Path):
    command = next(c for c in readme_commands() if c.startswith("make test"))
    target = shlex.split(command)[1]
    prerequisites = make_prerequisites(clone, target)
    assert "browser" in prerequisites, f"`make {target}` does not install the browser first: {prerequisites}"
    proc = subprocess.run(
        ["make", *prerequisites], cwd=clone, env=clean_env(CI="true"), capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )
    assert proc.returncode == 0, f"make {' '.join(prerequisites)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert (clone / ".venv" / "bin" / "pytest").exists(), "the test install did not put pytest in .venv"
    assert os.access("/usr/bin/chromium", os.X_OK), "after `make browser` there is no /usr/bin/chromium"
    pytest_ini = (clone / "pyproject.toml").read_text()
    addopts = re.search(r"^addopts\s*=\s*(.*)$", pytest_ini, flags=re.M)
    assert not addopts or "not slow" not in addopts.group(1) and "not e2e" not in addopts.group(1), "make test would skip tests"
