"""Contract fuzzing: Schemathesis drives the real intake handler (on moto) from infra/openapi.json.

The handler sits behind a small WSGI adapter that turns each request into the HTTP API v2
event API Gateway would send (``cchcc.local.http_api``, as the local stack does) and routes
it by the template's routes. Every generated request, valid or not by the schema, must get
an answer the document allows: no 5xx, a documented status, media type, schema and headers,
and a 4xx for what the schema forbids. And the document must be what the code says
(``python -m cchcc.ops.openapi --check``) with exactly the template's routes.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from cchcc.local.http_api import http_api_event, http_api_response
from cchcc.local.template import Template
from tests.conftest import PROJECT, ROOT, TEMPLATE
from tests.integration.conftest import FakeLambdaContext, fresh_import

DOCUMENT = ROOT / "infra" / "openapi.json"


def test_the_committed_description_is_what_the_code_says():
    from cchcc.ops.openapi import text

    assert DOCUMENT.read_text(encoding="utf-8") == text(PROJECT), "run: python -m cchcc.ops.openapi"


def test_the_description_has_exactly_the_template_routes_of_the_intake():
    doc = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    described = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routes = {(r.method, r.path) for r in Template.load(TEMPLATE).routes() if r.function == "IntakeFunction"}
    assert described == routes


class LambdaBehindApiGateway:
    """WSGI in, HTTP API v2 event to the handler, its answer out (as API Gateway, by the template's routes)."""

    def __init__(self, handler, routes):
        self.handler = handler
        self.routes = routes
        self.calls = 0

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        if path == "/openapi.json":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [DOCUMENT.read_bytes()]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = [(k[5:].replace("_", "-").lower(), v) for k, v in environ.items() if k.startswith("HTTP_")]
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", environ["CONTENT_TYPE"]))
        route = next((r for r in self.routes if r.match(method, path) is not None), None)
        if route is None:
            status, out_headers, payload = 404, [("Content-Type", "application/json")], b'{"message":"Not Found"}'
        else:
            event = http_api_event(method=method, path=path, query=environ.get("QUERY_STRING", ""), headers=headers,
                                   body=body, source_ip="198.51.100.7", route_key=route.key)
            self.calls += 1
            status, out_headers, payload = http_api_response(self.handler(event, FakeLambdaContext()))
        start_response(f"{status} {HTTPStatus(status).phrase}", out_headers)
        return [payload]


@pytest.fixture
def api(aws, monkeypatch):
    # Room for every generated request: the rate limit has its own tests (test_intake_hardening).
    monkeypatch.setenv("RATE_LIMIT_BURST", "100000")
    app = fresh_import("intake.app")
    wsgi = LambdaBehindApiGateway(app.lambda_handler, Template.load(TEMPLATE).routes())
    return schemathesis.openapi.from_wsgi("/openapi.json", wsgi)


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), [("/api/referrals", "POST"), ("/thanks/", "GET")])
def test_every_request_the_description_allows_or_forbids_gets_a_documented_answer(api, path, method, mode):
    operation = api[path][method]

    # (Hypothesis directly rather than Schemathesis' pytest plugin, which pytest 9 does not run.)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(suppress_health_check=list(HealthCheck), deadline=None)
    def answers_as_documented(case):
        # Schema-valid is not the same as valid: a well-typed postcode can still be no postcode, and
        # the form's own rules answer that with the documented 422. Every other check applies.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    answers_as_documented()


@pytest.mark.parametrize(("media_type", "status"), [("application/json", 201), ("application/x-www-form-urlencoded", 303)])
def test_the_documented_example_is_stored_and_answered_as_documented(api, aws, media_type, status):
    from tests.integration.conftest import referral_items

    operation = api["/api/referrals"]["POST"]
    example = json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"]["/api/referrals"]["post"]["requestBody"][
        "content"][media_type]["example"]
    response = operation.Case(body=example, media_type=media_type).call_and_validate()
    assert response.status_code == status
    assert len(referral_items(aws)) == 1
