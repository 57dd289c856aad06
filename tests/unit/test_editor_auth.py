"""The editor's GitHub sign-in (hub.editor_auth): state checked, secret read only when needed,
the token handed only to the site's own origin, nothing secret in errors."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.editor_auth import AUTHORIZE_URL, TOKEN_URL, EditorAuth, EditorAuthError, NotConfiguredError, content_security_policy

ORIGIN = "https://jobs.example.org"


class GitHub:
    def __init__(self, answer=None):
        self.answer = answer if answer is not None else {"access_token": "gho_token123", "scope": "repo", "token_type": "bearer"}
        self.calls = []

    def __call__(self, url, fields):
        self.calls.append((url, fields))
        return self.answer


def auth(github=None, client_id="Iv1.abc", secret=lambda: "s3cret"):
    return EditorAuth(ORIGIN, client_id, secret, post=github or GitHub(), new_state=lambda: "STATE123")


def handed_over(page) -> dict:
    data = json.loads(re.search(r'<script type="application/json" id="cchcc-auth">(.*?)</script>', page.html).group(1))
    return data


def test_start_sends_the_window_to_github_with_a_state_kept_in_a_cookie():
    redirect = auth().start("github")
    url = urlsplit(redirect.location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == AUTHORIZE_URL
    query = parse_qs(url.query)
    assert query == {"client_id": ["Iv1.abc"], "redirect_uri": [f"{ORIGIN}/api/cms-auth/callback"], "scope": ["repo"], "state": ["STATE123"]}
    assert redirect.state == "STATE123"


def test_finish_exchanges_the_code_and_hands_the_token_to_the_site_origin_only():
    github = GitHub()
    page = auth(github).finish(code="c0de", state="STATE123", cookie_state="STATE123")
    assert page.status == 200 and page.clear_state
    assert github.calls == [(TOKEN_URL, {"client_id": "Iv1.abc", "client_secret": "s3cret", "code": "c0de",
                                         "redirect_uri": f"{ORIGIN}/api/cms-auth/callback"})]
    data = handed_over(page)
    assert data["origin"] == ORIGIN
    assert data["message"] == 'authorization:github:success:{"token": "gho_token123", "provider": "github"}'
    # The page's one script runs by its nonce; the handoff names the origin, never "*" for the token.
    assert f'<script nonce="{page.nonce}">' in page.html and "postMessage(d.message,d.origin)" in page.html
    assert f"'nonce-{page.nonce}'" in content_security_policy(page.nonce)


@pytest.mark.parametrize(
    "code,state,cookie,status",
    [("c0de", "STATE123", None, 400), ("c0de", "STATE123", "OTHER", 400), (None, "STATE123", "STATE123", 400)],
    ids=["no-cookie", "state-mismatch", "no-code"],
)
def test_a_forged_or_stale_callback_exchanges_nothing(code, state, cookie, status):
    github = GitHub()
    page = auth(github).finish(code=code, state=state, cookie_state=cookie)
    assert page.status == status and github.calls == []
    assert handed_over(page)["message"].startswith("authorization:github:error:")


def test_github_refusing_the_code_is_an_error_for_the_editor_without_the_code():
    page = auth(GitHub({"error": "bad_verification_code"})).finish(code="c0de", state="STATE123", cookie_state="STATE123")
    assert page.status == 403 and "c0de" not in page.html and "gho_" not in page.html


def test_without_a_client_id_it_says_the_sign_in_is_not_set_up_and_reads_no_secret():
    read = []
    unset = auth(client_id="", secret=lambda: read.append(1) or "x")
    with pytest.raises(NotConfiguredError) as exc:
        unset.start("github")
    assert exc.value.status == 503 and "not set up" in str(exc.value) and "docs/deploy.md" in str(exc.value)
    with pytest.raises(NotConfiguredError):
        unset.finish(code="c", state="S", cookie_state="S")
    assert read == []


def test_only_github_is_offered():
    with pytest.raises(EditorAuthError) as exc:
        auth().start("gitlab")
    assert exc.value.status == 400


def test_the_token_cannot_break_out_of_the_page():
    page = auth(GitHub({"access_token": "</script><script>alert(1)</script>"})).finish(
        code="c", state="STATE123", cookie_state="STATE123")
    assert "</script><script>alert(1)" not in page.html
    assert "alert(1)" in handed_over(page)["message"]
