"""The outcomes function's HTTP edge: what a post carries in, pages and JSON out.

Every answer says ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``: the
address holds the spoke's token, which must stay out of caches and out of any other
site's logs. :mod:`hub.outcomes` sees only the posted fields as a mapping.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response

from hub.outcomes import Recorded

MAX_BODY_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
SAVED = {
    "status": "What happened is recorded.",
    "refer": "They are referred on. The partner gets a message with their details and a link of its own.",
    "assign": "They are assigned. The partner gets a message with their details and a link of its own.",
}


class RequestRejectedError(Exception):
    """The request itself is unusable (size, type, syntax). ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Posted:
    fields: dict[str, Any]
    wants_html: bool


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def wants_json(headers: Mapping[str, str], method: str) -> bool:
    """JSON for a JSON post, or a GET that asks for JSON and not HTML; a page otherwise."""
    if method == "POST":
        return media_type(headers) == JSON
    accept = headers.get("accept", "")
    return JSON in accept and "text/html" not in accept


def body_bytes(body: str | None, is_base64: bool) -> bytes:
    """The request body as sent (HTTP APIs base64-encode form posts)."""
    raw = body or ""
    if not is_base64:
        return raw.encode("utf-8", "surrogatepass")
    if len(raw) > (MAX_BODY_BYTES * 4) // 3 + 8:
        raise RequestRejectedError(413, "The request is too large")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestRejectedError(400, "The request body could not be read") from exc


def posted(headers: Mapping[str, str], body: bytes) -> Posted:
    """The posted fields. RequestRejectedError (413/415/400) when they cannot be read."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestRejectedError(413, "The request is too large")
    media = media_type(headers)
    if media not in (FORM, JSON):
        raise RequestRejectedError(415, "Send the form as application/x-www-form-urlencoded or application/json")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejectedError(400, "The request body is not valid UTF-8") from exc
    if media == JSON:
        try:
            value = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError) as exc:
            raise RequestRejectedError(400, "The request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise RequestRejectedError(400, "The request body must be a JSON object")
        return Posted(value, wants_html=False)
    try:
        pairs = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise RequestRejectedError(400, "The form could not be read") from exc
    return Posted({key: values[0] for key, values in pairs.items()}, wants_html=True)


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


