"""The intake function's HTTP edge: request bodies in, responses out.

Everything about HTTP lives here and in ``app.py``; :mod:`hub.intake` sees only the
submitted answers as a mapping and answers with an :class:`hub.intake.Outcome`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import Response

from edge.bodies import FORM, HTML, JSON, MAX_BODY_BYTES, RequestRejectedError, media_type, read_body
from hub.config import Programme
from hub.intake import Outcome

__all__ = ["FORM", "HTML", "JSON", "MAX_BODY_BYTES", "RequestRejectedError", "decode", "media_type", "wants_html"]

MAX_FORM_FIELDS = 100
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Submitted:
    """A decoded form post: its fields, and whether the browser wants pages back (no JavaScript)."""

    fields: dict[str, Any]
    wants_html: bool


def wants_html(headers: Mapping[str, str]) -> bool:
    """A browser posting the form without JavaScript gets pages, not JSON."""
    return media_type(headers) == FORM


def decode(headers: Mapping[str, str], body: str | None, is_base64: bool) -> dict[str, Any]:
    """The submitted fields as a mapping (``interests`` a list). Raises RequestRejectedError (413/415/400)."""
    return read_body(headers, body, is_base64, lists=("interests",), max_fields=MAX_FORM_FIELDS)


def placement_from_referer(fields: dict[str, Any], headers: Mapping[str, str], site_origin: str) -> None:
    """Without JavaScript a static page cannot copy ``?s=<placement>`` into the form, but the
    browser sends the page's address as ``Referer`` (same-origin policy). Use it when the hidden
    field is empty; the address of a campaign page carries no personal data."""
    if fields.get("source") or not headers.get("referer"):
        return
    try:
        page = urlsplit(headers["referer"])
        origin = urlsplit(site_origin)
    except ValueError:
        return
    if (page.scheme, page.netloc) != (origin.scheme, origin.netloc) or not page.path.startswith("/campaigns/"):
        return
    placement = parse_qs(page.query).get("s", [""])[0]
    if placement:
        fields["source"] = placement  # validation drops it unless it is a well-formed id


def submitted(headers: Mapping[str, str], body: str | None, is_base64: bool, site_origin: str) -> Submitted:
    fields = decode(headers, body, is_base64)
    placement_from_referer(fields, headers, site_origin)
    return Submitted(fields, wants_html(headers))


# -- responses ---------------------------------------------------------------------------------


def answer(outcome: Outcome, html: bool, programme: Programme) -> Response:
    """303 to the thanks page or 201 JSON when stored (or the honeypot), 422 when invalid."""
    if outcome.kind == "invalid":
        if html:
            from hub import render  # Jinja2 is loaded only when a page is needed, not at cold start

            return Response(422, HTML, render.form_page(programme, outcome.values, outcome.errors))
        return Response(422, JSON, json.dumps({"errors": outcome.errors}))
    if html:
        return Response(303, "text/plain; charset=utf-8", "", {"Location": f"/thanks/?ref={outcome.reference}"})
    return Response(201, JSON, json.dumps({"reference": outcome.reference}))


def problem(status: int, title: str, message: str, html: bool, programme: Programme | None, headers=None) -> Response:
    """An error answer: a short page for a browser without JavaScript (413, 5xx), else JSON."""
    headers = dict(headers or {})
    if html and status in (413, 500, 503):
        try:
            from hub import render

            return Response(status, HTML, render.problem_page(programme, title, message), headers)
        except Exception:  # noqa: BLE001 (a broken page must not turn into a crash)
            pass
    return Response(status, JSON, json.dumps({"message": message}), headers)


def rejected(exc: RequestRejectedError, html: bool, programme: Programme) -> Response:
    return problem(exc.status, "There is a problem with the form", exc.message, html, programme)


def store_unavailable(html: bool, programme: Programme) -> Response:
    return problem(
        503, "Sorry, there is a problem with the service",
        "We could not save your details just now. Nothing was saved. Please try again in a few minutes.",
        html, programme, {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unexpected(html: bool, programme: Programme) -> Response:
    return problem(
        500, "Sorry, there is a problem with the service",
        "Something went wrong on our side. Please try again later.", html, programme,
    )
