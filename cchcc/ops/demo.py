"""``cchcc demo``: synthetic residents through the real endpoints of a running local stack.

Nothing is written to the table directly: poster scans are ``GET /q/<id>/``, referrals are
``POST /api/referrals`` (JSON), and what the spokes record goes through the outcome links
the notifications carry (read from ``/_local/outbox``), as a spoke clicking them would.

Shape: the pilot's (563 referred, 152 engaged, 116 with more than one spoke, 66 conditional
offers, 49 qualified), scaled to ``--referrals``. Statuses are recorded the way spokes do:
some steps skipped (an ``offer`` with no ``engaged`` before it), some people never reached.

Synthetic beyond doubt: "Test Resident 17", ``test-resident-17@example.com``, Ofcom's drama
numbers (07700 900000 to 900999). Each resident sends from an address of their own, as each
has their own phone: a loopback address of their own (``127.0.<n // 250 + 1>.<n % 250 + 1>``;
all of 127.0.0.0/8 is this computer), which the local stack, as CloudFront does, passes on
as the viewer's address, so the rate limit (hub.limits) sees one client per resident, as in
production. A ``429`` is waited out as its ``Retry-After`` says.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from cchcc.project import Project

PILOT = {"referred": 563, "engaged": 152, "multi_spoke": 116, "offer": 66, "qualified": 49}
# final stage -> share of referrals (the pilot's, with contacted/supported/started work filled in between)
SHAPE = (
    ("qualified", 49), ("started-work", 6), ("offer", 11), ("supported", 54), ("engaged", 32),
    ("contacted", 148), ("not-reached", 100), (None, 163),
)
STEPS = ("contacted", "engaged", "supported", "offer", "started-work", "qualified")
SUPPORT = ("volunteering", "work-experience", "pre-employment", "training")
# postcodes by district (the sample programme's target sectors are LS9 6, LS9 7 and LS8 5)
POSTCODES = {
    "LS9": ("LS9 7AB", "LS9 6QT", "LS9 7HD", "LS9 8EQ", "LS9 0NS"),
    "LS8": ("LS8 5BE", "LS8 5HN", "LS8 3QP", "LS8 2JT"),
    "LS7": ("LS7 3EJ", "LS7 1AB"), "LS11": ("LS11 6DD",), "LS12": ("LS12 3AB",), "LS14": ("LS14 1HA",),
    "BD1": ("BD1 1AA",),  # outside Leeds: the hub's triage
}
DISTRICT_WEIGHTS = {"LS9": 40, "LS8": 25, "LS7": 8, "LS11": 6, "LS12": 6, "LS14": 10, "BD1": 5}
_LINK = re.compile(r"https?://[^\s\"'<>]+/api/outcomes/[A-Za-z0-9._~-]+")
OTHER_SPOKE = {"cchcc": "lcc-employment-skills", "hwf": "lcc-employment-skills", "lcc-employment-skills": "cchcc"}


class DemoError(Exception):
    """The demo cannot run (no local stack, say); the message says what to do."""


@dataclass
class Resident:
    number: int
    campaign: str
    placement: str | None
    event: str | None
    postcode: str
    age: int
    channel: str
    final: str | None
    multi: bool
    skip: bool  # records only the final status (the spoke skipped the steps)
    reference: str = ""

    def answers(self) -> dict[str, Any]:
        n = self.number
        answers: dict[str, Any] = {
            "name": f"Test Resident {n}", "postcode": self.postcode, "age": self.age, "consent": "yes",
            "interests": ["caring"], "campaign": self.campaign, "channel": self.channel,
            "submission_id": f"demo{secrets.token_hex(8)}", "website": "",
        }
        if n % 4 != 3:
            answers["email"] = f"test-resident-{n}@example.com"
        if n % 4 != 0:
            answers["phone"] = f"07700 900{n % 1000:03d}"
        if self.placement:
            answers["source"] = self.placement
        if self.event:
            answers["event"] = self.event
        return answers


def plan(count: int, catalogue: dict[str, Any], rng: random.Random) -> list[Resident]:
    """Who the residents are and how far each gets, in the pilot's proportions."""
    placements = sorted(catalogue.get("placements", {}).items())
    events = sorted(catalogue.get("events", {}))
    if not placements:
        raise DemoError("the stack's campaign catalogue has no placements: build the site (`make build`) and restart `make serve`")
    total = sum(n for _, n in SHAPE)
    finals: list[str | None] = []
    for stage, n in SHAPE:
        finals += [stage] * round(n * count / total)
    finals = (finals + [None] * count)[:count]
    rng.shuffle(finals)
    reached = [i for i, f in enumerate(finals) if f not in (None, "not-reached")]
    multi = set(rng.sample(reached, min(len(reached), round(PILOT["multi_spoke"] * count / PILOT["referred"]))))
    residents = []
    districts, weights = zip(*DISTRICT_WEIGHTS.items())
    for i in range(count):
        placement_id, placement = placements[rng.randrange(len(placements))] if rng.random() < 0.85 else (None, None)
        campaign = placement["campaign"] if placement else sorted(catalogue["campaigns"])[i % len(catalogue["campaigns"])]
        event = events[i % len(events)] if events and rng.random() < 0.08 else None
        if event:  # signed up on the event's page, reached from the event's own poster
            placement_id, campaign = None, catalogue["events"][event]["campaign"]
        district = rng.choices(districts, weights)[0]
        residents.append(Resident(
            number=i + 1, campaign=campaign, placement=placement_id, event=event,
            postcode=rng.choice(POSTCODES[district]), age=rng.choice((17, 19, 22, 24, 28, 33, 38, 45, 52, 58)),
            channel="assisted" if rng.random() < 0.2 else "web", final=finals[i], multi=i in multi,
            skip=rng.random() < 0.3,
        ))
    return residents


class Client:
    """HTTP to the local stack, each resident from their own loopback address; 429s waited out."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.waited = 0.0

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
                edge: int = 0) -> tuple[int, bytes]:
        """``edge``: whose request it is (resident number): they send from their own loopback address."""
        source = f"127.0.{edge // 250 + 1}.{edge % 250 + 1}" if self.host == "127.0.0.1" else ""
        for _ in range(20):
            connection = http.client.HTTPConnection(self.host, self.port, timeout=60,
                                                    source_address=(source, 0) if source else None)
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                payload = response.read()
                status, retry = response.status, response.getheader("Retry-After")
            except OSError as exc:
                raise DemoError(f"the local stack stopped answering ({type(exc).__name__})") from exc
            finally:
                connection.close()
            if status in (429, 503) and retry and retry.isdigit():
                print(f"cchcc demo: {status} from {path.split('?')[0]}: waiting {retry} s as Retry-After says", flush=True)
                time.sleep(int(retry))
                self.waited += int(retry)
                continue
            return status, payload
        return status, payload


@dataclass
class Progress:
    scans: int = 0
    referrals: int = 0
    statuses: int = 0
    referred_on: int = 0
    problems: list[str] = field(default_factory=list)


def _outbox(client: Client, since: int) -> list[dict[str, Any]]:
    status, body = client.request("GET", f"/_local/outbox?since={since}")
    if status != 200:
        raise DemoError(f"/_local/outbox answered {status}")
    return json.loads(body)


def run(project: Project, *, port: int, referrals: int, seed: int = 17, out=sys.stdout) -> int:
    from cchcc.local.state import StackState

    state = StackState.read(project, port)
    if state is None:
        raise DemoError(f"no local stack is running on port {port}: start it with `make serve` (or `cchcc serve --port {port}`)")
    if not state.campaigns_file:
        raise DemoError("the local stack has no campaign catalogue: build the site (`make build`) and restart it")
    with open(state.campaigns_file, encoding="utf-8") as handle:
        catalogue = json.load(handle)
    rng = random.Random(seed)
    residents = plan(referrals, catalogue, rng)
    client = Client(state.url)
    progress = Progress()
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"cchcc demo: {text}", file=out, flush=True)

    say(f"{referrals} synthetic residents to {state.url} (Test Resident 1 to {referrals}, @example.com, 07700 900xxx)")
    start_outbox = len(_outbox(client, 0))

    # 1. scans: every resident who came from a poster scanned it (some scanned and went no further)
    scans = [r.placement or r.event for r in residents if r.placement or r.event]
    scans += [rng.choice(scans) for _ in range(len(scans) * 3)] if scans else []

    def scan(job: tuple[int, str]) -> None:
        index, placement = job
        status, _ = client.request("GET", f"/q/{placement}/", headers={"User-Agent": "Mozilla/5.0 (Linux; Android 10) cchcc-demo"}, edge=index)
        if status in (301, 302, 200):
            progress.scans += 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(scan, enumerate(scans)))
    say(f"{progress.scans} poster scans (GET /q/<placement>/)")

    # 2. referrals
    def refer(resident: Resident) -> None:
        body = json.dumps(resident.answers()).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        status, payload = client.request("POST", "/api/referrals", body=body, headers=headers, edge=resident.number)
        if status in (200, 201):
            resident.reference = json.loads(payload)["reference"]
            progress.referrals += 1
        else:
            progress.problems.append(f"referral of Test Resident {resident.number}: {status}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        for done, _ in enumerate(pool.map(refer, residents), start=1):
            if done % 100 == 0:
                say(f"{done} referrals sent")
    say(f"{progress.referrals} referrals stored (POST /api/referrals)")

    # 3. the spokes' links, as their notifications arrive
    by_reference = {r.reference: r for r in residents if r.reference}
    links: dict[str, tuple[str, str]] = {}  # reference -> (spoke, outcome URL path)
    deadline = time.monotonic() + max(60, referrals * 0.5)
    seen = start_outbox
    while len(links) < len(by_reference) and time.monotonic() < deadline:
        messages = _outbox(client, seen)
        seen += len(messages)
        for message in messages:
            reference, spoke = message.get("reference"), message.get("spoke")
            if reference in by_reference and spoke and reference not in links:
                found = _LINK.search(message.get("text") or "")
                if found:
                    links[reference] = (spoke, urlsplit(found.group(0)).path)
        if len(links) < len(by_reference):
            time.sleep(0.5)
    say(f"{len(links)} referrals routed and notified (links read from /_local/outbox)")
    if len(links) < len(by_reference):
        progress.problems.append(f"{len(by_reference) - len(links)} referral(s) not notified in time")

    # 4. what the spokes record
    def post(path: str, fields: dict[str, str], edge: int) -> bool:
        fields = {**fields, "submission_id": f"demo{secrets.token_hex(8)}"}
        status, _ = client.request("POST", path, body=urlencode(fields).encode("ascii"), edge=edge, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        return status in (200, 303)

    def record(item: tuple[str, tuple[str, str]]) -> None:
        reference, (spoke, path) = item
        resident = by_reference[reference]
        if spoke == "hub" or resident.final is None:
            return
        if resident.final == "not-reached":
            steps = ["not-reached"]
        else:
            steps = list(STEPS[: STEPS.index(resident.final) + 1])
            if resident.skip and len(steps) > 2:
                steps = [steps[0], steps[-1]]  # e.g. contacted, then an offer with nothing between
        for status in steps:
            fields = {"status": status, **({"support": SUPPORT[resident.number % len(SUPPORT)]} if status == "supported" else {})}
            if post(path, fields, resident.number):
                progress.statuses += 1
            else:
                progress.problems.append(f"{status} for {reference}")
        if resident.multi and spoke in OTHER_SPOKE:
            if post(path, {"refer_to": OTHER_SPOKE[spoke]}, resident.number):
                progress.referred_on += 1

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(record, sorted(links.items())))
    say(f"{progress.statuses} statuses recorded and {progress.referred_on} people referred on to a second spoke "
        "(through the outcome links)")
    if client.waited:
        say(f"waited {client.waited:.0f} s in all for the rate limit (429 Retry-After)")
    for problem in progress.problems[:10]:
        say(f"problem: {problem}")
    say(f"done in {time.monotonic() - started:.0f} s. Look at {state.url}/_local/report/ "
        f"(and {state.url}/_local/report.json, {state.url}/_local/ for the messages), "
        f"or run `.venv/bin/cchcc report --port {port}` for the files.")
    return 1 if progress.problems else 0
