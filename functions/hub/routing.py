"""Routing a stored referral: assignments, then exactly one notification per spoke and channel.

The router Lambda hands each new referral's reference to :meth:`Routing.route`; ``cchcc
redrive`` does the same for referrals whose ``status`` is not ``routed``.

Steps, each safe to repeat:

1. read the referral (consistent read); stop if it is gone or already ``routed``;
2. compute assignments with :func:`hub.rules.assignments_for` (for a correction, plus the
   spokes notified of the referral it corrects: :func:`hub.rules.with_correction`) and write
   each with a conditional put (an assignment written by an earlier attempt is kept);
3. for each ``notify`` assignment and each channel (email, and the webhook if the spoke
   has one): *claim* the send with a conditional state transition on the assignment item
   (``<channel>_state``: absent/failed -> sending), send, then record ``sent`` (or
   ``failed`` and raise, so the stream record is reported as a batch item failure and
   retried);
4. when every send is done, set the referral's status to ``routed``.

Exactly once, and the residual window: a channel marked ``sent`` is never sent again,
and while an attempt holds a ``sending`` claim no other attempt sends. If an attempt
dies *after* SES or the webhook accepted the message but *before* ``sent`` is recorded
(milliseconds, e.g. a Lambda timeout at that instant), the claim's lease
(``LEASE_SECONDS``, longer than the function timeout) runs out and a retry sends once
more: we prefer a rare duplicate to a lost referral. Nothing else can produce a second
message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from hub.catalogue import EMPTY, Catalogue
from hub.config import Programme
from hub.models import AssignmentRecord, Referral
from hub.notifications import NotificationError, Notifiers, build_notification
from hub.rules import RoutingFacts, assignments_for, with_correction
from hub.storage import DynamoReferralStore

LEASE_SECONDS = 300

logger = logging.getLogger(__name__)


class RoutingIncompleteError(Exception):
    """Some notification could not be sent (or is being sent by another attempt); retry later."""


@dataclass
class RoutingResult:
    reference: str
    status: str  # "routed", "already-routed" or "missing"
    assignments: list[AssignmentRecord] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "<spoke>/<channel>" sent by this call


@dataclass
class Routing:
    """What routing needs, built once per cold start (or once per ``cchcc redrive``)."""

    store: DynamoReferralStore
    notifiers: Notifiers
    programme: Programme
    catalogue: Catalogue = EMPTY  # campaign titles and placement names for the messages

    def route(self, reference: str) -> RoutingResult:
        """Route one stored referral and notify its spokes. Raises RoutingIncompleteError to be retried."""
        referral = self.store.get_referral(reference)
        if referral is None:
            logger.warning("referral not found", extra={"reference": reference})
            return RoutingResult(reference, "missing")
        if referral.status == "routed":
            logger.info("referral already routed", extra={"reference": reference})
            return RoutingResult(reference, "already-routed")
        self.store.add_event(reference, "received", at=referral.received, expires_at=referral.expires_at)

        decided = assignments_for(RoutingFacts.of(referral), self.programme)
        if referral.corrects:
            told = [a.spoke for a in self.store.get_assignments(referral.corrects) if a.role == "notify"]
            decided = with_correction(decided, told, referral.corrects, self.programme)
        for assignment in decided:
            self.store.put_assignment(referral, assignment)
        assignments = self.store.get_assignments(reference)

        result = RoutingResult(reference, "routed", assignments=assignments)
        problems: list[str] = []
        for assignment in assignments:
            if assignment.role == "notify":
                problems += self._notify(referral, assignment, assignments, result)
        if problems:
            raise RoutingIncompleteError(f"referral {reference}: " + "; ".join(problems))
        if self.store.mark_routed(reference):
            self.store.add_event(
                reference,
                "routed",
                detail={"spokes": [a.spoke for a in assignments if a.role == "notify"]},
                expires_at=referral.expires_at,
            )
            logger.info("referral routed", extra={"reference": reference})
        return result

    def _notify(
        self, referral: Referral, assignment: AssignmentRecord, assignments: list[AssignmentRecord], result: RoutingResult
    ) -> list[str]:
        """Send one spoke's notification on each of its channels, once. Returns the problems."""
        reference, spoke = referral.reference, assignment.spoke
        try:
            notification = build_notification(referral, assignment, assignments, self.programme, self.catalogue)
            channels = self.notifiers.channels(notification)
        except NotificationError as exc:
            logger.error("notification not built", extra={"reference": reference, "spoke": spoke})
            return [f"{spoke}: {exc}"]
        problems = []
        for channel, notifier in channels:
            claim = self.store.claim_notification(reference, spoke, channel, lease_seconds=LEASE_SECONDS)
            if claim.state == "sent":
                continue
            if claim.state == "busy":
                problems.append(f"{spoke}/{channel}: another attempt is sending")
                continue
            try:
                notifier.send(notification)
            except NotificationError as exc:
                self.store.finish_notification(reference, spoke, channel, ok=False)
                self.store.add_event(
                    reference,
                    "notify-failed",
                    detail={"spoke": spoke, "channel": channel, "error": str(exc)},
                    expires_at=referral.expires_at,
                    qualifier=f"{spoke}/{channel}",
                )
                logger.warning(
                    "notification failed",
                    extra={"reference": reference, "spoke": spoke, "channel": channel, "error": str(exc)},
                )
                problems.append(f"{spoke}/{channel}: {exc}")
                continue
            self.store.finish_notification(reference, spoke, channel, ok=True)
            self.store.add_event(
                reference,
                "notified",
                detail={"spoke": spoke, "channel": channel},
                expires_at=referral.expires_at,
                qualifier=f"{spoke}/{channel}",
            )
            result.sent.append(f"{spoke}/{channel}")
            logger.info("spoke notified", extra={"reference": reference, "spoke": spoke, "channel": channel})
        if not problems:
            self.store.mark_assignment_notified(reference, spoke)
        return problems
