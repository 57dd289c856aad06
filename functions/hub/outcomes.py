"""After the referral: a spoke opens its outcome link, records what happened, or refers the person on.

:class:`OutcomeDesk` is what the outcomes function calls (it knows nothing of HTTP):

- :meth:`OutcomeDesk.visit` checks the token (:mod:`hub.links`) and loads the referral's
  :class:`hub.models.Case` in one query. A spoke's token opens only a referral it was asked
  about (a ``notify`` assignment); the hub's (``hub``) opens any.
- :meth:`OutcomeDesk.record` validates a post (:func:`parse`) and makes ONE conditional
  write: an outcome item (a status) or a handover item (refer on, back to the hub, or the
  hub assigning). Both are append-only and keyed by the form's submission id, so a double
  post or a replayed old form is one item and history is never reordered. The router
  picks both up from the table's stream: it keeps the assignment's ``last_status`` and
  ``awaiting`` (reminders) and, for a handover, makes the new assignment and notifies
  that spoke exactly once (:mod:`hub.routing`).
- :meth:`OutcomeDesk.page` renders the page: the reference, why this spoke was asked,
  its history and the forms. Never the person's details (they stay in the email).

Statuses and kinds of support are the tables below (DESIGN.md §4); the page, validation
and the digests read them from here.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from hub.config import Programme
from hub.links import LinkClaim, LinkGoneError, LinkInvalidError, OutcomeLinks
from hub.models import Case, Handover, Outcome, iso
from hub.storage import DynamoReferralStore, utcnow
from hub.workdays import LONDON

logger = logging.getLogger(__name__)

NOTE_MAX = 500
HUB = "hub"  # the spoke id of the hub's own links (programme.triage.id)
_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_DEDUPE_WINDOW_SECONDS = 600  # posts without a submission id: the same answers within this are one


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    hint: str = ""


STATUSES: tuple[Choice, ...] = (
    Choice("contacted", "Contacted", "You reached them"),
    Choice("not-reached", "Could not reach them", "You tried and could not get hold of them"),
    Choice("declined", "Declined", "They do not want help now"),
    Choice("engaged", "Engaged", "They are taking part: a meeting, a plan or a first session"),
    Choice("supported", "Supported", "They have had support: choose which kind below"),
    Choice("offer", "Conditional job offer"),
    Choice("started-work", "Started work"),
    Choice("qualified", "Accredited qualification"),
    Choice("closed", "Closed", "Nothing more to do for now"),
)
SUPPORT_KINDS: tuple[Choice, ...] = (
    Choice("volunteering", "Volunteering"),
    Choice("work-experience", "Work experience"),
    Choice("pre-employment", "Pre-employment course"),
    Choice("training", "Training"),
)
STATUS_IDS = tuple(c.id for c in STATUSES)
SUPPORT_IDS = tuple(c.id for c in SUPPORT_KINDS)


def label(choices: tuple[Choice, ...], choice_id: str | None) -> str:
    return next((c.label for c in choices if c.id == choice_id), choice_id or "")


class ReferralGoneError(LinkGoneError):
    """A valid link for a referral the table no longer holds (retention, or erasure): 410."""

    reason = "the referral is no longer held"


class ReferralErasedError(LinkGoneError):
    """A valid link for a referral whose person asked for their details to be erased: 410."""

    reason = "the referral was erased"

    def __init__(self, reference: str, spoke: str, expires_at: int | None = None):
        super().__init__(reference, spoke)
        self.expires_at = expires_at


class OutcomeInvalidError(Exception):
    """A post that cannot be recorded. ``errors``: field -> message; ``values``: what was sent."""

    def __init__(self, action: str, errors: dict[str, str], values: dict[str, str]):
        self.action = action  # "status", "refer" or "assign": which form to show the errors on
        self.errors = errors
        self.values = values
        super().__init__(f"{len(errors)} problem(s)")


@dataclass(frozen=True)
class Action:
    """A valid post: a status, or a handover (``refer`` by a spoke or ``assign`` by the hub)."""

    kind: Literal["status", "refer", "assign"]
    id: str
    status: str | None = None
    support: str | None = None
    to_spoke: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Visit:
    """A checked link: who is looking at which referral."""

    token: str
    claim: LinkClaim
    case: Case

    @property
    def spoke(self) -> str:
        return self.claim.spoke

    @property
    def reference(self) -> str:
        return self.claim.reference


@dataclass(frozen=True)
class Recorded:
    kind: Literal["status", "refer", "assign"]
    reference: str
    spoke: str
    status: str | None = None
    to_spoke: str | None = None
    new: bool = True  # False: the same post was already recorded


def clean_note(raw: Any) -> str:
    """The note as kept: line breaks as ``\\n``, control characters and surrounding space removed."""
    text = str(raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    return text.strip()


def _single(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


def parse(fields: Mapping[str, Any], spoke: str, programme: Programme, now: datetime) -> Action:
    """A valid :class:`Action` from a post, or OutcomeInvalidError with every problem."""
    is_hub = spoke == programme.triage.id
    values = {name: _single(fields, name) for name in ("status", "support", "refer_to", "assign_to", "submission_id")}
    values["note"] = clean_note(fields.get("note"))
    status, support = values["status"], values["support"]
    to_spoke = values["refer_to"] or values["assign_to"]
    action = "assign" if values["assign_to"] else "refer" if values["refer_to"] else "status"
    errors: dict[str, str] = {}

    if values["assign_to"] and values["refer_to"]:
        errors["assign_to"] = "Choose one partner to send them to"
    if values["assign_to"] and not is_hub:
        errors["assign_to"] = "Only the hub can assign a referral. To pass them on, refer them to another partner"
    if to_spoke and status:
        errors["refer_to" if action == "refer" else "assign_to"] = (
            "Record what happened or send them to another partner, one at a time"
        )
    elif to_spoke:
        if not programme.knows(to_spoke):
            errors[f"{action}_to"] = "Choose one of the partners listed"
        elif to_spoke == spoke:
            errors[f"{action}_to"] = "They are already with you: choose another partner"
        elif action == "assign" and to_spoke == programme.triage.id:
            errors["assign_to"] = "Choose a partner to assign them to"
    elif not status:
        errors["status"] = "Choose what happened"
    elif status not in STATUS_IDS:
        errors["status"] = "Choose one of the statuses listed"
    if action == "status" and not errors.get("status"):
        if status == "supported" and not support:
            errors["support"] = "Choose the kind of support they had"
        elif support and support not in SUPPORT_IDS:
            errors["support"] = "Choose one of the kinds of support listed"
        elif support and status != "supported":
            errors["support"] = "Only choose a kind of support with the status Supported"
    if len(values["note"]) > NOTE_MAX:
        errors["note"] = f"The note must be {NOTE_MAX} characters or fewer (it has {len(values['note'])})"
    if errors:
        raise OutcomeInvalidError(action, errors, values)

    submission = values["submission_id"]
    if not _ID.fullmatch(submission):
        # No (usable) id: the same answers from the same link within the window are one post.
        bucket = int(now.timestamp()) // _DEDUPE_WINDOW_SECONDS
        basis = "\x1f".join([spoke, action, status, support, to_spoke, values["note"], str(bucket)])
        submission = "h-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
    return Action(
        kind=action,
        id=submission,
        status=status or None,
        support=(support or None) if status == "supported" else None,
        to_spoke=to_spoke or None,
        note=values["note"] or None,
    )


def _when(stamp: str) -> str:
    """``12 Mar 2025, 10:15`` in London time."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(LONDON)
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def _day(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}"


@dataclass
class OutcomeDesk:
    """Outcome links, pages and posts. One per cold start."""

    store: DynamoReferralStore
    programme: Programme
    links: OutcomeLinks
    clock: Callable[[], datetime] = utcnow

    @property
    def hub(self) -> str:
        return self.programme.triage.id

    def visit(self, token: str | None) -> Visit:
        """Check a token and load its referral. LinkInvalidError (403), LinkExpiredError or
        ReferralGoneError (410)."""
        claim = self.links.check(token, self.clock())
        case = self.store.case(claim.reference)
        if case is None:
            raise ReferralGoneError(claim.reference, claim.spoke)
        if case.referral.erased:
            raise ReferralErasedError(claim.reference, claim.spoke, case.referral.expires_at)
        if claim.spoke != self.hub:
            assignment = case.assignment(claim.spoke)
            if assignment is None or assignment.role != "notify":
                # Signed by us, but this spoke was never asked about this referral.
                raise LinkInvalidError("the spoke has no assignment for this referral")
        return Visit(token=token or "", claim=claim, case=case)

    def read(self, token: str | None) -> Visit:
        """:meth:`visit` for a page read (``GET``), which leaves an audit event: which spoke's link
        opened which referral, when (never the token). An erased referral's read is audited too."""
        try:
            visit = self.visit(token)
        except ReferralErasedError as exc:
            self._audit_read(exc.reference, exc.spoke, exc.expires_at)
            raise
        self._audit_read(visit.reference, visit.spoke, visit.case.referral.expires_at)
        return visit

    def _audit_read(self, reference: str, spoke: str, expires_at: int | None) -> None:
        self.store.add_audit(reference, "outcome-page-read", actor=f"spoke {spoke} (outcome link)",
                             at=iso(self.clock()), detail={"spoke": spoke}, expires_at=expires_at)

    def record(self, visit: Visit, fields: Mapping[str, Any]) -> Recorded:
        """Validate and store a post with ONE conditional write. OutcomeInvalidError when invalid."""
        now = self.clock()
        action = parse(fields, visit.spoke, self.programme, now)
        referral = visit.case.referral
        if action.kind == "status":
            outcome = Outcome(
                reference=visit.reference, spoke=visit.spoke, id=action.id, at=iso(now),
                status=action.status or "", support=action.support, note=action.note,
            )
            new = self.store.add_outcome(outcome, expires_at=referral.expires_at, received=referral.received)
            logger.info("outcome recorded" if new else "outcome already recorded",
                        extra={"reference": visit.reference, "spoke": visit.spoke, "status": action.status})
            return Recorded("status", visit.reference, visit.spoke, status=action.status, new=new)
        handover = Handover(
            reference=visit.reference, id=action.id, at=iso(now), from_spoke=visit.spoke,
            to_spoke=action.to_spoke or "", kind="assigned" if action.kind == "assign" else "referred-on",
            note=action.note,
        )
        new = self.store.add_handover(handover, expires_at=referral.expires_at, received=referral.received)
        logger.info("handover recorded" if new else "handover already recorded",
                    extra={"reference": visit.reference, "spoke": visit.spoke, "to": action.to_spoke})
        return Recorded(action.kind, visit.reference, visit.spoke, to_spoke=action.to_spoke, new=new)

    # -- what the page shows ------------------------------------------------------------

    def history(self, visit: Visit) -> list[dict[str, str]]:
        """What happened, oldest first: this spoke's statuses and handovers (every spoke's for the hub)."""
        case, spoke, is_hub = visit.case, visit.spoke, visit.spoke == self.hub
        name = self.programme.spoke_name
        entries: list[tuple[str, dict[str, str]]] = []
        assignment = case.assignment(spoke)
        if not is_hub and assignment is not None and assignment.role == "notify" and not assignment.referred_by:
            entries.append((case.referral.received, {"what": "Referral sent to you", "detail": "", "note": ""}))
        if is_hub:
            entries.append((case.referral.received, {"what": "Referral received", "detail": "", "note": ""}))
        for outcome in case.outcomes:
            if outcome.spoke == spoke or is_hub:
                entry = {
                    "what": label(STATUSES, outcome.status),
                    "detail": label(SUPPORT_KINDS, outcome.support) if outcome.support else "",
                    "note": outcome.note or "",
                }
                if is_hub and outcome.spoke != spoke:
                    entry["what"] += f" ({name(outcome.spoke)})"
                entries.append((outcome.at, entry))
        for handover in case.handovers:
            if handover.from_spoke == spoke:
                verb = "Assigned to" if handover.kind == "assigned" else "Referred on to"
                what = f"{verb} {name(handover.to_spoke)}"
            elif handover.to_spoke == spoke:
                what = "Assigned to you by the hub" if handover.kind == "assigned" else f"Referred to you by {name(handover.from_spoke)}"
            elif is_hub:
                what = f"{name(handover.from_spoke)} referred them on to {name(handover.to_spoke)}"
            else:
                continue
            entries.append((handover.at, {"what": what, "detail": "", "note": handover.note or ""}))
        entries.sort(key=lambda pair: pair[0])
        return [{"when": _when(at), "at": at, **entry} for at, entry in entries]

    def why(self, visit: Visit) -> list[str]:
        """Why this spoke was asked, in words (the hub: why the referral came to it, if it did)."""
        assignment = visit.case.assignment(visit.spoke)
        if assignment is None:
            return []
        reasons = []
        if assignment.handover_reason:
            reasons.append(assignment.handover_reason)
        if assignment.rule != "referred-on":
            spoke = self.programme.spoke(visit.spoke)
            if spoke is not None:
                reasons.append(f"The person {spoke.why}. Rule: {assignment.reason}")
            else:
                reasons.append(assignment.reason)
        return reasons

    @staticmethod
    def current(case: Case, spoke: str) -> str | None:
        """A spoke's current status: the one it recorded last (read from the outcomes themselves,
        so a page shows a status the moment it is saved; the router keeps the same on the assignment)."""
        mine = [o for o in case.outcomes if o.spoke == spoke]
        return max(mine, key=lambda o: (o.at, o.id)).status if mine else None

    def summary(self, visit: Visit) -> dict[str, Any]:
        """The JSON a ``GET`` with ``Accept: application/json`` answers."""
        return {
            "reference": visit.reference,
            "spoke": visit.spoke,
            "status": self.current(visit.case, visit.spoke),
            "history": [{"at": e["at"], "what": e["what"], "detail": e["detail"]} for e in self.history(visit)],
        }

    def page(
        self,
        visit: Visit,
        *,
        saved: str | None = None,
        invalid: OutcomeInvalidError | None = None,
    ) -> str:
        from hub import render

        programme, spoke = self.programme, visit.spoke
        is_hub = spoke == self.hub
        others = [
            {"id": s.id, "label": s.name, "hint": f"For someone who {s.why}"}
            for s in sorted(programme.spokes, key=lambda s: s.priority)
            if s.id != spoke
        ]
        refer_to = [] if is_hub else [
            *others, {"id": self.hub, "label": f"Back to the hub ({programme.triage.name})",
                      "hint": "When none of the partners is right for them now"},
        ]
        now = self.clock()
        partners = []
        if is_hub:
            for a in visit.case.assignments:
                if a.spoke == self.hub:
                    continue
                partners.append({
                    "name": programme.spoke_name(a.spoke),
                    "role": "asked" if a.role == "notify" else "eligible",
                    "status": label(STATUSES, self.current(visit.case, a.spoke)) or ("waiting" if a.awaiting else "-"),
                    "link": self.links.url(visit.reference, a.spoke, now) if a.role == "notify" else "",
                })
        return render.render(
            "outcome_page.html",
            **render.page_context(programme),
            reference=visit.reference,
            spoke_name=programme.spoke_name(spoke),
            is_hub=is_hub,
            received=_day(visit.case.referral.created_at),
            why=self.why(visit),
            current=label(STATUSES, self.current(visit.case, spoke)),
            history=self.history(visit),
            statuses=STATUSES,
            support_kinds=SUPPORT_KINDS,
            refer_to=refer_to,
            assign_to=others if is_hub else [],
            partners=partners,
            action_path=f"/api/outcomes/{visit.token}",
            ids={"status": secrets.token_urlsafe(16), "move": secrets.token_urlsafe(16)},
            note_max=NOTE_MAX,
            saved=saved,
            form=invalid.action if invalid else None,
            errors=invalid.errors if invalid else {},
            values=invalid.values if invalid else {},
            expires=_day(visit.claim.expires),
            hub_email=str(programme.programme.hub_email),
        )


def problem_page(
    programme: Programme, kind: Literal["invalid", "expired", "gone", "erased"], reference: str | None = None
) -> str:
    """The page for a link that cannot be used: 403 (invalid) or 410 (expired, referral gone)."""
    from hub import render

    info = programme.programme
    pages = {
        "invalid": (
            "This link does not work",
            "The link may have been copied wrongly or cut short. Open it again from the email you were sent.",
        ),
        "expired": (
            "This link has expired",
            f"Links to record what happened work for {programme.outcome_link_days} days.",
        ),
        "gone": (
            "This referral is no longer held",
            f"{info.short_name} keeps referrals for {programme.retention_days} days, or less when the person asks us "
            "to delete their details. There is nothing more to record for it.",
        ),
        "erased": (
            "This referral has been erased",
            "The person asked us to erase their details, and we have. There is nothing more to record for it. "
            "Please delete any copy of their details you hold, as the erasure notice we sent you asks.",
        ),
    }
    title, message = pages[kind]
    return render.render(
        "link_problem.html",
        **render.page_context(programme),
        title=title,
        message=message,
        kind=kind,
        reference=reference,
        hub_email=str(info.hub_email),
    )
