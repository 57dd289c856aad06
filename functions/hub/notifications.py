"""Telling a spoke about a referral: what the message says, and how it is sent.

:func:`build_notification` decides the content (only the fields the spoke is
configured to receive; the reference, never personal data, in the subject;
the campaign and placement by name from :mod:`hub.catalogue`).
:class:`SesNotifier` sends it as an email (SESv2, plain text + HTML) and
:class:`WebhookNotifier` as a signed JSON POST. Both raise
:class:`NotificationFailedError` when a send fails, so the router can retry.

Every notification to a spoke carries its outcome link (:mod:`hub.links`), in the
email and as the webhook's ``outcome_url``. :func:`build_notification` also writes the
message to a spoke someone referred the person on to (``kind`` ``referred-on``), and
:func:`build_confirmation` the resident's confirmation. The reminder and hub digests are
:mod:`hub.reminders`'.

:func:`build_erasure_notice` tells a spoke that a person's data was erased (UK GDPR
Article 19): the reference and the date, never anything about the person.

Email tags ``kind`` (``notification``, ``referred-on``, ``confirmation``, ``reminder``,
``escalation``, ``erasure``), ``spoke`` (a spoke's messages) and ``reference`` (when about one referral)
go with each SES message; the webhook JSON says the kind in ``type``. (moto's SESv2 drops
tags: the local stack notes them on the way in.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import form, i18n
from hub.attribution import UNKNOWN
from hub.catalogue import EMPTY, Catalogue
from hub.config import Programme, Webhook
from hub.models import AssignmentRecord, Handover, Referral


class NotificationError(Exception):
    """A notification could not be built or sent."""


class NotificationFailedError(NotificationError):
    """The channel refused or could not be reached. ``permanent``: it refused this message for
    good (SES rejects the address); anything else may work when retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)


# SESv2 errors that say "not this message, ever" (an address it will not send to), not "not now".
PERMANENT_SES_ERRORS = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})


@dataclass(frozen=True)
class Notification:
    reference: str | None  # None for a digest about many
    spoke: str | None  # spoke id, or the triage id (``hub``); None for a resident
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    payload: dict[str, Any]  # the webhook body: same facts, machine-readable
    webhook: Webhook | None = None
    kind: str = "notification"

    @property
    def tags(self) -> list[dict[str, str]]:
        """SES message tags: kind, and spoke and reference when there are."""
        tags = {"kind": self.kind, "spoke": self.spoke, "reference": self.reference}
        return [{"Name": k, "Value": v} for k, v in tags.items() if v]


CHANNEL_WORDS = {
    "web": "on the website, by themselves",
    "assisted": "with outreach staff, who filled in the form with them (assisted)",
}


def _label(value: str | None, label: Any, what: str) -> str:
    """A campaign, placement or event by name; one the build does not know (:mod:`hub.attribution`)
    says so, never what was sent in its place."""
    if not value:
        return "not recorded"
    return f"unknown (not a {what} of this programme)" if value == UNKNOWN else label(value)


def _language_label(code: str) -> str:
    """``Urdu (ur)``: the spoke reads which language the person chose on the site."""
    language = i18n.language(code)
    return f"{language.english_name} ({language.code})"


def _display(field: form.Field, value: Any) -> str:
    if field.choices:
        values = value if isinstance(value, list) else [value]
        return ", ".join(field.choice_label(v) for v in values)
    return str(value)


def build_notification(
    referral: Referral,
    assignment: AssignmentRecord,
    assignments: Sequence[AssignmentRecord],
    programme: Programme,
    catalogue: Catalogue = EMPTY,
    *,
    outcome_url: str | None = None,
    handover: Handover | None = None,
) -> Notification:
    """The message for one ``notify`` assignment of a stored referral.

    Only the fields the spoke ``receives`` (the hub's triage receives every field a spoke
    may), labelled from :data:`hub.form.FIELDS`. The campaign and placement are named from
    ``catalogue`` with their ids in brackets ("Local library (lg-library), Notice board");
    ids it does not know are shown as they are. ``outcome_url`` is the spoke's link to
    record what happened. With ``handover`` it is the message to the spoke someone referred
    the person on to (or the hub assigned them to), with who did it and their note.
    """
    from hub import render

    spoke_id = assignment.spoke
    spoke = programme.spoke(spoke_id)
    if spoke is not None:
        recipient, to, receives, why, webhook = spoke.name, (str(spoke.email),), spoke.receives, spoke.why, spoke.webhook
    elif spoke_id == programme.triage.id:
        recipient, to, receives, webhook = programme.triage.name, (str(programme.triage.email),), form.SHAREABLE, None
        why = "matched no partner's rules, so the hub needs to decide who can help"
    else:
        raise NotificationError(f"spoke {spoke_id} is not in the programme configuration")

    also_eligible = [
        {"id": a.spoke, "name": programme.spoke_name(a.spoke), "role": a.role, "reason": a.reason}
        for a in assignments
        if a.spoke != spoke_id
    ]
    answers = referral.model_dump()
    fields = [
        {"name": f.name, "label": f.short_label, "value": _display(f, answers[f.name])}
        for f in form.FIELDS
        if f.name in receives and answers.get(f.name) not in (None, "", [])
    ]
    reference = referral.reference
    handed = None
    if handover is not None:
        by = programme.spoke_name(handover.from_spoke)
        if handover.kind == "assigned":
            intro, reason = f"{programme.programme.short_name}'s hub has assigned a referral to you.", "The hub assigned them to you"
        elif handover.to_spoke == programme.triage.id:
            intro, reason = f"{by} has referred a person back to the hub.", f"{by} referred them back to the hub"
        else:
            intro, reason = f"{by} has referred a person on to you.", f"{by} referred them on to you"
        handed = {"intro": intro, "reason": reason, "note": handover.note, "by": handover.from_spoke}
    is_hub = spoke_id == programme.triage.id
    context = {
        "programme": programme.programme,
        "reference": reference,
        "recipient": recipient,
        "campaign": _label(referral.campaign, catalogue.campaign_label, "campaign"),
        "source": _label(referral.source, catalogue.placement_label, "placement"),
        "received": referral.received,
        "event": _label(referral.event, catalogue.event_label, "event") if referral.event else None,
        "channel": CHANNEL_WORDS.get(referral.channel, referral.channel),
        "page_language": _language_label(referral.lang),
        "rule": assignment.rule,
        "reason": assignment.reason,
        "why": why,
        "also_eligible": also_eligible,
        "fields": fields,
        "corrects": referral.corrects,
        "handover": handed,
        "outcome_url": outcome_url,
        "link_days": programme.outcome_link_days,
        "link_label": "Assign them to a partner, or record what happened" if is_hub
        else "Record what happened, or refer them on",
    }
    kind = "referred-on" if handover is not None else "notification"
    payload = {
        "type": kind,
        "reference": reference,
        "spoke": spoke_id,
        "role": assignment.role,
        "campaign": referral.campaign,
        "source": referral.source,
        "event": referral.event,
        "channel": referral.channel,
        "lang": referral.lang,
        "received": referral.received,
        "rule": assignment.rule,
        "reason": assignment.reason,
        "also_eligible": [a["id"] for a in also_eligible],
        "fields": {f["name"]: answers[f["name"]] for f in fields},
        "corrects": referral.corrects,
        "outcome_url": outcome_url,
    }
    short_name = programme.programme.short_name
    if handover is not None:
        payload["referred_by"] = handover.from_spoke
        payload["note"] = handover.note
        subject = f"Referral {reference} referred to you by {programme.spoke_name(handover.from_spoke)}"
        if handover.kind == "assigned":
            subject = f"Referral {reference} assigned to you by the {short_name} hub"
    elif referral.corrects:
        subject = f"Corrected referral {reference} (replaces {referral.corrects}) from {short_name}"
    else:
        subject = f"New referral {reference} from {short_name}"
    return Notification(
        reference=reference,
        spoke=spoke_id,
        to=to,
        subject=subject,
        text=render.render("email/notification.txt", **context),
        html=render.render("email/notification.html", **context),
        payload=payload,
        webhook=webhook,
        kind=kind,
    )


def build_confirmation(referral: Referral, assignments: Sequence[AssignmentRecord], programme: Programme) -> Notification:
    """The resident's one confirmation: their reference, what happens next, the programme's phone.

    Names the partner(s) asked to contact them (or the hub); nothing else they told us.
    """
    from hub import render

    if not referral.email:
        raise NotificationError("the referral has no email address to confirm to")
    info = programme.programme
    asked = [a for a in assignments if a.role == "notify"]
    by_hub = not asked or all(a.spoke == programme.triage.id for a in asked)
    context = {
        "programme": info,
        "reference": referral.reference,
        "partners": [] if by_hub else [programme.spoke_name(a.spoke) for a in asked if a.spoke != programme.triage.id],
        "contact_days": info.contact_within_working_days,
        "contact_phone": info.contact_phone,
    }
    return Notification(
        reference=referral.reference,
        spoke=None,
        to=(referral.email,),
        subject=f"Your {info.short_name} reference is {referral.reference}",
        text=render.render("email/confirmation.txt", **context),
        html=render.render("email/confirmation.html", **context),
        payload={},
        kind="confirmation",
    )


def build_erasure_notice(reference: str, spoke_id: str, erased_at: str, programme: Programme) -> Notification:
    """The notice to a spoke (or the hub's triage) that was sent a person's details, after the
    data controller erased them: delete your copy. Reference and date only."""
    from hub import render

    spoke = programme.spoke(spoke_id)
    if spoke is not None:
        recipient, to, webhook = spoke.name, (str(spoke.email),), spoke.webhook
    elif spoke_id == programme.triage.id:
        recipient, to, webhook = programme.triage.name, (str(programme.triage.email),), None
    else:
        raise NotificationError(f"spoke {spoke_id} is not in the programme configuration")
    context = {"programme": programme.programme, "recipient": recipient, "reference": reference,
               "erased_on": erased_at[:10]}
    return Notification(
        reference=reference,
        spoke=spoke_id,
        to=to,
        subject=f"Erasure: delete your copy of referral {reference} ({programme.programme.short_name})",
        text=render.render("email/erasure.txt", **context),
        html=render.render("email/erasure.html", **context),
        payload={"type": "erasure", "reference": reference, "spoke": spoke_id, "erased_at": erased_at,
                 "action": "delete every copy you hold of this person's details"},
        webhook=webhook,
        kind="erasure",
    )


class SesNotifier:
    """Sends notifications by email through SESv2. The client is created lazily."""

    channel = "email"

    def __init__(self, sender: str, client: Any = None):
        self.sender = sender
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "sesv2", config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
            )
        return self._client

    def send(self, notification: Notification) -> str:
        """Send; returns the SES message id. Raises NotificationFailedError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": list(notification.to)},
                Content={
                    "Simple": {
                        "Subject": {"Data": notification.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": notification.text, "Charset": "UTF-8"},
                            "Html": {"Data": notification.html, "Charset": "UTF-8"},
                        },
                    }
                },
                EmailTags=notification.tags,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise NotificationFailedError(f"SES refused the message ({code})", permanent=code in PERMANENT_SES_ERRORS) from exc
        except BotoCoreError as exc:
            raise NotificationFailedError(f"SES unreachable ({type(exc).__name__})") from exc
        return response.get("MessageId", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is not a delivery


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class WebhookNotifier:
    """POSTs the notification payload as JSON, signed with the spoke's secret.

    Headers: ``X-CCHCC-Timestamp`` (Unix seconds) and ``X-CCHCC-Signature``
    (see :func:`sign`); the receiver should reject stale timestamps. Any
    answer other than 2xx, or no answer within ``timeout`` seconds, fails.
    """

    secrets: Mapping[str, bytes]
    timeout: float = 5.0
    clock: Any = time.time
    channel: str = field(default="webhook", init=False)

    def send(self, notification: Notification) -> int:
        webhook = notification.webhook
        if webhook is None:
            raise NotificationError(f"spoke {notification.spoke} has no webhook")
        secret = self.secrets.get(webhook.secret_env)
        if not secret:
            raise NotificationError(f"no secret in {webhook.secret_env} for spoke {notification.spoke}")
        body = json.dumps(notification.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        timestamp = str(int(self.clock()))
        request = urllib.request.Request(
            str(webhook.url),
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "cchcc-hub",
                "X-CCHCC-Timestamp": timestamp,
                "X-CCHCC-Signature": sign(secret, timestamp, body),
            },
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=self.timeout) as response:  # noqa: S310 (URL from config)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise NotificationFailedError(f"webhook answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise NotificationFailedError(f"webhook unreachable ({type(exc).__name__})") from exc
        if not 200 <= status < 300:
            raise NotificationFailedError(f"webhook answered {status}")
        return status


@dataclass
class Notifiers:
    """The channels the router sends through: email always, a webhook where a spoke has one."""

    email: Any
    webhook: Any = None

    def channels(self, notification: Notification) -> list[tuple[str, Any]]:
        channels = [("email", self.email)]
        if notification.webhook is not None:
            if self.webhook is None:
                raise NotificationError(f"spoke {notification.spoke} has a webhook but no webhook notifier is set up")
            channels.append(("webhook", self.webhook))
        return channels


def build_notifiers(programme: Programme, secrets: Mapping[str, bytes], ses_client: Any = None) -> Notifiers:
    """The notifiers the router uses in production and on the local stack."""
    return Notifiers(
        email=SesNotifier(str(programme.programme.sender_email), client=ses_client),
        webhook=WebhookNotifier(secrets),
    )
