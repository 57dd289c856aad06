"""``cchcc serve --faults ses=0.2,webhook=0.3``: make the local stack fail on purpose, and watch it recover.

Each function's worker processes get the spec in ``CCHCC_LOCAL_FAULTS`` and, before the
handler is imported (:mod:`cchcc.local.runtime`), install the faults below. Nothing in the
functions' code changes: the failures come from where they would come from in AWS.

- ``ses=P``: each SES ``SendEmail`` is refused with ``TooManyRequestsException`` (SES
  throttling) with probability P, from botocore's own ``before-call`` event;
- ``webhook=P``: each webhook POST times out or is answered ``500`` (one or the other)
  with probability P;
- ``dynamodb=P``: each DynamoDB call is refused with ``ProvisionedThroughputExceededException``
  with probability P (the intake answers 503, the router retries).
- ``scans=P``: the scans function fails (an error, as Lambda reports a crash) with probability P;
  ``/q/<id>`` then falls over to the static redirect, as CloudFront's origin group does.

The router reports what failed as batch item failures; the stream poller retries them as
Lambda would and, after the template's ``MaximumRetryAttempts``, dead-letters the batch;
``cchcc redrive`` routes what is left. ``/_local/`` shows the outbox and the dead-letter
queue as it happens: each spoke still hears about each referral once.
"""

from __future__ import annotations

import random
import urllib.error
import urllib.request
from typing import Any

KINDS = {
    "ses": "SES refuses the email (throttling)",
    "webhook": "the webhook times out or answers 500",
    "dynamodb": "DynamoDB refuses the call (throughput exceeded)",
    "scans": "the scans function fails (/q/ falls over to the static redirect)",
}
# Faults of a whole function: the kind -> the function's logical id in infra/template.yaml.
FUNCTION_FAULTS = {"scans": "ScansFunction"}


class InjectedFunctionError(RuntimeError):
    """A function failure made on purpose by ``--faults`` (reported as Lambda reports an error)."""
ENVIRONMENT = "CCHCC_LOCAL_FAULTS"


class FaultSpecError(ValueError):
    """The --faults text is not ``name=probability,...``; the message says what is wrong."""


def parse(text: str) -> dict[str, float]:
    """``"ses=0.2,webhook=0.3"`` -> ``{"ses": 0.2, "webhook": 0.3}``."""
    faults: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if name not in KINDS:
            raise FaultSpecError(f"unknown fault {name!r}: choose from {', '.join(KINDS)}")
        try:
            probability = float(value) if sep else -1.0
        except ValueError:
            probability = -1.0
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError(f"{name}: give a probability from 0 to 1, like {name}=0.2")
        faults[name] = probability
    if not faults:
        raise FaultSpecError("give at least one fault, like ses=0.2")
    return faults


def text(faults: dict[str, float]) -> str:
    return ",".join(f"{name}={probability:g}" for name, probability in sorted(faults.items()))


def _refusal(code: str, message: str) -> tuple[Any, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse

    http = AWSResponse("https://local.fault", 400, {}, None)
    return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


def install(faults: dict[str, float], rng: random.Random | None = None) -> None:
    """Install the faults in this process (a function worker), before the handler is imported."""
    rng = rng or random.Random()
    if "ses" in faults or "dynamodb" in faults:
        import boto3

        boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events  # every client the handler makes comes from this session

        def refuse(probability: float, code: str):
            def hook(**_: Any):
                if rng.random() < probability:
                    return _refusal(code, "injected by cchcc serve --faults")
                return None

            return hook

        if "ses" in faults:
            events.register("before-call.sesv2.SendEmail", refuse(faults["ses"], "TooManyRequestsException"))
        if "dynamodb" in faults:
            events.register("before-call.dynamodb", refuse(faults["dynamodb"], "ProvisionedThroughputExceededException"))
    if "webhook" in faults:
        probability = faults["webhook"]
        real_open = urllib.request.OpenerDirector.open

        def open_(self: Any, fullurl: Any, data: Any = None, *args: Any, **kwargs: Any) -> Any:
            if data is not None and rng.random() < probability:
                url = fullurl.full_url if hasattr(fullurl, "full_url") else str(fullurl)
                if rng.random() < 0.5:
                    raise TimeoutError("injected by cchcc serve --faults")
                raise urllib.error.HTTPError(url, 500, "injected by cchcc serve --faults", None, None)  # type: ignore[arg-type]
            return real_open(self, fullurl, data, *args, **kwargs)

        urllib.request.OpenerDirector.open = open_  # type: ignore[method-assign]


def wrap_handler(handler: Any, function_name: str, faults: dict[str, float], rng: random.Random | None = None) -> Any:
    """The handler, failing with the probability its function's fault asks (``cchcc-local-<LogicalId>``)."""
    rng = rng or random.Random()
    for kind, logical_id in FUNCTION_FAULTS.items():
        if kind in faults and function_name.endswith(logical_id):
            probability = faults[kind]

            def failing(event: Any, context: Any, handler: Any = handler) -> Any:
                if rng.random() < probability:
                    raise InjectedFunctionError("injected by cchcc serve --faults")
                return handler(event, context)

            return failing
    return handler
