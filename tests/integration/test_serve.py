"""``cchcc serve`` end to end over real HTTP: site, intake, stream, router, outbox.

Starts ``.venv/bin/cchcc serve`` as a subprocess on a free port with a tiny
static site, posts referrals with urllib (form-encoded and JSON), and waits for
the spoke's notification in ``/_local/outbox``. Sample rules (programme.yml):
postcode LS9 7AB -> ``cchcc``; LS12 3AB aged 19 -> ``hwf``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from hub.thanks import reference_box

ROOT = Path(__file__).resolve().parents[2]
CCHCC = str(Path(sys.executable).parent / "cchcc")
REFERENCE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")

# Obviously fake personal data: none of it may reach the server's output.
PERSON = {
    "name": "Qzv Servetestperson",
    "email": "qzv.servetest@example.com",
    "phone": "07700 900417",
    "support_needs": "Xkq afternoons please",
}
PERSONAL_STRINGS = ["Qzv", "Servetestperson", "qzv.servetest", "900417", "Xkq afternoons"]

SITE_FILES = {
    "index.html": "<!doctype html><html lang=en><title>Home</title><h1>Local test site home</h1>",
    "404.html": "<!doctype html><html lang=en><title>Not found</title><h1>Local test site 404</h1>",
    "thanks/index.html": f"<!doctype html><html lang=en><title>Thanks</title><h1>Thanks</h1>{reference_box()}",
    "assets/site.css": "body { color: #0b0c0c }",
    "assets/app.js": "console.log('hi')",
    "print/p1/qr.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, headers, body) without following redirects or raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with OPENER.open(req, timeout=15) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, out: Path, err: Path):
        self.proc, self.port, self.out, self.err = proc, port, out, err
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def outbox(self) -> list[dict]:
        status, _, body = request(self.url("/_local/outbox"))
        assert status == 200
        return json.loads(body)

    def wait_until_answering(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                request(self.url("/_local/outbox"))
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, self.output()[-3000:]
                time.sleep(0.1)

    def wait_for_message(self, reference: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.outbox():
                if message.get("reference") == reference:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no message for {reference} within {timeout}s; output:\n{self.output()[-3000:]}")


def start(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, int, Path, Path]:
    port = free_port()
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    proc = subprocess.Popen(
        [CCHCC, "serve", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=out.open("w"),
        stderr=err.open("w"),
    )
    return proc, port, out, err


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    site = tmp_path_factory.mktemp("site")
    for name, text in SITE_FILES.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    proc, port, out, err = start(tmp_path_factory.mktemp("serve"), "--site-dir", str(site))
    served = Server(proc, port, out, err)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"cchcc serve exited with {proc.returncode}:\n{served.output()[-3000:]}")
        try:
            if request(served.url("/_local/outbox"))[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"cchcc serve did not answer within 60 s:\n{served.output()[-3000:]}")
        time.sleep(0.1)
    yield served
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def form_body(**fields: object) -> bytes:
    return urllib.parse.urlencode(fields, doseq=True).encode("ascii")


# ------------------------------------------------------------------------ site

@pytest.mark.parametrize(
    ("path", "status", "content_type", "text"),
    [
        ("/", 200, "text/html", "Local test site home"),
        ("/index.html", 200, "text/html", "Local test site home"),
        ("/thanks/", 200, "text/html", "Thanks"),
        ("/assets/site.css", 200, "text/css", "color"),
        ("/assets/app.js", 200, "text/javascript", "console"),
        ("/print/p1/qr.svg", 200, "image/svg+xml", "<svg"),
        ("/no/such/page/", 404, "text/html", "Local test site 404"),
        ("/../../etc/passwd", 404, "text/html", "Local test site 404"),
    ],
)
def test_given_a_built_site_then_it_is_served_at_the_root(server, path, status, content_type, text):
    got_status, headers, body = request(server.url(path))
    assert got_status == status
    assert headers["Content-Type"].startswith(content_type)
    assert text in body.decode()


def test_a_directory_without_its_slash_redirects_to_it(server):
    status, headers, _ = request(server.url("/thanks?ref=ABCD-EFGH"))
    assert status == 301
    assert headers["Location"] == "/thanks/?ref=ABCD-EFGH"


def test_given_no_built_site_then_the_home_page_says_how_to_build_it(tmp_path):
    proc, port, out, err = start(tmp_path, "--site-dir", str(tmp_path / "not-built"))
    served = Server(proc, port, out, err)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = request(served.url("/"))
                break
            except OSError:
                assert proc.poll() is None, served.output()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200
        assert "make build" in body.decode() and "cchcc build" in body.decode()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


# ------------------------------------------------------------------------ intake to outbox

def test_given_a_form_post_from_the_target_area_then_303_to_thanks_and_cchcc_is_notified(server):
    body = form_body(
        **PERSON, postcode="ls9 7ab", age="34", interests=["caring", "science"], consent="yes",
        campaign="test-campaign", source="test-placement", website="",
    )
    status, headers, _ = request(
        server.url("/api/referrals"), body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 303
    location = headers["Location"]
    assert location.startswith("/thanks/?ref=")
    reference = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["ref"][0]
    assert REFERENCE.match(reference)

    message = server.wait_for_message(reference)
    assert message["spoke"] == "cchcc"
    assert message["to"] == ["cchcc.team@example.org"]
    assert reference in message["subject"]

    # Where the 303 sends a browser: the same thanks page, with the reference in it (no JavaScript needed).
    status, headers, page = request(server.url(location))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    assert f"data-cc-reference-value>{reference}</p>" in page.decode()
    assert "?ref=" not in server.output()  # the address with the reference is never logged wholesale
    assert message["text"] and PERSON["name"] in message["text"]  # the spoke gets what it needs


def test_given_a_json_post_from_a_young_person_in_leeds_then_201_and_hwf_is_notified(server):
    payload = {**PERSON, "postcode": "LS12 3AB", "age": 19, "consent": "yes", "submission_id": "servetest-json-0001",
               "campaign": "lincoln-green", "source": "lg-library"}
    status, headers, body = request(
        server.url("/api/referrals"), json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    assert status == 201, body
    reference = json.loads(body)["reference"]
    assert REFERENCE.match(reference)

    message = server.wait_for_message(reference)
    assert message["spoke"] == "hwf"
    assert message["to"] == ["hwf.referrals@example.org"]
    # The local stack names the campaign and placement from campaigns/, ids in brackets.
    from cchcc.site.campaigns import load_all
    from tests.conftest import PROJECT

    [library] = [p for c in load_all(PROJECT) for p in c.placements if p.id == "lg-library"]
    for body_text in (message["text"], message["html"]):
        assert "Lincoln Green health and care jobs (lincoln-green)" in body_text
        assert f"{library.name} (lg-library), {library.location}" in body_text

    # The human page shows the same message.
    status, headers, page = request(server.url("/_local/"))
    html = page.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<html lang="en">' in html and "<h1>" in html
    assert reference in html and "hwf.referrals@example.org" in html
    assert "Local stack only" in html and "dead-letter queue: 0 messages" in html


def test_given_invalid_json_then_422_names_the_fields_and_nothing_is_sent(server):
    before = len(server.outbox())
    status, _, body = request(
        server.url("/api/referrals"), json.dumps({"name": "", "postcode": "nope"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 422
    assert {"name", "postcode", "age", "consent"} <= set(json.loads(body)["errors"])
    time.sleep(0.5)
    assert len(server.outbox()) == before


def test_given_a_huge_body_then_413_without_reading_it_all(server):
    huge = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, _, _ = request(server.url("/api/referrals"), huge, {"Content-Type": "application/json"})
    assert status == 413


def test_cors_preflight_allows_only_the_site_origin(server):
    status, headers, _ = request(
        server.url("/api/referrals"),
        headers={
            "Origin": server.base,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        method="OPTIONS",
    )
    assert status in (200, 204)
    assert headers["Access-Control-Allow-Origin"] == server.base


# ------------------------------------------------------------------------ what an attacker tried (issue 13, 6 and 7)

@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/referrals"), ("DELETE", "/api/referrals"), ("PUT", "/api/referrals"), ("GET", "/api/"),
     ("POST", "/api/nothing/here"), ("PATCH", "/api/referrals/1")],
)
def test_unknown_routes_under_api_answer_404_as_api_gateway_does_never_500(server, method, path):
    from cchcc.local.template import Template

    # In AWS: the HTTP API has only the template's routes (no ANY, no $default), so these are
    # 404 {"message":"Not Found"} there too; CloudFront sends every /api/* path to it.
    routes = {(r.method, r.path) for r in Template.load(ROOT / "infra" / "template.yaml").routes()}
    assert (method, path) not in routes and not any(m == "ANY" or p == "$default" for m, p in routes)

    status, headers, body = request(server.url(path), b"{}" if method != "GET" else None,
                                    {"Content-Type": "application/json"}, method=method)
    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}


def test_a_nul_in_the_path_is_a_400_without_a_traceback_or_the_client_address(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    time.sleep(0.3)
    output = server.output()
    assert "Traceback" not in output
    assert not re.search(r"127\.0\.0\.1', \d+|\('127\.0\.0\.1", output)  # the client's (address, port)


def test_a_get_with_a_body_to_a_static_page_is_one_request(server):
    smuggled = b"GET /no/such/second/request HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(smuggled), smuggled))
        sock.settimeout(1.5)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    assert received.count(b"HTTP/1.1 ") == 1, received[:300]
    assert b"Local test site home" in received and b"Local test site 404" not in received


def test_fifty_simultaneous_posts_are_all_answered_none_reset(server):
    import threading

    results: list[object] = []
    barrier = threading.Barrier(50)

    def post() -> None:
        barrier.wait()
        try:  # an invalid form: answered 422 after the full trip through the intake, no token taken
            status, _, _ = request(server.url("/api/referrals"), b'{"name": ""}', {"Content-Type": "application/json"})
            results.append(status)
        except OSError as exc:
            results.append(exc)

    threads = [threading.Thread(target=post) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [422] * 50


def test_each_functions_log_lines_name_that_function(server):
    payload = {**PERSON, "postcode": "LS9 7AB", "age": 40, "consent": "yes", "submission_id": "servetest-logs-0001"}
    status, _, body = request(server.url("/api/referrals"), json.dumps(payload).encode(), {"Content-Type": "application/json"})
    assert status == 201
    server.wait_for_message(json.loads(body)["reference"])
    time.sleep(0.3)
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith('{"level"')]
    stored = [line for line in lines if line["message"] == "referral stored"]
    notified = [line for line in lines if line["message"] == "spoke notified"]
    assert stored and notified
    assert {line["service"] for line in stored} == {"intake"}
    assert {line["service"] for line in notified} == {"router"}


def test_the_reminders_run_on_demand_with_a_given_clock_once_a_day(server):
    """POST /_local/run/reminders?at= runs the scheduled function as its schedule would on that day:
    JSON counts back, the digests in the outbox with their kind, nothing new the second time."""
    from datetime import date, timedelta

    from hub.workdays import WorkingDays

    payload = {**PERSON, "postcode": "LS9 7AB", "age": 40, "consent": "yes", "submission_id": "servetest-remind-01"}
    status, _, body = request(server.url("/api/referrals"), json.dumps(payload).encode(), {"Content-Type": "application/json"})
    assert status == 201, body
    reference = json.loads(body)["reference"]
    message = server.wait_for_message(reference)
    assert message["kind"] == "notification" and "/api/outcomes/" in message["text"]
    day = date.today() + timedelta(days=60)
    while not WorkingDays().is_working_day(day):
        day += timedelta(days=1)
    at = f"{day.isoformat()}T09:00:00Z"

    status, headers, body = request(server.url(f"/_local/run/reminders?at={at}"), b"", method="POST")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    counts = json.loads(body)
    assert counts["day"] == day.isoformat() and counts["reminders_sent"] >= 1 and counts["escalations_sent"] == 1
    digests = [m for m in server.outbox() if m["kind"] in ("reminder", "escalation")]
    assert reference in next(m for m in digests if m["spoke"] == "cchcc")["text"]
    assert {m["kind"] for m in digests} == {"reminder", "escalation"}

    again = json.loads(request(server.url(f"/_local/run/reminders?at={at}"), b"", method="POST")[2])
    assert again["reminders_sent"] == again["escalations_sent"] == 0 and again["already_sent"] >= 2
    assert request(server.url("/_local/run/reminders?at=yesterday"), b"", method="POST")[0] == 400
    assert request(server.url("/_local/run/nothing"), b"", method="POST")[0] == 404
    assert "<dt>Kind</dt><dd>reminder</dd>" in request(server.url("/_local/"))[2].decode()


def test_the_link_key_rotates_on_the_running_stack_and_links_already_sent_keep_working(server):
    """`cchcc keys rotate`: a new key signs new links; the previous one still opens the old ones."""
    def link_for(submission_id: str) -> str:
        payload = {**PERSON, "postcode": "LS9 7AB", "age": 33, "consent": "yes", "submission_id": submission_id}
        status, _, body = request(server.url("/api/referrals"), json.dumps(payload).encode(), {"Content-Type": "application/json"})
        assert status == 201, body
        message = server.wait_for_message(json.loads(body)["reference"])
        return "/api/outcomes/" + message["text"].split("/api/outcomes/", 1)[1].split()[0]

    old = link_for("servetest-keys-0001")
    port = str(server.port)
    ensured = subprocess.run([CCHCC, "keys", "ensure", "--port", port], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ensured.returncode == 0 and "exists (left as it is)" in ensured.stdout, ensured.stderr
    rotated = subprocess.run([CCHCC, "keys", "rotate", "--port", port], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0 and "rotated" in rotated.stdout, rotated.stderr

    time.sleep(0.5)
    assert request(server.url(old))[0] == 200  # signed with what is now the previous key
    # The functions keep the keys for up to 5 minutes; a stack restarted after a rotation signs
    # with the new key at once. The old link's signature is not one the new key makes.
    from cchcc.local.state import StackState
    from hub.links import parse_keys
    from tests.conftest import PROJECT

    import boto3

    state = StackState.read(PROJECT, server.port)
    env = state.aws_environment()
    ssm = boto3.client("ssm", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    [link_key] = [n for n in state.extra["secure_parameters"].split(",") if "outcome-link" in n]
    keys = parse_keys(ssm.get_parameter(Name=link_key, WithDecryption=True)["Parameter"]["Value"], "local")
    assert len(keys) == 2
    for text in (rotated.stdout + rotated.stderr, ensured.stdout + ensured.stderr):
        assert all(key.decode() not in text for key in keys)  # never printed


# ------------------------------------------------------------------------ start-up and shutdown

def test_given_a_bad_programme_file_then_serve_exits_non_zero_naming_file_and_field(tmp_path):
    text = (ROOT / "programme.yml").read_text(encoding="utf-8")
    bad = tmp_path / "broken-programme.yml"
    bad.write_text(text.replace("priority: 2", "priority: high", 1), encoding="utf-8")
    proc, port, out, err = start(tmp_path, "--programme", str(bad))
    assert proc.wait(30) != 0
    message = err.read_text()
    assert str(bad) in message
    assert "spokes[1].priority" in message
    # Nothing was bound.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_sigint_stops_the_server_cleanly_and_its_output_holds_no_personal_data(server):
    # Runs last in this module (it stops the shared server).
    server.proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    assert server.proc.wait(10) == 0
    assert time.monotonic() - started < 5
    output = server.output()
    assert "received POST /api/referrals -> 303 reference=" in output
    for text in PERSONAL_STRINGS:
        assert text not in output, f"personal data {text!r} in the server output"


# ------------------------------------------------------------------------ webhooks, dead letters, redrive

class Sink:
    """A webhook receiver the test starts when it wants deliveries to succeed."""

    def __init__(self, port: int):
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_dead_letters_and_redrive_notify_each_spoke_once(tmp_path):
    """Given hwf's webhook at the local sink and cchcc's webhook down,
    when referrals arrive, then hwf's webhook shows in the outbox, cchcc's batch is
    dead-lettered after its retries, and `cchcc redrive` delivers it once, email not repeated."""
    port, sink_port = free_port(), free_port()
    text = (ROOT / "programme.yml").read_text(encoding="utf-8")
    local_sink = f"http://127.0.0.1:{port}/_local/webhooks/hwf"
    down = f"http://127.0.0.1:{sink_port}/hook"
    text = text.replace(
        "    priority: 1\n",
        f"    priority: 1\n    webhook:\n      url: {down}\n      secret_env: CCHCC_WEBHOOK_SECRET\n", 1,
    ).replace(
        "    priority: 2\n",
        f"    priority: 2\n    webhook:\n      url: {local_sink}\n      secret_env: HWF_WEBHOOK_SECRET\n", 1,
    )
    programme = tmp_path / "programme-webhooks.yml"
    programme.write_text(text, encoding="utf-8")
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_WEBHOOK_SECRET")}
    proc = subprocess.Popen(
        [CCHCC, "serve", "--port", str(port), "--programme", str(programme), "--site-dir", str(tmp_path / "none")],
        cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out.open("w"), stderr=err.open("w"),
    )
    served = Server(proc, port, out, err)
    sink = None
    try:
        served.wait_until_answering()

        def post(payload):
            status, _, body = request(
                served.url("/api/referrals"), json.dumps(payload).encode(), {"Content-Type": "application/json"}
            )
            assert status == 201, body
            return json.loads(body)["reference"]

        young = post({**PERSON, "postcode": "LS12 3AB", "age": 20, "consent": "yes"})
        local = post({**PERSON, "postcode": "LS9 7AB", "age": 40, "consent": "yes"})

        # hwf: email and a webhook to the local sink, both in the outbox.
        deadline = time.monotonic() + 20
        while len([m for m in served.outbox() if m["reference"] == young]) < 2:
            assert time.monotonic() < deadline, served.output()[-3000:]
            time.sleep(0.1)
        [hook] = [m for m in served.outbox() if m["reference"] == young and m["channel"] == "webhook"]
        assert hook["to"] == [local_sink] and hook["spoke"] == "hwf"

        # cchcc: the email goes, the webhook cannot; after the retries the batch is dead-lettered.
        deadline = time.monotonic() + 30
        while "dead-letter queue: 1 message waiting" not in request(served.url("/_local/"))[2].decode():
            assert time.monotonic() < deadline, served.output()[-3000:]
            time.sleep(0.2)
        emails = [m for m in served.outbox() if m["reference"] == local and m["channel"] == "email"]
        # The spoke's email and the resident's confirmation went; only the webhook is retried.
        assert [(m["spoke"], m["kind"]) for m in emails] == [("cchcc", "notification"), (None, "confirmation")]

        sink = Sink(sink_port)
        redrive = subprocess.run(
            [CCHCC, "redrive", "--port", str(port)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert redrive.returncode == 0, redrive.stdout + redrive.stderr
        assert local in redrive.stdout and "1 deleted" in redrive.stdout
        assert [h["reference"] for h in sink.received] == [local]
        emails = [m["kind"] for m in served.outbox() if m["reference"] == local and m["channel"] == "email"]
        assert emails == ["notification", "confirmation"]  # neither repeated by the retries or the redrive
        assert "dead-letter queue: 0 messages" in request(served.url("/_local/"))[2].decode()

        # Again: nothing left, nothing sent twice.
        again = subprocess.run(
            [CCHCC, "redrive", "--port", str(port)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 0 and "0 referral(s) routed" in again.stdout
        assert len(sink.received) == 1
        for text in PERSONAL_STRINGS:
            assert text not in redrive.stdout + redrive.stderr + served.output()
    finally:
        if sink is not None:
            sink.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_with_faults_injected_every_referral_still_reaches_its_spoke_once(tmp_path):
    """`cchcc serve --faults ses=0.5`: half the emails are throttled; the retries (and redrive for
    any batch that ran out of them) still get each referral to its spoke, once."""
    proc, port, out, err = start(tmp_path, "--site-dir", str(tmp_path / "none"), "--faults", "ses=0.5")
    served = Server(proc, port, out, err)
    try:
        served.wait_until_answering()
        assert "fault: SES refuses the email (throttling), 50% of the time" in served.output()
        references = []
        for n in range(6):
            payload = {**PERSON, "postcode": "LS9 7AB", "age": 30 + n, "consent": "yes", "submission_id": f"faults-{n:06d}"}
            status, _, body = request(served.url("/api/referrals"), json.dumps(payload).encode(),
                                      {"Content-Type": "application/json"})
            assert status == 201
            references.append(json.loads(body)["reference"])

        deadline = time.monotonic() + 90
        while not set(references) <= {m["reference"] for m in served.outbox() if m["kind"] == "notification"}:
            assert time.monotonic() < deadline, served.output()[-3000:]
            if "dead-letter queue: 0 messages" not in request(served.url("/_local/"))[2].decode():
                # A batch ran out of retries: route what is left, as the data controller would.
                redrive = subprocess.run([CCHCC, "redrive", "--port", str(port)], cwd=ROOT, capture_output=True,
                                         text=True, timeout=120)
                assert redrive.returncode == 0, redrive.stdout + redrive.stderr
            time.sleep(0.3)
        time.sleep(1.0)  # anything still being retried would show up now
        sent = [m["reference"] for m in served.outbox() if m["kind"] == "notification"]
        assert sorted(sent) == sorted(references)  # each once: none lost, none twice
        confirmed = [m["reference"] for m in served.outbox() if m["kind"] == "confirmation"]
        assert len(confirmed) == len(set(confirmed))  # a resident is never confirmed twice either
        assert "message not sent" in served.output()  # the faults did happen
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
