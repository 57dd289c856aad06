"""Editor sign-in Lambda: ``GET /api/cms-auth/auth`` and ``GET /api/cms-auth/callback`` (HTTP API v2).

Thin: Powertools resolver, logger and parameters; each route makes one call into
:mod:`hub.editor_auth`. The GitHub OAuth app's client secret is read from SSM Parameter Store
(SecureString, Powertools Parameters, cached five minutes) only when a sign-in finishes, so the
function starts without it (as on the local stack) and says clearly what is missing when someone
tries to sign in before it is set up. Never logs the event: it carries the sign-in code.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities import parameters

from hub.editor_auth import (
    COOKIE_PATH,
    STATE_COOKIE,
    STATE_SECONDS,
    EditorAuth,
    EditorAuthError,
    NotConfiguredError,
    content_security_policy,
)
from hub.settings import load_settings

settings = load_settings()
logger = Logger(service="cms-auth")
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)
app = APIGatewayHttpResolver()
HTML = "text/html; charset=utf-8"


def _client_secret() -> str:
    name = settings.cms_auth_secret_parameter
    if not name:
        raise NotConfiguredError("no client secret parameter (CMS_AUTH_SECRET_PARAMETER)")
    try:
        return parameters.get_parameter(name, decrypt=True, max_age=300)
    except parameters.exceptions.GetParameterError as exc:
        raise NotConfiguredError(f"the client secret parameter {name} cannot be read") from exc


auth = EditorAuth(settings.site_origin, settings.cms_auth_client_id, _client_secret)


def _state_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(STATE_COOKIE, value, path=COOKIE_PATH, secure=True, http_only=True, max_age=max_age,
                  same_site=SameSite.LAX_MODE)


def _page(page) -> Response:
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": content_security_policy(page.nonce),
               "Referrer-Policy": "no-referrer"}
    cookies = [_state_cookie("", 0)] if page.clear_state else None
    return Response(page.status, HTML, page.html, headers, cookies=cookies)


def _cookie(name: str) -> str | None:
    for cookie in app.current_event.cookies or []:
        key, _, value = cookie.strip().partition("=")
        if key == name:
            return value
    return None


@app.get("/api/cms-auth/auth")
def start() -> Response:
    redirect = auth.start(app.current_event.get_query_string_value("provider"))
    logger.info("editor sign-in started")
    return Response(302, HTML, "", {"Location": redirect.location, "Cache-Control": "no-store"},
                    cookies=[_state_cookie(redirect.state, STATE_SECONDS)])


@app.get("/api/cms-auth/callback")
def callback() -> Response:
    query = app.current_event.get_query_string_value
    page = auth.finish(code=query("code"), state=query("state"), cookie_state=_cookie(STATE_COOKIE), error=query("error"))
    logger.info("editor sign-in finished", status=page.status)
    return _page(page)


@app.exception_handler(EditorAuthError)
def refused(exc: EditorAuthError) -> Response:
    logger.warning("editor sign-in refused", status=exc.status, reason=type(exc).__name__)
    return _page(auth.page(exc.status, "error", {"message": str(exc).rstrip(".")}))


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
