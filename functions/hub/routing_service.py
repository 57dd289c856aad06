"""Routing a stored referral: assignments, then exactly one notification per spoke and channel.

The router Lambda calls :meth:`Router.handle_record` for each DynamoDB stream
record; the local stack's redrive calls :func:`route_referral` directly for
referrals whose ``status`` is not ``routed`` (``store.list_unrouted()``).

Steps, each safe to repeat:

1. read the referral (consistent read); stop if it is gone or already ``routed``;
2. compute assignments with ``hub.routing.route`` and write each with a
   conditional put (an assignment written by an earlier attempt is kept);
3. for each ``notify`` assignment and each channel (email, and the webhook if
   the spoke has one): *claim* the send with a conditional state transition on
   the assignment item (``<channel>_state``: absent/failed -> sending), send,
   then record ``sent`` (or ``failed`` and raise, so the stream record is
   reported as a batch item failure and retried);
4. when every send is done, set the referral's status to ``routed``.

Exactly once, and the residual window: a channel marked ``sent`` is never sent
again, and while an attempt holds a ``sending`` claim no other attempt sends.
If an attempt dies *after* SES or the webhook accepted the message but
*before* ``sent`` is recorded (milliseconds, e.g. a Lambda timeout at that
instant), the claim's lease (``LEASE_SECONDS``, longer than the function
timeout) runs out and a retry sends once more: we prefer a rare duplicate to
a lost referral. Nothing else can produce a second message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hub.catalogue import EMPTY, Catalogue
from hub.config import Programme
from hub.notifications import Notifiers, NotificationError, build_notification
from hub.routing import RoutingFacts, route
from hub.storage import REFERRAL_SK, STATUS_ROUTED, DynamoReferralStore

LEASE_SECONDS = 300

logger = logging.getLogger(__name__)


class RoutingIncompleteError(Exception):
    """Some notification could not be sent (or is being sent by another attempt); retry later."""


@dataclass
class RoutingResult:
    reference: str
    status: str  # "routed", "already-routed" or "missing"
    assignments: list[dict[str, Any]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "<spoke>/<channel>" sent by this call


def route_referral(
    store: DynamoReferralStore,
    notifiers: Notifiers,
    programme: Programme,
    reference: str,
    catalogue: Catalogue = EMPTY,
) -> RoutingResult:
    """Route one stored referral and notify its spokes. Raises RoutingIncompleteError to be retried."""
    referral = store.get_referral(reference)
    if referral is None:
        logger.warning("referral not found", extra={"reference": reference})
        return RoutingResult(reference, "missing")
    if referral.get("status") == STATUS_ROUTED:
        logger.info("referral already routed", extra={"reference": reference})
        return RoutingResult(reference, "already-routed")
    expires_at = referral.get("expires_at")
    store.add_event(reference, "received", at=referral["created_at"], expires_at=expires_at)

    facts = RoutingFacts(
        postcode=referral["postcode"], age=int(referral["age"]), interests=tuple(referral.get("interests") or ())
    )
    for assignment in route(facts, programme):
        store.put_assignment(referral, assignment)
    assignments = sorted(store.get_assignments(reference), key=lambda a: (a.get("priority", 0), a["spoke"]))

    result = RoutingResult(reference, "routed", assignments=assignments)
    problems: list[str] = []
    for assignment in assignments:
        if assignment["role"] != "notify":
            continue
        spoke = assignment["spoke"]
        try:
            notification = build_notification(referral, assignment, assignments, programme, catalogue)
            channels = notifiers.channels(notification)
        except NotificationError as exc:
            problems.append(f"{spoke}: {exc}")
            logger.error("notification not built", extra={"reference": reference, "spoke": spoke})
            continue
        done = True
        for channel, notifier in channels:
            claim = store.claim_notification(reference, spoke, channel, lease_seconds=LEASE_SECONDS)
            if claim.state == "sent":
                continue
            if claim.state == "busy":
                done = False
                problems.append(f"{spoke}/{channel}: another attempt is sending")
                continue
            try:
                notifier.send(notification)
            except NotificationError as exc:
                done = False
                store.finish_notification(reference, spoke, channel, ok=False)
                store.add_event(
                    reference,
                    "notify-failed",
                    detail={"spoke": spoke, "channel": channel, "error": str(exc)},
                    expires_at=expires_at,
                    qualifier=f"{spoke}/{channel}",
                )
                logger.warning(
                    "notification failed",
                    extra={"reference": reference, "spoke": spoke, "channel": channel, "error": str(exc)},
                )
                problems.append(f"{spoke}/{channel}: {exc}")
                continue
            store.finish_notification(reference, spoke, channel, ok=True)
            store.add_event(
                reference,
                "notified",
                detail={"spoke": spoke, "channel": channel},
                expires_at=expires_at,
                qualifier=f"{spoke}/{channel}",
            )
            result.sent.append(f"{spoke}/{channel}")
            logger.info("spoke notified", extra={"reference": reference, "spoke": spoke, "channel": channel})
        if done:
            store.mark_assignment_notified(reference, spoke)

    if problems:
        raise RoutingIncompleteError(f"referral {reference}: " + "; ".join(problems))
    if store.mark_routed(reference):
        store.add_event(
            reference,
            "routed",
            detail={"spokes": [a["spoke"] for a in assignments if a["role"] == "notify"]},
            expires_at=expires_at,
        )
        logger.info("referral routed", extra={"reference": reference})
    return result


def referral_reference(record: Any) -> str | None:
    """The reference if this stream record is the INSERT of a referral item, else None.

    Assignments, events, idempotency records, MODIFY and REMOVE are ignored.
    """
    name = getattr(record.event_name, "name", record.event_name)  # Powertools enum: INSERT = 0
    if name != "INSERT" or record.dynamodb is None:
        return None
    keys = record.dynamodb.keys or {}
    key, sort_key = keys.get("pk"), keys.get("sk")
    if sort_key != REFERRAL_SK or not isinstance(key, str) or not key.startswith("REF#"):
        return None
    return key.removeprefix("REF#")


@dataclass
class Router:
    """What the router Lambda needs, built once per cold start."""

    store: DynamoReferralStore
    notifiers: Notifiers
    programme: Programme
    catalogue: Catalogue = EMPTY  # campaign titles and placement names for the messages

    def handle_record(self, record: Any) -> RoutingResult | None:
        reference = referral_reference(record)
        if reference is None:
            return None
        return route_referral(self.store, self.notifiers, self.programme, reference, self.catalogue)

    def unrouted(self) -> list[str]:
        return self.store.list_unrouted()
