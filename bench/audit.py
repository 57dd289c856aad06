"""``make audit``: Lighthouse on the home page and a campaign page, served by the local hub.

Lighthouse 12.2.3 is installed on first use into ``.cache/lighthouse/`` (``npm i -E``) and drives
Debian's Chromium (``CHROME_PATH=/usr/bin/chromium``) with its defaults: mobile emulation and
simulated throttling (a mid-range phone on slow 4G). Scores are printed and the reports written to
``build/audit/``. Exits 1 when accessibility < 100, performance < 95 or best practices < 95.

This is an audit, not a test: timings vary from machine to machine, so it is not in ``make test``.

    python -m bench.audit [--runs 3] [--keep-going]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LIGHTHOUSE_VERSION = "12.2.3"
CACHE = ROOT / ".cache" / "lighthouse"
LIGHTHOUSE = CACHE / "node_modules" / ".bin" / "lighthouse"
OUT = ROOT / "build" / "audit"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
CATEGORIES = ("accessibility", "performance", "best-practices")
THRESHOLDS = {"accessibility": 100, "performance": 95, "best-practices": 95}


def ensure_lighthouse() -> Path:
    """Install the pinned Lighthouse into the gitignored cache folder unless it is already there."""
    version_file = CACHE / "node_modules" / "lighthouse" / "package.json"
    if LIGHTHOUSE.exists() and version_file.exists():
        if json.loads(version_file.read_text()).get("version") == LIGHTHOUSE_VERSION:
            return LIGHTHOUSE
    npm = shutil.which("npm")
    if not npm:
        sys.exit("audit: npm is needed to install Lighthouse (sudo apt-get install npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    package = CACHE / "package.json"
    if not package.exists():
        package.write_text('{"name": "cchcc-audit-tools", "private": true}\n')
    print(f"audit: installing lighthouse@{LIGHTHOUSE_VERSION} into {CACHE.relative_to(ROOT)}", flush=True)
    subprocess.run(
        [npm, "install", "--prefix", str(CACHE), "--save-exact", "--no-audit", "--no-fund", f"lighthouse@{LIGHTHOUSE_VERSION}"],
        check=True,
    )
    return LIGHTHOUSE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"audit: `cchcc serve` exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    sys.exit(f"audit: {url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C the server's process group; kill it if it has not stopped within 15 s."""
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def campaign_path() -> str:
    slugs = sorted(p.parent.name for p in (ROOT / "campaigns").glob("*/campaign.yml"))
    if not slugs:
        sys.exit("audit: no campaigns in campaigns/*/campaign.yml")
    return f"/campaigns/{slugs[0]}/"


def run_lighthouse(lighthouse: Path, url: str, out: Path) -> dict[str, float]:
    env = {**os.environ, "CHROME_PATH": CHROME}
    cmd = [
        str(lighthouse),
        url,
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={out}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        sys.exit(f"audit: lighthouse failed on {url} ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(out.read_text())
    if report.get("runtimeError"):
        sys.exit(f"audit: lighthouse could not load {url}: {report['runtimeError']}")
    return {cat: round(100 * (report["categories"][cat]["score"] or 0)) for cat in CATEGORIES}


def shortfalls(report_path: Path, category: str) -> list[str]:
    """The weighted audits that cost points in a category, for a readable failure."""
    report = json.loads(report_path.read_text())
    lines = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref.get("weight") and audit.get("score") is not None and audit["score"] < 1:
            value = f" ({audit['displayValue']})" if audit.get("displayValue") else ""
            lines.append(f"    {audit['id']}: {audit['title']}{value}, score {audit['score']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page; the median is reported (default 3)")
    parser.add_argument("--no-build", action="store_true", help="audit the existing build/site")
    args = parser.parse_args(argv)

    if not os.access(CHROME, os.X_OK):
        sys.exit(f"audit: Chromium not found at {CHROME} (sudo apt-get install chromium)")
    lighthouse = ensure_lighthouse()
    if not args.no_build:
        subprocess.run([str(BIN / "cchcc"), "build"], cwd=ROOT, check=True)
    OUT.mkdir(parents=True, exist_ok=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (OUT / "serve.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "cchcc"), "serve", "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    failed = False
    summary: dict[str, dict] = {}
    try:
        wait_for(base + "/", server)
        for name, path in (("home", "/"), ("campaign", campaign_path())):
            runs = []
            for n in range(1, args.runs + 1):
                out = OUT / f"{name}-{n}.json"
                runs.append((run_lighthouse(lighthouse, base + path, out), out))
            runs.sort(key=lambda r: r[0]["performance"])
            scores, median_report = runs[len(runs) // 2]
            shutil.copyfile(median_report, OUT / f"{name}.json")
            summary[name] = {
                "path": path,
                "median": scores,
                "runs": [r[0] for r in runs],
                "performance_range": [min(r[0]["performance"] for r in runs), max(r[0]["performance"] for r in runs)],
            }
            shown = "  ".join(f"{cat} {scores[cat]:>3}" for cat in CATEGORIES)
            spread = statistics.pstdev([r[0]["performance"] for r in runs]) if len(runs) > 1 else 0
            print(f"{name:<9} {path:<32} {shown}   (median of {len(runs)}; performance sd {spread:.1f})")
            for cat in CATEGORIES:
                if scores[cat] < THRESHOLDS[cat]:
                    failed = True
                    print(f"  {cat} {scores[cat]} < {THRESHOLDS[cat]}:")
                    print("\n".join(shortfalls(OUT / f"{name}.json", cat)) or "    (no single audit to blame)")
    finally:
        stop(server)
        log.close()

    summary["thresholds"] = THRESHOLDS
    summary["lighthouse"] = LIGHTHOUSE_VERSION
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"reports: {OUT.relative_to(ROOT)}/  ({'BELOW THRESHOLD' if failed else 'all thresholds met'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
