"""Signing in to the browser editor (``/admin/``) with GitHub: the OAuth exchange Decap's GitHub
backend needs, and nothing else.

Decap opens a window on ``/api/cms-auth/auth``; :meth:`EditorAuth.start` sends it to GitHub's
consent page with a random ``state`` that is also kept in a short-lived cookie. GitHub sends the
person back to ``/api/cms-auth/callback`` with a ``code``; :meth:`EditorAuth.finish` checks the
state against the cookie, exchanges the code for a token with the client secret (SSM Parameter
Store, read only now, through ``read_secret``), and answers a page that hands the token to the
editor's window, and only to a window of the site's own origin (``postMessage`` with that origin).

Who may edit is who may push to the repository: Decap checks the token's push permission, and
each save is a commit by that person. Tokens, codes and states are never logged or put in errors.
"""

from __future__ import annotations

import html
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
TOKEN_URL = "https://github.com/login/oauth/access_token"
STATE_COOKIE = "cchcc_cms_state"
COOKIE_PATH = "/api/cms-auth/"
STATE_SECONDS = 600
SCOPE = "repo"  # Decap's GitHub backend writes commits


class EditorAuthError(Exception):
    """Signing in cannot go on; ``status`` and a message safe to show (no token, code or state)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class NotConfiguredError(EditorAuthError):
    """The GitHub OAuth app is not set up for this deployment (docs/deploy.md, "Editing in a browser")."""

    def __init__(self, what: str):
        super().__init__(503, f"The editor's GitHub sign-in is not set up yet: {what}. See docs/deploy.md, "
                              '"Editing in a browser".')


@dataclass(frozen=True)
class Redirect:
    location: str
    state: str  # for the state cookie (STATE_COOKIE, STATE_SECONDS)


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    nonce: str
    clear_state: bool = False  # the state cookie has been used


def post_form(url: str, fields: dict[str, str], timeout: float = 10) -> dict:
    """POST form fields, JSON back (GitHub's token endpoint with ``Accept: application/json``)."""
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "cchcc-hub-editor-auth",
    })
    with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (a fixed https URL)
        return json.loads(resp.read() or b"{}")


@dataclass
class EditorAuth:
    site_origin: str
    client_id: str
    read_secret: Callable[[], str]  # the client secret, read when a sign-in finishes
    post: Callable[[str, dict[str, str]], dict] = post_form
    new_state: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(24))

    @property
    def callback_url(self) -> str:
        return f"{self.site_origin}{COOKIE_PATH}callback"

    def start(self, provider: str | None) -> Redirect:
        """``GET /api/cms-auth/auth?provider=github``: off to GitHub's consent page."""
        if not self.client_id:
            raise NotConfiguredError("no GitHub OAuth app client id (the GitHubOAuthClientId parameter)")
        if provider not in (None, "", "github"):
            raise EditorAuthError(400, "Only GitHub sign-in is offered.")
        state = self.new_state()
        query = urllib.parse.urlencode({
            "client_id": self.client_id, "redirect_uri": self.callback_url, "scope": SCOPE, "state": state,
        })
        return Redirect(f"{AUTHORIZE_URL}?{query}", state)

    def finish(self, *, code: str | None, state: str | None, cookie_state: str | None, error: str | None = None) -> Page:
        """``GET /api/cms-auth/callback``: the token to the editor's window, or why not."""
        clear = True
        if error:
            return self.page(403, "error", {"message": "GitHub sign-in was cancelled or refused"}, clear)
        if not state or not cookie_state or not secrets.compare_digest(state, cookie_state):
            return self.page(400, "error", {"message": "This sign-in has expired. Close this window and try again"}, clear)
        if not code or len(code) > 100:
            return self.page(400, "error", {"message": "GitHub sent no sign-in code. Close this window and try again"}, clear)
        if not self.client_id:
            raise NotConfiguredError("no GitHub OAuth app client id (the GitHubOAuthClientId parameter)")
        secret = self.read_secret()
        try:
            answer = self.post(TOKEN_URL, {
                "client_id": self.client_id, "client_secret": secret, "code": code, "redirect_uri": self.callback_url,
            })
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise EditorAuthError(502, "GitHub did not answer the sign-in. Close this window and try again.") from exc
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            return self.page(403, "error", {"message": "GitHub refused the sign-in. Close this window and try again"}, clear)
        return self.page(200, "success", {"token": token, "provider": "github"}, clear)

    def page(self, status: int, outcome: str, content: dict, clear_state: bool = False) -> Page:
        """A page whose only script hands Decap ``authorization:github:<outcome>:<json>``."""
        nonce = secrets.token_urlsafe(16)
        data = json.dumps({
            "origin": self.site_origin,
            "message": f"authorization:github:{outcome}:{json.dumps(content)}",
        }).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        words = "Signed in. You can close this window." if outcome == "success" else html.escape(content["message"]) + "."
        body = (
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex\"><title>Signing in to the editor</title></head>\n"
            f"<body><main><h1>Signing in to the editor</h1><p>{words}</p></main>\n"
            f"<script type=\"application/json\" id=\"cchcc-auth\">{data}</script>\n"
            f"<script nonce=\"{nonce}\">{_HANDOFF}</script>\n</body></html>\n"
        )
        return Page(status, body, nonce, clear_state)


# Decap's half of the handshake (decap-cms-lib-auth): the window says "authorizing:github" to its
# opener; the opener answers from the site's origin; then the window sends the outcome there.
_HANDOFF = (
    "(function(){var d=JSON.parse(document.getElementById('cchcc-auth').textContent);"
    "if(!window.opener)return;"
    "function r(e){if(e.origin!==d.origin)return;window.removeEventListener('message',r);"
    "window.opener.postMessage(d.message,d.origin);}"
    "window.addEventListener('message',r);window.opener.postMessage('authorizing:github',d.origin);})();"
)


def content_security_policy(nonce: str) -> str:
    """The callback page's own policy: its one script, nothing else."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
