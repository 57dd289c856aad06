"""The local stack's outbox: every message that was really sent, by SES or to a webhook.

Emails come from moto's in-process SES backend (``ses_backends[...].sent_messages``,
which SESv2 sends land in too): only messages moto accepted appear. moto's
SESv2 ``SendEmail`` keeps just one body part and drops ``EmailTags``, so the
local stack also notes each accepted SESv2 request (text, HTML and tags) by
its message id, and joins the two. Webhook deliveries are recorded by the
local sink at ``POST /_local/webhooks/<spoke>``.

Entries: ``{"to", "subject", "text", "html", "spoke", "reference"}`` plus
``channel`` ("email" or "webhook"), ``id`` and ``sent_at``, oldest first.
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import json
import re
import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from hub.references import ALPHABET

_REFERENCE = re.compile(rf"\b[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}\b")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tags(tags: Any) -> dict[str, str]:
    return {t.get("Name"): t.get("Value") for t in tags or [] if isinstance(t, dict)}


def _parts_from_mime(raw: str) -> tuple[str | None, str | None, str | None]:
    """(subject, text, html) of a raw MIME message."""
    message = email.message_from_string(raw, policy=email.policy.default)
    text = html_part = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = part.get_content()
        elif kind == "text/html" and html_part is None:
            html_part = part.get_content()
    return message.get("Subject"), text, html_part


def content_from_sesv2_request(params: dict[str, Any]) -> dict[str, Any]:
    """Subject, text, HTML and tags of an SESv2 ``SendEmail`` request body."""
    content = params.get("Content") or {}
    tags = _tags(params.get("EmailTags"))
    subject = text = html_body = None
    if "Simple" in content:
        simple = content["Simple"]
        subject = (simple.get("Subject") or {}).get("Data")
        body = simple.get("Body") or {}
        text = (body.get("Text") or {}).get("Data")
        html_body = (body.get("Html") or {}).get("Data")
    elif "Raw" in content:
        raw = base64.b64decode(content["Raw"]["Data"]).decode("utf-8", "replace")
        subject, text, html_body = _parts_from_mime(raw)
    return {"subject": subject, "text": text, "html": html_body, "tags": tags}


class Outbox:
    """Thread-safe record of sends, joined with moto's SES backend when read."""

    def __init__(self, spoke_emails: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self._order: list[tuple[str, str]] = []  # ("email", message id) | ("webhook", index)
        self._email_meta: dict[str, dict[str, Any]] = {}
        self._webhooks: list[dict[str, Any]] = []
        # address -> spoke id, for emails sent without a ``spoke`` tag
        self._spoke_by_address = {addr.lower(): spoke for spoke, addr in (spoke_emails or {}).items()}

    # -- recording ---------------------------------------------------------------
    def note_sesv2_send(self, message_id: str, params: dict[str, Any]) -> None:
        meta = content_from_sesv2_request(params)
        meta["sent_at"] = _now()
        with self._lock:
            self._email_meta[message_id] = meta
            self._order.append(("email", message_id))

    def record_webhook(self, spoke: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        try:
            payload: Any = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        text = json.dumps(payload, indent=2, ensure_ascii=False) if payload is not None else body.decode("utf-8", "replace")
        reference = None
        if isinstance(payload, dict):
            reference = payload.get("reference")
            if not reference and isinstance(payload.get("referral"), dict):
                reference = payload["referral"].get("reference")
        if not reference:
            found = _REFERENCE.search(text)
            reference = found.group(0) if found else None
        entry = {
            "channel": "webhook",
            "to": [url],
            "subject": f"Webhook to {spoke}" + (f": referral {reference}" if reference else ""),
            "text": text,
            "html": None,
            "spoke": spoke,
            "reference": reference,
            "headers": {k.lower(): v for k, v in headers.items()},
            "sent_at": _now(),
        }
        with self._lock:
            self._webhooks.append(entry)
            self._order.append(("webhook", str(len(self._webhooks) - 1)))
        return entry

    # -- reading -----------------------------------------------------------------
    @staticmethod
    def _sent_ses_messages() -> dict[str, Any]:
        """Every message moto's SES backends accepted (all accounts and regions), by id."""
        from moto.ses.models import ses_backends

        sent: dict[str, Any] = {}
        for account in list(ses_backends.keys()):
            for region in list(ses_backends[account].keys()):
                for message in list(ses_backends[account][region].sent_messages):
                    message_id = getattr(message, "id", None)
                    if message_id:
                        sent[message_id] = message
        return sent

    def _email_entry(self, message: Any, meta: dict[str, Any] | None) -> dict[str, Any]:
        meta = meta or {}
        destinations = getattr(message, "destinations", None)
        if isinstance(destinations, dict):
            to = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])]
        else:
            to = list(destinations or [])
        subject, text, html_body = meta.get("subject"), meta.get("text"), meta.get("html")
        if not meta:
            raw = getattr(message, "raw_data", None)
            if raw is not None:
                subject, text, html_body = _parts_from_mime(raw)
            else:
                subject = getattr(message, "subject", None)
                body = getattr(message, "body", "") or ""
                if body.lstrip().startswith("<"):
                    html_body = body
                else:
                    text = body
        tags = meta.get("tags") or {}
        spoke = tags.get("spoke") or next((self._spoke_by_address[a.lower()] for a in to if a.lower() in self._spoke_by_address), None)
        reference = tags.get("reference")
        if not reference:
            found = _REFERENCE.search(subject or "")
            reference = found.group(0) if found else None
        return {
            "channel": "email",
            "id": message.id,
            "to": to,
            "subject": subject,
            "text": text,
            "html": html_body,
            "spoke": spoke,
            "reference": reference,
            "sent_at": meta.get("sent_at"),
        }

    def messages(self) -> list[dict[str, Any]]:
        """Every message sent, oldest first."""
        sent = self._sent_ses_messages()
        with self._lock:
            order = list(self._order)
            meta = dict(self._email_meta)
            webhooks = list(self._webhooks)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for kind, key in order:
            if kind == "webhook":
                out.append({"id": f"webhook-{key}", **webhooks[int(key)]})
            elif key in sent:
                out.append(self._email_entry(sent[key], meta.get(key)))
                seen.add(key)
        # Sent by some other route (SES v1, raw) without a note: still shown, at the end.
        for message_id, message in sent.items():
            if message_id not in seen:
                out.append(self._email_entry(message, None))
        return out


# -- the human page -------------------------------------------------------------------

_PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#0b0c0c;background:#fff;line-height:1.5}
main{max-width:60rem;margin:0 auto;padding:1rem}
.note{border-left:.4rem solid #1d70b8;background:#f3f2f1;padding:.5rem 1rem}
article{border:1px solid #505a5f;border-radius:.25rem;padding:.5rem 1rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 .5rem}
dt{font-weight:700}dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f2f1;padding:.5rem;border-radius:.25rem}
a{color:#1d4f91}a:focus{outline:3px solid #fd0;background:#fd0;color:#0b0c0c}
h2{font-size:1.2rem;margin:.5rem 0}
"""


def render_page(messages: list[dict[str, Any]], dead_letters: int | None) -> str:
    """The ``/_local/`` page: newest message first. Everything shown is escaped."""
    e = html.escape
    total = len(messages)
    if dead_letters is None:
        dlq = "Router dead-letter queue: could not be read."
    else:
        dlq = f"Router dead-letter queue: {dead_letters} message{'s' if dead_letters != 1 else ''} waiting."
        if dead_letters:
            dlq += " Run <code>.venv/bin/cchcc redrive</code> to route them again."
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Local outbox ({total}) - CCHCC hub local stack</title>",
        f"<style>{_PAGE_CSS}</style></head><body><main>",
        "<h1>Local outbox</h1>",
        '<p class="note"><strong>Local stack only.</strong> These are the messages the hub sent while '
        "running on this machine: emails accepted by the embedded SES emulation and webhook deliveries "
        "to the local sink. Nothing here left this computer. This page does not exist in production.</p>",
        f"<p>{dlq}</p>",
        f'<p>{total} message{"s" if total != 1 else ""} sent, newest first. '
        '<a href="/_local/">Refresh this page</a> - '
        '<a href="/_local/outbox">the same as JSON</a></p>',
    ]
    if not messages:
        parts.append("<p>No messages yet. Submit a referral form and refresh.</p>")
    for number, message in reversed(list(enumerate(messages, start=1))):
        heading_id = f"message-{number}"
        subject = message.get("subject") or "(no subject)"
        parts.append(f'<article aria-labelledby="{heading_id}">')
        parts.append(f'<h2 id="{heading_id}">{number}. {e(subject)}</h2><dl>')
        rows = [
            ("Sent by", "email (SES)" if message.get("channel") == "email" else "webhook"),
            ("To", ", ".join(message.get("to") or [])),
            ("Spoke", message.get("spoke") or "-"),
            ("Reference", message.get("reference") or "-"),
            ("Sent at", message.get("sent_at") or "-"),
        ]
        for label, value in rows:
            parts.append(f"<dt>{e(label)}</dt><dd>{e(str(value))}</dd>")
        parts.append("</dl>")
        if message.get("text"):
            parts.append(f"<pre>{e(message['text'])}</pre>")
        if message.get("html"):
            parts.append(
                f'<p><a href="/_local/messages/{number}.html">Open the HTML version of message {number}</a></p>'
            )
        parts.append("</article>")
    parts.append("</main></body></html>")
    return "".join(parts)


def webhook_url(base: str, spoke: str) -> str:
    return f"{base.rstrip('/')}/_local/webhooks/{quote(spoke)}"
