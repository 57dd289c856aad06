"""Referral models and validation of what a resident submits.

``parse_submission`` takes the raw form (form-encoded or JSON, already decoded
to a mapping) and returns a :class:`Submission` or raises
:class:`SubmissionInvalidError` whose ``errors`` maps each field to the message
the visitor sees (see ``hub.form.MESSAGES``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError  # noqa: F401  (re-exported for callers)

from hub import form, postcodes

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_EMAIL = re.compile(form.EMAIL_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1, except tab and line breaks
_LINE_BREAKS = re.compile(r"\s*[\t\n]+\s*")

INTEREST_VALUES = [value for value, _ in form.INTERESTS]
SITUATION_VALUES = [value for value, _ in form.SITUATIONS]


class SubmissionInvalidError(ValueError):
    """The submission has mistakes the visitor can fix. ``errors``: field -> message."""

    def __init__(self, errors: dict[str, str], values: dict[str, Any]):
        self.errors = errors
        self.values = values  # cleaned values, to show the form again with answers kept
        super().__init__(f"invalid fields: {', '.join(errors)}")  # names only, never values


class Submission(BaseModel):
    """A valid referral as submitted, normalised."""

    model_config = ConfigDict(frozen=True)

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

    @property
    def postcode_parts(self) -> postcodes.Postcode:
        return postcodes.parse(self.postcode)

    def answers(self) -> dict[str, Any]:
        """What the person told us (for de-duplication without a submission id)."""
        return self.model_dump(exclude={"submission_id"})


class Assignment(BaseModel):
    """One spoke's part in a referral, with why it was made."""

    model_config = ConfigDict(frozen=True)

    spoke: str
    role: Literal["notify", "eligible"]
    rule: str
    reason: str
    priority: int


class Referral(Submission):
    reference: str
    created_at: datetime
    assignments: list[Assignment] = Field(default_factory=list)


def _text(raw: Mapping[str, Any], key: str, multiline: bool = False) -> str:
    """A single text value: the first of a list, stripped, control characters removed.

    Line breaks become ``\\n`` (browsers send ``\\r\\n``); only ``multiline`` fields
    keep them and tabs, the rest are one line (they end up in email headers).
    """
    value = raw.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "yes" if value else ""
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return ""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if not multiline:
        value = _LINE_BREAKS.sub(" ", value)
    return value.strip()


def _list(raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ["\x00invalid"]
    return [str(v).strip() for v in value if str(v).strip()]


def normalise_phone(text: str) -> str | None:
    """UK phone numbers in national format (``07700900982``); None if not one."""
    if not re.match(form.PHONE_ALLOWED, text):
        return None
    digits = re.sub(r"[^0-9+]", "", text)
    if digits.startswith("+44"):
        digits = "0" + digits[3:].removeprefix("0")
    elif digits.startswith("0044"):
        digits = "0" + digits[4:].removeprefix("0")
    if "+" in digits or not digits.startswith("0") or digits.startswith("00"):  # 00: another country
        return None
    return digits if 10 <= len(digits) <= 11 else None


def parse_submission(raw: Mapping[str, Any]) -> Submission:
    """Validate and normalise a submission. Raises SubmissionInvalidError."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    msg = form.MESSAGES

    def too_long(field: str, value: str) -> bool:
        if len(value) > form.MAX_LENGTHS[field]:
            errors[field] = msg[field]["too_long"]
            return True
        return False

    name = _text(raw, "name")
    values["name"] = name
    if not name:
        errors["name"] = msg["name"]["required"]
    else:
        too_long("name", name)

    email = _text(raw, "email")
    phone_raw = _text(raw, "phone")
    values["email"], values["phone"] = email, phone_raw
    if not email and not phone_raw:
        errors["email"] = msg["email"]["contact"]
    if email and not too_long("email", email):
        local, _, domain = email.rpartition("@")
        if not _EMAIL.match(email) or ".." in email or domain.startswith(".") or domain.endswith("."):
            errors["email"] = msg["email"]["invalid"]
        else:
            email = f"{local}@{domain.lower()}"
    phone = None
    if phone_raw and not too_long("phone", phone_raw):
        phone = normalise_phone(phone_raw)
        if phone is None:
            errors["phone"] = msg["phone"]["invalid"]

    postcode_raw = _text(raw, "postcode")
    values["postcode"] = postcode_raw
    postcode = ""
    if not postcode_raw:
        errors["postcode"] = msg["postcode"]["required"]
    else:
        try:
            postcode = postcodes.normalise(postcode_raw[: form.MAX_LENGTHS["postcode"]])
            if len(postcode_raw) > form.MAX_LENGTHS["postcode"]:
                raise postcodes.PostcodeError("too long")
            values["postcode"] = postcode
        except postcodes.PostcodeError:
            errors["postcode"] = msg["postcode"]["invalid"]

    age_raw = _text(raw, "age")
    values["age"] = age_raw
    age = 0
    if not age_raw:
        errors["age"] = msg["age"]["required"]
    elif not re.fullmatch(r"[0-9]{1,3}", age_raw):
        errors["age"] = msg["age"]["invalid"]
    else:
        age = int(age_raw)
        if age < form.MIN_AGE:
            errors["age"] = msg["age"]["too_young"]
        elif age > form.MAX_AGE:
            errors["age"] = msg["age"]["too_old"]

    interests = _list(raw, "interests")
    values["interests"] = [i for i in interests if i in INTEREST_VALUES]
    if any(i not in INTEREST_VALUES for i in interests) or len(interests) > len(INTEREST_VALUES):
        errors["interests"] = msg["interests"]["invalid"]
    interests = list(dict.fromkeys(i for i in interests if i in INTEREST_VALUES))

    situation = _text(raw, "situation")
    values["situation"] = situation if situation in SITUATION_VALUES else ""
    if situation and situation not in SITUATION_VALUES:
        errors["situation"] = msg["situation"]["invalid"]

    support_needs = _text(raw, "support_needs", multiline=True)
    values["support_needs"] = support_needs
    if support_needs:
        too_long("support_needs", support_needs)

    language = _text(raw, "language")
    values["language"] = language
    if language:
        too_long("language", language)

    consent = _text(raw, "consent")
    values["consent"] = consent == "yes"
    if consent != "yes":
        errors["consent"] = msg["consent"]["required"]

    # Hidden fields: a visitor cannot fix them, so a bad value is dropped, never an error.
    campaign = _text(raw, "campaign")
    source = _text(raw, "source")
    submission_id = _text(raw, "submission_id")
    values["campaign"] = campaign if _SLUG.match(campaign) else ""
    values["source"] = source if _SLUG.match(source) else ""
    values["submission_id"] = submission_id if _SUBMISSION_ID.match(submission_id) else ""

    if errors:
        ordered = {f: errors[f] for f in form.FIELD_ORDER if f in errors}
        raise SubmissionInvalidError(ordered, values)

    return Submission(
        name=name,
        email=email or None,
        phone=phone,
        postcode=postcode,
        age=age,
        interests=interests,
        situation=situation or None,
        support_needs=support_needs or None,
        language=language or None,
        consent=True,
        campaign=values["campaign"] or None,
        source=values["source"] or None,
        submission_id=values["submission_id"] or None,
    )


def is_honeypot_filled(raw: Mapping[str, Any]) -> bool:
    """Bots fill the hidden ``website`` field; people never see it."""
    return bool(_text(raw, "website"))
