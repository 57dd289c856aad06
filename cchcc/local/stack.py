"""``cchcc serve``: the whole hub on one computer, against an embedded AWS.

What runs, all of it read from ``infra/template.yaml`` so that local and cloud do not drift:

* moto in server mode on a free loopback port (:mod:`cchcc.local.aws`), holding the
  template's table and queues; the functions reach it with ordinary boto3 calls;
* every function of the template in worker processes of its own (:mod:`cchcc.local.lambdas`),
  started with the environment the template gives it;
* for each function with a ``DynamoDB`` event, a poller that reads the table's stream and
  invokes it as Lambda's event source mapping would (:mod:`cchcc.local.streams`);
* for each ``ScheduleV2`` event, a thread that invokes its function at the schedule's times
  (:mod:`cchcc.local.scheduler`), and ``POST /_local/run/<function>?at=`` to run it now
  with any clock;
* the template's SecureString parameters (``CCHCC::SecureParameters``) in the embedded SSM,
  each with a fresh random key;
* one threaded HTTP server (:mod:`cchcc.local.server`) routing as CloudFront and API
  Gateway do: the built site, the API routes, ``/_local/`` (every message sent) and a
  webhook sink.

Logs name steps and references, never personal data, and never request bodies.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cchcc.local import filters
from cchcc.local.aws import EmbeddedAws, forget_shard_iterators
from cchcc.local.lambdas import FunctionError, FunctionInitError, LocalFunction, worker_environment
from cchcc.local.outbox import Outbox
from cchcc.local.scheduler import ScheduleError, ScheduleRunner, scheduler_event
from cchcc.local.server import Front, LocalHTTPServer
from cchcc.local.state import CREDENTIALS, LOCAL_WEBHOOK_SECRET, REGION, StackState
from cchcc.local.streams import StreamPoller
from cchcc.local.template import FunctionSpec, StreamTrigger, Template
from cchcc.project import Project
from hub.config import Programme

log = logging.getLogger("cchcc.local")

DEAD_LETTER_QUEUE = "RouterDeadLetterQueue"  # the router's on-failure destination in the template


class StartupError(Exception):
    """The local stack cannot start; the message says why (never personal data)."""


def setup_logging() -> None:
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


class LocalStack:
    """Everything ``cchcc serve`` runs, started and stopped together."""

    def __init__(self, *, project: Project, programme: Programme, host: str, port: int, site_dir: Path,
                 max_instances: int = 1, faults: dict[str, float] | None = None, edit: bool = False):
        self.project = project
        self.programme = programme
        self.host = host
        self.port = port
        self.site_dir = site_dir
        self.max_instances = max_instances
        self.faults = faults or {}
        self.template = Template.load(project.template_file)
        self.outbox = Outbox(self.spoke_emails())
        self.aws = EmbeddedAws()
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: list[StreamPoller] = []
        self.schedules: list[tuple[str, ScheduleRunner]] = []  # (function short name, runner)
        self.httpd: LocalHTTPServer | None = None
        self.http_thread: threading.Thread | None = None
        self.state_file: Path | None = None
        self.catalogue_file: Path | None = None
        self.compiled_file: Path | None = None
        self.edit = edit
        self.editor: Any = None  # cchcc.local.editor.Editor, with --edit

    def spoke_emails(self) -> dict[str, str]:
        emails = {s.id: str(s.email) for s in self.programme.spokes}
        emails.setdefault(self.programme.triage.id, str(self.programme.triage.email))
        return emails

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{shown}:{self.port}"

    # -- start -------------------------------------------------------------------
    def bind(self) -> None:
        front = Front(
            host=self.host,
            site_dir=self.site_dir,
            behaviours=self.template.behaviours(),
            routes=self.template.routes(),
            invoke=self.invoke,
            outbox=self.outbox,
            dead_letters=lambda: self.aws.queue_depth(DEAD_LETTER_QUEUE),
            site_label=self.project.relative(self.site_dir),
            run=self.run_scheduled,
            report=self.report,
        )
        try:
            self.httpd = LocalHTTPServer((self.host, self.port), front)
        except OSError as exc:
            raise StartupError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        self.port = self.httpd.server_address[1]

    def report(self, start: str | None, end: str | None) -> Any:
        """The impact report from the stack's table (``/_local/report/``), suppressed as published."""
        from datetime import UTC, datetime

        from cchcc.ops import report
        from hub.catalogue import load_catalogue
        from hub.storage import DynamoReferralStore

        window = report.period(start, end, today=datetime.now(UTC).date(), retention_days=self.programme.retention_days)
        catalogue = load_catalogue(self.catalogue_file) if self.catalogue_file else None
        store = DynamoReferralStore(self.aws.table_name, client=self.aws.client("dynamodb"))
        return report.make(store, window, programme=self.programme, catalogue=catalogue)

    def write_catalogue(self) -> Path:
        """Campaign and placement names for the notifications, fresh from ``campaigns/``.

        Campaigns with problems are left out (``cchcc check`` lists them); the
        notifications then show those ids as they are.
        """
        from cchcc.site.campaigns import CampaignError, catalogue, load_all

        try:
            campaigns = load_all(self.project)
        except CampaignError as exc:
            log.warning("%d campaign problem(s): notifications show their ids (run `cchcc check`)", len(exc.problems))
            campaigns = []
        return catalogue(campaigns, codes=self.built_codes()).write(self.project.local_dir / f"campaigns-{self.port}.json")

    def built_codes(self) -> dict:
        """Where each ``/q/<id>/`` of the served site points, as its build wrote them (``campaigns.json``
        beside the site folder), so the scans function answers what the static pages do."""
        from cchcc.site.build import catalogue_path
        from hub.catalogue import load_catalogue
        from hub.config import ConfigError

        try:
            return dict(load_catalogue(catalogue_path(self.site_dir)).codes)
        except ConfigError:
            log.warning("%s cannot be read: /q/ codes answer from the static pages only (run `cchcc build`)",
                        catalogue_path(self.site_dir))
            return {}

    def function_overrides(self) -> dict[str, str]:
        """What the functions are told about the emulated resources (the template says the rest)."""
        env = {
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **CREDENTIALS,
            "AWS_EC2_METADATA_DISABLED": "true",
            "TABLE_NAME": self.aws.table_name,
            "SITE_ORIGIN": self.url,
            "CCHCC_PROGRAMME_FILE": str(self.project.programme_file),
            "CCHCC_CAMPAIGNS_FILE": str(self.catalogue_file),
            # The programme as the functions load it in AWS: compiled at start-up, as `cchcc build` does.
            "CCHCC_PROGRAMME_COMPILED": str(self.compiled_file),
            # GET /thanks/ fills the built page's reference box (read again when the site is rebuilt).
            "CCHCC_THANKS_PAGE": str(self.site_dir / "thanks" / "index.html"),
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        if self.faults:
            from cchcc.local import faults

            env[faults.ENVIRONMENT] = faults.text(self.faults)
        # CloudWatch metric (EMF) lines would bury the step logs on a console; set it to false to see them.
        env.setdefault("POWERTOOLS_METRICS_DISABLED", os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"))
        for spoke in self.programme.spokes:
            if spoke.webhook is not None:
                env[spoke.webhook.secret_env] = os.environ.get(spoke.webhook.secret_env, LOCAL_WEBHOOK_SECRET)
        return env

    def start_functions(self) -> None:
        overrides = self.function_overrides()
        for logical_id, spec in self.template.functions().items():
            name = f"cchcc-local-{logical_id}"
            env = worker_environment(dict(os.environ), spec, {**overrides, "AWS_LAMBDA_FUNCTION_NAME": name},
                                     self.project.functions_dir)
            self.functions[logical_id] = LocalFunction(spec, name, env, self.project.functions_dir, self.max_instances)
        with ThreadPoolExecutor(max_workers=len(self.functions) or 1) as pool:
            starts = {pool.submit(f.start): f for f in self.functions.values()}
        for future, function in starts.items():
            if future.exception() is not None:
                exc = future.exception()
                raise StartupError(str(exc) if isinstance(exc, FunctionInitError) else f"{function.name} failed to start") from exc

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.functions[logical_id].invoke(event)

    def start_pollers(self) -> None:
        streams = self.aws.client("dynamodbstreams")
        for spec in self.template.functions().values():
            for trigger in spec.streams:
                self.pollers.append(self._poller(streams, spec, trigger))
        for poller in self.pollers:
            poller.start()

    def _poller(self, streams: Any, spec: FunctionSpec, trigger: StreamTrigger) -> StreamPoller:
        function = self.functions[spec.logical_id]

        def invoke(event: dict[str, Any]) -> Any:
            # Records the filter drops never reach the function (and count as done).
            records = [r for r in event["Records"] if filters.passes(trigger.filters, r)]
            if not records:
                return {"batchItemFailures": []}
            return function.invoke({"Records": records})

        queue = self.aws.queues.get(DEAD_LETTER_QUEUE)
        sqs = self.aws.client("sqs")
        return StreamPoller(
            streams_client=streams,
            stream_arn=self.aws.stream_arn,
            invoke=invoke,
            function_name=function.name,
            dead_letter=lambda message: sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(message)),
            region=REGION,
            batch_size=trigger.batch_size,
            max_retry_attempts=trigger.maximum_retry_attempts,
            starting_position=trigger.starting_position,
            bisect_on_error=trigger.bisect_on_error,
            poll_interval=0.1,
            backoff_base=0.1,
            housekeeping=forget_shard_iterators,
        )

    def start_schedules(self) -> None:
        for spec in self.template.functions().values():
            function = self.functions[spec.logical_id]
            for trigger in spec.schedules:
                try:
                    runner = ScheduleRunner(trigger, function.name, function.invoke)
                except ScheduleError as exc:
                    raise StartupError(f"{spec.logical_id} schedule {trigger.name}: {exc}") from exc
                self.schedules.append((spec.short_name, runner))
        for _, runner in self.schedules:
            runner.start()

    def run_scheduled(self, name: str, at: datetime | None) -> Any:
        """``POST /_local/run/<name>``: invoke a scheduled function once, as its schedule would at ``at``.

        KeyError when no scheduled function has that name; FunctionError when it fails.
        """
        for short_name, runner in self.schedules:
            if short_name == name:
                moment = at or datetime.now(UTC)
                log.info("running %s for %s", runner.function_name, moment.isoformat(timespec="seconds"))
                return runner.invoke(scheduler_event(runner.trigger, runner.function_name, moment))
        raise KeyError(name)

    def write_state(self) -> None:
        """Tell other commands (``cchcc redrive``) where this stack's AWS emulation is."""
        state = StackState(
            pid=os.getpid(),
            url=self.url,
            endpoint_url=self.aws.endpoint_url,
            table_name=self.aws.table_name,
            queues=dict(self.aws.queues),
            programme_file=str(self.project.programme_file),
            campaigns_file=str(self.catalogue_file) if self.catalogue_file else None,
            stream_arn=self.aws.stream_arn,
            extra={"secure_parameters": ",".join(p.name for p in self.template.secure_parameters())},
        )
        self.state_file = state.write(self.project, self.port)

    def start(self) -> None:
        self.bind()
        self.aws.start(self.outbox)
        self.aws.create(self.template, str(self.programme.programme.sender_email), list(self.spoke_emails().values()))
        self.aws.create_secure_parameters(self.template.secure_parameters())
        self.catalogue_file = self.write_catalogue()
        from hub.programme import write_compiled

        self.compiled_file = write_compiled(
            self.programme, self.project.programme_file, self.project.local_dir / f"programme-{self.port}.json"
        )
        self.start_functions()
        self.start_pollers()
        self.start_schedules()
        self.write_state()
        assert self.httpd is not None
        if self.edit:
            self.start_editor()
        self.http_thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
        self.http_thread.start()

    def start_editor(self) -> None:
        """Decap's local backend beside the stack, behind ``/_local/cms/api/v1`` (:mod:`cchcc.local.editor`)."""
        import socket

        from cchcc.local.editor import DecapServer, Editor, EditorError, Rebuilder

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = DecapServer(self.project, port)
        try:
            server.start()
        except EditorError as exc:
            raise StartupError(f"the editor cannot start: {exc}") from exc
        # Built as `cchcc build` builds it (site_url from mkdocs.yml), so the poster cache holds.
        rebuilder = Rebuilder(self.project, self.site_dir, None)
        rebuilder.start()
        self.editor = Editor(self.project, server, rebuilder)
        assert self.httpd is not None
        self.httpd.front.editor = self.editor

    # -- stop --------------------------------------------------------------------
    def stop(self) -> None:
        if self.httpd is not None:
            if self.http_thread is not None:
                self.httpd.shutdown()
                self.http_thread.join(5)
            self.httpd.server_close()
        for _, runner in self.schedules:
            runner.stop()
        if self.editor is not None:
            if self.editor.rebuilder is not None:
                self.editor.rebuilder.stop()
            self.editor.server.stop()
        for poller in self.pollers:
            poller.stop()
        # Each worker ends when its stdin closes; stop them all at once, not one after another.
        with ThreadPoolExecutor(max_workers=len(self.functions) or 1) as pool:
            list(pool.map(lambda function: function.stop(), self.functions.values()))
        self.aws.stop()
        for path in (self.state_file, self.catalogue_file, self.compiled_file):
            if path is not None:
                path.unlink(missing_ok=True)


def serve(project: Project, *, port: int, host: str = "127.0.0.1", site_dir: Path | None = None,
          faults: dict[str, float] | None = None, max_instances: int = 1, edit: bool = False) -> int:
    """Run the local stack until Ctrl-C or SIGTERM. Returns the exit code."""
    from hub.config import ConfigError, load_programme

    setup_logging()
    try:
        programme = load_programme(project.require_programme())
    except (ConfigError, Exception) as exc:  # ConfigError, or ProjectError for a missing file
        print(str(exc), file=sys.stderr)
        print("cchcc serve: the programme configuration is not valid; nothing was started", file=sys.stderr)
        return 2

    stack = LocalStack(
        project=project, programme=programme, host=host, port=port,
        site_dir=Path(site_dir or project.site_dir).resolve(), faults=faults, max_instances=max_instances, edit=edit,
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            stack.start()
        except (StartupError, FunctionError) as exc:
            print(f"cchcc serve: {exc}", file=sys.stderr)
            return 1
        site_note = "" if stack.site_dir.is_dir() else " (site not built yet: run `make build`)"
        print(f"CCHCC hub (local stack) running at {stack.url}/{site_note}", flush=True)
        print(f"  outbox: {stack.url}/_local/   press Ctrl-C to stop", flush=True)
        if faults:
            from cchcc.local.faults import KINDS

            for name, probability in sorted(faults.items()):
                print(f"  fault: {KINDS[name]}, {probability:.0%} of the time", flush=True)
            if "webhook" in faults and not any(s.webhook for s in programme.spokes):
                print("  (no spoke has a webhook in this programme: webhook faults have nothing to break)", flush=True)
            print("  failed sends are retried, then dead-lettered; `cchcc redrive` routes what is left", flush=True)
        if stack.editor is not None:
            print(f"  editor: {stack.url}/admin/   saves go into {project.root}, checked as `cchcc check` does", flush=True)
        while not stop.wait(0.5):
            pass
        print("cchcc serve: stopping", flush=True)
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
