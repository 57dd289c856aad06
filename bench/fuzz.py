"""``make fuzz``: the long fuzz run against the local stack (at least 10,000 requests).

Over real HTTP to ``cchcc serve`` (the front, the intake worker, moto):

1. Schemathesis from ``infra/openapi.json``, both operations, positive and negative
   generation, every check but "schema-valid data is accepted" (the form's own rules
   answer a well-typed but wrong postcode with the documented 422);
2. Hypothesis bodies from ``tests/unit/test_web_decode.py``: any content type, charset,
   bytes, JSON and form over every Unicode category, posted as they are.

Then every referral stored is read back from the table and validated again: none may be
invalid. Counts are printed and written to ``build/bench/results.json`` (``fuzz``).

    python -m bench fuzz            # FUZZ_EXAMPLES=2500 per Schemathesis run by default
"""

from __future__ import annotations

import collections
import json
import os
import time
import urllib.error
import urllib.request

from bench.stack import running

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2500"))
RAW_EXAMPLES = int(os.environ.get("FUZZ_RAW_EXAMPLES", "3000"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 303 is counted as the 303 it is
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(base: str, content_type: str | None, body: bytes) -> int:
    request = urllib.request.Request(base + "/api/referrals", data=body, method="POST")
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with _OPENER.open(request, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run() -> dict:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from bench.stack import ROOT
    from tests.unit.test_web_decode import _CONTENT_TYPE, _bodies

    statuses: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    started = time.perf_counter()
    with running(env={"RATE_LIMIT_BURST": "100000", "POWERTOOLS_LOG_LEVEL": "WARNING"}) as stack:
        schema = schemathesis.openapi.from_path(ROOT / "infra" / "openapi.json")
        for path, method in (("/api/referrals", "POST"), ("/thanks/", "GET")):
            for mode in schemathesis.GenerationMode:
                operation = schema[path][method]

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
                def contract(case):
                    response = case.call(base_url=stack.base)
                    statuses[f"{method} {path} {response.status_code}"] += 1
                    case.validate_response(response, excluded_checks=[positive_data_acceptance])

                try:
                    contract()
                except Exception as exc:  # noqa: BLE001 (counted and shown, the run goes on)
                    failures.append(f"{method} {path} {mode.value}: {str(exc)[:500]}")

        @given(content_type=_CONTENT_TYPE, body=_bodies())
        @settings(max_examples=RAW_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def raw(content_type, body):
            try:
                status = _post(stack.base, content_type, body)
            except (ValueError, UnicodeError):  # a header http.client itself will not send
                statuses["(not sendable by the client)"] += 1
                return
            statuses[f"POST /api/referrals (raw) {status}"] += 1
            assert status < 500, f"{status} for {content_type!r}"

        try:
            raw()
        except Exception as exc:  # noqa: BLE001
            failures.append(f"raw: {str(exc)[:500]}")

        stored, invalid = _check_stored(stack)
    seconds = time.perf_counter() - started
    total = sum(statuses.values())
    return {
        "requests": total,
        "seconds": round(seconds),
        "server_errors": sum(n for key, n in statuses.items() if key.rsplit(" ", 1)[-1].startswith("5")),
        "by_status": dict(sorted(statuses.items())),
        "referrals_stored": stored,
        "referrals_invalid": invalid,
        "failures": failures,
    }


def _check_stored(stack) -> tuple[int, int]:
    """Every stored referral, validated again from what the table holds."""
    from hub.storage import from_item
    from hub.validation import SubmissionInvalidError, parse_submission

    client, table = stack.table()
    stored = invalid = 0
    kwargs = {"TableName": table, "FilterExpression": "sk = :r", "ExpressionAttributeValues": {":r": {"S": "REFERRAL"}}}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            stored += 1
            data = from_item(item)
            answers = {k: v for k, v in data.items() if v is not None}
            answers.update(age=str(data["age"]), consent="yes")
            try:
                again = parse_submission(answers)
            except SubmissionInvalidError:
                invalid += 1
                continue
            if any(again.model_dump().get(k) != data.get(k) for k in again.model_dump() if k != "submission_id"):
                invalid += 1
        if "LastEvaluatedKey" not in page:
            return stored, invalid
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def report(result: dict) -> str:
    lines = [
        f"fuzzed the local stack: {result['requests']} requests in {result['seconds']} s",
        f"  5xx answers              {result['server_errors']}",
        f"  referrals stored         {result['referrals_stored']} (invalid when read back: {result['referrals_invalid']})",
        f"  contract failures        {len(result['failures'])}",
    ]
    lines += [f"    {key}: {count}" for key, count in result["by_status"].items()]
    lines += [f"  ! {failure}" for failure in result["failures"]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
