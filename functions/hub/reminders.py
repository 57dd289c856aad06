"""Reminders and the hub's daily digest: referrals nobody has updated.

The reminders function runs on weekdays at 09:00 Europe/London (EventBridge Scheduler) and
calls :meth:`Reminders.run` with the scheduled time, so the logic takes its clock as an
argument (tests and the local stack run it "on" any day):

- on a bank holiday in England it does nothing (the schedule fires Monday to Friday);
- each spoke with assignments that have had no status (and no referral on) for
  ``reminder_after_working_days`` whole working days gets ONE digest listing them, oldest
  first, each with a fresh outcome link (references and links only, no personal data);
- the hub gets ONE digest listing the assignments with no update after
  ``escalate_after_working_days``, with each referral's hub link (its page can assign it
  to any spoke), and the triage referrals still waiting for the hub to assign them.

It reads only the sparse ``awaiting`` index (one query per spoke: never the table), and
each digest is claimed on its own item (``DIGEST#<day>`` / ``TO#<spoke>``) before it is
sent, so running the same day twice sends nothing new, and a digest SES failed to send is
sent by the retry (Lambda retries a failed asynchronous invocation) and never twice.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.config import Programme
from hub.links import OutcomeLinks
from hub.models import Awaiting, iso
from hub.notifications import Notification, NotificationError
from hub.storage import DynamoReferralStore, digest_send
from hub.workdays import LONDON, WorkingDays

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300
LIST_LIMIT = 200  # referrals listed in one digest; the rest are counted (and listed again tomorrow)


class RemindersIncompleteError(Exception):
    """Some digest could not be sent; the run should be retried (it sends nothing twice)."""


@dataclass
class RunResult:
    day: str
    working_day: bool = True
    skipped: str | None = None  # why nothing was done (a weekend or bank holiday)
    overdue: int = 0  # assignments listed in spokes' reminders
    escalated: int = 0  # ... of which in the hub's digest too
    unassigned: int = 0  # triage referrals waiting for the hub
    reminders_sent: int = 0
    escalations_sent: int = 0
    already_sent: int = 0  # digests this day had already sent
    failed: list[str] = field(default_factory=list)  # digests not sent (retried)

    def counts(self) -> dict[str, Any]:
        return asdict(self)


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


@dataclass
class Reminders:
    store: DynamoReferralStore
    email: Any  # hub.notifications.SesNotifier
    programme: Programme
    links: OutcomeLinks
    calendar: WorkingDays = field(default_factory=WorkingDays)
    list_limit: int = LIST_LIMIT

    def run(self, at: datetime) -> RunResult:
        """Send the day's digests (those not sent yet). RemindersIncompleteError if any failed."""
        calendar, programme = self.calendar, self.programme
        today = calendar.local_date(at)
        result = RunResult(day=today.isoformat())
        if not calendar.is_working_day(today):
            result.working_day = False
            result.skipped = calendar.holiday_name(today) or "weekend"
            logger.info("not a working day: no reminders", extra={"day": result.day})
            return result
        remind_before = calendar.asked_before(today, programme.reminder_after_working_days)
        escalate_before = iso(calendar.asked_before(today, programme.escalate_after_working_days))

        escalated: list[Awaiting] = []
        for spoke in sorted(programme.spokes, key=lambda s: s.priority):
            overdue = list(self.store.awaiting(spoke.id, remind_before))
            if not overdue:
                continue
            result.overdue += len(overdue)
            escalated += [a for a in overdue if a.assigned_at < escalate_before]
            message = self._reminder(spoke.id, str(spoke.email), overdue, at)
            self._send(message, overdue, today.isoformat(), at, result)
        unassigned = list(self.store.awaiting(programme.triage.id))
        result.escalated, result.unassigned = len(escalated), len(unassigned)
        if escalated or unassigned:
            message = self._hub_digest(escalated, unassigned, at)
            self._send(message, escalated + unassigned, today.isoformat(), at, result)
        logger.info("reminders run", extra={k: v for k, v in result.counts().items() if k != "failed"})
        if result.failed:
            raise RemindersIncompleteError(f"digests not sent: {', '.join(result.failed)}")
        return result

    # -- the messages ---------------------------------------------------------------------

    def _rows(self, items: list[Awaiting], at: datetime, link_spoke: str | None = None) -> list[dict[str, Any]]:
        today = self.calendar.local_date(at)
        rows = []
        for item in items[: self.list_limit]:
            asked = datetime.fromisoformat(item.assigned_at.replace("Z", "+00:00"))
            rows.append({
                "reference": item.reference,
                "spoke": self.programme.spoke_name(item.spoke),
                "asked": _day(asked.astimezone(LONDON)),
                "days": self.calendar.between(self.calendar.local_date(asked), today),
                "link": self.links.url(item.reference, link_spoke or item.spoke, at),
            })
        return rows

    def _reminder(self, spoke: str, to: str, overdue: list[Awaiting], at: datetime) -> Notification:
        from hub import render

        info = self.programme.programme
        context = {
            "programme": info,
            "recipient": self.programme.spoke_name(spoke),
            "rows": self._rows(overdue, at),
            "total": len(overdue),
            "days": self.programme.reminder_after_working_days,
            "day": _day(at.astimezone(LONDON)),
        }
        plural = "s" if len(overdue) != 1 else ""
        return Notification(
            reference=None,
            spoke=spoke,
            to=(to,),
            subject=f"Reminder: {len(overdue)} referral{plural} waiting for an update ({info.short_name})",
            text=render.render("email/reminder.txt", **context),
            html=render.render("email/reminder.html", **context),
            payload={},
            kind="reminder",
        )

    def _hub_digest(self, escalated: list[Awaiting], unassigned: list[Awaiting], at: datetime) -> Notification:
        from hub import render

        info, hub = self.programme.programme, self.programme.triage
        context = {
            "programme": info,
            "recipient": hub.name,
            "escalated": self._rows(escalated, at, link_spoke=hub.id),
            "escalated_total": len(escalated),
            "unassigned": self._rows(unassigned, at, link_spoke=hub.id),
            "unassigned_total": len(unassigned),
            "days": self.programme.escalate_after_working_days,
            "day": _day(at.astimezone(LONDON)),
        }
        return Notification(
            reference=None,
            spoke=hub.id,
            to=(str(hub.email),),
            subject=(
                f"{info.short_name} hub digest for {context['day']}: {len(escalated)} with no update, "
                f"{len(unassigned)} to assign"
            ),
            text=render.render("email/hub_digest.txt", **context),
            html=render.render("email/hub_digest.html", **context),
            payload={},
            kind="escalation",
        )

    # -- sending once a day ------------------------------------------------------------------

    def _send(self, message: Notification, items: list[Awaiting], day: str, at: datetime, result: RunResult) -> None:
        spoke = message.spoke or ""
        expires = int((at + timedelta(days=self.programme.retention_days)).timestamp())
        references = [item.reference for item in items[: self.list_limit]]
        send = digest_send(day, spoke, message.kind, len(items), references, expires)
        claim = self.store.claim(send, "email", lease_seconds=LEASE_SECONDS)  # the lease runs on the real clock
        if claim.state in ("sent", "rejected"):
            result.already_sent += 1
            return
        if claim.state == "busy":
            result.failed.append(f"{spoke} (another run is sending it)")
            return
        try:
            self.email.send(message)
        except NotificationError as exc:
            self.store.finish(send, "email", ok=False)
            logger.warning("digest not sent", extra={"spoke": spoke, "kind": message.kind, "error": str(exc)})
            result.failed.append(f"{spoke} ({exc})")
            return
        self.store.finish(send, "email", ok=True)
        logger.info("digest sent", extra={"spoke": spoke, "kind": message.kind, "count": len(items)})
        if message.kind == "reminder":
            result.reminders_sent += 1
        else:
            result.escalations_sent += 1
