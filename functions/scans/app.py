"""Scans Lambda: ``GET /q/<id>`` (API Gateway HTTP API v2, behind CloudFront's ``/q/*`` origin group).

Counts a person's scan of a QR code and answers ``302`` to where the static ``/q/<id>/`` page
points (:mod:`hub.scans`); ``404`` for an id the build does not know, so CloudFront shows the
static site instead. Thin: Powertools logger and event class, one call. Cold start without
pydantic or Jinja2: the compiled programme and the catalogue's ``codes`` are plain JSON.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source

from hub.programme import load_for_function
from hub.scans import Answer, Scans, load_codes
from hub.settings import load_settings
from hub.storage import DynamoReferralStore

settings = load_settings()
programme = load_for_function(settings)

logger = Logger(service="scans")  # never log the event: its headers describe the visitor's device
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)
store = DynamoReferralStore(settings.table_name)
store.client  # noqa: B018 (created during init, which has the CPU to itself, not on the first scan)
scans = Scans(load_codes(settings.campaigns_file), store, programme.retention_days)


def _response(answer: Answer) -> dict:
    """Never cached (each scan must reach the function); the 404 lets CloudFront fail over."""
    headers = {"Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8"}
    if answer.location is None:
        return {"statusCode": answer.status, "headers": headers, "body": "Not found\n"}
    return {"statusCode": answer.status, "headers": {**headers, "Location": answer.location}, "body": ""}


@logger.inject_lambda_context(log_event=False)
@event_source(data_class=APIGatewayProxyEventV2)
def lambda_handler(event: APIGatewayProxyEventV2, context) -> dict:
    return _response(scans.scan(event.raw_path, event.request_context.http.method, event.headers.get("user-agent")))
