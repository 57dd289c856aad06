"""Translate between HTTP requests and API Gateway HTTP API (payload format 2.0) events.

The local stack uses this to hand a request to the function whose route matches
exactly as API Gateway would, and to turn the function's answer back into an
HTTP response.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

# Bodies with these media types reach the function as text; anything else
# (form posts included) arrives base64-encoded, as HTTP APIs do.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


def _is_text(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+json") or media.endswith("+xml")


def http_api_event(
    *,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    stage: str = "$default",
    account_id: str = "123456789012",
    api_id: str = "local",
    domain_name: str = "127.0.0.1",
) -> dict[str, Any]:
    """A payload-format-2.0 event for one request.

    Header names are lower-cased and repeated headers joined with commas;
    ``Cookie`` becomes the ``cookies`` list; query parameters are decoded into
    ``queryStringParameters`` (repeats joined with commas).
    """
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": merged.get("host", domain_name).split(":")[0],
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes).decode("ascii")[:16],
            "routeKey": route_key or f"{method} {path}",
            "stage": stage,
            "time": datetime.fromtimestamp(now, tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body:
        content_type = merged.get("content-type", "")
        if _is_text(content_type):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def http_api_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) for a handler's payload-format-2.0 response.

    A dict with ``statusCode`` is used as given (``headers``, ``cookies``,
    ``body``, ``isBase64Encoded``); anything else is treated as API Gateway
    does: a 200 JSON response of the value.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        body = json.dumps(result).encode("utf-8")
        return 200, [("Content-Type", "application/json")], body
    status = int(result["statusCode"])
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = str(raw).encode("utf-8")
    return status, headers, body
