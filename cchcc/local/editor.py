"""``cchcc serve --edit`` (``make edit``): the browser editor saving into this checkout.

Three parts, started and stopped with the local stack:

* :class:`DecapServer`: Decap's local backend (``decap-server`` from npm, in ``node_modules``),
  on a free loopback port, reading and writing the project's files;
* :class:`Editor`: the local stack's door to it, ``POST /_local/cms/api/v1`` (same origin as
  ``/admin/``). Every save is checked first by the code of ``cchcc check``
  (:meth:`cchcc.site.build.SiteContext.load`) on a copy of the project with the saved files in
  place; a save that would add a problem, or leaves one in a file it saves, is refused with
  ``cchcc check``'s own messages (``file: field (line N): reason``) and nothing is written.
  Uploads and deletions are refused: the editor neither uploads files nor deletes campaigns
  (a campaign ends; its QR codes keep working);
* :class:`Rebuilder`: after each accepted save, the site is built again in the background
  (into a folder beside the served one, then swapped in), so the saved page is on the local
  site seconds later.

Logs say which file was saved or refused, never its contents.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cchcc.project import Project
from hub.problems import Problem

log = logging.getLogger("cchcc.local")

API_PATH = "/_local/cms/api/v1"
REQUEST_CAP = 1024 * 1024  # a saved page is a few KB; Decap's own limit is far above this
START_TIMEOUT = 30.0

# What the editor may write, relative to the project root.
WRITABLE = (
    re.compile(r"^campaigns/[a-z0-9][a-z0-9-]*/(campaign\.yml|index\.md)$"),
    re.compile(r"^site/docs/careers/[a-z0-9][a-z0-9-]*\.md$"),
    re.compile(r"^site/data/pay\.yml$"),
)
REFUSED_ACTIONS = {
    "persistMedia": "The editor does not upload files.",
    "deleteFile": "The editor does not delete files. To end a campaign, set its end date and where its QR codes go next.",
    "deleteFiles": "The editor does not delete files. To end a campaign, set its end date and where its QR codes go next.",
}


class EditorError(Exception):
    """The editor cannot start (no node, no decap-server); the message says what to do."""


# --- decap-server ---------------------------------------------------------------------------


class DecapServer:
    """Decap's local backend as a child process, writing into ``project.root``."""

    def __init__(self, project: Project, port: int, node: str | None = None):
        self.project = project
        self.port = port
        self.node = node or shutil.which("node")
        self.script = project.root / "node_modules" / "decap-server" / "dist" / "index.js"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def start(self) -> None:
        if not self.node:
            raise EditorError("node is not installed: the editor's local backend (decap-server) needs Node.js 20 or later")
        if not self.script.is_file():
            raise EditorError(f"{self.project.relative(self.script)} is missing: run `make install` (npm ci) first")
        env = {
            **os.environ,
            "PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "MODE": "fs",
            "GIT_REPO_DIRECTORY": str(self.project.root),
            "LOG_LEVEL": "warn",
            "ORIGIN": "^$",  # CORS for no origin: only the local stack, server to server, reaches it
        }
        env.pop("NODE_OPTIONS", None)
        self.process = subprocess.Popen(
            [self.node, str(self.script)], cwd=self.project.root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")[-800:]
                raise EditorError(f"decap-server stopped as it started ({self.process.returncode}): {err.strip()}")
            try:
                status, _, payload = self.forward(b'{"action":"info"}', timeout=1)
                if status == 200 and b"repo" in payload:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise EditorError(f"decap-server did not answer on port {self.port} within {START_TIMEOUT:.0f} s")

    def forward(self, body: bytes, timeout: float = 30) -> tuple[int, str, bytes]:
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, resp.headers.get("Content-Type", "application/json"), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", "application/json"), exc.read()

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        finally:
            if proc.stderr:
                proc.stderr.close()


# --- the check before a save ----------------------------------------------------------------


def writable(path: str) -> bool:
    return any(rule.match(path) for rule in WRITABLE) and ".." not in path.split("/")


def _overlay(project: Project, dest: Path) -> Project:
    """A copy of what ``cchcc check`` reads, in ``dest``."""
    shutil.copy2(project.mkdocs_file, dest / project.mkdocs_file.name)
    for folder in (project.campaigns_dir, project.careers_dir, project.pay_file.parent):
        if folder.is_dir():
            shutil.copytree(folder, dest / project.relative(folder), ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return Project.at(dest, programme=project.programme_file)


def _problems(project: Project) -> list[Problem]:
    from cchcc.site.build import PublishError, SiteContext

    try:
        SiteContext.load(project)
    except PublishError as exc:
        return exc.problems
    return []


def check_save(project: Project, files: dict[str, str]) -> list[Problem]:
    """The problems ``cchcc check`` would report if ``files`` (path → text) were saved, that the
    save causes: new ones anywhere, and any in the saved files (and their campaign folders)."""
    with tempfile.TemporaryDirectory(prefix="cchcc-save-") as tmp:
        before_project = _overlay(project, Path(tmp))
        before = {str(p) for p in _problems(before_project)}
        for path, text in files.items():
            target = Path(tmp) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        after = _problems(before_project)
    folders = {str(Path(path).parent) for path in files if path.startswith("campaigns/")}

    def touched(problem: Problem) -> bool:
        return problem.file in files or any(problem.file == f or problem.file.startswith(f + "/") for f in folders)

    return [p for p in after if str(p) not in before or touched(p)]


# --- rebuilding the served site ----------------------------------------------------------------


class Rebuilder:
    """Builds the site again after saves, one build at a time, then swaps it in."""

    def __init__(self, project: Project, site_dir: Path, site_url: str | None = None):
        self.project = project
        self.site_dir = Path(site_dir)
        self.site_url = site_url
        self.wanted = threading.Event()
        self.stopping = threading.Event()
        self.builds = 0
        self.last_seconds: float | None = None
        self.thread = threading.Thread(target=self._run, name="rebuild", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def request(self) -> None:
        self.wanted.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wanted.set()
        self.thread.join(60)

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            if self.stopping.is_set():
                return
            self.wanted.clear()
            self.rebuild()

    def rebuild(self) -> bool:
        from cchcc.site.build import BuildStoppedError, PublishError, build

        started = time.perf_counter()
        parent = self.site_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=f".{self.site_dir.name}-next-", dir=parent))
        try:
            build(self.project, site_dir=fresh, site_url=self.site_url)
        except (PublishError, BuildStoppedError) as exc:
            log.warning("site not rebuilt after the save (%d problem(s)); run `cchcc check`",
                        len(getattr(exc, "problems", [])) or 1)
            shutil.rmtree(fresh, ignore_errors=True)
            return False
        fresh.chmod(0o755)  # mkdtemp makes it private; the served site is not
        old = parent / f".{self.site_dir.name}-old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        if self.site_dir.exists():
            self.site_dir.rename(old)
        fresh.rename(self.site_dir)
        shutil.rmtree(old, ignore_errors=True)
        self.builds += 1
        self.last_seconds = time.perf_counter() - started
        log.info("site rebuilt after a save in %.1f s", self.last_seconds)
        return True


# --- the door the local stack opens -------------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def _json(status: int, data: Any) -> Answer:
    return Answer(status, "application/json; charset=utf-8", json.dumps(data, ensure_ascii=False).encode("utf-8"))


class Editor:
    """``POST /_local/cms/api/v1``: checks saves, then hands every request to decap-server."""

    def __init__(self, project: Project, server: DecapServer, rebuilder: Rebuilder | None = None):
        self.project = project
        self.server = server
        self.rebuilder = rebuilder
        self.lock = threading.Lock()  # one save at a time: check and write together

    def handle(self, body: bytes) -> Answer:
        try:
            request = json.loads(body)
            action = request["action"]
            params = request.get("params") or {}
        except (ValueError, KeyError, TypeError):
            return _json(400, {"error": "Bad request"})
        if action in REFUSED_ACTIONS:
            log.info("editor: %s refused", action)
            return _json(403, {"error": REFUSED_ACTIONS[action]})
        if action != "persistEntry":
            status, kind, payload = self.server.forward(body)
            return Answer(status, kind, payload)
        entry = params.get("entry")
        files = params.get("dataFiles") or ([entry] if entry else [])
        saving: dict[str, str] = {}
        for item in files:
            path = str((item or {}).get("path") or "")
            target = str(item.get("newPath") or path)
            if not (writable(path) and writable(target)) or not isinstance(item.get("raw"), str):
                log.info("editor: save refused (not an editable file)")
                return _json(403, {"error": f"{target or '(no path)'}: the editor cannot save this file"})
            saving[target] = item["raw"]
        if params.get("assets"):
            return _json(403, {"error": REFUSED_ACTIONS["persistMedia"]})
        with self.lock:
            problems = check_save(self.project, saving)
            if problems:
                log.info("editor: save refused (%d problem(s)) for %s", len(problems), ", ".join(sorted(saving)))
                message = "\n".join(str(p) for p in problems)
                return _json(422, {"error": f"Not saved: cchcc check found {len(problems)} problem(s).\n{message}",
                                   "problems": [str(p) for p in problems]})
            status, kind, payload = self.server.forward(body)
        if status == 200:
            log.info("editor: saved %s", ", ".join(sorted(saving)))
            if self.rebuilder is not None:
                self.rebuilder.request()
        return Answer(status, kind, payload)
