"""The intake function's HTTP edge: request bodies in, responses out.

Everything about HTTP lives here and in ``app.py``; :mod:`hub.intake` sees only the
submitted answers as a mapping and answers with an :class:`hub.intake.Outcome`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import Response

from edge.bodies import FORM, HTML, JSON, MAX_BODY_BYTES, TEXT_CHARSETS, RequestRejectedError, media_type, read_body
from hub import i18n
from hub.i18n import N_
from hub.intake import Outcome
from hub.limits import Client

if TYPE_CHECKING:
    from hub.config import Programme

__all__ = ["FORM", "HTML", "JSON", "MAX_BODY_BYTES", "TEXT_CHARSETS", "RequestRejectedError", "decode", "media_type", "wants_html"]

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


def client(headers: Mapping[str, str], source_ip: str | None) -> Client:
    """Who sent the request, for the rate limit (:mod:`hub.limits` hashes it; it is never stored).

    Through CloudFront, the HTTP API's ``sourceIp`` is CloudFront's own address and the
    visitor's is in ``CloudFront-Viewer-Address`` (``203.0.113.7:46532``, ``2001:db8::1:46532``),
    which CloudFront sets itself (the origin request policy forwards it). Someone calling the
    API directly could send that header made up, so the address it came from is limited too.
    """
    source = (source_ip or "").strip() or "unknown"
    viewer = (headers.get("cloudfront-viewer-address") or "").strip()
    if not viewer:
        return Client(source)
    host, sep, port = viewer.rpartition(":")
    address = host.strip("[]") if sep and port.isdigit() else viewer
    return Client(address[:64] or source, edge=source)


def submitted(headers: Mapping[str, str], body: str | None, is_base64: bool, site_origin: str) -> Submitted:
    fields = decode(headers, body, is_base64)
    placement_from_referer(fields, headers, site_origin)
    return Submitted(fields, wants_html(headers))


# -- what the routes answer, for the OpenAPI description (cchcc/ops/openapi.py) -----------------------

_MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
_PAGE = {"type": "string", "description": "A page for a browser without JavaScript"}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending again", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def _answer(description: str, json_schema: dict | None = None, page: bool = False, headers: dict | None = None) -> dict:
    content = {JSON: {"schema": json_schema}} if json_schema else {}
    if page:
        content["text/html"] = {"schema": _PAGE}
    return {"description": description, **({"content": content} if content else {}), **({"headers": headers} if headers else {})}


REFERRAL_RESPONSES: dict[int, dict] = {
    201: _answer("Stored (JSON): the reference to quote", {
        "type": "object", "required": ["reference"],
        "properties": {"reference": {"type": "string", "pattern": "^[A-Z0-9]{4}-[A-Z0-9]{4}$"}},
    }),
    303: {"description": "Stored (form): see the thanks page with the reference",
          "content": {"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
          "headers": {"Location": {"description": "/thanks/?ref=<reference>", "schema": {"type": "string"}}}},
    400: _answer("The body is not valid JSON, a JSON object, or text", _MESSAGE),
    413: _answer("The body is over 16 KiB", _MESSAGE, page=True),
    415: _answer("Neither form-encoded nor JSON, or not a text encoding", _MESSAGE),
    422: _answer("Mistakes a person can fix: the form again (HTML) or each field's message (JSON)", {
        "type": "object", "required": ["errors"],
        "properties": {"errors": {"type": "object", "additionalProperties": {"type": "string"}}},
    }, page=True),
    429: _answer("Too many new referrals from this client for now: wait, the answers are kept", _MESSAGE, page=True,
                 headers=_RETRY_AFTER),
    500: _answer("A fault on our side", _MESSAGE, page=True),
    503: _answer("The store is unavailable: nothing was saved; try again", _MESSAGE, page=True, headers=_RETRY_AFTER),
}
THANKS_RESPONSES: dict[int, dict] = {
    200: _answer("The thanks page, with the reference when ?ref= is one", page=True),
    500: _answer("A fault on our side", _MESSAGE, page=True),
}


# -- responses ---------------------------------------------------------------------------------


def answer(outcome: Outcome, html: bool, programme: Programme) -> Response:
    """303 to the thanks page or 201 JSON when stored (or the honeypot), 422 when invalid,
    429 with Retry-After (the form kept) when this client has sent too many."""
    if outcome.kind == "limited":
        return limited(outcome, html, programme)
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


LIMITED_TITLE = N_("You have sent a lot of forms")
LIMITED_MESSAGE = N_(
    "We have had a lot of forms from this device in a short time. Please wait %(wait)s, then send "
    "this one again. Your answers are still here."
)


def limited(outcome: Outcome, html: bool, programme: Programme) -> Response:
    """429 in the language the form was posted in."""
    t = i18n.translator(outcome.lang)
    minutes = max(1, -(-outcome.retry_after // 60))
    wait = t.gettext(N_("a minute")) if minutes == 1 else t(N_("%(minutes)s minutes"), minutes=minutes)
    message = t(LIMITED_MESSAGE, wait=wait)
    headers = {"Retry-After": str(outcome.retry_after)}
    if html:
        from hub import render

        page = render.limited_page(programme, outcome.values, t.gettext(LIMITED_TITLE), message)
        return Response(429, HTML, page, headers)
    return Response(429, JSON, json.dumps({"message": message}), headers)


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
