"""A person's data: find, export and erase it, with an audit trail (UK GDPR Articles 15, 17 and 19).

*Finding a person.* Each referral carries the keyed hash of its normalised email
(``gsi4pk``) and phone (``gsi5pk``): ``PERSON#<hex HMAC-SHA256>``, under a key held in an
SSM SecureString (``PERSON_HASH_KEY_PARAMETER``; ``current[,previous]`` as the outcome link
keys). A keyed hash, not a plain one: without the key nobody can test guesses of an address
against the table. Emails are compared trimmed and case-folded, phones in the national form
the form stores (:func:`hub.validation.normalise_phone`). :meth:`PersonData.find` queries the
sparse ``gsi4``/``gsi5`` indexes with the hash under each valid key (so a rotation does not
hide anyone before ``cchcc person backfill`` re-hashes), never scanning contact details.

*Export* (:meth:`PersonData.export`): everything held under the referral and the referrals
linked to it as corrections (``corrects``: the same person sending the form again), the
messages sent (to which spoke, on which channel, when, which fields), the digests that listed
it, and when it will be deleted.

*Erasure* (:meth:`PersonData.erase`), for the whole correction chain:

1. the referral item loses every personal field (:data:`PERSONAL_FIELDS`) and its lookup
   hashes, and keeps ``district`` ("LS9"), ``age_band`` ("25-34"), the campaign, placement,
   event, channel, page language, dates and statuses for statistics, with ``erased`` and
   ``erased_at``; outcomes and handovers lose their ``note``; assignments stop awaiting
   (no reminder lists them again). Each item is changed by one conditional update, so no
   item is ever half-erased;
2. the intake's idempotency records (their keys are hashes of what the person sent) and
   the ``SUBMISSION#`` marker are deleted;
3. an ``ERASURE#<spoke>`` item for each spoke that was sent (or was being sent) the person's
   details: its stream INSERT makes the router send that spoke an erasure notice, once, by
   email and webhook, like any other message (:mod:`hub.routing`);
4. an audit event: who, when, why.

The router re-reads ``erased`` after claiming a send and before sending, so a notification
racing an erasure either goes before the erasure (and the spoke is then sent a notice) or
not at all. Running it again finds the items already scrubbed and the notices already
written: it changes nothing and sends nothing twice.

*Audit.* Every find, export, erase, backfill and outcome-page read is an audit item
(:meth:`hub.storage.DynamoReferralStore.add_audit`): who, what, when and counts, never the
data, never a contact or its hash. Audit items survive erasure and expire with the referral:
once the table's TTL has deleted a referral, nothing about that reference is left, the audit
of it included (there is then nothing left to account for).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub import form
from hub.lookup import PersonError, lookup_attributes, person_hash
from hub.storage import (
    ASSIGN_PREFIX,
    EVENT_PREFIX,
    HANDOVER_PREFIX,
    INDEXES,
    OUTCOME_PREFIX,
    PARTITION_KEY,
    PERSON_INDEXES,
    REFERRAL_SK,
    SORT_KEY,
    SUBMISSION_PREFIX,
    SUBMISSION_SK,
    TTL_ATTRIBUTE,
    DynamoReferralStore,
    iso,
    utcnow,
)

if TYPE_CHECKING:
    from hub.config import Programme

logger = logging.getLogger(__name__)

# Personal fields of a referral: removed on erasure. What stays is for statistics.
PERSONAL_FIELDS = ("name", "email", "phone", "postcode", "age", "situation", "support_needs", "language",
                   "submission_id", "interests")
# Bands for statistics: the programme's own cut at 25 (Healthier Working Futures) stays visible.
AGE_BANDS = ((16, 24, "16-24"), (25, 34, "25-34"), (35, 49, "35-49"), (50, 64, "50-64"), (65, 200, "65+"))
_INTERNAL = {PARTITION_KEY, SORT_KEY, "type", *(k for pair in INDEXES.values() for k in pair)}


class NotFoundError(PersonError):
    """No referral with that reference, or nobody with that email or phone."""


# -- what stays for statistics -----------------------------------------------------------------


def district(postcode: str | None) -> str | None:
    """The outward code of a stored postcode: ``LS9 7AB`` -> ``LS9``."""
    if not postcode:
        return None
    outward = postcode.strip().upper().split(" ")[0]
    return outward if re.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]?", outward) else None


def age_band(age: Any) -> str | None:
    try:
        years = int(age)
    except (TypeError, ValueError):
        return None
    return next((label for low, high, label in AGE_BANDS if low <= years <= high), None)


# -- the service -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    reference: str
    created_at: str
    campaign: str | None
    erased: bool


@dataclass(frozen=True)
class Erased:
    references: list[str]  # the correction chain, oldest first
    notices: list[str]  # "<reference> -> <spoke>" erasure notices written by this run
    already: bool  # everything was erased before: nothing changed


@dataclass
class PersonData:
    """Find, export and erase a person's data; every use audited. ``actor``: who runs it."""

    store: DynamoReferralStore
    programme: Programme
    actor: str
    keys: Any = None  # hub.links.KeySource for the person hash key; needed by find (contact) and backfill
    clock: Callable[[], datetime] = utcnow

    def _now(self) -> str:
        return iso(self.clock())

    def _audit(self, reference: str | None, action: str, expires_at: int | None = None, **detail: Any) -> None:
        if reference is not None and expires_at is None:
            item = self.store.referral_item(reference)
            expires_at = item.get(TTL_ATTRIBUTE) if item else None
        if reference is None:
            expires_at = int(self.clock().timestamp()) + self.programme.retention_days * 86400
        self.store.add_audit(reference, action, actor=self.actor, at=self._now(), detail=detail, expires_at=expires_at)

    def _found(self, reference: str) -> Found | None:
        item = self.store.referral_item(reference)
        if item is None:
            return None
        return Found(reference, item.get("created_at", ""), item.get("campaign"), bool(item.get("erased")))

    # -- find ---------------------------------------------------------------------------

    def find(self, *, email: str | None = None, phone: str | None = None, reference: str | None = None) -> list[Found]:
        """The referrals of the person with this email, phone or reference (with its corrections).
        NotFoundError when there are none. Audited without the contact or its hash."""
        given = [(k, v) for k, v in (("email", email), ("phone", phone), ("reference", reference)) if v]
        if len(given) != 1:
            raise PersonError("give exactly one of --email, --phone or --reference")
        kind, value = given[0]
        if kind == "reference":
            references = self._chain(value.strip().upper())
        else:
            if self.keys is None:
                raise PersonError("the person hash key is not available")
            hashes = [person_hash(key, kind, value) for key in self.keys.keys()]
            references = self.store.find_person(kind, hashes)
        found = [f for f in (self._found(r) for r in references) if f is not None]
        found.sort(key=lambda f: (f.created_at, f.reference))
        if not found:
            self._audit(None, "find", by=kind, matches=0)
            raise NotFoundError(f"no referral found for that {kind}")
        for item in found:
            self._audit(item.reference, "find", by=kind, matches=len(found),
                        references=[f.reference for f in found])
        return found

    def _chain(self, reference: str) -> list[str]:
        """The reference with every referral linked to it by corrections, both ways."""
        chain: list[str] = []
        todo = [reference]
        while todo:
            current = todo.pop()
            if current in chain:
                continue
            item = self.store.referral_item(current)
            if item is None:
                continue
            chain.append(current)
            if item.get("corrects"):
                todo.append(item["corrects"])
            todo += self.store.corrections_of(current)
        return chain

    def chain(self, reference: str) -> list[str]:
        """The correction chain of a referral, oldest first. NotFoundError if there is no such referral."""
        chain = self._chain(reference.strip().upper())
        if not chain:
            raise NotFoundError(f"no referral {reference.strip().upper()[:20]}")
        items = {r: self.store.referral_item(r) or {} for r in chain}
        return sorted(chain, key=lambda r: (items[r].get("created_at", ""), r))

    # -- export -------------------------------------------------------------------------

    def export(self, reference: str) -> dict[str, Any]:
        """Everything held about the person, for a subject access request. Audited."""
        chain = self.chain(reference)
        referrals = [self._export_one(r) for r in chain]
        for ref in chain:
            self._audit(ref, "export", references=chain)
        return {
            "exported_at": self._now(),
            "controller": self.programme.programme.data_controller,
            "organisation": self.programme.programme.organisation,
            "reference": reference.strip().upper(),
            "referrals": referrals,
        }

    def _export_one(self, reference: str) -> dict[str, Any]:
        items = self.store.items(reference)
        referral = next(i for i in items if i[SORT_KEY] == REFERRAL_SK)
        expires = referral.get(TTL_ATTRIBUTE)
        retention = datetime.fromtimestamp(expires, UTC).date().isoformat() if expires else None
        if referral.get("erased"):
            kept = {k: v for k, v in referral.items() if k not in _INTERNAL}
            return {"reference": reference, "erased": True, "anonymised_record": _plain(kept),
                    "deleted_on": retention}

        def of(prefix: str) -> list[dict[str, Any]]:
            return [_plain({k: v for k, v in i.items() if k not in _INTERNAL}) for i in items
                    if i[SORT_KEY].startswith(prefix)]

        details = {k: v for k, v in referral.items() if k not in _INTERNAL}
        messages = []
        for event in of(EVENT_PREFIX):
            if event.get("event") in ("notified", "confirmed"):
                messages.append(self._message(event, referral))
        digests = [
            {"day": d.get("day"), "to": d.get("spoke"), "kind": d.get("kind"),
             "what": "the reference only, with a link for the partner"}
            for d in self.store.digests_listing(reference)
        ]
        return {
            "reference": reference,
            "erased": False,
            "referral": _plain(details),
            "assignments": of(ASSIGN_PREFIX),
            "outcomes": of(OUTCOME_PREFIX),
            "handovers": of(HANDOVER_PREFIX),
            "events": of(EVENT_PREFIX),
            "messages": messages,
            "reminders": digests,
            "deleted_on": retention,
        }

    def _message(self, event: dict[str, Any], referral: dict[str, Any]) -> dict[str, Any]:
        spoke_id = event.get("spoke")
        if event.get("event") == "confirmed" or spoke_id is None:
            return {"to": "the person (their email)", "channel": event.get("channel"), "at": event.get("at"),
                    "kind": "confirmation", "fields": ["reference"]}
        spoke = self.programme.spoke(spoke_id)
        receives = spoke.receives if spoke is not None else form.SHAREABLE
        fields = [f.name for f in form.FIELDS if f.name in receives and referral.get(f.name) not in (None, "", [])]
        return {"to": spoke_id, "name": self.programme.spoke_name(spoke_id), "channel": event.get("channel"),
                "at": event.get("at"), "kind": event.get("kind"), "fields": fields}

    # -- erase --------------------------------------------------------------------------

    def erase(self, reference: str, reason: str) -> Erased:
        """Erase the person's data in the referral and its corrections (see the module docstring)."""
        reason = " ".join((reason or "").split())
        if not reason:
            raise PersonError("give a reason (--reason), for the audit trail")
        if len(reason) > 300:
            raise PersonError("the reason is longer than 300 characters")
        chain = self.chain(reference)
        items = {r: self.store.items(r) for r in chain}
        self._check_reason(reason, [next(i for i in items[r] if i[SORT_KEY] == REFERRAL_SK) for r in chain])
        now = self._now()
        changed = False
        notices: list[str] = []
        for ref in chain:
            changed |= self._erase_one(ref, items[ref], now, notices)
        already = not changed and not notices
        for ref in chain:
            self._audit(ref, "erase", reason=reason, references=chain, already_erased=already)
        logger.info("person erased", extra={"references": chain, "notices": len(notices), "already": already})
        return Erased(chain, notices, already)

    @staticmethod
    def _check_reason(reason: str, referrals: list[dict[str, Any]]) -> None:
        """The reason is kept in the audit trail after the data is gone: it must not hold the data."""
        folded = reason.casefold()
        for referral in referrals:
            for name in ("name", "email", "phone", "postcode"):
                value = referral.get(name)
                if isinstance(value, str) and len(value) >= 4 and value.casefold() in folded:
                    raise PersonError(f"the reason contains the person's {name}: the audit trail keeps no personal data")

    def _erase_one(self, reference: str, items: list[dict[str, Any]], now: str, notices: list[str]) -> bool:
        referral = next(i for i in items if i[SORT_KEY] == REFERRAL_SK)
        expires = referral.get(TTL_ATTRIBUTE)
        changed = False
        lookups = [INDEXES[i][0] for i in PERSON_INDEXES.values()]
        if not referral.get("erased"):
            remove = [f for f in (*PERSONAL_FIELDS, *lookups) if f in referral]
            put = {"erased": True, "erased_at": now}
            put |= {k: v for k, v in (("district", district(referral.get("postcode"))),
                                      ("age_band", age_band(referral.get("age")))) if v}
            changed |= self.store.scrub({PARTITION_KEY: referral[PARTITION_KEY], SORT_KEY: REFERRAL_SK},
                                        remove=remove, put=put)
        awaiting = list(INDEXES["gsi2"])
        for item in items:
            key = {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}
            sk = item[SORT_KEY]
            if sk.startswith((OUTCOME_PREFIX, HANDOVER_PREFIX)) and ("note" in item or not item.get("erased")):
                changed |= self.store.scrub(key, remove=[n for n in ("note",) if n in item], put={"erased": True})
            elif sk.startswith(ASSIGN_PREFIX) and any(a in item for a in awaiting):
                changed |= self.store.scrub(key, remove=[a for a in awaiting if a in item], put={})
        for record in self.store.idempotency_records(reference):
            changed |= self.store.delete(record)
        if referral.get("submission_id"):
            changed |= self.store.delete(
                {PARTITION_KEY: f"{SUBMISSION_PREFIX}{referral['submission_id']}", SORT_KEY: SUBMISSION_SK},
                reference=reference,
            )
        for spoke in self._recipients(items):
            if self.store.add_erasure_notice(reference, spoke, at=now, expires_at=expires):
                notices.append(f"{reference} -> {spoke}")
        return changed

    @staticmethod
    def _recipients(items: list[dict[str, Any]]) -> list[str]:
        """The spokes (and the hub) that were sent, or were being sent, the person's details."""
        spokes: list[str] = []
        for item in items:
            sk = item[SORT_KEY]
            if sk.startswith(ASSIGN_PREFIX):
                spoke = item.get("spoke", sk.removeprefix(ASSIGN_PREFIX))
            elif sk.startswith(HANDOVER_PREFIX):
                spoke = item.get("to_spoke")
            else:
                continue
            states = [v for k, v in item.items() if k.endswith("_state")]
            if (item.get("notified_at") or any(s in ("sent", "sending") for s in states)) and spoke not in spokes:
                spokes.append(spoke)
        return sorted(spokes)

    # -- backfill and audit -------------------------------------------------------------

    def backfill(self) -> tuple[int, int]:
        """Give every referral the lookup hashes under the current key. (updated, unchanged)."""
        if self.keys is None:
            raise PersonError("the person hash key is not available")
        key = self.keys.keys()[0]
        updated = unchanged = 0
        names = [INDEXES[i][0] for i in PERSON_INDEXES.values()]
        for data in self.store.referrals_for_lookup():
            if data.get("erased"):
                continue
            wanted = lookup_attributes(key, data.get("email"), data.get("phone"))
            if {n: data.get(n) for n in names if data.get(n)} == wanted:
                unchanged += 1
                continue
            if self.store.set_lookup(data["reference"], wanted):
                updated += 1
                self._audit(data["reference"], "backfill")
        logger.info("person lookup backfilled", extra={"updated": updated, "unchanged": unchanged})
        return updated, unchanged

    def audit(self, reference: str) -> list[dict[str, Any]]:
        """A referral's audit events, oldest first (reading them is not itself audited)."""
        reference = reference.strip().upper()
        found = self.store.audits(reference)
        if not found and self.store.referral_item(reference) is None:
            raise NotFoundError(f"no referral {reference[:20]}")
        return [_plain({k: v for k, v in a.items() if k not in _INTERNAL}) for a in found]


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: sets as sorted lists, bytes dropped."""
    out = {}
    for k, v in sorted(data.items()):
        if isinstance(v, (set, frozenset)):
            v = sorted(v)
        elif isinstance(v, (bytes, bytearray)) or type(v).__name__ == "Binary":
            continue
        out[k] = v
    return out
