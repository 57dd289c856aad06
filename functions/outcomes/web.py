"""The outcomes function's HTTP edge: what a post carries in, pages and JSON out.

Every answer says ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``: the
address holds the spoke's token, which must stay out of caches and out of any other
site's logs. Bodies are read as the intake reads them (:mod:`edge.bodies`);
:mod:`hub.outcomes` sees only the posted fields as a mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response

from edge.bodies import FORM, HTML, JSON, RequestRejectedError, media_type, read_body
from hub.outcomes import Recorded

MAX_FORM_FIELDS = 20
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
SAVED = {
    "status": "What happened is recorded.",
    "refer": "They are referred on. The partner gets a message with their details and a link of its own.",
    "assign": "They are assigned. The partner gets a message with their details and a link of its own.",
}

__all__ = ["RequestRejectedError", "posted", "wants_json", "page", "as_json", "recorded", "saved_message", "problem"]


@dataclass(frozen=True)
class Posted:
    """A decoded post: its fields, and whether the browser wants pages back (a form, no JavaScript)."""

    fields: dict[str, Any]
    wants_html: bool


def wants_json(headers: Mapping[str, str], method: str) -> bool:
    """JSON for a JSON post, or a GET that asks for JSON and not HTML; a page otherwise."""
    if method == "POST":
        return media_type(headers) == JSON
    accept = headers.get("accept", "")
    return JSON in accept and "text/html" not in accept


def posted(headers: Mapping[str, str], body: str | None, is_base64: bool) -> Posted:
    """The posted fields. RequestRejectedError (413/415/400) when they cannot be read."""
    fields = read_body(headers, body, is_base64, max_fields=MAX_FORM_FIELDS)
    return Posted(fields, wants_html=media_type(headers) == FORM)


def page(status: int, html: str) -> Response:
    return Response(status, HTML, html, dict(PRIVATE))


def as_json(status: int, data: Any) -> Response:
    return Response(status, JSON, json.dumps(data), dict(PRIVATE))


def recorded(result: Recorded, html: bool, path: str) -> Response:
    """303 back to the page with a confirmation (a browser), or 200 JSON."""
    if html:
        return Response(303, "text/plain; charset=utf-8", "", {**PRIVATE, "Location": f"{path}?saved={result.kind}"})
    body: dict[str, Any] = {"reference": result.reference, "spoke": result.spoke, "status": result.status}
    if result.to_spoke:
        body["referred_to"] = result.to_spoke
    return as_json(200, body)


def saved_message(kind: str | None) -> str | None:
    return SAVED.get(kind or "")


def problem(status: int, message: str, html_page: str | None) -> Response:
    """An error: the page for a browser, else ``{"message": ...}``."""
    return page(status, html_page) if html_page is not None else as_json(status, {"message": message})
