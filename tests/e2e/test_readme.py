"""The README stays honest: every `make <target>` and `cchcc <subcommand>` it shows exists,
and a missing browser fails rather than skips on CI. Fast; no browser needed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .support import ROOT, ThirdPartyGuard, chromium_problem

README = ROOT / "README.md"
CCHCC = str(Path(sys.executable).parent / "cchcc")


def code_in(markdown: str) -> list[str]:
    """Every fenced block and inline code span: where the README shows commands."""
    fence = r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```"
    fenced = re.findall(fence, markdown, flags=re.M | re.S)
    rest = re.sub(fence, "", markdown, flags=re.M | re.S)
    return fenced + re.findall(r"`([^`\n]+)`", rest)


def readme_make_targets() -> list[str]:
    targets = {m for code in code_in(README.read_text()) for m in re.findall(r"(?:^|[\s;&|(])make\s+([a-z][\w-]*)", code)}
    return sorted(targets)


def readme_cchcc_commands() -> list[list[str]]:
    commands = set()
    for code in code_in(README.read_text()):
        for line in code.splitlines():
            for match in re.finditer(r"(?:^|[\s/])cchcc\s+((?:[a-z][\w-]*\s*)+)", line.split("#", 1)[0]):
                commands.add(tuple(match.group(1).split()[:3]))
    return [list(c) for c in sorted(commands)]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", text, flags=re.M))


def test_readme_mentions_the_commands_people_need():
    targets = readme_make_targets()
    for expected in ("serve", "test", "bench", "audit"):
        assert expected in targets, f"README.md does not show `make {expected}`"
    words = {c[0] for c in readme_cchcc_commands()}
    for expected in ("campaign", "check", "build"):
        assert expected in words, f"README.md does not show `cchcc {expected}`"
    assert "docs/deploy.md" in README.read_text(), "README.md does not link to docs/deploy.md"


@pytest.mark.parametrize("target", readme_make_targets())
def test_every_make_target_in_the_readme_exists(target):
    assert target in makefile_targets(), f"README.md shows `make {target}` but the Makefile has no such target"


@pytest.mark.parametrize("words", readme_cchcc_commands(), ids=" ".join)
def test_every_cchcc_command_in_the_readme_exists(words):
    """`cchcc <sub> --help` exits 0; nested words count only when the parent's help lists them."""
    path = [words[0]]
    for word in words[1:]:
        parent_help = subprocess.run([CCHCC, *path, "--help"], capture_output=True, text=True, cwd=ROOT).stdout
        if re.search(rf"[{{,\s]{re.escape(word)}[,}}\s]", parent_help):
            path.append(word)
        else:
            break
    proc = subprocess.run([CCHCC, *path, "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"README.md shows `cchcc {' '.join(words)}` but `cchcc {' '.join(path)} --help` failed:\n{proc.stderr[-1500:]}"


def test_readme_screenshot_is_small(tmp_path):
    text = README.read_text()
    shots = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert shots, "README.md has no screenshot"
    for shot in shots:
        path = ROOT / shot
        assert path.is_file(), f"README.md shows {shot}, which does not exist"
        assert path.stat().st_size < 150_000, f"{shot} is {path.stat().st_size} bytes; keep it under 150 KB"


@pytest.mark.parametrize(
    "ci, expected",
    [("true", "fail"), ("", "skip"), ("false", "skip")],
)
def test_missing_browser_fails_on_ci_and_skips_elsewhere(tmp_path, ci, expected):
    action, reason = chromium_problem(str(tmp_path / "no-chromium"), ci=ci)
    assert action == expected
    assert "apt-get install chromium" in reason


def test_present_browser_is_no_problem(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert chromium_problem(str(fake), ci="true") is None


def _fake_tools(tmp_path: Path, uid: int) -> dict[str, str]:
    """A PATH where `id -u` says ``uid`` and apt-get fails, so `make browser` cannot get Chromium."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("id", f"echo {uid}"), ("apt-get", "echo 'E: no network in this test' >&2; exit 100")):
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CI"}}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize(
    "uid, ci, fails",
    [
        pytest.param(1000, "true", True, id="not-root-on-ci-fails"),
        pytest.param(1000, "", False, id="not-root-locally-explains"),
        pytest.param(0, "true", True, id="root-apt-fails-on-ci-fails"),
    ],
)
def test_make_browser_never_lets_ci_go_on_without_chromium(tmp_path, uid, ci, fails):
    env = _fake_tools(tmp_path, uid)
    if ci:
        env["CI"] = ci
    proc = subprocess.run(
        ["make", "--no-print-directory", "browser", f"CHROMIUM={tmp_path / 'no-chromium'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert (proc.returncode != 0) == fails, f"make browser exited {proc.returncode} (uid {uid}, CI={ci!r}):\n{output}"
    assert "chromium" in output.lower(), f"make browser did not say what is missing:\n{output}"


@pytest.mark.parametrize(
    "url, foreign",
    [
        ("http://127.0.0.1:8123/assets/cchcc.css", False),
        ("data:image/svg+xml;charset=utf-8,<svg/>", False),
        ("http://127.0.0.1:9999/", True),
        ("http://localhost:8123/", True),
        ("https://fonts.googleapis.com/css?family=Roboto", True),
        ("https://127.0.0.1:8123/", True),
    ],
)
def test_third_party_guard_tells_local_from_foreign(url, foreign):
    assert ThirdPartyGuard("http://127.0.0.1:8123").is_foreign(url) is foreign
