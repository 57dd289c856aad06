"""The editor's sign-in function (functions/cms_auth) as Lambda runs it: real HTTP API v2 events,
the client secret from SSM Parameter Store (moto), GitHub's token endpoint replaced."""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from tests.integration.conftest import REGION, fresh_import, load_event

SECRET = "/cchcc/editor/github-oauth-client-secret"


@pytest.fixture
def cms_auth(aws, monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # a warm container's cached secret must not leak between tests

    def load(client_id="Iv1.abc", secret: str | None = "s3cret"):
        monkeypatch.setenv("CMS_AUTH_CLIENT_ID", client_id)
        monkeypatch.setenv("CMS_AUTH_SECRET_PARAMETER", SECRET)
        if secret is not None:
            boto3.client("ssm", region_name=REGION).put_parameter(Name=SECRET, Value=secret, Type="SecureString", Overwrite=True)
        return fresh_import("cms_auth.app")

    return load


def _get(path: str, query: str = "") -> dict:
    event = copy.deepcopy(load_event("cms_auth_callback.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&") if p) or None
    event.pop("cookies")
    return event


def test_auth_redirects_to_github_and_sets_the_state_cookie(cms_auth, lambda_context):
    app = cms_auth()
    response = app.lambda_handler(_get("/api/cms-auth/auth", "provider=github&site_id=jobs.example.org&scope=repo"), lambda_context)
    assert response["statusCode"] == 302
    assert response["headers"]["Location"].startswith("https://github.com/login/oauth/authorize?client_id=Iv1.abc")
    (cookie,) = response["cookies"]
    assert cookie.startswith("cchcc_cms_state=") and "HttpOnly" in cookie and "Secure" in cookie and "Path=/api/cms-auth/" in cookie


def test_callback_reads_the_secret_from_ssm_and_hands_over_the_token(cms_auth, lambda_context, monkeypatch):
    app = cms_auth()
    sent = []
    monkeypatch.setattr(app.auth, "post", lambda url, fields: sent.append(fields) or {"access_token": "gho_abc"})
    response = app.lambda_handler(load_event("cms_auth_callback.json"), lambda_context)
    assert response["statusCode"] == 200
    assert sent[0]["client_secret"] == "s3cret" and sent[0]["code"] == "0123456789abcdef0123"
    assert '\\"token\\": \\"gho_abc\\"' in response["body"]
    assert response["headers"]["Content-Security-Policy"].startswith("default-src 'none'; script-src 'nonce-")
    assert response["headers"]["Cache-Control"] == "no-store"
    assert any(c.startswith("cchcc_cms_state=;") for c in response["cookies"])


def test_it_starts_without_any_configuration_and_says_so_only_when_used(cms_auth, lambda_context, capsys):
    app = cms_auth(client_id="", secret=None)  # as on the local stack: no OAuth app, no secret
    response = app.lambda_handler(_get("/api/cms-auth/auth", "provider=github"), lambda_context)
    assert response["statusCode"] == 503
    assert "not set up yet" in response["body"] and "docs/deploy.md" in response["body"]


def test_a_missing_secret_is_a_clear_503_not_a_crash(cms_auth, lambda_context, capsys):
    app = cms_auth(secret=None)
    app.auth.post = lambda url, fields: pytest.fail("GitHub was asked without a secret")
    response = app.lambda_handler(load_event("cms_auth_callback.json"), lambda_context)
    assert response["statusCode"] == 503
    assert f"the client secret parameter {SECRET} cannot be read" in response["body"]
    logs = capsys.readouterr()
    assert "0123456789abcdef0123" not in logs.out + logs.err  # the code is never logged
