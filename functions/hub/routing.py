"""Routing: a stored referral to its spokes, a handover to the next spoke, an outcome to its assignment.

The router Lambda hands each stream record to :meth:`Routing.handle`, which uses the
store's predicates to tell what was inserted (``cchcc redrive`` calls :meth:`Routing.route`
for referrals whose ``status`` is not ``routed``):

- **a new referral** (:meth:`Routing.route`), steps each safe to repeat:

  1. read the referral (consistent read); stop if it is gone or already ``routed``;
  2. compute assignments with :func:`hub.rules.assignments_for` (for a correction, plus the
     spokes notified of the referral it corrects: :func:`hub.rules.with_correction`) and
     write each with a conditional put (an assignment written by an earlier attempt is kept);
  3. for each ``notify`` assignment and each channel (email, and the webhook if the spoke
     has one): *claim* the send with a conditional state transition on the assignment item
     (``<channel>_state``: absent/failed -> sending), send (with the spoke's outcome link),
     then record ``sent`` (or ``failed`` and raise, so the stream record is reported as a
     batch item failure and retried);
  4. the resident's confirmation, the same way on the referral item, when they gave an
     email (an address SES rejects for good is recorded and not retried: it never holds
     routing up);
  5. when every send is done, set the referral's status to ``routed``.

- **a new handover** (:meth:`Routing.hand_over`: a spoke referred the person on, or the
  hub assigned them): make the receiving spoke a ``notify`` assignment awaiting it, note
  that the sending spoke responded (when the hub assigns, every other spoke it was
  waiting for too), and notify the receiving spoke once (the claim is on the handover
  item, so each handover is one message, whatever the retries).
- **a new outcome** (:meth:`Routing.note_outcome`): the assignment's ``last_status`` and
  ``awaiting`` follow it (an older one delivered late changes nothing).
- **a new erasure notice** (:meth:`Routing.erasure_notice`, written by ``cchcc person
  erase``: :mod:`hub.person`): tell the spoke, once per channel, to delete its copy of the
  person's details. The notice holds the reference and the date only.

An erased referral is never routed, handed over or confirmed; and each spoke message is
checked against ``erased`` after its claim and before it goes, so a message racing an
erasure either went before it (and that spoke is sent an erasure notice) or never goes.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.catalogue import EMPTY, Catalogue
from hub.config import Programme
from hub.links import OutcomeLinks
from hub.models import AssignmentRecord, Referral, iso
from hub.notifications import (
    Notification,
    NotificationError,
    NotificationFailedError,
    Notifiers,
    build_confirmation,
    build_erasure_notice,
    build_notification,
)
from hub.rules import RoutingFacts, assignments_for, with_correction
from hub.storage import (
    DynamoReferralStore,
    Send,
    assignment_send,
    confirmation_send,
    erasure_send,
    handover_send,
    new_erasure,
    new_handover,
    new_outcome,
    new_referral_reference,
    utcnow,
)

LEASE_SECONDS = 300


@dataclass(frozen=True)
class _About:
    """What :meth:`Routing._deliver` needs of the referral a message is about."""

    reference: str
    expires_at: int | None

logger = logging.getLogger(__name__)


class RoutingIncompleteError(Exception):
    """Some notification could not be sent (or is being sent by another attempt); retry later."""


@dataclass
class RoutingResult:
    reference: str
    status: str  # "routed", "already-routed", "handed-over", "outcome-noted", "erasure-notified", "erased", "missing" or "ignored"
    assignments: list[AssignmentRecord] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "<spoke>/<channel>" sent by this call
    erased_midway: bool = False  # a message was not sent because the referral was erased meanwhile


@dataclass
class Routing:
    """What routing needs, built once per cold start (or once per ``cchcc redrive``)."""

    store: DynamoReferralStore
    notifiers: Notifiers
    programme: Programme
    catalogue: Catalogue = EMPTY  # campaign titles and placement names for the messages
    links: OutcomeLinks | None = None  # each spoke's outcome link; None: messages without one
    clock: Callable[[], datetime] = utcnow

    def handle(self, event_name: str, keys: Mapping[str, Any]) -> RoutingResult | None:
        """Do what one stream record asks; None for a record that is none of the router's."""
        reference = new_referral_reference(event_name, keys)
        if reference is not None:
            return self.route(reference)
        found = new_handover(event_name, keys)
        if found is not None:
            return self.hand_over(*found)
        found = new_outcome(event_name, keys)
        if found is not None:
            return self.note_outcome(*found)
        erasure = new_erasure(event_name, keys)
        if erasure is not None:
            return self.erasure_notice(*erasure)
        return None

    def _link(self, reference: str, spoke: str) -> str | None:
        return self.links.url(reference, spoke, self.clock()) if self.links is not None else None

    def route(self, reference: str) -> RoutingResult:
        """Route one stored referral and notify its spokes. Raises RoutingIncompleteError to be retried."""
        referral = self.store.get_referral(reference)
        if referral is None:
            logger.warning("referral not found", extra={"reference": reference})
            return RoutingResult(reference, "missing")
        if referral.erased:
            logger.info("referral erased: not routed", extra={"reference": reference})
            return RoutingResult(reference, "erased")
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
            # A spoke that was referred the person on is told by the handover's own message.
            if assignment.role == "notify" and not assignment.referred_by:
                problems += self._notify(referral, assignment, assignments, result)
        if referral.email:
            problems += self._confirm(referral, assignments, result)
        if problems:
            raise RoutingIncompleteError(f"referral {reference}: " + "; ".join(problems))
        if result.erased_midway:
            self._stop_awaiting(reference)
        if self.store.mark_routed(reference):
            self.store.add_event(
                reference,
                "routed",
                detail={"spokes": [a.spoke for a in assignments if a.role == "notify"]},
                expires_at=referral.expires_at,
            )
            logger.info("referral routed", extra={"reference": reference})
        return result

    def hand_over(self, reference: str, from_spoke: str, handover_id: str) -> RoutingResult:
        """Give a handed-over referral to its new spoke and notify it once. RoutingIncompleteError to retry."""
        handover = self.store.get_handover(reference, from_spoke, handover_id)
        referral = self.store.get_referral(reference) if handover is not None else None
        if handover is None or referral is None:
            logger.warning("handover or referral not found", extra={"reference": reference})
            return RoutingResult(reference, "missing")
        if referral.erased:
            logger.info("referral erased: not handed over", extra={"reference": reference})
            return RoutingResult(reference, "erased")
        to, by = handover.to_spoke, self.programme.spoke_name(handover.from_spoke)
        if handover.kind == "assigned":
            reason = "Assigned by the hub"
        elif to == self.programme.triage.id:
            reason = f"Referred back to the hub by {by}"
        else:
            reason = f"Referred on by {by}"
        spoke = self.programme.spoke(to)
        self.store.assign_by_handover(referral, handover, priority=spoke.priority if spoke else 0, reason=reason)
        self.store.note_response(reference, handover.from_spoke, handover.at)
        assignments = self.store.get_assignments(reference)
        if handover.kind == "assigned":
            # The hub gave the referral to `to`: whoever was asked before and has not answered
            # is no longer waited for (nor reminded), and their history stays as it was.
            for other in assignments:
                if other.awaiting and other.spoke != to:
                    self.store.note_response(reference, other.spoke, handover.at)
        assignment = next(a for a in assignments if a.spoke == to)
        result = RoutingResult(reference, "handed-over", assignments=assignments)
        try:
            notification = build_notification(
                referral, assignment, assignments, self.programme, self.catalogue,
                outcome_url=self._link(reference, to), handover=handover,
            )
        except NotificationError as exc:
            logger.error("handover notification not built", extra={"reference": reference, "spoke": to})
            raise RoutingIncompleteError(f"referral {reference}: {to}: {exc}") from exc
        problems = self._deliver(notification, handover_send(handover), referral, result, qualifier=f"handover-{handover.id}")
        if problems:
            raise RoutingIncompleteError(f"referral {reference}: " + "; ".join(problems))
        if result.erased_midway:
            self._stop_awaiting(reference)
            return result
        self.store.mark_assignment_notified(reference, to)
        logger.info("referral handed over", extra={"reference": reference, "from": handover.from_spoke, "to": to})
        return result

    def note_outcome(self, reference: str, spoke: str, outcome_id: str) -> RoutingResult:
        """Keep the assignment's latest status and stop it awaiting the spoke."""
        outcome = self.store.get_outcome(reference, spoke, outcome_id)
        if outcome is None:
            return RoutingResult(reference, "missing")
        self.store.note_response(reference, spoke, outcome.at, outcome.status)
        return RoutingResult(reference, "outcome-noted")

    def _stop_awaiting(self, reference: str) -> None:
        """Erased while being routed: no spoke is waited for (nor reminded) any more."""
        now = iso(self.clock())
        for assignment in self.store.get_assignments(reference):
            if assignment.awaiting:
                self.store.note_response(reference, assignment.spoke, now)

    def erasure_notice(self, reference: str, spoke: str) -> RoutingResult:
        """Tell ``spoke`` that the person's data was erased, once per channel. RoutingIncompleteError to retry."""
        item = self.store.erasure_notice(reference, spoke)
        if item is None:
            return RoutingResult(reference, "missing")
        result = RoutingResult(reference, "erasure-notified")
        try:
            notification = build_erasure_notice(reference, spoke, item["at"], self.programme)
        except NotificationError as exc:
            logger.error("erasure notice not built", extra={"reference": reference, "spoke": spoke})
            raise RoutingIncompleteError(f"referral {reference}: {spoke}: {exc}") from exc
        about = _About(reference, item.get("expires_at"))
        problems = self._deliver(notification, erasure_send(reference, spoke), about, result, qualifier="erasure")
        if problems:
            raise RoutingIncompleteError(f"referral {reference}: " + "; ".join(problems))
        return result

    def _notify(
        self, referral: Referral, assignment: AssignmentRecord, assignments: list[AssignmentRecord], result: RoutingResult
    ) -> list[str]:
        """Send one spoke's notification on each of its channels, once. Returns the problems."""
        reference, spoke = referral.reference, assignment.spoke
        try:
            notification = build_notification(
                referral, assignment, assignments, self.programme, self.catalogue,
                outcome_url=self._link(reference, spoke),
            )
        except NotificationError as exc:
            logger.error("notification not built", extra={"reference": reference, "spoke": spoke})
            return [f"{spoke}: {exc}"]
        problems = self._deliver(notification, assignment_send(reference, spoke), referral, result)
        if not problems:
            self.store.mark_assignment_notified(reference, spoke)
        return problems

    def _confirm(self, referral: Referral, assignments: list[AssignmentRecord], result: RoutingResult) -> list[str]:
        """The resident's confirmation, once. An address SES rejects for good is given up on."""
        try:
            notification = build_confirmation(referral, assignments, self.programme)
        except NotificationError as exc:
            return [f"confirmation: {exc}"]
        return self._deliver(notification, confirmation_send(referral.reference), referral, result, give_up_on_rejection=True)

    def _deliver(
        self,
        notification: Notification,
        send: Send,
        referral: Referral | _About,
        result: RoutingResult,
        *,
        qualifier: str = "",
        give_up_on_rejection: bool = False,
    ) -> list[str]:
        """Send ``notification`` on each of its channels, each at most once (claims on ``send``)."""
        reference = referral.reference
        who = notification.spoke or notification.kind
        try:
            channels = self.notifiers.channels(notification)
        except NotificationError as exc:
            logger.error("no channel for the message", extra={"reference": reference, "spoke": notification.spoke})
            return [f"{who}: {exc}"]
        problems = []
        for channel, notifier in channels:
            tag = f"{who}/{channel}" + (f"/{qualifier}" if qualifier else "")
            kind_of_event = {"confirmation": ("confirmed", "confirm-failed"), "erasure": ("erasure-notified", "erasure-notice-failed")}
            sent_event, failed_event = kind_of_event.get(notification.kind, ("notified", "notify-failed"))
            claim = self.store.claim(send, channel, lease_seconds=LEASE_SECONDS)
            if claim.state in ("sent", "rejected"):
                continue
            if claim.state == "busy":
                problems.append(f"{who}/{channel}: another attempt is sending")
                continue
            if notification.kind != "erasure" and self.store.is_erased(reference):
                # Erased since this attempt read the referral: its details must not go now.
                self.store.finish(send, channel, ok=False, rejected=True)
                result.erased_midway = True
                logger.info("message not sent: referral erased", extra={"reference": reference, "channel": channel})
                continue
            try:
                notifier.send(notification)
            except NotificationError as exc:
                given_up = give_up_on_rejection and isinstance(exc, NotificationFailedError) and exc.permanent
                self.store.finish(send, channel, ok=False, rejected=given_up)
                self.store.add_event(
                    reference,
                    failed_event,
                    detail={"spoke": notification.spoke, "kind": notification.kind, "channel": channel,
                            "error": str(exc), "retried": not given_up},
                    expires_at=referral.expires_at,
                    qualifier=tag,
                )
                logger.warning(
                    "message not sent",
                    extra={"reference": reference, "spoke": notification.spoke, "kind": notification.kind,
                           "channel": channel, "error": str(exc), "retried": not given_up},
                )
                if not given_up:
                    problems.append(f"{who}/{channel}: {exc}")
                continue
            self.store.finish(send, channel, ok=True)
            self.store.add_event(
                reference,
                sent_event,
                detail={"spoke": notification.spoke, "kind": notification.kind, "channel": channel},
                expires_at=referral.expires_at,
                qualifier=tag,
            )
            result.sent.append(f"{who}/{channel}")
            done = {"confirmation": "confirmation sent", "erasure": "erasure notice sent"}
            logger.info(done.get(notification.kind, "spoke notified"),
                        extra={"reference": reference, "spoke": notification.spoke, "kind": notification.kind,
                               "channel": channel})
        return problems
