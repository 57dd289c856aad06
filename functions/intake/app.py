"""Intake Lambda: ``POST /api/referrals`` and ``GET /thanks/`` (API Gateway HTTP API v2).

Thin: Powertools resolver, logger and metrics; each route decodes the request
(:mod:`intake.web`) and makes one call into ``hub``. Errors become HTTP in the exception
handlers below and nowhere else. Settings and the programme configuration are loaded at
cold start, so a bad environment or config fails here, naming the variable or the file
and field.
"""

from __future__ import annotations

import logging
import traceback

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from hub.intake import Intake
from hub.links import ParameterKeys
from hub.lookup import IntakeLookup
from hub.programme import load_for_function
from hub.settings import load_settings
from hub.storage import DynamoReferralStore, StoreUnavailableError
from hub.thanks import ThanksPage
from intake import web

settings = load_settings()
programme = load_for_function(settings)  # compiled by `cchcc build`: no YAML or pydantic at cold start

logger = Logger(service="intake")  # never log the event: it carries names and phone numbers
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
for _name in ("botocore", "boto3", "urllib3"):  # their DEBUG output prints request bodies
    logging.getLogger(_name).setLevel(logging.INFO)
metrics = Metrics(namespace="CCHCC", service="intake")
app = APIGatewayHttpResolver(
    cors=CORSConfig(allow_origin=settings.site_origin, allow_headers=["Content-Type"], max_age=600)
)
store = DynamoReferralStore(settings.table_name)
store.client  # noqa: B018 (created during init, which has the CPU to itself, not on the first request)
# The person lookup hashes (hub.lookup): the key is read from SSM on the first referral and cached.
person_lookup = (
    IntakeLookup(ParameterKeys(settings.person_hash_key_parameter, what="person hash key"))
    if settings.person_hash_key_parameter else None
)
intake = Intake(store, programme, settings, lookup=person_lookup)
thanks_page = ThanksPage(programme, settings.thanks_page)  # read on first use: the built page with the reference box


def _headers() -> dict[str, str]:
    return {k.lower(): v for k, v in (app.current_event.headers or {}).items()}


def _language() -> str:
    """The language the request's form names, for an error page in it (English when it cannot tell)."""
    try:
        event = app.current_event
        return web.language_of(_headers(), event.body, bool(event.is_base64_encoded))
    except Exception:  # noqa: BLE001 (an error page must never fail for this)
        return "en"


@app.post(
    "/api/referrals", summary="Send a referral", operation_id="createReferral", responses=web.REFERRAL_RESPONSES,
    description="The referral form, form-encoded (a browser without JavaScript) or JSON (DESIGN.md §4).",
)
def create_referral():  # (no return annotation: Powertools would describe Response itself)
    event = app.current_event
    request = web.submitted(_headers(), event.body, bool(event.is_base64_encoded), settings.site_origin)
    intake.register_context(app.lambda_context)
    client = web.client(_headers(), event.request_context.http.source_ip)
    outcome = intake.submit(request.fields, client)
    metrics.add_metric(name=f"Submission_{outcome.kind}", unit=MetricUnit.Count, value=1)
    return web.answer(outcome, request.wants_html, programme)


@app.get("/thanks/", summary="The thanks page", operation_id="thanksPage", responses=web.THANKS_RESPONSES)
def thanks():
    """The thanks page showing ``?ref=`` when it is a valid reference (never logs the query string)."""
    event = app.current_event
    shown = thanks_page.show(event.get_query_string_value("ref"), event.get_query_string_value("lang"))
    metrics.add_metric(name=f"ThanksPage_{shown.kind}", unit=MetricUnit.Count, value=1)
    return Response(200, web.HTML, shown.html, {"Cache-Control": "no-store"})


# Metrics (CloudWatch embedded metric format; one dimension, service=intake; never personal
# data). A fixed set of names, since each name is a custom metric that costs money above ten:
# Submission_<kind>, Rejected (the request itself was unusable: 400/413/415), ThanksPage_<kind>,
# StoreUnavailable and ServerErrors (every 5xx this function answers: infra/template.yaml alarms
# on it, because a 5xx answer is not a Lambda error and the Errors alarm never sees it).
SERVER_ERRORS = "ServerErrors"


@app.exception_handler(web.RequestRejectedError)
def request_rejected(exc: web.RequestRejectedError) -> Response:
    logger.info("request rejected", status=exc.status)
    metrics.add_metric(name="Rejected", unit=MetricUnit.Count, value=1)
    return web.rejected(exc, web.wants_html(_headers()), programme, _language())


@app.exception_handler(StoreUnavailableError)
def store_unavailable(exc: StoreUnavailableError) -> Response:
    logger.warning("store unavailable", error=type(exc.__cause__ or exc).__name__)
    metrics.add_metric(name="StoreUnavailable", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=SERVER_ERRORS, unit=MetricUnit.Count, value=1)
    return web.store_unavailable(web.wants_html(_headers()), programme, _language())


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    # Frames only: exception messages (e.g. pydantic's) can quote what the visitor sent.
    logger.error("unexpected error", error=type(exc).__name__, frames=traceback.format_tb(exc.__traceback__))
    metrics.add_metric(name=SERVER_ERRORS, unit=MetricUnit.Count, value=1)
    return web.unexpected(web.wants_html(_headers()), programme, _language())


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
