"""What the hub knows, as typed models: a submission, a stored referral, its assignments and events.

:mod:`hub.validation` makes a :class:`Submission` from what a resident sent;
:mod:`hub.storage` stores and returns :class:`Referral`, :class:`AssignmentRecord` and
:class:`Event`, so the logic never re-parses stored strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: sorts as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Submission(_Model):
    """A valid referral as submitted, normalised (see :mod:`hub.validation`)."""

    name: str
    email: str | None = None
    phone: str | None = None
    postcode: str
    age: int
    interests: list[str] = []
    situation: str | None = None
    support_needs: str | None = None
    language: str | None = None
    consent: Literal[True] = True
    campaign: str | None = None
    source: str | None = None
    submission_id: str | None = None
    lang: str = "en"  # the language of the page the person used (hub.i18n code)
    event: str | None = None  # the event page's id, when they signed up for an event
    channel: Literal["web", "assisted"] = "web"  # assisted: outreach staff filled it in with them
    # What the form sent when it was not the build's (hub.attribution): the field above is then
    # "unknown". For the hub to look at; never shown as a placement, never logged.
    campaign_raw: str | None = None
    source_raw: str | None = None
    event_raw: str | None = None

    def answers(self) -> dict[str, Any]:
        """What the person told us (for de-duplication without a submission id)."""
        return self.model_dump(exclude={"submission_id"})


class Referral(Submission):
    """A stored referral."""

    reference: str
    created_at: datetime
    # The referral this one corrects: sent again from the same form (same submission_id) with
    # different answers, e.g. after going back to fix a phone number. See hub.intake.
    corrects: str | None = None
    status: Literal["received", "routed"] = "received"
    routed_at: datetime | None = None
    expires_at: int | None = None  # epoch seconds; the table's TTL deletes the item after it
    # Erased at the person's request (hub.person): the personal fields are gone (name, email and
    # phone read as empty, age as 0); what is left for statistics is below.
    erased: bool = False
    erased_at: str | None = None
    district: str | None = None  # the postcode's outward code, "LS9"
    age_band: str | None = None  # "25-34"

    @field_validator("created_at", "routed_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    @field_serializer("created_at", "routed_at")
    def _iso(self, value: datetime | None) -> str | None:
        return iso(value) if value is not None else None

    @property
    def received(self) -> str:
        return iso(self.created_at)


class Assignment(_Model):
    """One spoke's part in a referral, decided by the rules, with why."""

    spoke: str
    role: Literal["notify", "eligible"]
    rule: str
    reason: str
    priority: int


class AssignmentRecord(Assignment):
    """A stored assignment, with how far its notification has got and what the spoke has done.

    ``assigned_at`` is when the spoke was asked (the referral's time, or the time someone
    referred the person on to it); ``awaiting`` is true from then until the spoke records a
    status or refers the person on. ``last_status`` is the status recorded latest (derived
    from the outcome items: :class:`Outcome` keeps every one).
    """

    reference: str
    created_at: str
    notified_at: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)  # channel -> "sending", "sent" or "failed"
    assigned_at: str | None = None
    awaiting: bool = False
    last_status: str | None = None
    last_status_at: str | None = None
    referred_by: str | None = None  # the spoke (or ``hub``) that referred the person on to this one
    handover: str | None = None  # id of that handover
    handover_reason: str | None = None  # "Referred on by CCHCC team", "Assigned by the hub"


class Event(_Model):
    """One thing that happened to a referral (append-only)."""

    reference: str
    type: str
    at: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Outcome(_Model):
    """What a spoke recorded about a referral (append-only: never changed or removed)."""

    reference: str
    spoke: str
    id: str  # the form's submission id: the same post twice is one outcome
    at: str  # when it was recorded (ISO 8601 UTC)
    status: str
    support: str | None = None
    note: str | None = None


class Handover(_Model):
    """A referral passed on: by a spoke to another spoke or back to the hub (``referred-on``),
    or by the hub to a spoke (``assigned``). Append-only; the router notifies ``to_spoke`` once."""

    reference: str
    id: str
    at: str
    from_spoke: str
    to_spoke: str
    kind: Literal["referred-on", "assigned"]
    note: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)


class Awaiting(_Model):
    """An assignment with no update yet (an entry of the ``awaiting`` index)."""

    reference: str
    spoke: str
    assigned_at: str


class Case(_Model):
    """Everything held under one referral, read in one query."""

    referral: Referral
    assignments: list[AssignmentRecord] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)  # oldest first
    handovers: list[Handover] = Field(default_factory=list)  # oldest first
    events: list[Event] = Field(default_factory=list)  # oldest first

    def assignment(self, spoke: str) -> AssignmentRecord | None:
        return next((a for a in self.assignments if a.spoke == spoke), None)
