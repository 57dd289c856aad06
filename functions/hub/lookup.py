"""The keyed hash that finds a person's referrals by email or phone (:mod:`hub.person`).

``PERSON#<hex HMAC-SHA256>`` of the normalised email (``gsi4pk``) or phone (``gsi5pk``) under
a key held in an SSM SecureString (``PERSON_HASH_KEY_PARAMETER``; ``current[,previous]``, like
the outcome link keys). Keyed, not a plain hash: without the key, nobody holding the table can
test guesses of an address against it. Emails are compared trimmed and case-folded; phones in
the national form the form stores (:func:`hub.validation.normalise_phone`).

Kept apart from :mod:`hub.person` so the intake's cold start imports only this (no pydantic).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from hub.storage import INDEXES, PERSON_INDEXES, PERSON_PREFIX
from hub.validation import normalise_phone, plain

logger = logging.getLogger(__name__)

_CONTEXT = b"cchcc-person/1\n"


class PersonError(Exception):
    """A person command cannot do what was asked; the message says why (never personal data)."""


def normalise(kind: str, value: str) -> str:
    """The form of an email or phone that is hashed: what the intake stores, compared loosely."""
    if kind == "email":
        text = plain(value).strip().casefold()
        if "@" not in text:
            raise PersonError("that is not an email address")
        return text
    if kind == "phone":
        phone = normalise_phone(plain(value).strip())
        if phone is None:
            raise PersonError("that is not a UK phone number")
        return phone
    raise PersonError(f"cannot look people up by {kind}")


def person_hash(key: bytes, kind: str, value: str) -> str:
    """Hex HMAC-SHA256 of the normalised ``value`` (``kind`` is part of what is signed)."""
    message = _CONTEXT + kind.encode("ascii") + b"\n" + normalise(kind, value).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def lookup_attributes(key: bytes, email: str | None, phone: str | None) -> dict[str, str]:
    """The referral's lookup attributes (``gsi4pk``, ``gsi5pk``) for what it has."""
    found = {}
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            try:
                found[INDEXES[PERSON_INDEXES[kind]][0]] = f"{PERSON_PREFIX}{person_hash(key, kind, value)}"
            except PersonError:
                continue  # not a form the intake stores: not findable by it
    return found


class IntakeLookup:
    """The intake's side: the lookup attributes of a new referral, the key read on first use and
    cached (Powertools Parameters, :class:`hub.links.ParameterKeys`). A key that cannot be read
    never loses a referral: it is stored without them and ``cchcc person backfill`` adds them."""

    def __init__(self, keys: Any):
        self.keys = keys  # a hub.links.KeySource

    def attributes(self, email: str | None, phone: str | None) -> dict[str, str]:
        try:
            key = self.keys.keys()[0]
        except Exception as exc:  # noqa: BLE001 (never a reason to refuse a referral)
            logger.warning("person hash key unavailable; referral stored without lookup",
                           extra={"error": type(exc).__name__})
            return {}
        return lookup_attributes(key, email, phone)
