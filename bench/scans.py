"""QR code scans on the local stack: what counting adds to a poster's redirect.

``GET /q/<id>`` through ``cchcc serve`` reaches the scans function (a worker process, as Lambda
runs it), which adds one to the day's counter in the embedded DynamoDB and answers ``302``.
The baseline is the static redirect page the bucket would serve instead (the same HTML, from
the site origin), fetched the same number of times, interleaved with the scans so both see the
same machine. Reported: median and p90 of each, and the scans' median and p90 over the
baseline's. The counter is read at the end: it must equal the scans made.

    python -m bench scans            # or: python -m bench.scans
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.error
import urllib.request
from typing import Any

from bench.intake import _percentile
from bench.stack import running

REQUESTS = 200
TARGET = "/campaigns/lincoln-green/?s=lg-library"
PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Taking you to the page</title>'
    f'<meta http-equiv="refresh" content="0; url={TARGET}"></head><body><p><a href="{TARGET}">Carry on</a></p></body></html>'
)
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _timed(url: str) -> tuple[float, int]:
    request = urllib.request.Request(url, headers={"User-Agent": BROWSER})
    started = time.perf_counter()
    try:
        with _OPENER.open(request, timeout=10) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:  # the 302 (not followed)
        exc.read()
        status = exc.code
    return time.perf_counter() - started, status


def _ms(values: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(values) * 1000, 2), "p90_ms": round(_percentile(values, 0.9) * 1000, 2)}


def run(requests: int = REQUESTS) -> dict[str, Any]:
    codes = {"lg-library": {"kind": "placement", "campaign": "lincoln-green", "target": TARGET}}
    files = {
        # The static redirect as the bucket holds it, at a path the default (site) behaviour serves.
        "site/static-q/lg-library/index.html": PAGE,
        "site/q/lg-library/index.html": PAGE,
        "campaigns.json": json.dumps({"campaigns": {}, "placements": {}, "events": {}, "codes": codes}),
    }
    with running(files=files) as stack:
        for _ in range(5):  # warm both paths (the worker's first call, the file cache)
            _timed(stack.base + "/q/lg-library")
            _timed(stack.base + "/static-q/lg-library/index.html")
        client, table = stack.table()
        key = {"pk": {"S": "SCAN#lg-library"}}
        before = sum(int(i["count"]["N"]) for i in client.query(
            TableName=table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key["pk"]}, ConsistentRead=True)["Items"])
        scans, static = [], []
        for _ in range(requests):
            took, status = _timed(stack.base + "/q/lg-library")
            assert status == 302, status
            scans.append(took)
            took, status = _timed(stack.base + "/static-q/lg-library/index.html")
            assert status == 200, status
            static.append(took)
        after = sum(int(i["count"]["N"]) for i in client.query(
            TableName=table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key["pk"]}, ConsistentRead=True)["Items"])
    s, b = _ms(scans), _ms(static)
    return {
        "requests": requests,
        "counted": after - before,
        "scan_302": s,
        "static_redirect": b,
        "median_ratio": round(s["median_ms"] / b["median_ms"], 1),
        "p90_ratio": round(s["p90_ms"] / b["p90_ms"], 1),
        "added_median_ms": round(s["median_ms"] - b["median_ms"], 2),
    }


def report(result: dict[str, Any]) -> str:
    s, b = result["scan_302"], result["static_redirect"]
    return "\n".join([
        f"QR code scans on the local stack ({result['requests']} of each, interleaved; {result['counted']} counted):",
        f"  baseline: static redirect page  median {b['median_ms']:7.2f} ms  p90 {b['p90_ms']:.2f} ms",
        f"  GET /q/<id> (counted, 302)       median {s['median_ms']:7.2f} ms  p90 {s['p90_ms']:.2f} ms",
        f"  {result['median_ratio']} x the baseline at the median, {result['p90_ratio']} x at p90 "
        f"(+{result['added_median_ms']} ms)",
    ])


if __name__ == "__main__":
    print(report(run()))
