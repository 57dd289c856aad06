"""Intake Lambda: ``POST /api/referrals`` and ``GET /thanks/`` (API Gateway HTTP API v2).

Thin: Powertools resolver, logger and metrics, one call into ``hub.intake``.
Settings and the programme configuration are loaded at cold start, so a bad
environment or config fails here, naming the variable or the file and field.
"""

from __future__ import annotations

import logging
import traceback

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from hub.config import load_programme
from hub.intake import HttpReply, HttpRequest, IntakeService, RequestRejectedError, reply_for_error
from hub.settings import load_settings
from hub.storage import DynamoReferralStore, StoreUnavailableError
from hub.thanks import ThanksPage

settings = load_settings()
programme = load_programme(settings.programme_file)

logger = Logger(service="intake")  # never log the event: it carries names and phone numbers
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
for _name in ("botocore", "boto3", "urllib3"):  # their DEBUG output prints request bodies
    logging.getLogger(_name).setLevel(logging.INFO)
metrics = Metrics(namespace="CCHCC", service="intake")
app = APIGatewayHttpResolver(
    cors=CORSConfig(allow_origin=settings.site_origin, allow_headers=["Content-Type"], max_age=600)
)
store = DynamoReferralStore(settings.table_name)
service = IntakeService(store, programme, settings)
thanks_page = ThanksPage(programme)  # read on first use: the built page with the reference box


def _request() -> HttpRequest:
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    return HttpRequest(headers=headers, body=event.body, is_base64=bool(event.is_base64_encoded))


def _response(reply: HttpReply) -> Response:
    return Response(status_code=reply.status, content_type=reply.content_type, body=reply.body, headers=reply.headers)


@app.post("/api/referrals")
def create_referral() -> Response:
    service.register_context(app.lambda_context)
    outcome, reply = service.submit(_request())
    metrics.add_metric(name=f"Submission_{outcome.kind}", unit=MetricUnit.Count, value=1)
    return _response(reply)


@app.get("/thanks/")
def thanks() -> Response:
    """The thanks page showing ``?ref=`` when it is a valid reference (never logs the query string)."""
    shown = thanks_page.show(app.current_event.get_query_string_value("ref"))
    metrics.add_metric(name=f"ThanksPage_{shown.kind}", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=shown.html, headers={"Cache-Control": "no-store"}
    )


@app.exception_handler(Exception)
def handle_error(exc: Exception) -> Response:
    """The one place errors become HTTP: 400/413/415 for the request, 503 for the store, else 500."""
    if isinstance(exc, RequestRejectedError):
        logger.info("request rejected", status=exc.status)
        metrics.add_metric(name=f"Rejected_{exc.status}", unit=MetricUnit.Count, value=1)
    elif isinstance(exc, StoreUnavailableError):
        logger.warning("store unavailable", error=type(exc.__cause__ or exc).__name__)
        metrics.add_metric(name="StoreUnavailable", unit=MetricUnit.Count, value=1)
    else:
        # Frames only: exception messages (e.g. pydantic's) can quote what the visitor sent.
        logger.error("unexpected error", error=type(exc).__name__, frames=traceback.format_tb(exc.__traceback__))
        metrics.add_metric(name="UnexpectedError", unit=MetricUnit.Count, value=1)
    return _response(reply_for_error(exc, _request(), programme))


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
