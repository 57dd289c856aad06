"""The local stack's front door: one threaded HTTP server playing CloudFront, API Gateway and S3.

A request is routed as production routes it, from ``infra/template.yaml``: the first
CloudFront cache behaviour whose path pattern matches picks the origin; the API origin
sends it, as an HTTP API v2 event, to the function whose ``HttpApi`` route matches
(``404 {"message": "Not Found"}`` when none does, as API Gateway answers); the site origin
serves the built site as the bucket would (with ``index.html`` for folders, the site's
``404.html`` for anything missing, and gzip when the browser takes it, as CloudFront
compresses). The local stack adds ``/_local/`` (the outbox), a webhook sink and
``POST /_local/run/<function>?at=`` (run a scheduled function with that clock).

Logs name the route and the reference, never a raw path (it may hold a token), a query
string or a body.
"""

from __future__ import annotations

import gzip
import json
import logging
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cchcc.local.http_api import http_api_event, http_api_response
from cchcc.local.lambdas import FunctionError
from cchcc.local.pages import render_page
from cchcc.local.template import Behaviour, Route

log = logging.getLogger("cchcc.local")

BODY_LIMIT = 16 * 1024  # the intake handler answers 413 above this
READ_CAP = BODY_LIMIT + 1024  # the most of a request body the server ever keeps
DRAIN_CAP = 10 * 1024 * 1024  # read-and-discard beyond that so the client can read the 413
WEBHOOK_READ_CAP = 256 * 1024
LISTEN_BACKLOG = 128

mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("application/json", ".map")
mimetypes.add_type("text/calendar", ".ics")

_REF_IN_LOCATION = re.compile(r"[?&]ref=([A-Za-z0-9-]{1,20})")
_NOT_FOUND_JSON = (404, [("Content-Type", "application/json")], b'{"message":"Not Found"}')
_ERROR_JSON = (500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}')

NO_SITE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Site not built yet - CCHCC hub local stack</title></head>
<body><main>
<h1>The site has not been built yet</h1>
<p>The local hub is running, but there is no built site in <code>{site_dir}</code>.</p>
<p>Build it with <code>make build</code> (or <code>.venv/bin/cchcc build</code>), then reload this page.
<code>make serve</code> builds the site and starts the hub in one step.</p>
<p>The referral API at <code>/api/referrals</code> works already, and
<a href="/_local/">the local outbox</a> shows every message sent.</p>
</main></body></html>
"""


@dataclass
class Front:
    """What the server routes to; the stack fills it in."""

    host: str
    site_dir: Path
    behaviours: list[Behaviour]
    routes: list[Route]
    invoke: Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> result
    outbox: Any  # cchcc.local.outbox.Outbox
    dead_letters: Callable[[], int | None]
    site_label: str = ""
    editor: Any = None  # cchcc.local.editor.Editor with `cchcc serve --edit`
    # (scheduled function's short name, clock or None for now) -> its result; KeyError: no such function
    run: Callable[[str, Any], Any] | None = None
    # (from, to) -> the impact report (cchcc.ops.report.Report); ReportError for bad dates
    report: Callable[[str | None, str | None], Any] | None = None


class LocalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG  # bursts of simultaneous posts wait, rather than being reset

    def __init__(self, address: tuple[str, int], front: Front):
        self.front = front
        super().__init__(address, LocalRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that broke the handler: one line, without the client's address or the request."""
        import sys

        log.warning("request failed: %s", type(sys.exc_info()[1]).__name__)


def _reference_note(status: int, headers: list[tuple[str, str]], payload: bytes) -> str:
    """``reference=…`` from a successful intake answer (Location or JSON), for the log line."""
    if status == 303:
        location = next((v for k, v in headers if k.lower() == "location"), "")
        found = _REF_IN_LOCATION.search(location)
        return f" reference={found.group(1)}" if found else ""
    if status in (200, 201) and payload[:1] == b"{":
        try:
            reference = json.loads(payload).get("reference")
        except (ValueError, AttributeError):
            return ""
        if isinstance(reference, str) and len(reference) <= 20:
            return f" reference={reference}"
    return ""


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """An outbox entry as ``/_local/outbox`` shows it (webhook headers left out)."""
    return {k: v for k, v in message.items() if k != "headers"}


class LocalRequestHandler(BaseHTTPRequestHandler):
    server: LocalHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "cchcc-local"
    timeout = 30  # a client that stops sending mid-request is dropped

    @property
    def front(self) -> Front:
        return self.server.front

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Access logs stay quiet: the hub logs its own steps (never paths with data, never bodies)."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # -- sending -----------------------------------------------------------------
    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None, head: bool = False) -> None:
        self.send_response(status)
        names = set()
        for name, value in headers or []:
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            names.add(name.lower())
            self.send_header(name, value)
        if "cache-control" not in names:
            self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any, head: bool = False) -> None:
        body = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
        self._send(status, body, [("Content-Type", "application/json; charset=utf-8")], head)

    def _send_text(self, status: int, text: str, headers: list[tuple[str, str]] | None = None, head: bool = False) -> None:
        self._send(status, text.encode("utf-8"), [("Content-Type", "text/plain; charset=utf-8"), *(headers or [])], head)

    def _send_html(self, status: int, text: str, extra: list[tuple[str, str]] | None = None, head: bool = False) -> None:
        self._send(status, text.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8"), *(extra or [])], head)

    # -- reading -----------------------------------------------------------------
    def _read_body(self, cap: int) -> tuple[bytes, bool]:
        """Read at most ``cap`` bytes of the body; (body, truncated). Never holds more than ``cap``."""
        self._body_read = True
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(cap)
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b"", False
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError
        except ValueError:
            raise ValueError("bad Content-Length") from None
        if length <= cap:
            return self.rfile.read(length), False
        body = self.rfile.read(cap)
        self._drain(length - cap)
        return body, True

    def _drain(self, remaining: int) -> None:
        """Discard the rest of an oversized body (up to DRAIN_CAP) so the client gets its answer."""
        if remaining > DRAIN_CAP:
            self.close_connection = True
            return
        while remaining > 0:
            chunk = self.rfile.read(min(65536, remaining))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_chunked(self, cap: int) -> tuple[bytes, bool]:
        body = bytearray()
        truncated = False
        drained = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                raise ValueError("bad chunk") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body), truncated
            while size > 0:
                chunk = self.rfile.read(min(size, 65536))
                if not chunk:
                    raise ValueError("truncated chunk")
                size -= len(chunk)
                room = cap - len(body)
                if room > 0:
                    body += chunk[:room]
                if len(chunk) > room:
                    truncated = True
                    drained += len(chunk) - max(room, 0)
                    if drained > DRAIN_CAP:
                        self.close_connection = True
                        return bytes(body), True
            self.rfile.readline(16)

    # -- dispatch ----------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        self._body_read = False
        path = urlsplit(self.path).path
        if "\x00" in unquote(path) or not path.startswith("/"):
            self.close_connection = True
            self._send_text(HTTPStatus.BAD_REQUEST, "Bad request\n")
            return
        if path == "/_local" or path.startswith("/_local/"):
            self._local(path)
            return
        behaviour = next(b for b in self.front.behaviours if b.matches(path))
        origins = list(behaviour.origins)
        # An origin group: the API first, the bucket when the API fails (CloudFront's failover).
        self._viewer_address = behaviour.viewer_address
        self._behaviour = behaviour
        if origins[0] == "api" and not self._api(path, failover=len(origins) > 1):
            self._site(path)
        elif origins[0] != "api":
            self._site(path)

    # -- the API origin ------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        lookup = "GET" if method == "HEAD" else method
        for route in self.front.routes:
            params = route.match(lookup, path)
            if params is not None:
                return route, params
        if method == "OPTIONS":  # a CORS preflight: the function that owns the path answers it
            for route in self.front.routes:
                params = route.match_path(path)
                if params is not None:
                    return route, params
        return None, {}

    def _api(self, path: str, failover: bool = False) -> bool:
        """Answer from the API origin; False (nothing sent) when ``failover`` and the API failed."""
        started = time.perf_counter()
        method = self.command
        try:
            body, truncated = self._read_body(READ_CAP)
        except ValueError:
            self.close_connection = True
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": "Bad Request"})
            return True
        route, params = self._route(method, path)
        if route is None:
            if failover:
                return False
            status, headers, payload = _NOT_FOUND_JSON
            self._send(status, payload, headers, head=method == "HEAD")
            return True
        # As CloudFront: a viewer's own CloudFront-* headers never reach the origin; the viewer's
        # address is added where the origin request policy asks for it.
        headers = [(k, v) for k, v in self.headers.items() if not k.lower().startswith("cloudfront-")]
        if getattr(self, "_viewer_address", False):
            headers.append(("CloudFront-Viewer-Address", f"{self.client_address[0]}:{self.client_address[1]}"))
        event = http_api_event(
            method=method,
            path=path,
            query=urlsplit(self.path).query,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
            route_key=route.key,
            path_parameters=params,
            domain_name=self.front.host,
        )
        try:
            status, headers, payload = http_api_response(self.front.invoke(route.function, event))
        except FunctionError as exc:  # what API Gateway answers when the function fails
            log.error("%s failed: %s", route.function, exc)
            status, headers, payload = _ERROR_JSON
        if truncated and status != HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            # The function only saw the first READ_CAP bytes; the body was too large whatever it said.
            status, headers, payload = 413, [("Content-Type", "application/json")], b'{"message":"Request Entity Too Large"}'
        elapsed = (time.perf_counter() - started) * 1000
        if failover and self._behaviour.fails_over(status):
            log.warning("%s answered %d; the site answers instead", route.key, status)
            return False
        if method != "OPTIONS":
            note = _reference_note(status, headers, payload)
            log.info("received %s -> %d%s (%.0f ms)", route.key, status, note, elapsed)
        self._send(status, payload, headers, head=method == "HEAD")
        return True

    # -- the site origin -------------------------------------------------------------
    def _site(self, path: str) -> None:
        head = self.command == "HEAD"
        if not self._body_read:
            try:
                self._read_body(READ_CAP)  # a body on a GET is read, never taken for the next request
            except ValueError:
                self.close_connection = True
        if self.command not in ("GET", "HEAD"):
            self._send_text(HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n", [("Allow", "GET, HEAD")])
            return
        site = self.front.site_dir
        if not site.is_dir():
            page = NO_SITE_PAGE.format(site_dir=self.front.site_label or site)
            self._send_html(HTTPStatus.OK if path == "/" else HTTPStatus.NOT_FOUND, page, head=head)
            return
        root = site.resolve()
        target = (root / unquote(path).lstrip("/")).resolve()
        if target != root and root not in target.parents:
            self._not_found(root, head)
            return
        if target.is_dir():
            if not path.endswith("/"):
                query = urlsplit(self.path).query
                location = path + "/" + (f"?{query}" if query else "")
                self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", location)], head)
                return
            target = target / "index.html"
        if not target.is_file():
            self._not_found(root, head)
            return
        self._send_file(HTTPStatus.OK, target, head)

    def _not_found(self, root: Path, head: bool) -> None:
        page = root / "404.html"
        if page.is_file():
            self._send_file(HTTPStatus.NOT_FOUND, page, head)
        else:
            self._send_text(HTTPStatus.NOT_FOUND, "Not found\n", head=head)

    def _send_file(self, status: int, file: Path, head: bool) -> None:
        kind, encoding = mimetypes.guess_type(file.name)
        if encoding:  # sitemap.xml.gz is a gzip file to download, as S3 serves it
            kind = "application/gzip"
        kind = kind or "application/octet-stream"
        textual = kind.startswith("text/") or kind in ("application/json", "application/manifest+json", "image/svg+xml", "application/xml")
        if textual:
            kind += "; charset=utf-8"
        body, headers = file.read_bytes(), [("Content-Type", kind)]
        # CloudFront compresses these in production (Compress: true in infra/template.yaml); do the
        # same here so that page weight and Lighthouse figures measured locally match what residents get.
        if textual and len(body) > 1024 and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self._send(status, body, headers, head)

    # -- the local stack's own pages and the webhook sink ------------------------------------
    def _local(self, path: str) -> None:
        method, head = self.command, self.command == "HEAD"
        if method == "POST" and path.startswith("/_local/webhooks/"):
            self._webhook(path.removeprefix("/_local/webhooks/"))
            return
        if method == "POST" and path.startswith("/_local/run/"):
            self._run(path.removeprefix("/_local/run/"))
            return
        if path == "/_local/cms/api/v1":
            self._editor()
            return
        try:
            self._read_body(READ_CAP)
        except ValueError:
            self.close_connection = True
        if method not in ("GET", "HEAD"):
            self._send_text(HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n", [("Allow", "GET, HEAD")], head)
        elif path == "/_local":
            self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", "/_local/")], head)
        elif path == "/_local/outbox":
            # ?since=N: only the messages after the first N (a watcher need not fetch them all again).
            since = urlsplit(self.path).query.partition("since=")[2].split("&")[0]
            start = int(since) if since.isdigit() else 0
            self._send_json(HTTPStatus.OK, [_public(m) for m in self.front.outbox.messages()[start:]], head)
        elif path == "/_local/":
            self._send_html(HTTPStatus.OK, render_page(self.front.outbox.messages(), self.front.dead_letters()), head=head)
        elif path.startswith("/_local/messages/"):
            self._message_html(path, head)
        elif path == "/_local/report":
            self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", "/_local/report/")], head)
        elif path in ("/_local/report/", "/_local/report.json"):
            self._report(as_json=path.endswith(".json"), head=head)
        else:
            self._send_text(HTTPStatus.NOT_FOUND, "Not found\n", head=head)

    def _editor(self) -> None:
        """The browser editor's backend (``cchcc serve --edit``): saves checked, then written."""
        from cchcc.local.editor import REQUEST_CAP

        try:
            body, truncated = self._read_body(REQUEST_CAP)
        except ValueError:
            self.close_connection = True
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "Bad request"})
            return
        if self.front.editor is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "The editor is not running: start the hub with `make edit`"})
        elif self.command != "POST":
            self._send_text(HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n", [("Allow", "POST")])
        elif truncated:
            self._send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "Too large to save"})
        else:
            answer = self.front.editor.handle(body)
            self._send(answer.status, answer.body, [("Content-Type", answer.content_type), ("Cache-Control", "no-store")])

    def _webhook(self, spoke: str) -> None:
        spoke = unquote(spoke).strip("/")
        try:
            body, truncated = self._read_body(WEBHOOK_READ_CAP)
        except ValueError:
            self.close_connection = True
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": "Bad Request"})
            return
        if truncated or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", spoke):
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": "Bad Request"})
            return
        host = self.headers.get("Host") or self.front.host
        entry = self.front.outbox.record_webhook(spoke, f"http://{host}/_local/webhooks/{spoke}", body, dict(self.headers.items()))
        log.info("webhook delivered to the local sink: spoke=%s reference=%s", spoke, entry.get("reference") or "-")
        self._send_json(HTTPStatus.OK, {"received": True})

    def _run(self, name: str) -> None:
        """``POST /_local/run/<function>?at=<ISO 8601>``: run a scheduled function now, with that clock."""
        from datetime import UTC, datetime
        from urllib.parse import parse_qs

        try:
            self._read_body(READ_CAP)
        except ValueError:
            self.close_connection = True
        raw = parse_qs(urlsplit(self.path).query).get("at", [""])[0]
        at = None
        if raw:
            try:
                at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                self._send_json(HTTPStatus.BAD_REQUEST, {"message": "at must be an ISO 8601 date and time, e.g. 2025-03-12T09:00:00Z"})
                return
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if self.front.run is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"message": "no scheduled functions"})
            return
        try:
            result = self.front.run(name, at)
        except KeyError:
            self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no scheduled function called {name!r}"})
            return
        except FunctionError as exc:
            log.error("%s failed: %s", name, exc)
            self._send_json(HTTPStatus.BAD_GATEWAY, {"message": f"the function failed ({exc.kind})"})
            return
        self._send_json(HTTPStatus.OK, result)

    def _report(self, *, as_json: bool, head: bool) -> None:
        """``/_local/report/`` and ``/_local/report.json``: the impact report of everything held,
        or of ``?from=&to=`` (YYYY-MM-DD), suppressed as published."""
        from urllib.parse import parse_qs

        from cchcc.ops.report import ReportError

        query = parse_qs(urlsplit(self.path).query)
        start, end = query.get("from", [None])[0] or None, query.get("to", [None])[0] or None
        if self.front.report is None:
            self._send_text(HTTPStatus.NOT_FOUND, "Not found\n", head=head)
            return
        try:
            made = self.front.report(start, end)
        except ReportError as exc:
            if as_json:
                self._send_json(HTTPStatus.BAD_REQUEST, {"message": str(exc)}, head)
            else:
                self._send_text(HTTPStatus.BAD_REQUEST, f"{exc}\n", head=head)
            return
        if as_json:
            from cchcc.ops.report_files import json_data

            self._send_json(HTTPStatus.OK, json_data(made.data, unsuppressed=False), head)
        else:
            self._send_html(HTTPStatus.OK, made.page, [("Cache-Control", "no-store")], head)

    def _message_html(self, path: str, head: bool) -> None:
        match = re.fullmatch(r"/_local/messages/(\d{1,6})\.html", path)
        messages = self.front.outbox.messages()
        number = int(match.group(1)) if match else 0
        if not match or not 1 <= number <= len(messages) or not messages[number - 1].get("html"):
            self._send_text(HTTPStatus.NOT_FOUND, "Not found\n", head=head)
            return
        # The email's own HTML, sandboxed: no scripts, no requests anywhere.
        csp = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        self._send_html(HTTPStatus.OK, messages[number - 1]["html"], [("Content-Security-Policy", csp)], head)
