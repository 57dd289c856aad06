"""The intake function's HTTP edge: request bodies in, responses out.

Everything about HTTP lives here and in ``app.py``; :mod:`hub.intake` sees only the
submitted answers as a mapping and answers with an :class:`hub.intake.Outcome`.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import Response

from hub import i18n
from hub.config import Programme
from hub.i18n import N_
from hub.intake import Outcome

MAX_BODY_BYTES = 16 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FORM_FIELDS = 100
RETRY_AFTER_SECONDS = 5
HTML = "text/html; charset=utf-8"


class RequestRejectedError(Exception):
    """The request itself is unusable (size, type, syntax). ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Submitted:
    """A decoded form post: its fields, and whether the browser wants pages back (no JavaScript)."""

    fields: dict[str, Any]
    wants_html: bool


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def wants_html(headers: Mapping[str, str]) -> bool:
    """A browser posting the form without JavaScript gets pages, not JSON."""
    return media_type(headers) == FORM


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or "utf-8"
    return "utf-8"


def decode(headers: Mapping[str, str], body: str | None, is_base64: bool) -> dict[str, Any]:
    """The submitted fields as a mapping. Raises RequestRejectedError (413/415/400)."""
    raw = body or ""
    if is_base64:
        if len(raw) > (MAX_BODY_BYTES * 4) // 3 + 8:
            raise RequestRejectedError(413, N_("The request is too large"))
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestRejectedError(400, "The request body could not be read") from exc
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise RequestRejectedError(413, N_("The request is too large"))

    media = media_type(headers)
    if media not in (FORM, JSON):
        raise RequestRejectedError(415, "Send the form as application/x-www-form-urlencoded or application/json")
    charset = _charset(headers.get("content-type", ""))
    try:
        codecs.lookup(charset)
    except LookupError as exc:
        raise RequestRejectedError(415, "Send the form encoded as UTF-8") from exc
    try:
        text = data.decode(charset)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRejectedError(400, "The request body is not valid text") from exc

    if media == JSON:
        try:
            value = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError) as exc:
            raise RequestRejectedError(400, "The request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise RequestRejectedError(400, "The request body must be a JSON object")
        return value

    try:
        pairs = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise RequestRejectedError(400, "The form could not be read") from exc
    return {key: values if key == "interests" else values[0] for key, values in pairs.items()}


def placement_from_referer(fields: dict[str, Any], headers: Mapping[str, str], site_origin: str) -> None:
    """Without JavaScript a static page cannot copy ``?s=<placement>`` (or ``?assisted=1``) into the
    form, but the browser sends the page's address as ``Referer`` (same-origin policy). Use it when
    the hidden field is empty; the address of a campaign or event page carries no personal data."""
    if not headers.get("referer"):
        return
    try:
        page = urlsplit(headers["referer"])
        origin = urlsplit(site_origin)
    except ValueError:
        return
    path = page.path
    first = path.strip("/").split("/", 1)[0]
    if i18n.is_language(first) and first != i18n.DEFAULT:
        path = path[len(first) + 1 :]  # /ur/campaigns/... is a campaign page too
    if (page.scheme, page.netloc) != (origin.scheme, origin.netloc) or not path.startswith(("/campaigns/", "/events/")):
        return
    query = parse_qs(page.query)
    placement = query.get("s", [""])[0]
    if placement and not fields.get("source"):
        fields["source"] = placement  # validation drops it unless it is a well-formed id
    if query.get("assisted", [""])[0] == "1" and fields.get("channel") in (None, "", "web"):
        fields["channel"] = "assisted"


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
        return Response(303, "text/plain; charset=utf-8", "", {"Location": thanks_location(outcome)})
    return Response(201, JSON, json.dumps({"reference": outcome.reference}))


def thanks_location(outcome: Outcome) -> str:
    """``/thanks/?ref=<reference>``, with ``&lang=<code>`` for a page in another language."""
    lang = outcome.lang if i18n.is_language(outcome.lang) else i18n.DEFAULT
    return f"/thanks/?ref={outcome.reference}" + ("" if lang == i18n.DEFAULT else f"&lang={lang}")


def language_of(headers: Mapping[str, str], body: str | None, is_base64: bool) -> str:
    """The ``lang`` a form post names, for an error page in its language; English when there is none."""
    try:
        lang = decode(headers, body, is_base64).get("lang")
    except RequestRejectedError:
        return i18n.DEFAULT
    return lang if i18n.is_language(lang) else i18n.DEFAULT


def problem(
    status: int, title: str, message: str, html: bool, programme: Programme | None, headers=None, lang: str | None = None
) -> Response:
    """An error answer: a short page in ``lang`` for a browser without JavaScript (413, 5xx), else JSON."""
    headers = dict(headers or {})
    if html and status in (413, 500, 503):
        try:
            from hub import render

            return Response(status, HTML, render.problem_page(programme, title, message, lang), headers)
        except Exception:  # noqa: BLE001 (a broken page must not turn into a crash)
            pass
    return Response(status, JSON, json.dumps({"message": i18n.translator(lang).gettext(message)}), headers)


def rejected(exc: RequestRejectedError, html: bool, programme: Programme, lang: str | None = None) -> Response:
    return problem(exc.status, N_("There is a problem with the form"), exc.message, html, programme, lang=lang)


def store_unavailable(html: bool, programme: Programme, lang: str | None = None) -> Response:
    return problem(
        503, N_("Sorry, there is a problem with the service"),
        N_("We could not save your details just now. Nothing was saved. Please try again in a few minutes."),
        html, programme, {"Retry-After": str(RETRY_AFTER_SECONDS)}, lang,
    )


def unexpected(html: bool, programme: Programme, lang: str | None = None) -> Response:
    return problem(
        500, N_("Sorry, there is a problem with the service"),
        N_("Something went wrong on our side. Please try again later."), html, programme, lang=lang,
    )
