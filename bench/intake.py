"""Intake benchmarks: cold start, and submit-to-notified on the local stack.

1. **Cold start.** In fresh Python processes, alternating, time importing the
   intake handler module and creating its clients, against ``import boto3`` plus
   creating one DynamoDB client (the least any handler that stores something
   pays). Interpreter start-up is common to both and left out. Reported as
   medians and their ratio; the aim is at most 1.3x.
2. **Submit to notified.** ``cchcc serve`` on a free port; sequential JSON
   submissions; time from sending the POST until the spoke's message with that
   reference is in ``/_local/outbox``. Reported as median and p90 (aim: median
   at most 1 s), with the median round trip of a trivial GET to the same server
   as a same-run baseline.

    python -m bench intake            # or: python -m bench.intake
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COLD_RUNS = 15
SUBMISSIONS = 50

_BASELINE = """
import time
t = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t)
"""

_INTAKE = """
import time
t = time.perf_counter()
import intake.app as app
for name in dir(app):  # create every client the module would create lazily (store.client, ...)
    obj = getattr(app, name)
    if hasattr(type(obj), "client") and isinstance(getattr(type(obj), "client"), property):
        obj.client
print(time.perf_counter() - t)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "TABLE_NAME": "bench-referrals",
            "SITE_ORIGIN": "http://127.0.0.1:8000",
            "CCHCC_PROGRAMME_FILE": str(ROOT / "programme.yml"),
            "POWERTOOLS_METRICS_NAMESPACE": "CCHCC",
            "POWERTOOLS_SERVICE_NAME": "cchcc-hub",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)]),
        }
    )
    return env


def _time_in_fresh_process(code: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark process failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def compiled_programme(directory: Path) -> Path:
    """The programme as `cchcc build` compiles it for the functions (hub.programme)."""
    sys.path[:0] = [str(ROOT / "functions")]
    from hub.config import load_programme
    from hub.programme import write_compiled

    return write_compiled(load_programme(ROOT / "programme.yml"), ROOT / "programme.yml", directory / "programme.json")


def cold_start(runs: int = COLD_RUNS) -> dict[str, float]:
    env = _env()
    env["CCHCC_PROGRAMME_COMPILED"] = str(compiled_programme(Path(tempfile.mkdtemp(prefix="cchcc-bench-"))))
    _time_in_fresh_process(_INTAKE, env)  # warm the file cache and compile .pyc once, for both sides
    _time_in_fresh_process(_BASELINE, env)
    intake, baseline = [], []
    for _ in range(runs):
        baseline.append(_time_in_fresh_process(_BASELINE, env))
        intake.append(_time_in_fresh_process(_INTAKE, env))
    b, i = statistics.median(baseline), statistics.median(intake)
    return {
        "runs": runs,
        "baseline_median_ms": round(b * 1000, 1),
        "intake_median_ms": round(i * 1000, 1),
        "ratio": round(i / b, 2),
        "aim_ratio_at_most": 1.3,
    }


# ------------------------------------------------------------------ local stack

def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read()


def _post_json(url: str, payload: dict) -> dict:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, int(round(fraction * len(ordered) + 0.5 - 1e-9)))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


_POSTCODES = ["LS9 7AB", "LS12 3AB", "LS8 5QR", "LS6 2AB"]


def submit_to_notified(submissions: int = SUBMISSIONS) -> dict[str, float]:
    from bench.stack import running

    # One client sends them all: lift the per-client rate limit (50 at once), as bench.load does.
    with running(env={"RATE_LIMIT_BURST": "100000"}) as stack:
        base = stack.base

        def one(n: int) -> float:
            payload = {
                "name": f"Bench Person {n}",
                "email": f"bench{n}@example.com",
                "postcode": _POSTCODES[n % len(_POSTCODES)],
                "age": 19 + (n % 30),
                "consent": "yes",
                "submission_id": f"bench-{os.getpid()}-{n:04d}",
            }
            started = time.perf_counter()
            reference = _post_json(base + "/api/referrals", payload)["reference"]
            while True:
                outbox = json.loads(_get(base + "/_local/outbox"))
                # The spoke's message (a resident who gave an email also gets a confirmation).
                if any(m.get("reference") == reference and m.get("kind") == "notification" for m in outbox):
                    return time.perf_counter() - started
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"no notification for {reference} after 30 s")
                time.sleep(0.005)

        one(-1)  # warm-up: the first referral also pays the router's first boto3 clients
        times = [one(n) for n in range(submissions)]
        gets = []
        for _ in range(submissions):
            started = time.perf_counter()
            _get(base + "/")
            gets.append(time.perf_counter() - started)
    median_get = statistics.median(gets)
    return {
        "submissions": submissions,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(_percentile(times, 0.9) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "baseline_get_median_ms": round(median_get * 1000, 2),
        "median_over_get": round(statistics.median(times) / median_get, 1),
        "aim_median_ms_at_most": 1000,
    }


def import_breakdown(runs: int = 5) -> dict[str, float]:
    """``python -X importtime -c "import intake.app"``: self time of every module imported,
    summed by what it belongs to (median of ``runs`` fresh processes), in ms. The module
    body of ``intake.app`` (settings, the compiled programme, the DynamoDB client) is its
    own line."""
    env = _env()
    env["CCHCC_PROGRAMME_COMPILED"] = str(compiled_programme(Path(tempfile.mkdtemp(prefix="cchcc-bench-"))))
    groups: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import intake.app"], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
        totals: dict[str, float] = {}
        for line in out.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
                continue
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            top = name.split(".")[0]
            group = {"boto3": "boto3 + botocore", "botocore": "boto3 + botocore", "s3transfer": "boto3 + botocore",
                     "urllib3": "boto3 + botocore", "dateutil": "boto3 + botocore", "jmespath": "jmespath",
                     "aws_lambda_powertools": "aws_lambda_powertools", "typing_extensions": "typing_extensions",
                     "hub": "hub", "intake": "intake (its module body included)"}.get(top, "standard library and others")
            totals[group] = totals.get(group, 0.0) + int(self_us) / 1000
        for group, ms in totals.items():
            groups.setdefault(group, []).append(ms)
    return {group: round(statistics.median(values), 1) for group, values in sorted(groups.items(), key=lambda kv: -statistics.median(kv[1]))}


def run() -> dict:
    return {"cold_start": cold_start(), "import_breakdown": import_breakdown(), "submit_to_notified": submit_to_notified()}


def report(result: dict) -> str:
    c, s = result["cold_start"], result["submit_to_notified"]
    return "\n".join(
        [
            f"intake cold start ({c['runs']} fresh processes each, medians):",
            f"  import boto3 + dynamodb client   {c['baseline_median_ms']:8.1f} ms",
            f"  import intake.app + its clients  {c['intake_median_ms']:8.1f} ms",
            f"  ratio                            {c['ratio']:8.2f} x   (aim <= {c['aim_ratio_at_most']} x)",
            "what the intake imports at cold start (python -X importtime, self times summed, medians):",
            *[f"  {group:32s} {ms:8.1f} ms" for group, ms in result.get("import_breakdown", {}).items()],
            f"submit to notified on the local stack ({s['submissions']} submissions):",
            f"  median                           {s['median_ms']:8.1f} ms   (aim <= {s['aim_median_ms_at_most']} ms)",
            f"  p90                              {s['p90_ms']:8.1f} ms",
            f"  max                              {s['max_ms']:8.1f} ms",
            f"  baseline: trivial GET median     {s['baseline_get_median_ms']:8.2f} ms   "
            f"(submit-to-notified = {s['median_over_get']} x that)",
        ]
    )


if __name__ == "__main__":
    print(report(run()))
