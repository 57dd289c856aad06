"""After-the-referral benchmarks: outcome posts, referring on, and the reminders over many open assignments.

1. **Outcome POST -> stored**, on the local stack (``cchcc serve``): a spoke's JSON post of a
   status through its outcome link. The answer comes after the one conditional write, so its
   round trip is the time to store. Median and p90, against a trivial GET to the same
   server (the intake benchmark's baseline).
2. **Refer on -> second spoke notified**: from sending the post until the second spoke's
   ``referred-on`` message is in ``/_local/outbox`` (outcomes function, the table's stream,
   the router, SES). Median and p90, against submit -> first spoke notified measured in the
   same run (the same pipeline, one step longer).
3. **Reminders over 10,000 open assignments**: the reminders' run against moto in-process,
   with 10,000 assignments awaiting their spokes among 30,000 items (referrals, answered
   assignments). Reported: the DynamoDB reads (calls, items, read units by DynamoDB's rule:
   4 KB per unit per page, half for eventually consistent reads) against a baseline of one
   full table scan per spoke (what a run without the ``awaiting`` index would read), and the
   run's time against that baseline's time on the same emulator (moto's speed is not
   DynamoDB's; the read figures are the point: DynamoDB bills and throttles by them).

    python -m bench outcomes            # or: python -m bench.outcomes
"""

from __future__ import annotations

import json
import os
import statistics
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from bench.intake import ROOT, _get, _percentile, _post_json
from bench.stack import running

POSTS = 20
OPEN_ASSIGNMENTS = 10_000
SPOKES = ("cchcc", "hwf", "lcc-employment-skills")


def _ms(values: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(values) * 1000, 1), "p90_ms": round(_percentile(values, 0.9) * 1000, 1)}


def _outbox(base: str) -> list[dict[str, Any]]:
    return json.loads(_get(base + "/_local/outbox"))


def _wait(base: str, predicate, started: float, what: str) -> float:
    while True:
        if any(predicate(m) for m in _outbox(base)):
            return time.perf_counter() - started
        if time.perf_counter() - started > 30:
            raise RuntimeError(f"no {what} after 30 s")
        time.sleep(0.005)


def on_the_local_stack(posts: int = POSTS) -> dict[str, Any]:
    with running() as stack:
        base = stack.base
        baseline = []
        for _ in range(50):
            started = time.perf_counter()
            _get(base + "/")
            baseline.append(time.perf_counter() - started)

        notified, links = [], []
        for n in range(posts):
            payload = {"name": f"Bench Person {n}", "phone": "07700 900123", "postcode": "LS9 7AB", "age": 30,
                       "consent": "yes", "submission_id": f"bench-outcomes-{os.getpid()}-{n:04d}"}
            started = time.perf_counter()
            reference = _post_json(base + "/api/referrals", payload)["reference"]
            notified.append(_wait(base, lambda m: m.get("reference") == reference and m.get("kind") == "notification",
                                  started, "notification"))
            [message] = [m for m in _outbox(base) if m.get("reference") == reference and m.get("kind") == "notification"]
            path = "/api/outcomes/" + message["text"].split("/api/outcomes/", 1)[1].split()[0]
            links.append((reference, path))

        # Warm-up: the outcomes function's cold start (and its first read of the key) is not a post's cost.
        with urllib.request.urlopen(urllib.request.Request(base + links[0][1], headers={"Accept": "application/json"}), timeout=10):
            pass
        stored = []
        for reference, path in links:
            started = time.perf_counter()
            answer = _post_json(base + path, {"status": "contacted"})
            stored.append(time.perf_counter() - started)
            assert answer["status"] == "contacted", answer
        for reference, path in links[:3]:  # what the POST answered is what a reader sees
            request = urllib.request.Request(base + path, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read())["status"] == "contacted"

        referred = []
        for reference, path in links:
            started = time.perf_counter()
            _post_json(base + path, {"refer_to": "hwf"})
            referred.append(_wait(base, lambda m: m.get("reference") == reference and m.get("kind") == "referred-on",
                                  started, "referred-on message"))
    base_ms = statistics.median(baseline) * 1000
    post, onward, first = _ms(stored), _ms(referred), _ms(notified)
    return {
        "posts": posts,
        "baseline_get_median_ms": round(base_ms, 2),
        "outcome_post_stored": {**post, "over_get": round(post["median_ms"] / base_ms, 1)},
        "submit_to_notified": first,
        "refer_on_to_notified": {**onward, "over_submit_to_notified": round(onward["median_ms"] / first["median_ms"], 2)},
    }


# ------------------------------------------------------------------ reminders over many

def _size(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it (close enough for read units)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return len(inner) // 2 + 1
    if kind == "L":
        return 3 + sum(_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k) + _size(v) + 1 for k, v in inner.items())
    return len(str(inner))


def _units(items: list[dict[str, Any]], consistent: bool) -> float:
    size = sum(sum(len(k) + _size(v) for k, v in item.items()) for item in items)
    units = max(1, -(-size // 4096))
    return units if consistent else units / 2


class CountingClient:
    """A boto3 DynamoDB client that counts what each read returns."""

    def __init__(self, client: Any):
        self._client = client
        self.calls: dict[str, int] = {}
        self.items = 0
        self.units = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in ("query", "scan", "get_item"):
            return method

        def counted(**kwargs: Any) -> Any:
            response = method(**kwargs)
            self.calls[name] = self.calls.get(name, 0) + 1
            found = response.get("Items") or ([response["Item"]] if "Item" in response else [])
            self.items += len(found)
            self.units += _units(found, bool(kwargs.get("ConsistentRead")))
            return response

        return counted

    def scan_all(self, table: str) -> None:
        """Read the whole table, page after page (the baseline a query is compared with)."""
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = self.scan(**kwargs)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class _Capture:
    """Collects the items hub.storage would write (so the seeded items have its exact shape)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, *, TableName: str, Item: dict[str, Any], **_: Any) -> dict:
        self.items.append(Item)
        return {}


class _Email:
    channel = "email"

    def __init__(self) -> None:
        self.sent = 0

    def send(self, notification: Any) -> str:
        self.sent += 1
        return "bench"


def _reference(n: int) -> str:
    """A valid reference, the ``n``-th (base 23 in the references' alphabet)."""
    from hub.references import ALPHABET

    digits = ""
    for _ in range(4):
        n, d = divmod(n, len(ALPHABET))
        digits += ALPHABET[d]
    return f"{digits}-ACDE"


def reminders_over_open(open_assignments: int = OPEN_ASSIGNMENTS) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from cchcc.local.template import Template, create_table
    from hub.config import load_programme
    from hub.links import OutcomeLinks, StaticKeys
    from hub.models import Assignment, Referral
    from hub.reminders import Reminders
    from hub.storage import DynamoReferralStore

    programme = load_programme(ROOT / "programme.yml")
    capture = _Capture()
    writer = DynamoReferralStore("bench", client=capture)
    asked = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    for n in range(open_assignments):
        referral = Referral(name="Bench Person", postcode="LS9 7AB", age=30, reference=_reference(n),
                            created_at=asked, expires_at=2_000_000_000)
        spoke = SPOKES[n % len(SPOKES)]
        writer.put_assignment(referral, Assignment(spoke=spoke, role="notify", rule="r", reason="bench", priority=1))
        writer.put_assignment(referral, Assignment(spoke=SPOKES[(n + 1) % 3], role="eligible", rule="r", reason="b", priority=2))
        capture.items.append({"pk": {"S": f"REF#{referral.reference}"}, "sk": {"S": "REFERRAL"},
                              "type": {"S": "referral"}, "reference": {"S": referral.reference}})
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="eu-west-2")
        create_table(raw, Template.load(ROOT / "infra" / "template.yaml"), "bench")
        started = time.perf_counter()
        for k in range(0, len(capture.items), 25):
            raw.batch_write_item(RequestItems={"bench": [{"PutRequest": {"Item": i}} for i in capture.items[k:k + 25]]})
        seeded = time.perf_counter() - started
        table_items = len(capture.items)

        client = CountingClient(raw)
        email = _Email()
        links = OutcomeLinks(StaticKeys((b"k" * 43,)), "https://cchcc.example.org", programme.outcome_link_days)
        reminders = Reminders(DynamoReferralStore("bench", client=client), email, programme, links)
        started = time.perf_counter()
        result = reminders.run(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))  # a Monday, eight weeks on
        run_s = time.perf_counter() - started

        scanner = CountingClient(raw)
        started = time.perf_counter()
        scanner.scan_all("bench")
        scan_s = time.perf_counter() - started
    recipients = len(programme.spokes) + 1  # each spoke and the hub
    return {
        "open_assignments": open_assignments,
        "table_items": table_items,
        "seed_s": round(seeded, 1),
        "digests_sent": email.sent,
        "overdue": result.overdue,
        "run": {"seconds": round(run_s, 2), "calls": client.calls, "items_read": client.items,
                "read_units": client.units},
        "baseline_scan_per_recipient": {
            "seconds": round(scan_s * recipients, 2), "calls": scanner.calls.get("scan", 0) * recipients,
            "items_read": scanner.items * recipients, "read_units": scanner.units * recipients,
        },
        "read_units_ratio": round(client.units / (scanner.units * recipients), 3),
        "time_ratio": round(run_s / (scan_s * recipients), 2),
    }


def run() -> dict[str, Any]:
    return {"local_stack": on_the_local_stack(), "reminders": reminders_over_open()}


def report(result: dict[str, Any]) -> str:
    s, r = result["local_stack"], result["reminders"]
    post, onward, first = s["outcome_post_stored"], s["refer_on_to_notified"], s["submit_to_notified"]
    b = r["baseline_scan_per_recipient"]
    return "\n".join([
        f"on the local stack ({s['posts']} referrals):",
        f"  baseline: trivial GET median          {s['baseline_get_median_ms']:8.2f} ms",
        f"  outcome POST -> stored   median      {post['median_ms']:8.1f} ms  p90 {post['p90_ms']:.1f} ms"
        f"  ({post['over_get']} x the GET)",
        f"  submit -> first spoke notified median {first['median_ms']:8.1f} ms  p90 {first['p90_ms']:.1f} ms",
        f"  refer on -> next spoke notified median {onward['median_ms']:7.1f} ms  p90 {onward['p90_ms']:.1f} ms"
        f"  ({onward['over_submit_to_notified']} x submit -> notified)",
        f"reminders over {r['open_assignments']:,} open assignments ({r['table_items']:,} items; moto in-process):",
        f"  run: {r['run']['seconds']} s, {r['run']['calls']} calls, {r['run']['items_read']:,} items read, "
        f"{r['run']['read_units']:.1f} read units; {r['digests_sent']} digests for {r['overdue']:,} overdue",
        f"  baseline, a full scan per recipient: {b['seconds']} s, {b['calls']} calls, {b['items_read']:,} items, "
        f"{b['read_units']:.1f} read units",
        f"  read units {r['read_units_ratio']} x the baseline; time {r['time_ratio']} x the baseline (both on moto)",
    ])


if __name__ == "__main__":
    print(report(run()))
