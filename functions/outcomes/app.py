"""Outcomes Lambda: ``GET`` and ``POST /api/outcomes/{token}`` (API Gateway HTTP API v2).

A spoke (or the hub) opens the signed link from its notification, with no login, to see a
referral's history and record what happened, refer the person on, or (the hub) assign
them. Thin: Powertools resolver and logger; each route decodes the request
(:mod:`outcomes.web`) and makes one call into :class:`hub.outcomes.OutcomeDesk`. Errors
become HTTP in the exception handlers below and nowhere else. The signing keys are read
(SSM Parameter Store, through Powertools Parameters) on first use and cached.

Never logged: the token, the path (it holds the token), the note, the event.
"""

from __future__ import annotations

import logging
import traceback

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from hub.programme import load_for_function
from hub.links import LinkExpiredError, LinkInvalidError, outcome_links
from hub.outcomes import OutcomeDesk, OutcomeInvalidError, ReferralErasedError, ReferralGoneError, problem_page
from hub.settings import load_settings
from hub.storage import DynamoReferralStore, StoreUnavailableError
from outcomes import web

settings = load_settings()
programme = load_for_function(settings)

logger = Logger(service="outcomes")  # never log the event: its path holds the spoke's token
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
# Their DEBUG output prints request bodies, and the event handler's the path's token.
for _name in ("botocore", "boto3", "urllib3", "aws_lambda_powertools.event_handler"):
    logging.getLogger(_name).setLevel(logging.INFO)
app = APIGatewayHttpResolver()  # same origin as the page: no CORS
desk = OutcomeDesk(DynamoReferralStore(settings.table_name), programme, outcome_links(settings, programme))


def _headers() -> dict[str, str]:
    return {k.lower(): v for k, v in (app.current_event.headers or {}).items()}


def _html() -> bool:
    return not web.wants_json(_headers(), app.current_event.request_context.http.method)


@app.get("/api/outcomes/<token>")
def show(token: str) -> Response:
    visit = desk.read(token)  # audited
    if not _html():
        return web.as_json(200, desk.summary(visit))
    saved = web.saved_message(app.current_event.get_query_string_value("saved"))
    return web.page(200, desk.page(visit, saved=saved))


@app.post("/api/outcomes/<token>")
def record(token: str) -> Response:
    visit = desk.visit(token)
    event = app.current_event
    request = web.posted(_headers(), event.body, bool(event.is_base64_encoded))
    try:
        result = desk.record(visit, request.fields)
    except OutcomeInvalidError as exc:
        logger.info("outcome post invalid", reference=visit.reference, spoke=visit.spoke, fields=sorted(exc.errors))
        if request.wants_html:
            return web.page(422, desk.page(visit, invalid=exc))
        return web.as_json(422, {"errors": exc.errors})
    return web.recorded(result, request.wants_html, f"/api/outcomes/{token}")


@app.exception_handler(LinkInvalidError)
def link_invalid(exc: LinkInvalidError) -> Response:
    logger.info("outcome link refused", reason=str(exc))
    return web.problem(403, "This link does not work", problem_page(programme, "invalid") if _html() else None)


@app.exception_handler(LinkExpiredError)
def link_expired(exc: LinkExpiredError) -> Response:
    logger.info("outcome link expired", reference=exc.reference, spoke=exc.spoke)
    page = problem_page(programme, "expired", exc.reference) if _html() else None
    return web.problem(410, "This link has expired: ask the hub for a new one", page)


@app.exception_handler(ReferralErasedError)
def referral_erased(exc: ReferralErasedError) -> Response:
    logger.info("outcome link for an erased referral", reference=exc.reference, spoke=exc.spoke)
    page = problem_page(programme, "erased", exc.reference) if _html() else None
    return web.problem(410, "This referral has been erased", page)


@app.exception_handler(ReferralGoneError)
def referral_gone(exc: ReferralGoneError) -> Response:
    logger.info("outcome link for a referral no longer held", reference=exc.reference, spoke=exc.spoke)
    page = problem_page(programme, "gone", exc.reference) if _html() else None
    return web.problem(410, "This referral is no longer held", page)


def _trouble(status: int, title: str, message: str) -> Response:
    """A short page for a browser, JSON otherwise (a broken page must not become a crash)."""
    page = None
    if _html():
        try:
            from hub import render

            page = render.problem_page(programme, title, message)
        except Exception:  # noqa: BLE001
            page = None
    return web.problem(status, message, page)


@app.exception_handler(web.RequestRejectedError)
def request_rejected(exc: web.RequestRejectedError) -> Response:
    logger.info("request rejected", status=exc.status)
    return _trouble(exc.status, "There is a problem with the form", exc.message)


@app.exception_handler(StoreUnavailableError)
def store_unavailable(exc: StoreUnavailableError) -> Response:
    logger.warning("store unavailable", error=type(exc.__cause__ or exc).__name__)
    response = _trouble(503, "Sorry, there is a problem with the service",
                        "Nothing was saved. Please try again in a few minutes.")
    response.headers["Retry-After"] = "5"
    return response


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    # Frames only: exception messages can quote what was sent.
    logger.error("unexpected error", error=type(exc).__name__, frames=traceback.format_tb(exc.__traceback__))
    return _trouble(500, "Sorry, there is a problem with the service",
                    "Something went wrong on our side. Nothing was saved. Please try again later.")


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
