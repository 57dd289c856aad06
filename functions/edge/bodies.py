"""Request bodies of API Gateway HTTP API (v2) events, read the same way by every handler.

A form post (``application/x-www-form-urlencoded``, which HTTP APIs base64-encode) or a JSON
object, at most :data:`MAX_BODY_BYTES`, in UTF-8 or another text charset the request names
(:data:`TEXT_CHARSETS`). Anything else is a :class:`RequestRejectedError` with the status to
answer (413, 415 or 400) and a message that quotes nothing that was sent.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from hub.i18n import N_  # marks words for translation: the 413 page comes back in the form's language

MAX_BODY_BYTES = 16 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
HTML = "text/html; charset=utf-8"


class RequestRejectedError(Exception):
    """The request itself is unusable (size, type, syntax). ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or "utf-8"
    return "utf-8"


# The text encodings a body may declare, by Python's codec name. Python also has "codecs" that
# are not ways of writing text (rot13, hex, base64, zlib, bz2, uu, quopri) or that turn escapes
# into code points nobody typed (unicode_escape, raw_unicode_escape, utf-7): those are refused.
TEXT_CHARSETS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"})


def _codec(charset: str) -> str:
    """The Python codec for a declared charset; 415 unless it is one of :data:`TEXT_CHARSETS`."""
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError) as exc:
        raise RequestRejectedError(415, "Send the form encoded as UTF-8") from exc
    if name not in TEXT_CHARSETS:
        raise RequestRejectedError(415, "Send the form encoded as UTF-8")
    return name


def _has_lone_surrogate(value: Any) -> bool:
    """True if any string in a decoded JSON value holds a lone surrogate (a ``\\ud800`` escape):
    not text anyone typed, and it cannot be stored or sent on. Iterative: depth is no limit."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def read_body(
    headers: Mapping[str, str], body: str | None, is_base64: bool, *, lists: Iterable[str] = (), max_fields: int = 100
) -> dict[str, Any]:
    """The posted fields as a mapping: a form field's first value, or every value for the
    names in ``lists``; a JSON object as it is. Raises RequestRejectedError (413/415/400)."""
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
    codec = _codec(_charset(headers.get("content-type", "")))
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRejectedError(400, "The request body is not valid text") from exc

    if media == JSON:
        try:
            value = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError) as exc:
            raise RequestRejectedError(400, "The request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise RequestRejectedError(400, "The request body must be a JSON object")
        if _has_lone_surrogate(value):
            raise RequestRejectedError(400, "The request body is not valid text")
        return value

    try:
        pairs = parse_qs(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError as exc:
        raise RequestRejectedError(400, "The form could not be read") from exc
    many = set(lists)
    return {key: values if key in many else values[0] for key, values in pairs.items()}
