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
    """A stored assignment, with how far its notification has got."""

    reference: str
    created_at: str
    notified_at: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)  # channel -> "sending", "sent" or "failed"


class Event(_Model):
    """One thing that happened to a referral (append-only)."""

    reference: str
    type: str
    at: str
    detail: dict[str, Any] = Field(default_factory=dict)
