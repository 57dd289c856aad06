"""The local stack turns HTTP requests into API Gateway HTTP API (2.0) events and back."""

from __future__ import annotations

import base64
import json

import pytest

from cchcc.local.http_api import http_api_event, http_api_response


def event(body: bytes = b"", content_type: str | None = None, headers=(), query: str = "", method: str = "POST"):
    all_headers = list(headers) + ([("Content-Type", content_type)] if content_type else [])
    return http_api_event(
        method=method, path="/api/referrals", query=query, headers=all_headers, body=body,
        source_ip="127.0.0.1", route_key=f"{method} /api/referrals",
    )


def test_shape_is_payload_format_2_0():
    e = event(b"{}", "application/json", headers=[("User-Agent", "test")])
    assert e["version"] == "2.0"
    assert e["routeKey"] == "POST /api/referrals"
    assert e["rawPath"] == "/api/referrals" and e["rawQueryString"] == ""
    http = e["requestContext"]["http"]
    assert http == {"method": "POST", "path": "/api/referrals", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"}
    assert e["requestContext"]["stage"] == "$default"
    assert isinstance(e["requestContext"]["timeEpoch"], int)
    assert "queryStringParameters" not in e and "cookies" not in e


@pytest.mark.parametrize(
    ("content_type", "body", "base64_encoded"),
    [
        ("application/x-www-form-urlencoded", b"name=A&interests=a&interests=b", True),
        ("application/json", b'{"name": "A"}', False),
        ("application/json; charset=utf-8", b'{"name": "A"}', False),
        ("text/plain", b"hello", False),
        ("multipart/form-data; boundary=x", b"--x--", True),
        ("application/json", b"\xff\xfe not utf-8", True),
    ],
)
def test_form_posts_arrive_base64_encoded_and_json_as_text(content_type, body, base64_encoded):
    e = event(body, content_type)
    assert e["isBase64Encoded"] is base64_encoded
    decoded = base64.b64decode(e["body"]) if base64_encoded else e["body"].encode("utf-8")
    assert decoded == body


def test_headers_are_lower_cased_repeats_joined_and_cookies_split_out():
    e = event(headers=[("X-Thing", "a"), ("x-thing", "b"), ("Cookie", "a=1; b=2")], method="GET")
    assert e["headers"] == {"x-thing": "a,b"}
    assert e["cookies"] == ["a=1", "b=2"]
    assert "body" not in e


def test_query_parameters_are_decoded_and_repeats_joined():
    e = event(query="s=poster-1&x=a%20b&x=c", method="GET")
    assert e["rawQueryString"] == "s=poster-1&x=a%20b&x=c"
    assert e["queryStringParameters"] == {"s": "poster-1", "x": "a b,c"}


@pytest.mark.parametrize(
    ("result", "status", "headers", "body"),
    [
        ({"statusCode": 303, "headers": {"Location": "/thanks/?ref=X"}, "body": ""}, 303, [("Location", "/thanks/?ref=X")], b""),
        ({"statusCode": 201, "body": '{"reference": "X"}'}, 201, [], b'{"reference": "X"}'),
        ({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, 200, [], b"\x00\x01"),
        ({"statusCode": 204, "cookies": ["a=1; Secure"]}, 204, [("Set-Cookie", "a=1; Secure")], b""),
        ({"reference": "X"}, 200, [("Content-Type", "application/json")], json.dumps({"reference": "X"}).encode()),
    ],
)
def test_handler_responses_map_back_to_http(result, status, headers, body):
    assert http_api_response(result) == (status, headers, body)
