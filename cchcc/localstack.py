"""``cchcc serve``: the whole hub on one machine, against embedded AWS.

One process:

* moto in server mode (``ThreadedMotoServer``) on a free loopback port; the
  handlers reach it with ordinary boto3 calls over HTTP (``AWS_ENDPOINT_URL``);
* the referrals table and the router's dead-letter queue created from
  ``infra/template.yaml``; the sender identity verified in SES;
* the real Lambda handlers (``intake.app``, ``router.app``) imported after the
  environment is set, as Lambda would start them;
* one HTTP server: the built site at ``/``, ``/api/referrals`` and
  ``GET /thanks/`` as API Gateway HTTP API v2 events to the intake handler
  (which fills the built thanks page with ``?ref=``), ``/_local/outbox`` and
  ``/_local/`` (what was really sent), and a webhook sink;
* a stream poller that invokes the router like Lambda's event source mapping
  (see :mod:`cchcc.stream_poller`).

Logs name steps and references, never personal data, and never request bodies.
"""

from __future__ import annotations

import gzip
import json
import logging
import mimetypes
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cchcc import infra
from cchcc.http_api import http_api_event, http_api_response
from cchcc.outbox import Outbox, render_page
from cchcc.stream_poller import LambdaContext, StreamPoller

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SITE_DIR = ROOT / "build" / "site"
STATE_DIR = ROOT / "build" / "local"
CAMPAIGNS_ROOT = ROOT  # campaigns/<slug>/campaign.yml, as `cchcc build` reads them

REGION = "eu-west-2"
TABLE_NAME = "cchcc-local-referrals"
QUEUE_NAME = "cchcc-local-router-dlq"
INTAKE_FUNCTION = "cchcc-local-intake"
ROUTER_FUNCTION = "cchcc-local-router"
# Webhook signing secrets for spokes with a webhook, locally only.
LOCAL_WEBHOOK_SECRET = "local-dev-webhook-secret-not-for-production"

BODY_LIMIT = 16 * 1024  # the intake handler answers 413 above this
READ_CAP = BODY_LIMIT + 1024  # the most of a request body the server ever keeps
DRAIN_CAP = 10 * 1024 * 1024  # read-and-discard beyond that so the client can read the 413
WEBHOOK_READ_CAP = 256 * 1024

log = logging.getLogger("cchcc.local")

mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("application/json", ".map")

THANKS_PATH = "/thanks/"  # served by the intake function, as CloudFront does in production
_REF_IN_LOCATION = re.compile(r"[?&]ref=([A-Za-z0-9-]{1,20})")


class StartupError(Exception):
    """The local stack cannot start; the message says why (never personal data)."""


def _setup_logging() -> None:
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    # moto's werkzeug server logs every AWS call; the hub's own lines are enough.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def _where(exc: BaseException) -> str:
    """Exception type and innermost frame, without the message (which may quote data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"
    return type(exc).__name__


# ------------------------------------------------------------------ template reading

def _literal(value: Any, parameters: dict[str, Any]) -> str | None:
    """A template value as a plain string, resolving ``!Ref Parameter`` to its default; else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        default = (parameters.get(value["Ref"]) or {}).get("Default")
        return None if default is None else _literal(default, parameters)
    return None


def function_environment(template: dict[str, Any], logical_id: str) -> dict[str, str]:
    """Literal environment variables of a function (Globals, then its own), as the template sets them."""
    parameters = template.get("Parameters") or {}
    merged: dict[str, Any] = {}
    globals_env = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables") or {}
    merged.update(globals_env)
    props = ((template.get("Resources") or {}).get(logical_id) or {}).get("Properties") or {}
    merged.update(((props.get("Environment") or {}).get("Variables")) or {})
    env = {}
    for name, value in merged.items():
        literal = _literal(value, parameters)
        if literal is not None:
            env[name] = literal
    return env


def stream_mapping(template: dict[str, Any], logical_id: str = "RouterFunction") -> dict[str, Any]:
    """The router's DynamoDB event source settings from the template (defaults if absent)."""
    settings: dict[str, Any] = {
        "BatchSize": 10,
        "MaximumRetryAttempts": 3,
        "StartingPosition": "TRIM_HORIZON",
        "BisectBatchOnFunctionError": False,
        "Filters": [],
    }
    props = ((template.get("Resources") or {}).get(logical_id) or {}).get("Properties") or {}
    for event in (props.get("Events") or {}).values():
        if event.get("Type") != "DynamoDB":
            continue
        p = event.get("Properties") or {}
        for key in ("BatchSize", "MaximumRetryAttempts", "StartingPosition", "BisectBatchOnFunctionError"):
            if key in p and not isinstance(p[key], dict):
                settings[key] = p[key]
        for f in ((p.get("FilterCriteria") or {}).get("Filters")) or []:
            pattern = f.get("Pattern")
            if isinstance(pattern, str):
                settings["Filters"].append(json.loads(pattern))
        break
    return settings


def queue_attributes(template: dict[str, Any], logical_id: str = "RouterDeadLetterQueue") -> tuple[str, dict[str, str]]:
    """Name and ``create_queue`` attributes of a queue the template defines (defaults if absent)."""
    resource = (template.get("Resources") or {}).get(logical_id) or {}
    props = resource.get("Properties") or {}
    parameters = template.get("Parameters") or {}
    name = props.get("QueueName") if isinstance(props.get("QueueName"), str) else QUEUE_NAME
    known = (
        "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout", "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication",
    )
    attributes = {}
    for key in known:
        if key in props:
            literal = _literal(props[key], parameters)
            if literal is not None:
                attributes[key] = literal
    return name, attributes


# ------------------------------------------------------------------ event filtering

def _matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering (the subset the template uses: nested keys, value lists, prefix, exists)."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        for key, sub in pattern.items():
            if isinstance(sub, list) and any(isinstance(s, dict) and "exists" in s for s in sub):
                wanted = next(s["exists"] for s in sub if isinstance(s, dict) and "exists" in s)
                if (key in value) != bool(wanted):
                    return False
                continue
            if key not in value or not _matches(sub, value[key]):
                return False
        return True
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict) and "prefix" in option:
                if isinstance(value, str) and value.startswith(option["prefix"]):
                    return True
            elif option == value:
                return True
        return False
    return pattern == value


def record_passes(filters: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    return not filters or any(_matches(f, record) for f in filters)


# ------------------------------------------------------------------ the stack

class LocalStack:
    """Everything ``cchcc serve`` runs, started and stopped together."""

    def __init__(self, *, programme: Any, programme_path: Path, host: str, port: int, site_dir: Path):
        self.programme = programme
        self.programme_path = programme_path
        self.host = host
        self.port = port
        self.site_dir = site_dir
        self.outbox = Outbox(self._spoke_emails(programme))
        self.intake_lock = threading.Lock()  # one request at a time per handler, as one Lambda instance
        self.router_lock = threading.Lock()
        self.moto: Any = None
        self.httpd: ThreadingHTTPServer | None = None
        self.http_thread: threading.Thread | None = None
        self.poller: StreamPoller | None = None
        self.intake_handler: Any = None
        self.router_handler: Any = None
        self.queue_url: str | None = None
        self.stream_arn: str | None = None
        self.endpoint_url: str | None = None
        self.state_file: Path | None = None
        self.campaigns_file: Path | None = None

    @staticmethod
    def _spoke_emails(programme: Any) -> dict[str, str]:
        emails = {s.id: str(s.email) for s in programme.spokes}
        emails.setdefault(programme.triage.id, str(programme.triage.email))
        return emails

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{shown}:{self.port}"

    # -- start -------------------------------------------------------------------
    def bind(self) -> None:
        try:
            self.httpd = LocalHTTPServer((self.host, self.port), LocalRequestHandler, self)
        except OSError as exc:
            raise StartupError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        self.port = self.httpd.server_address[1]

    def start_aws(self) -> None:
        from moto.server import ThreadedMotoServer

        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        moto_host, moto_port = self.moto.get_host_and_port()
        self.endpoint_url = f"http://{moto_host}:{moto_port}"
        install_ses_capture(self.outbox)

    def set_environment(self) -> None:
        """The environment the handlers read, set before they are imported."""
        template = infra.load_template()
        for logical_id in ("IntakeFunction", "RouterFunction"):
            for name, value in function_environment(template, logical_id).items():
                os.environ.setdefault(name, value)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url or "",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true",
                "TABLE_NAME": TABLE_NAME,
                "SITE_ORIGIN": self.url,
                "CCHCC_PROGRAMME_FILE": str(self.programme_path),
                "CCHCC_CAMPAIGNS_FILE": str(self.write_campaigns_catalogue()),
                # GET /thanks/ fills the built page's reference box (read again when the site is rebuilt).
                "CCHCC_THANKS_PAGE": str(self.site_dir / "thanks" / "index.html"),
                "ROUTER_DLQ_URL": self.queue_url or "",
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        # CloudWatch metric (EMF) lines would bury the step logs on a console; set it to false to see them.
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        for spoke in self.programme.spokes:
            if spoke.webhook is not None:
                os.environ.setdefault(spoke.webhook.secret_env, LOCAL_WEBHOOK_SECRET)

    def write_campaigns_catalogue(self) -> Path:
        """Campaign and placement names for the notifications, fresh from ``campaigns/``.

        Campaigns with problems are left out (``cchcc check`` lists them); the
        notifications then show those ids as they are.
        """
        from cchcc.campaigns import CampaignError, load_all, write_catalogue

        try:
            campaigns = load_all(CAMPAIGNS_ROOT)
        except CampaignError as exc:
            log.warning("%d campaign problem(s): notifications show their ids (run `cchcc check`)", len(exc.problems))
            campaigns = []
        self.campaigns_file = write_catalogue(campaigns, STATE_DIR / f"campaigns-{self.port}.json")
        return self.campaigns_file

    def create_resources(self) -> None:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        kw = {"endpoint_url": self.endpoint_url}
        dynamodb = session.client("dynamodb", **kw)
        infra.create_table(dynamodb, TABLE_NAME)
        self.stream_arn = dynamodb.describe_table(TableName=TABLE_NAME)["Table"]["LatestStreamArn"]

        self.sqs = session.client("sqs", **kw)
        name, attributes = queue_attributes(infra.load_template())
        self.queue_url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        os.environ["ROUTER_DLQ_URL"] = self.queue_url

        sesv2 = session.client("sesv2", **kw)
        identities = {str(self.programme.programme.sender_email)}
        identities.add(str(self.programme.programme.sender_email).split("@", 1)[1])
        for address in self._spoke_emails(self.programme).values():
            identities.add(address.split("@", 1)[1])  # recipient domains, as the SES sandbox requires
        for identity in sorted(identities):
            sesv2.create_email_identity(EmailIdentity=identity)
        self.streams = session.client("dynamodbstreams", **kw)

    def import_handlers(self) -> None:
        import importlib

        for attr, module_name in (("intake_handler", "intake.app"), ("router_handler", "router.app")):
            if getattr(self, attr) is not None:  # given by a test
                continue
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name not in (module_name, module_name.split(".")[0]):
                    raise StartupError(f"{module_name} could not be imported: {_where(exc)} ({exc.name} missing)") from exc
                raise StartupError(f"{module_name} is not there yet (functions/{module_name.replace('.', '/')}.py)") from exc
            except Exception as exc:
                raise StartupError(f"{module_name} failed to start: {exc}") from exc
            setattr(self, attr, module.lambda_handler)

    def start_poller(self) -> None:
        mapping = stream_mapping(infra.load_template())
        filters = mapping["Filters"]
        router = self.router_handler

        def invoke_router(event: dict[str, Any], context: Any) -> Any:
            # Records the filter drops never reach the function (and count as done).
            records = [r for r in event["Records"] if record_passes(filters, r)]
            if not records:
                return {"batchItemFailures": []}
            with self.router_lock:
                return router({"Records": records}, context)

        self.poller = StreamPoller(
            streams_client=self.streams,
            stream_arn=self.stream_arn or "",
            handler=invoke_router,
            function_name=ROUTER_FUNCTION,
            dead_letter=self.send_dead_letter,
            region=REGION,
            batch_size=int(mapping["BatchSize"]),
            max_retry_attempts=int(mapping["MaximumRetryAttempts"]),
            starting_position=str(mapping["StartingPosition"]),
            bisect_on_error=bool(mapping["BisectBatchOnFunctionError"]),
            poll_interval=0.1,
            backoff_base=0.1,
            housekeeping=forget_shard_iterators,
        )
        self.poller.start()

    def send_dead_letter(self, message: dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message))

    def dead_letter_depth(self) -> int | None:
        try:
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except Exception:
            return None
        return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))

    def write_state(self) -> None:
        """Tell ``cchcc redrive`` (another process) where this stack's AWS emulation is."""
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self.state_file = STATE_DIR / f"serve-{self.port}.json"
        self.state_file.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "url": self.url,
                    "endpoint_url": self.endpoint_url,
                    "region": REGION,
                    "table_name": TABLE_NAME,
                    "stream_arn": self.stream_arn,
                    "dead_letter_queue_url": self.queue_url,
                    "programme_file": str(self.programme_path),
                    "campaigns_file": str(self.campaigns_file) if self.campaigns_file else None,
                    "site_origin": self.url,
                },
                indent=2,
            ),
            encoding="utf-8",
        )

    def start(self) -> None:
        self.bind()
        self.start_aws()
        self.create_resources()
        self.set_environment()
        self.import_handlers()
        self.start_poller()
        self.write_state()
        assert self.httpd is not None
        self.http_thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
        self.http_thread.start()

    # -- stop --------------------------------------------------------------------
    def stop(self) -> None:
        if self.httpd is not None:
            if self.http_thread is not None:
                self.httpd.shutdown()
                self.http_thread.join(5)
            self.httpd.server_close()
        if self.poller is not None:
            self.poller.stop()
        if self.moto is not None:
            try:
                self.moto.stop()
            except Exception as exc:
                log.warning("stopping the AWS emulation failed: %s", type(exc).__name__)
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)
        if self.campaigns_file is not None:
            self.campaigns_file.unlink(missing_ok=True)


def forget_shard_iterators(in_use: set[str]) -> None:
    """Free the shard iterators moto keeps for ever (one per GetRecords call, about 2 KB each).

    Polling ten times a second, a stack left running for a day would otherwise
    hold well over a gigabyte of them. Only the iterators the poller holds stay.
    """
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    for account in list(dynamodbstreams_backends.keys()):
        for region in list(dynamodbstreams_backends[account].keys()):
            iterators = dynamodbstreams_backends[account][region].shard_iterators
            for key in [k for k in list(iterators) if k not in in_use]:
                iterators.pop(key, None)


# ------------------------------------------------------------------ SES capture

_capture_outbox: Outbox | None = None


def install_ses_capture(outbox: Outbox) -> None:
    """Note every SESv2 ``SendEmail`` moto accepts (its text, HTML and tags), by message id.

    moto keeps the accepted message in its SES backend but drops the tags and
    one of the two body parts; the outbox joins this note with that record.
    """
    global _capture_outbox
    _capture_outbox = outbox
    from moto.sesv2.responses import SESV2Response

    if getattr(SESV2Response.send_email, "_cchcc_capture", False):
        return
    original = SESV2Response.send_email

    def send_email(self: Any) -> str:
        result = original(self)  # raises (and records nothing) if moto rejects the send
        try:
            message_id = json.loads(result)["MessageId"]
            params = json.loads(self.body)
        except (TypeError, ValueError, KeyError):
            return result
        if _capture_outbox is not None:
            _capture_outbox.note_sesv2_send(message_id, params)
        return result

    send_email._cchcc_capture = True  # type: ignore[attr-defined]
    SESV2Response.send_email = send_email  # type: ignore[method-assign]


# ------------------------------------------------------------------ HTTP

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


class LocalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, stack: LocalStack):
        self.stack = stack
        super().__init__(address, handler)


class BodyTooLarge(Exception):
    pass


class LocalRequestHandler(BaseHTTPRequestHandler):
    server: LocalHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "cchcc-local"
    timeout = 30  # a client that stops sending mid-request is dropped

    @property
    def stack(self) -> LocalStack:
        return self.server.stack

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Access logs stay quiet: the hub logs its own steps (never paths with data, never bodies)."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # -- helpers -----------------------------------------------------------------
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

    def _send_json(self, status: int, data: Any) -> None:
        body = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
        self._send(status, body, [("Content-Type", "application/json; charset=utf-8")])

    def _send_html(self, status: int, text: str, extra: list[tuple[str, str]] | None = None, head: bool = False) -> None:
        self._send(status, text.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8"), *(extra or [])], head)

    def _path(self) -> str:
        return urlsplit(self.path).path

    def _read_body(self, cap: int) -> tuple[bytes, bool]:
        """Read at most ``cap`` bytes of the body; (body, truncated). Never holds more than ``cap``."""
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
    def do_GET(self) -> None:
        self._dispatch_get(head=False)

    def do_HEAD(self) -> None:
        self._dispatch_get(head=True)

    def do_POST(self) -> None:
        path = self._path()
        if path.startswith("/api/"):
            self._api()
        elif path.startswith("/_local/webhooks/"):
            self._webhook(path.removeprefix("/_local/webhooks/"))
        else:
            self._method_not_allowed()

    def do_OPTIONS(self) -> None:
        if self._path().startswith("/api/"):
            self._api()
        else:
            self._send(HTTPStatus.NO_CONTENT, b"", [("Allow", "GET, HEAD")])

    def do_PUT(self) -> None:
        self._api() if self._path().startswith("/api/") else self._method_not_allowed()

    do_DELETE = do_PATCH = do_PUT

    def _method_not_allowed(self) -> None:
        self.close_connection = True  # any body was not read
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"Method not allowed\n", [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")])

    def _dispatch_get(self, head: bool) -> None:
        path = self._path()
        if path.startswith("/api/") or (path == THANKS_PATH and not head):
            self._api()  # /thanks/ as CloudFront sends it: to the intake function, which shows ?ref=
        elif path == "/_local/outbox":
            self._send_json(HTTPStatus.OK, [_public(m) for m in self.stack.outbox.messages()])
        elif path == "/_local":
            self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", "/_local/")], head)
        elif path == "/_local/":
            page = render_page(self.stack.outbox.messages(), self.stack.dead_letter_depth())
            self._send_html(HTTPStatus.OK, page, head=head)
        elif path.startswith("/_local/messages/"):
            self._message_html(path, head)
        elif path.startswith("/_local/"):
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", [("Content-Type", "text/plain; charset=utf-8")], head)
        else:
            self._static(path, head)

    # -- API ---------------------------------------------------------------------
    def _api(self) -> None:
        started = time.perf_counter()
        method = self.command
        path = self._path()
        try:
            body, truncated = self._read_body(READ_CAP)
        except ValueError:
            self.close_connection = True
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": "Bad Request"})
            return
        query = urlsplit(self.path).query
        route_key = f"{method} {path}"
        event = http_api_event(
            method=method,
            path=path,
            query=query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            route_key=route_key,
            domain_name=self.stack.host,
        )
        context = LambdaContext(INTAKE_FUNCTION, region=REGION, timeout_seconds=10)
        try:
            with self.stack.intake_lock:
                result = self.stack.intake_handler(event, context)
            status, headers, payload = http_api_response(result)
        except Exception as exc:  # what API Gateway answers when the function fails
            log.error("intake handler failed: %s", _where(exc))
            status, headers, payload = 500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
        if truncated and status != HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            # The handler only saw the first READ_CAP bytes; the body was too large whatever it said.
            status, headers, payload = 413, [("Content-Type", "application/json")], b'{"message":"Request Entity Too Large"}'
        elapsed = (time.perf_counter() - started) * 1000
        if method != "OPTIONS":
            log.info("received %s %s -> %d%s (%.0f ms)", method, path, status, _reference_note(status, headers, payload), elapsed)
        self._send(status, payload, headers, head=method == "HEAD")

    # -- webhook sink ----------------------------------------------------------------
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
        url = f"{self.stack.url}/_local/webhooks/{spoke}"
        entry = self.stack.outbox.record_webhook(spoke, url, body, dict(self.headers.items()))
        log.info("webhook delivered to the local sink: spoke=%s reference=%s", spoke, entry.get("reference") or "-")
        self._send_json(HTTPStatus.OK, {"received": True})

    def _message_html(self, path: str, head: bool) -> None:
        match = re.fullmatch(r"/_local/messages/(\d{1,6})\.html", path)
        messages = self.stack.outbox.messages()
        number = int(match.group(1)) if match else 0
        if not match or not 1 <= number <= len(messages) or not messages[number - 1].get("html"):
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", [("Content-Type", "text/plain; charset=utf-8")], head)
            return
        # The email's own HTML, sandboxed: no scripts, no requests anywhere.
        csp = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        self._send_html(HTTPStatus.OK, messages[number - 1]["html"], [("Content-Security-Policy", csp)], head)

    # -- static site -----------------------------------------------------------------
    def _static(self, path: str, head: bool) -> None:
        site = self.stack.site_dir
        if not site.is_dir():
            page = NO_SITE_PAGE.format(site_dir=_display_path(site))
            self._send_html(HTTPStatus.OK if path == "/" else HTTPStatus.NOT_FOUND, page, head=head)
            return
        root = site.resolve()
        relative = unquote(path).lstrip("/")
        target = (root / relative).resolve()
        if target != root and root not in target.parents:
            self._not_found(root, head)
            return
        if target.is_dir():
            if not path.endswith("/"):
                query = urlsplit(self.path).query
                self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", path + "/" + (f"?{query}" if query else ""))], head)
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
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", [("Content-Type", "text/plain; charset=utf-8")], head)

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
        if (textual or kind.startswith("application/javascript")) and len(body) > 1024 and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self._send(status, body, headers, head)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """An outbox entry as ``/_local/outbox`` shows it (webhook headers left out)."""
    return {k: v for k, v in message.items() if k != "headers"}


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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


# ------------------------------------------------------------------ entry point

def resolve_programme_path(programme_path: Path | str | None) -> Path:
    if programme_path is not None:
        return Path(programme_path).resolve()
    env = os.environ.get("CCHCC_PROGRAMME_FILE")
    if env:
        return Path(env).resolve()
    here = Path.cwd() / "programme.yml"
    return (here if here.exists() else ROOT / "programme.yml").resolve()


def main(port: int = 8000, host: str = "127.0.0.1", programme_path: Path | str | None = None, site_dir: Path | str | None = None) -> int:
    """Run the local stack until Ctrl-C or SIGTERM. Returns the exit code."""
    from hub.config import ConfigError, load_programme

    _setup_logging()
    path = resolve_programme_path(programme_path)
    try:
        programme = load_programme(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        print("cchcc serve: the programme configuration is not valid; nothing was started", file=sys.stderr)
        return 2

    stack = LocalStack(
        programme=programme,
        programme_path=path,
        host=host,
        port=port,
        site_dir=Path(site_dir or os.environ.get("CCHCC_SITE_DIR") or DEFAULT_SITE_DIR).resolve(),
    )
    stop = threading.Event()

    def _request_stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            stack.start()
        except StartupError as exc:
            print(f"cchcc serve: {exc}", file=sys.stderr)
            return 1
        site_note = "" if stack.site_dir.is_dir() else " (site not built yet: run `make build`)"
        print(f"CCHCC hub (local stack) running at {stack.url}/{site_note}", flush=True)
        print(f"  outbox: {stack.url}/_local/   press Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
        print("cchcc serve: stopping", flush=True)
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
