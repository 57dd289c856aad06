"""Load on the local stack: a surge of submissions, routing as the table grows, memory.

1. **Surge.** 500 JSON submissions from 50 concurrent clients to ``cchcc serve
   --instances 4`` (Lambda would run several intake environments at once): connection
   errors (must be 0), POST p50/p95, submit-to-notified p50/p95 (a watcher reads
   ``/_local/outbox?since=N``), referrals stored (500) and notifications per referral
   (exactly 1 each).
2. **Routing cost against table size.** The table is preloaded with 1,000 and then
   10,000 routed referrals shaped as the hub stores them (referral, three assignments,
   three events each); then 60 referrals are sent one at a time and the median
   submit-to-notified is taken. The ratio 10,000 / 1,000 should be about 1 (flat).
3. **Memory.** The stack process's resident memory before and after the preloads and
   the surge, per 1,000 referrals held.
4. **Why routing slowed.** moto in this process: one table query's cost with 1,000 and
   10,000 referrals in the table, then with the local stack's partition fix
   (``cchcc.local.aws.query_partitions_only``).

    python -m bench load
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench.stack import running

SURGE = 500
CONCURRENCY = 50
SEQUENTIAL = 60
ENV = {"RATE_LIMIT_BURST": "100000", "POWERTOOLS_LOG_LEVEL": "WARNING"}
_POSTCODES = ["LS9 7AB", "LS12 3AB", "LS8 5QR", "LS6 2AB", "M1 1AE"]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class Watcher:
    """Notes when each reference's spoke notification first appears in the outbox, and how many
    notifications it had (the resident's confirmation and other kinds are not counted)."""

    def __init__(self, stack):
        self.stack = stack
        self.seen: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self._n = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                new = json.loads(self.stack.get(f"/_local/outbox?since={self._n}"))
            except OSError:
                new = []
            now = time.perf_counter()
            self._n += len(new)
            for message in new:
                reference = message.get("reference")
                if reference and message.get("kind", "notification") == "notification":
                    self.seen.setdefault(reference, now)
                    self.count[reference] = self.count.get(reference, 0) + 1
            self._stop.wait(0.05)

    def wait_for(self, references: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not references <= set(self.seen) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _payload(n: int, tag: str) -> bytes:
    return json.dumps({
        "name": f"Load Resident {n}", "email": f"load{n}@example.com", "postcode": _POSTCODES[n % len(_POSTCODES)],
        "age": 19 + n % 40, "consent": "yes", "submission_id": f"load-{tag}-{n:06d}",
    }).encode()


def _post(base: str, body: bytes) -> tuple[int, str | None, float]:
    started = time.perf_counter()
    request = urllib.request.Request(base + "/api/referrals", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            status, answer = resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, {}
    return status, answer.get("reference"), started


def preload(stack, referrals: int, start: int) -> None:
    """Routed referrals as the hub stores them, written in batches straight into the table."""
    client, table = stack.table()
    items = []
    for n in range(start, start + referrals):
        reference = f"P{n:07d}"
        pk = {"S": f"REF#{reference}"}
        items.append({"pk": pk, "sk": {"S": "REFERRAL"}, "type": {"S": "referral"}, "reference": {"S": reference},
                      "name": {"S": f"Preloaded Resident {n}"}, "email": {"S": f"pre{n}@example.com"},
                      "postcode": {"S": "LS12 3AB"}, "age": {"N": "40"}, "status": {"S": "routed"},
                      "created_at": {"S": "2026-01-01T09:00:00.000Z"}, "consent": {"BOOL": True}})
        for spoke, role in (("lcc-employment-skills", "notify"), ("hwf", "eligible"), ("cchcc", "eligible")):
            items.append({"pk": pk, "sk": {"S": f"ASSIGN#{spoke}"}, "type": {"S": "assignment"}, "role": {"S": role},
                          "reference": {"S": reference}, "gsi1pk": {"S": f"SPOKE#{spoke}"},
                          "gsi1sk": {"S": f"2026-01-01T09:00:00.000Z#{reference}"}})
        for event in ("received", "notified", "routed"):
            items.append({"pk": pk, "sk": {"S": f"EVENT#2026-01-01T09:00:00.000Z#{event}"}, "type": {"S": "event"},
                          "event": {"S": event}, "reference": {"S": reference}, "at": {"S": "2026-01-01T09:00:00.000Z"}})
    for i in range(0, len(items), 25):
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[i:i + 25]]})


def _drained(stack, watcher: Watcher, tag: str) -> None:
    """Wait until the router has read past the preload (a marker referral is notified)."""
    status, reference, _ = _post(stack.base, _payload(0, f"marker-{tag}"))
    assert status == 201, status
    watcher.wait_for({reference}, timeout=900)


def sequential(stack, watcher: Watcher, tag: str) -> float:
    times = []
    for n in range(SEQUENTIAL):
        status, reference, started = _post(stack.base, _payload(n, tag))
        assert status == 201, status
        watcher.wait_for({reference}, timeout=60)
        times.append(watcher.seen[reference] - started)
    return statistics.median(times[5:])  # the first few pay the workers' first calls


def run() -> dict:
    result: dict = {}
    result["query_cost"] = query_cost()
    with running("--instances", "4", env=ENV) as stack:
        watcher = Watcher(stack)
        try:
            rss_start = stack.rss_kb()
            # 2. routing cost against table size
            preload(stack, 1_000, 0)
            _drained(stack, watcher, "1k")
            at_1k = sequential(stack, watcher, "seq1k")
            rss_1k = stack.rss_kb()
            preload(stack, 9_000, 1_000)
            _drained(stack, watcher, "10k")
            at_10k = sequential(stack, watcher, "seq10k")
            rss_10k = stack.rss_kb()
            result["routing_vs_table_size"] = {
                "preloaded_1000_median_ms": _ms(at_1k), "preloaded_10000_median_ms": _ms(at_10k),
                "ratio_10000_over_1000": round(at_10k / at_1k, 2), "submissions_each": SEQUENTIAL,
            }
            # 1. surge
            bodies = [_payload(n, "surge") for n in range(SURGE)]
            errors: list[str] = []

            def one(body: bytes):
                try:
                    return _post(stack.base, body)
                except OSError as exc:
                    errors.append(type(exc).__name__)
                    return None

            surge_started = time.perf_counter()
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                answers = [a for a in pool.map(one, bodies) if a is not None]
            posted = time.perf_counter()
            references = {ref for status, ref, _ in answers if status == 201 and ref}
            watcher.wait_for(references, timeout=900)
            notified = [watcher.seen[ref] - started for status, ref, started in answers if ref in watcher.seen]
            client, table = stack.table()
            stored = 0
            kwargs = {"TableName": table, "FilterExpression": "begins_with(submission_id, :s)",
                      "ExpressionAttributeValues": {":s": {"S": "load-surge-"}}, "Select": "COUNT"}
            while True:
                page = client.scan(**kwargs)
                stored += page["Count"]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            counts = [watcher.count.get(ref, 0) for ref in references]
            result["surge"] = {
                "submissions": SURGE, "concurrency": CONCURRENCY, "connection_errors": len(errors),
                "answered_201": sum(1 for a in answers if a[0] == 201), "stored": stored,
                "answered_other": sorted(str(a[0]) for a in answers if a[0] != 201),
                "notified_once": sum(1 for c in counts if c == 1), "notified_more_than_once": sum(1 for c in counts if c > 1),
                "seconds_to_post_all": round(posted - surge_started, 1),
                "submit_to_notified_p50_ms": _ms(_percentile(notified, 0.5)),
                "submit_to_notified_p95_ms": _ms(_percentile(notified, 0.95)),
            }
            result["surge"].update(_post_latencies(answers, stack))
            rss_end = stack.rss_kb()
            held = 10_000 + 2 + 2 * SEQUENTIAL + SURGE
            result["memory"] = {
                "stack_rss_start_mb": round(rss_start / 1024), "after_1000_mb": round(rss_1k / 1024),
                "after_10000_mb": round(rss_10k / 1024), "at_end_mb": round(rss_end / 1024), "referrals_held": held,
                "per_1000_referrals_mb": round((rss_10k - rss_1k) / 1024 / 9, 1),
                "function_workers_rss_mb": round(stack.workers_rss_kb() / 1024),
            }
        finally:
            watcher.stop()
    return result


def _post_latencies(answers, stack) -> dict:
    """POST round trips measured alone at the same concurrency (no outbox polling in between)."""
    timings: list[float] = []
    others: dict[str, int] = {}

    def timed(n: int) -> None:
        started = time.perf_counter()
        status, _, _ = _post(stack.base, _payload(n, "latency"))
        if status == 201:
            timings.append(time.perf_counter() - started)
        else:
            others[str(status)] = others.get(str(status), 0) + 1

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(timed, range(200)))
    return {"post_p50_ms": _ms(_percentile(timings, 0.5)), "post_p95_ms": _ms(_percentile(timings, 0.95)),
            "post_latency_sample": len(timings), "post_latency_not_201": others}


def query_cost(queries: int = 30) -> dict:
    """What one table query costs moto as the table grows, without and with the partition fix."""
    import os

    import boto3
    from moto import mock_aws

    from bench.stack import ROOT
    from cchcc.local.aws import query_partitions_only
    from cchcc.local.template import Template, create_table

    for key, value in {"AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        os.environ.setdefault(key, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        create_table(client, Template.load(ROOT / "infra" / "template.yaml"), "bench")

        def fill(start: int, count: int) -> None:
            sks = ("REFERRAL", "ASSIGN#a", "ASSIGN#b", "ASSIGN#c", "EVENT#1", "EVENT#2", "EVENT#3")
            items = [{"PutRequest": {"Item": {"pk": {"S": f"REF#{n}"}, "sk": {"S": sk}}}}
                     for n in range(start, start + count) for sk in sks]
            for i in range(0, len(items), 25):
                client.batch_write_item(RequestItems={"bench": items[i:i + 25]})

        def per_query() -> float:
            started = time.perf_counter()
            for n in range(queries):
                client.query(TableName="bench", KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
                             ExpressionAttributeValues={":p": {"S": f"REF#{n}"}, ":a": {"S": "ASSIGN#"}})
            return (time.perf_counter() - started) / queries

        fill(0, 1_000)
        before_1k = per_query()
        fill(1_000, 9_000)
        before_10k = per_query()
        query_partitions_only()  # from here on in this process (the local stack installs it at start)
        after_10k = per_query()
    return {"moto_1000_ms": _ms(before_1k), "moto_10000_ms": _ms(before_10k), "fixed_10000_ms": _ms(after_10k)}


def report(result: dict) -> str:
    s, r, m = result["surge"], result["routing_vs_table_size"], result["memory"]  # noqa: E501
    return "\n".join([
        f"surge: {s['submissions']} submissions, {s['concurrency']} at a time",
        f"  connection errors        {s['connection_errors']}",
        f"  201 / stored             {s['answered_201']} / {s['stored']}"
        + (f" (other answers: {', '.join(s['answered_other'])})" if s.get("answered_other") else ""),
        f"  notified once / twice+   {s['notified_once']} / {s['notified_more_than_once']}",
        f"  POST p50 / p95           {s['post_p50_ms']} / {s['post_p95_ms']} ms ({s['post_latency_sample']} more posts; "
        f"not 201: {s.get('post_latency_not_201') or 'none'})",
        f"  submit->notified p50/p95 {s['submit_to_notified_p50_ms']} / {s['submit_to_notified_p95_ms']} ms",
        "routing, one at a time, median submit->notified:",
        f"  1,000 preloaded          {r['preloaded_1000_median_ms']} ms",
        f"  10,000 preloaded         {r['preloaded_10000_median_ms']} ms   ratio {r['ratio_10000_over_1000']} (flat = 1)",
        "one table query in moto (the router makes one per referral): "
        f"{result['query_cost']['moto_1000_ms']} ms with 1,000 referrals, {result['query_cost']['moto_10000_ms']} ms with 10,000; "
        f"{result['query_cost']['fixed_10000_ms']} ms with 10,000 and the local stack's partition fix",
        f"memory of the stack process: {m['stack_rss_start_mb']} MB at start, {m['after_1000_mb']} MB with 1,000, "
        f"{m['after_10000_mb']} MB with 10,000: {m['per_1000_referrals_mb']} MB per 1,000 referrals "
        f"(workers {m['function_workers_rss_mb']} MB)",
    ])


if __name__ == "__main__":
    print(report(run()))
