"""The local stack's outbox: every message that was really sent, by SES or to a webhook.

Emails come from moto's in-process SES backend (``ses_backends[...].sent_messages``,
which SESv2 sends land in too): only messages moto accepted appear. moto's
SESv2 ``SendEmail`` keeps just one body part and drops ``EmailTags``, so the
local stack also notes each accepted SESv2 request (text, HTML and tags) by
its message id, and joins the two. Webhook deliveries are recorded by the
local sink at ``POST /_local/webhooks/<spoke>``.

Entries: ``{"to", "subject", "text", "html", "spoke", "reference", "kind"}`` plus
``channel`` ("email" or "webhook"), ``id`` and ``sent_at``, oldest first. ``kind`` is
what the message is (``notification``, ``referred-on``, ``reminder``, ``escalation``,
``confirmation``): the SES tag ``kind``, or the webhook JSON's ``type``; None when the
sender said nothing.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import threading
from datetime import datetime, timezone
from typing import Any

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
        kind = payload.get("type") if isinstance(payload, dict) and isinstance(payload.get("type"), str) else None
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
            "kind": kind,
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
        if not reference and "kind" not in tags:  # a digest about many referrals has none
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
            "kind": tags.get("kind"),
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


# -- catching what moto's SES accepted ------------------------------------------------

_capture_outbox: Outbox | None = None


def install_ses_capture(outbox: Outbox) -> None:
    """Note every SESv2 ``SendEmail`` moto accepts (its text, HTML and tags), by message id.

    moto keeps the accepted message in its SES backend but drops the tags and
    one of the two body parts; the outbox joins this note with that record.
    """
    global _capture_outbox
    _capture_outbox = outbox
    from moto.sesv2.responses import SESV2Response

    if getattr(SESV2Response.send_email, "_cchcc_capture", False):
        return
    original = SESV2Response.send_email

    def send_email(self: Any) -> str:
        result = original(self)  # raises (and records nothing) if moto rejects the send
        try:
            message_id = json.loads(result)["MessageId"]
            params = json.loads(self.body)
        except (TypeError, ValueError, KeyError):
            return result
        if _capture_outbox is not None:
            _capture_outbox.note_sesv2_send(message_id, params)
        return result

    send_email._cchcc_capture = True  # type: ignore[attr-defined]
    SESV2Response.send_email = send_email  # type: ignore[method-assign]
