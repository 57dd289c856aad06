"""``cchcc report`` over 10,000 and 100,000 referrals (moto in-process).

The table is seeded with items made by hub.storage's own code (so they have its exact shape
and month-index keys): per referral, the referral, a ``notify`` and an ``eligible``
assignment, two events (``received``, ``routed``: the report never reads them) and, for
about half, one to three outcomes; one in five is referred on (a handover and a second
spoke); scan counters per placement and day; spread over twelve months.

For each size, the report (gather, count, suppress, HTML with its charts, CSV, JSON) is
measured against a baseline in the same run: **the plain paginated query of the same
months' items** (the least any report over the index must read), and, for reads only, one
full table scan (what a report without the index would read at least once). Reported:
seconds, peak Python memory (tracemalloc, in a second run over the same answers replayed from
memory, so that moto's own allocations are not counted), DynamoDB calls by kind, items,
and read units by DynamoDB's rule (4 KB per unit per page, half for eventually consistent
reads) from the full items (a projection does not lower what a read is billed). moto's
speed is not DynamoDB's: the ratios and the read figures are the point.

    python -m bench report            # or: python -m bench.report [--sizes 10000,100000]
"""

from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.outcomes import ROOT, CountingClient, _Capture, _reference, _units

SIZES = (10_000, 100_000)
SPOKES = ("cchcc", "hwf", "lcc-employment-skills")
STATUSES = ("contacted", "engaged", "supported", "offer", "qualified")
PLACEMENTS = ("lg-library", "lg-gp", "lg-mosque", "el-market", "el-pharmacy")


def seed_items(referrals: int) -> list[dict[str, Any]]:
    from hub.models import Assignment, Handover, Outcome, Submission
    from hub.storage import DynamoReferralStore, cohort_keys, to_item

    capture = _Capture()
    store = DynamoReferralStore("bench", client=capture)
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    step = timedelta(days=365) / referrals
    for n in range(referrals):
        created = start + n * step
        reference = _reference(n)
        submission = Submission(
            name=f"Bench Resident {n}", email=f"bench-{n}@example.com",
            postcode=("LS9 7AB", "LS8 5HN", "LS11 6DD")[n % 3], age=20 + n % 40, campaign="lincoln-green",
            source=PLACEMENTS[n % len(PLACEMENTS)], channel="assisted" if n % 5 == 0 else "web",
        )
        referral = store.create_referral(submission, retention_days=730, now=created, reference_factory=lambda: reference)
        first, second = SPOKES[n % 3], SPOKES[(n + 1) % 3]
        store.put_assignment(referral, Assignment(spoke=first, role="notify", rule="r", reason="bench", priority=1))
        store.put_assignment(referral, Assignment(spoke=second, role="eligible", rule="r", reason="bench", priority=2))
        store.add_event(reference, "received", at=created, expires_at=referral.expires_at)
        store.add_event(reference, "routed", at=created + timedelta(seconds=2), expires_at=referral.expires_at)
        for k in range(n % 4 if n % 2 else 0):
            at = (created + timedelta(days=2 + 5 * k)).isoformat().replace("+00:00", "Z")
            store.add_outcome(Outcome(reference=reference, spoke=first, id=f"o{n}-{k}", at=at, status=STATUSES[k + n % 2]),
                              expires_at=referral.expires_at, received=referral.received)
        if n % 5 == 1:
            at = (created + timedelta(days=9)).isoformat().replace("+00:00", "Z")
            capture.items.append(to_item({
                "pk": f"REF#{reference}", "sk": f"ASSIGN#{second}", "type": "assignment", "reference": reference,
                "spoke": second, "role": "notify", "rule": "referred-on", "reason": "bench", "priority": 2,
                "created_at": referral.received, "assigned_at": at,
                **cohort_keys(referral.received, "ASSIGN", reference, second),
            }))
            store.add_handover(Handover(reference=reference, id=f"h{n}", at=at, from_spoke=first, to_spoke=second,
                                        kind="referred-on"), expires_at=referral.expires_at, received=referral.received)
    day = date(2025, 1, 1)
    while day < date(2026, 1, 1):
        for placement in PLACEMENTS:
            capture.items.append(to_item({
                "pk": f"SCAN#{placement}", "sk": f"DAY#{day}", "type": "scan", "kind": "placement",
                "placement": placement, "campaign": "lincoln-green", "day": day.isoformat(),
                "count": 3 + referrals // 2000, **cohort_keys(day.isoformat(), "SCAN", placement),
            }))
        day += timedelta(days=1)
    # the assignments written twice (eligible, then referred on) are one item in the table
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for item in capture.items:
        unique[(item["pk"]["S"], item["sk"]["S"])] = item
    return list(unique.values())


class ReplayClient:
    """Answers each query as moto answered it the first time (recorded), for memory runs."""

    def __init__(self, client: Any):
        self._client = client
        self._answers: dict[str, Any] = {}

    def query(self, **kwargs: Any) -> Any:
        import json

        key = json.dumps(kwargs, sort_keys=True, default=str)
        if key not in self._answers:
            self._answers[key] = self._client.query(**kwargs)
        return self._answers[key]


def _baseline(client: Any, window: Any) -> int:
    """The plain paginated query of the period's months: the same items, read into Python and kept."""
    from hub.storage import from_item

    kept = []
    for month in window.months:
        kwargs: dict[str, Any] = {
            "TableName": "bench", "IndexName": "gsi3", "KeyConditionExpression": "gsi3pk = :m",
            "ExpressionAttributeValues": {":m": {"S": f"MONTH#{month}"}},
        }
        while True:
            page = client.query(**kwargs)
            kept += [from_item(item) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return len(kept)


def measure(referrals: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from cchcc.local.aws import plain_query_answers, query_partitions_only
    from cchcc.local.template import Template, create_table
    from cchcc.ops import report, report_files
    from hub.config import load_programme
    from hub.storage import DynamoReferralStore

    programme = load_programme(ROOT / "programme.yml")
    items = seed_items(referrals)
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    # moto as the local stack runs it: partition-only queries, plain JSON answers (cchcc.local.aws)
    query_partitions_only()
    plain_query_answers()
    window = report.Period(date(2025, 1, 1), date(2025, 12, 31))
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="eu-west-2")
        create_table(raw, Template.load(ROOT / "infra" / "template.yaml"), "bench")
        started = time.perf_counter()
        for k in range(0, len(items), 25):
            raw.batch_write_item(RequestItems={"bench": [{"PutRequest": {"Item": i}} for i in items[k:k + 25]]})
        seeded = time.perf_counter() - started

        def run_report(client: Any) -> Any:
            made = report.make(DynamoReferralStore("bench", client=client), window, programme=programme)
            report_files.csv_text(made.data, unsuppressed=False)
            return made

        def run_baseline(client: Any) -> int:
            return _baseline(client, window)

        figures: dict[str, Any] = {}
        for name, job in (("report", run_report), ("baseline_query", run_baseline)):
            client = CountingClient(raw)
            gc.collect()
            started = time.perf_counter()
            result = job(client)
            seconds = time.perf_counter() - started
            figures[name] = {"seconds": round(seconds, 2), "calls": dict(client.calls), "items_read": client.items}
            if name == "report":
                funnel = result.data["funnel"]
        # Memory: the same answers replayed from memory (moto's own allocations left out, and
        # tracemalloc would slow moto fivefold): the report's peak against the baseline's.
        replay = ReplayClient(raw)
        run_report(replay)
        run_baseline(replay)
        for name, job in (("report", run_report), ("baseline_query", run_baseline)):
            gc.collect()
            tracemalloc.start()
            job(replay)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            figures[name]["peak_mib"] = round(peak / 2**20, 1)
        # billed reads: the full items (the report's projection returns fewer bytes, not fewer units)
        full = CountingClient(raw)
        run_baseline(full)
        scanner = CountingClient(raw)
        scanner.scan_all("bench")
    r, b = figures["report"], figures["baseline_query"]
    return {
        "referrals": referrals, "table_items": len(items), "seed_s": round(seeded, 1), "months": len(window.months),
        "report": r, "baseline_query": b,
        "read_units_month_queries": full.units, "read_units_one_table_scan": scanner.units,
        "scan_calls": scanner.calls.get("scan", 0), "scan_items": scanner.items,
        "time_ratio": round(r["seconds"] / b["seconds"], 2), "memory_ratio": round(r["peak_mib"] / b["peak_mib"], 2),
        "read_units_ratio_to_scan": round(full.units / scanner.units, 3),
        "published_funnel": funnel,
    }


def run(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    return {str(n): measure(n) for n in sizes}


def report(result: dict[str, Any]) -> str:
    lines = []
    for size, m in result.items():
        r, b = m["report"], m["baseline_query"]
        lines += [
            f"{int(size):,} referrals ({m['table_items']:,} items, {m['months']} months; seeded in {m['seed_s']} s):",
            f"  report:   {r['seconds']:7.2f} s, peak {r['peak_mib']:7.1f} MiB, calls {r['calls']}, {r['items_read']:,} items",
            f"  baseline: {b['seconds']:7.2f} s, peak {b['peak_mib']:7.1f} MiB, calls {b['calls']}, {b['items_read']:,} items"
            "  (plain paginated query of the same months)",
            f"  report / baseline: time {m['time_ratio']} x, memory {m['memory_ratio']} x",
            f"  read units: the month queries {m['read_units_month_queries']:.1f}; one table scan "
            f"{m['read_units_one_table_scan']:.1f} ({m['scan_calls']} calls, {m['scan_items']:,} items): "
            f"{m['read_units_ratio_to_scan']} x a single scan",
            f"  published funnel: {m['published_funnel']}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    args = parser.parse_args()
    for size in args.sizes.split(","):
        print(report({size: measure(int(size))}), flush=True)
    sys.exit(0)
