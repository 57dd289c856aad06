"""The referrals table: one DynamoDB table, single-table design. Only this module talks to it.

Items (``pk`` / ``sk``), each with ``type`` naming its kind:

- referral: ``REF#<reference>`` / ``REFERRAL`` with every submitted field,
  ``created_at`` (ISO 8601 UTC), ``status`` (``received`` until routing and
  notification have completed, then ``routed``), ``expires_at`` (epoch seconds, from
  the programme's ``retention_days``; the table's TTL deletes it) and, once the resident
  has been sent their confirmation, ``confirmation_state`` (see *sends* below).
- assignment: ``REF#<reference>`` / ``ASSIGN#<spoke>`` (``spoke`` may be the hub's
  ``hub``) with ``role`` (``notify`` or ``eligible``), ``rule``, ``reason``,
  ``priority``, ``created_at`` (the referral's), per-channel notification state
  (``<channel>_state``), ``notified_at``, and what happened after:

  - ``assigned_at``: when this spoke was asked (the referral's time, or the handover's);
  - ``gsi2pk = AWAITING#<spoke>``, ``gsi2sk = <assigned_at>#<reference>``: present only
    while the spoke has done nothing since ``assigned_at`` (the sparse ``gsi2`` index,
    keys only, which the reminders query by spoke and date);
  - ``last_status``, ``last_status_at``: the latest status recorded (the router keeps
    them from the outcome items; out-of-order deliveries never move them back);
  - ``referred_by``, ``handover``, ``handover_reason``: set when someone referred the
    person on to this spoke (an ``eligible`` one becomes ``notify``; its ``rule`` and
    ``reason`` stay as the rules gave them).

  ``gsi1pk = SPOKE#<spoke>``, ``gsi1sk = <created_at>#<reference>`` list a spoke's
  referrals by date.
- outcome (append-only): ``REF#<reference>`` / ``OUTCOME#<spoke>#<id>`` with ``spoke``,
  ``id`` (the outcome form's submission id, so a double post is one item), ``at``,
  ``status`` (``hub.outcomes.STATUSES``), ``support`` (with ``supported``), ``note``
  (at most 500 characters; personal data: never logged) and ``expires_at``.
- handover (append-only): ``REF#<reference>`` / ``HANDOVER#<from>#<id>`` with
  ``from_spoke``, ``to_spoke``, ``kind`` (``referred-on`` by a spoke, or ``assigned`` by
  the hub), ``at``, ``note``, ``expires_at`` and the notification state of the message
  to ``to_spoke`` (``<channel>_state``).
- event (append-only): ``REF#<reference>`` / ``EVENT#<iso timestamp>#<type>[#<qualifier>]``
  (``received``, ``routed``, ``notified``, ``notify-failed``, ``confirmed``,
  ``confirm-failed``, ``handed-over`` …) with ``event``, ``at`` and details.
- digest: ``DIGEST#<yyyy-mm-dd>`` / ``TO#<spoke>``: one a day at most per spoke (and the
  hub), ``kind`` ``reminder`` or ``escalation``, ``count``, ``references`` listed,
  ``email_state``; kept for ``retention_days``.
- scan counter: ``SCAN#<code id>`` / ``DAY#<yyyy-mm-dd>`` (the day in Europe/London), one per
  QR code and day, with ``type = "scan"``, ``kind`` (``placement`` or ``event``), ``placement``
  (the code id), ``campaign``, ``day``, ``count`` (added to atomically, one per person's scan;
  :mod:`hub.scans`), ``expires_at`` (``retention_days`` after the day), and ``gsi3pk =
  MONTH#<yyyy-mm>``, ``gsi3sk = <yyyy-mm-dd>#SCAN#<code id>`` for the report's query by month.
  Nothing about the visitor.

*The month index* (``gsi3``, sparse, all attributes; what ``cchcc report`` reads, one
query per month, never a scan): ``gsi3pk = MONTH#<yyyy-mm>``. The referral, its
assignments, outcomes and handovers carry the month of the REFERRAL's ``created_at`` and
``gsi3sk = <created_at>#<KIND>#<reference>[#…]`` (:func:`cohort_keys`), so one month's
query returns that month's referrals with everything that has happened to them since.
Digests carry their own day's month (``<yyyy-mm-dd>#DIGEST#<spoke>``), scan counters theirs
(``<yyyy-mm-dd>#SCAN#<id>``). Events are left out: the report reads none. Items written
before the index existed get the attributes from ``cchcc report --backfill``.
- idempotency records written by Powertools under ``pk = IDEMPOTENCY#…``
  (:meth:`DynamoReferralStore.idempotency_layer`).
- rate limits (:mod:`hub.limits`): a day's random key ``LIMIT#KEY`` / ``<yyyy-mm-dd>``
  and token buckets ``LIMIT#<keyed hash of an address>`` / ``BUCKET`` (``tokens``, ``at``);
  both expire after two days. No address is ever stored.
- a submission id's latest referral: ``SUBMISSION#<submission_id>`` / ``LATEST`` with the
  ``reference`` it made last, so a later post with other answers is linked to it as a
  correction (expires with the idempotency records).
- person lookup (:mod:`hub.person`): a referral carries ``gsi4pk = PERSON#<hex HMAC of its
  normalised email>`` and ``gsi5pk = PERSON#<hex HMAC of its phone>`` (each only when given),
  indexed by the sparse, keys-only ``gsi4`` and ``gsi5``: finding a person is a query. On the
  referral item itself (not separate lookup items) so they are written in its one conditional
  write, expire with it, and are removed with it on erasure.
- audit (append-only, never personal data): ``REF#<reference>`` / ``AUDIT#<iso>#<action>`` with
  ``action``, ``actor``, ``at`` and details (counts, the reason of an erasure); it expires with
  the referral (``expires_at`` the referral's). A look-up that matched nobody is audited under
  ``AUDIT#<yyyy-mm-dd>`` / ``<iso>#<action>``, kept for ``retention_days``.
- erasure notice: ``REF#<reference>`` / ``ERASURE#<spoke>`` with ``at`` and the send state of
  the notice telling that spoke to delete its copy (``<channel>_state``); written by
  ``cchcc person erase`` for each spoke that was sent the person's details; expires with the
  referral. Once a referral is erased (``erased`` true, personal fields removed, ``district``
  and ``age_band`` kept), its outcomes and handovers have no ``note`` and carry ``erased``.

*Sends.* Every message is sent at most once through a claim on the item it is about
(:class:`Send`): a conditional state transition of ``<channel>_state`` (absent or
``failed`` -> ``sending`` -> ``sent``/``failed``), with a lease for attempts that die
mid-send. :mod:`hub.routing` explains the residual window.

*The stream.* Four kinds of INSERT start work, each with one predicate here that the
router's ``FilterCriteria`` in ``infra/template.yaml`` repeat (tests run both on the
same records): a referral (:func:`new_referral_reference`), an outcome
(:func:`new_outcome`), a handover (:func:`new_handover`) and an erasure notice
(:func:`new_erasure`).

The key schema below is this module's; ``infra/template.yaml`` must define the same
(the infra tests compare the two). Methods take and return :mod:`hub.models` models.
Every AWS failure surfaces as a :class:`StoreError` subclass, chained to the botocore
exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.references import new_reference

if TYPE_CHECKING:  # models (pydantic) load with the first use, not at the intake's cold start
    from hub.models import Assignment, AssignmentRecord, Awaiting, Case, Event, Handover, Outcome, Referral, Submission

# -- the key schema (infra/template.yaml's ReferralsTable defines the same) ----------------------
PARTITION_KEY = "pk"
SORT_KEY = "sk"
# index name -> (partition key, sort key). gsi1: a spoke's referrals by date (all attributes);
# gsi2: assignments awaiting their spoke, by date (sparse, keys only).
# gsi3: the month index the impact report reads (sparse, all attributes; see the docstring).
INDEXES = {"gsi1": ("gsi1pk", "gsi1sk"), "gsi2": ("gsi2pk", "gsi2sk"), "gsi3": ("gsi3pk", "gsi3sk")}
# gsi4 / gsi5: a person's referrals by the keyed hash of their email / phone (sparse, keys only).
INDEXES |= {"gsi4": ("gsi4pk",), "gsi5": ("gsi5pk",)}
PERSON_INDEXES = {"email": "gsi4", "phone": "gsi5"}
PERSON_PREFIX = "PERSON#"
AUDIT_PREFIX = "AUDIT#"
ERASURE_PREFIX = "ERASURE#"
TTL_ATTRIBUTE = "expires_at"

REFERRAL_PREFIX = "REF#"
REFERRAL_SK = "REFERRAL"
ASSIGN_PREFIX = "ASSIGN#"
EVENT_PREFIX = "EVENT#"
OUTCOME_PREFIX = "OUTCOME#"
HANDOVER_PREFIX = "HANDOVER#"
DIGEST_PREFIX = "DIGEST#"
DIGEST_TO = "TO#"
SPOKE_PREFIX = "SPOKE#"
AWAITING_PREFIX = "AWAITING#"
IDEMPOTENCY_PK = "IDEMPOTENCY#intake"
SUBMISSION_PREFIX = "SUBMISSION#"
LIMIT_PREFIX = "LIMIT#"
LIMIT_KEY_PK = "LIMIT#KEY"
BUCKET_SK = "BUCKET"
SUBMISSION_SK = "LATEST"
SCAN_PREFIX = "SCAN#"
DAY_PREFIX = "DAY#"
MONTH_PREFIX = "MONTH#"
STATUS_ROUTED = "routed"
CHANNEL_STATE = "_state"  # "<channel>_state" on an assignment


class StoreError(Exception):
    """The referral store failed."""


class StoreUnavailableError(StoreError):
    """The store could not be reached or refused the request for now; try again later."""


class ReferenceCollisionError(StoreError):
    """Could not find an unused reference (should never happen: 23**8 references)."""


def pk(reference: str) -> str:
    return f"{REFERRAL_PREFIX}{reference}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_referral_reference(event_name: str, keys: Mapping[str, Any]) -> str | None:
    """The reference when a stream record is the INSERT of a referral item, else None.

    The one definition of "a new referral" in the code; the router's stream filter in
    ``infra/template.yaml`` says the same to Lambda (tests run both on the same records).
    """
    key, sort_key = keys.get(PARTITION_KEY), keys.get(SORT_KEY)
    if event_name != "INSERT" or sort_key != REFERRAL_SK or not isinstance(key, str):
        return None
    return key.removeprefix(REFERRAL_PREFIX) if key.startswith(REFERRAL_PREFIX) else None


def _split_sk(event_name: str, keys: Mapping[str, Any], prefix: str) -> tuple[str, str, str] | None:
    """(reference, spoke, id) of an INSERT whose sort key is ``<prefix><spoke>#<id>``."""
    key, sort_key = keys.get(PARTITION_KEY), keys.get(SORT_KEY)
    if event_name != "INSERT" or not isinstance(key, str) or not isinstance(sort_key, str):
        return None
    if not key.startswith(REFERRAL_PREFIX) or not sort_key.startswith(prefix):
        return None
    spoke, sep, item_id = sort_key.removeprefix(prefix).partition("#")
    return (key.removeprefix(REFERRAL_PREFIX), spoke, item_id) if sep and spoke and item_id else None


def new_outcome(event_name: str, keys: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(reference, spoke, id) when a stream record is the INSERT of an outcome item, else None."""
    return _split_sk(event_name, keys, OUTCOME_PREFIX)


def new_handover(event_name: str, keys: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(reference, from spoke, id) when a stream record is the INSERT of a handover item, else None."""
    return _split_sk(event_name, keys, HANDOVER_PREFIX)


def new_erasure(event_name: str, keys: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reference, spoke) when a stream record is the INSERT of an erasure notice item, else None."""
    key, sort_key = keys.get(PARTITION_KEY), keys.get(SORT_KEY)
    if event_name != "INSERT" or not isinstance(key, str) or not isinstance(sort_key, str):
        return None
    if not key.startswith(REFERRAL_PREFIX) or not sort_key.startswith(ERASURE_PREFIX):
        return None
    spoke = sort_key.removeprefix(ERASURE_PREFIX)
    return (key.removeprefix(REFERRAL_PREFIX), spoke) if spoke else None


def erasure_send(reference: str, spoke: str) -> Send:
    """The erasure notice to a spoke (state on the erasure item)."""
    return Send({PARTITION_KEY: pk(reference), SORT_KEY: f"{ERASURE_PREFIX}{spoke}"}, f"erasure notice {spoke}")


def cohort_keys(created_at: str, kind: str, *rest: str) -> dict[str, str]:
    """The month-index (``gsi3``) keys of an item made at ``created_at`` (ISO 8601, or a day).

    For an item of a referral, ``created_at`` is the REFERRAL's, whatever the item's own
    time: a month's query then holds that month's cohort with all that happened to it.
    """
    month_pk, month_sk = INDEXES["gsi3"]
    return {month_pk: f"{MONTH_PREFIX}{created_at[:7]}", month_sk: "#".join((created_at, kind, *rest))}


@dataclass(frozen=True)
class Send:
    """An item that carries the send state of a message (see *Sends* in the module docstring).

    ``create`` (digests): the claim makes the item, with ``fields``, when it does not exist yet.
    """

    key: Mapping[str, str]
    what: str  # for messages: "assignment cchcc/HX4K-9TMR"
    create: bool = False
    fields: Mapping[str, Any] | None = None


def _assignment_key(reference: str, spoke: str) -> dict[str, str]:
    return {PARTITION_KEY: pk(reference), SORT_KEY: f"{ASSIGN_PREFIX}{spoke}"}


def assignment_send(reference: str, spoke: str) -> Send:
    """The notification of a spoke about a referral (state on the assignment)."""
    return Send(_assignment_key(reference, spoke), f"assignment {spoke}")


def confirmation_send(reference: str) -> Send:
    """The resident's confirmation (state on the referral item)."""
    return Send({PARTITION_KEY: pk(reference), SORT_KEY: REFERRAL_SK}, "confirmation")


def handover_send(handover: Handover) -> Send:
    """The message to the spoke a referral was handed over to (state on the handover item)."""
    return Send(_handover_key(handover.reference, handover.from_spoke, handover.id), f"handover to {handover.to_spoke}")


def _handover_key(reference: str, from_spoke: str, handover_id: str) -> dict[str, str]:
    return {PARTITION_KEY: pk(reference), SORT_KEY: f"{HANDOVER_PREFIX}{from_spoke}#{handover_id}"}


def digest_send(day: str, spoke: str, kind: str, count: int, references: list[str], expires_at: int) -> Send:
    """A spoke's (or the hub's) digest for one day: the item is made by the first claim."""
    return Send(
        {PARTITION_KEY: f"{DIGEST_PREFIX}{day}", SORT_KEY: f"{DIGEST_TO}{spoke}"},
        f"digest {spoke}",
        create=True,
        fields={"type": "digest", "day": day, "spoke": spoke, "kind": kind, "count": count,
                "references": references, TTL_ATTRIBUTE: expires_at, **cohort_keys(day, "DIGEST", spoke)},
    )


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming the right to send one notification."""

    state: str  # "claimed", "sent" (already done), "rejected" (refused for good) or "busy" (another attempt holds the lease)


_serializer = None
_deserializer = None


def _codec():
    global _serializer, _deserializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _serializer, _deserializer = TypeSerializer(), TypeDeserializer()
    return _serializer, _deserializer


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    serializer, _ = _codec()
    return {k: serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    _, deserializer = _codec()
    out = {k: deserializer.deserialize(v) for k, v in item.items()}
    # Numbers come back as Decimal; everything we store is a whole number.
    return {k: int(v) if type(v).__name__ == "Decimal" else v for k, v in out.items()}


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z`` (:func:`hub.models.iso`)."""
    from hub.models import iso as model_iso  # models (pydantic) load with the first use, not at cold start

    return model_iso(moment)


def _referral(data: Mapping[str, Any]) -> Referral:
    from hub.models import Referral

    if data.get("erased"):  # the personal fields are gone (hub.person): read as empty
        data = {"name": "", "postcode": "", "age": 0, **data}
    return Referral.model_validate(data)


_EVENT_KEYS = {PARTITION_KEY, SORT_KEY, "type", "event", "reference", "at", TTL_ATTRIBUTE}


def _event(data: Mapping[str, Any]) -> Event:
    from hub.models import Event

    detail = {k: v for k, v in data.items() if k not in _EVENT_KEYS}
    return Event(reference=data["reference"], type=data["event"], at=data["at"], detail=detail)


def _assignment(data: Mapping[str, Any]) -> AssignmentRecord:
    from hub.models import AssignmentRecord

    channels = {k.removesuffix(CHANNEL_STATE): v for k, v in data.items() if k.endswith(CHANNEL_STATE)}
    awaiting = INDEXES["gsi2"][0] in data
    return AssignmentRecord.model_validate({**data, "channels": channels, "awaiting": awaiting})


def _handover(data: Mapping[str, Any]) -> Handover:
    from hub.models import Handover

    channels = {k.removesuffix(CHANNEL_STATE): v for k, v in data.items() if k.endswith(CHANNEL_STATE)}
    return Handover.model_validate({**data, "channels": channels})


def _awaiting_sk(assigned_at: str, reference: str) -> str:
    return f"{assigned_at}#{reference}"


class DynamoReferralStore:
    """Data access for referrals, assignments and events. The boto3 client is created lazily."""

    def __init__(self, table_name: str, client: Any = None):
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "dynamodb",
                config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}),
            )
        return self._client

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call DynamoDB; conditional-check failures propagate, everything else becomes StoreError."""
        try:
            return getattr(self.client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise
            if code == "ValidationException":
                raise StoreError(f"{operation} rejected by DynamoDB ({code})") from exc
            raise StoreUnavailableError(f"{operation} failed ({code or 'unknown error'})") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"{operation} failed ({type(exc).__name__})") from exc

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        """A conditional write; False (nothing changed) when its condition does not hold."""
        try:
            self._call(operation, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise  # pragma: no cover (_call converts every other ClientError)
        return True

    def _put_new(self, item: Mapping[str, Any]) -> bool:
        """Write an item that must not exist yet; False if it already does."""
        return self._conditional("put_item", Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")

    def _get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        item = self._call("get_item", Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _pages(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call(operation, **kwargs)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return self._pages("query", **kwargs)

    def _scan(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item a (filtered) scan finds, page after page. Only for the few places that must
        scan: one-offs (backfills, redrive) and a data controller's export or erasure."""
        return self._pages("scan", **kwargs)

    def _items(self, reference: str, prefix: str) -> Iterator[dict[str, Any]]:
        return self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": pk(reference), ":prefix": prefix}),
            ConsistentRead=True,
        )

    def idempotency_layer(self):
        """Powertools' idempotency records in this table (one layer per config: a layer keeps
        the expiry of the first config it sees)."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self.table_name,
            key_attr=PARTITION_KEY,
            sort_key_attr=SORT_KEY,
            static_pk_value=IDEMPOTENCY_PK,
            expiry_attr=TTL_ATTRIBUTE,
            boto3_client=self.client,
        )

    # -- referrals ------------------------------------------------------------------------

    def create_referral(
        self,
        submission: Submission,
        *,
        retention_days: int,
        now: datetime | None = None,
        reference_factory: Callable[[], str] | None = None,
        attempts: int = 5,
        corrects: str | None = None,
        lookup: Mapping[str, str] | None = None,
    ) -> Referral:
        """Store a new referral with ONE conditional write; returns it. ``corrects``: the
        reference of the referral it corrects (same submission id, other answers);
        ``lookup``: its person lookup attributes (``gsi4pk``/``gsi5pk``, :mod:`hub.person`).

        A reference that is already taken (astronomically rare) is replaced by a fresh
        one and the write retried; nothing else is written.
        """
        from hub.models import Referral

        now = now or utcnow()
        reference_factory = reference_factory or new_reference
        for _ in range(attempts):
            referral = Referral(
                **submission.model_dump(),
                reference=reference_factory(),
                created_at=now,
                corrects=corrects,
                expires_at=int((now + timedelta(days=retention_days)).timestamp()),
            )
            item = {
                **referral.model_dump(mode="json", exclude={"erased", "erased_at", "district", "age_band"}),
                PARTITION_KEY: pk(referral.reference),
                SORT_KEY: REFERRAL_SK,
                "type": "referral",
                **(lookup or {}),
                **cohort_keys(referral.received, "REFERRAL", referral.reference),
            }
            if self._put_new(item):
                return referral
        raise ReferenceCollisionError(f"no free reference after {attempts} attempts")

    def latest_for_submission(self, submission_id: str) -> str | None:
        """The reference the latest post with this submission id made, if it is remembered."""
        data = self._get({PARTITION_KEY: f"{SUBMISSION_PREFIX}{submission_id}", SORT_KEY: SUBMISSION_SK})
        return data.get("reference") if data else None

    def remember_submission(self, submission_id: str, reference: str, *, expires_at: int) -> None:
        """Remember the referral a submission id made last (a later correction links to it)."""
        self._call("put_item", Item=to_item({
            PARTITION_KEY: f"{SUBMISSION_PREFIX}{submission_id}",
            SORT_KEY: SUBMISSION_SK,
            "type": "submission",
            "reference": reference,
            TTL_ATTRIBUTE: expires_at,
        }))

    # -- rate limits (hub.limits) ---------------------------------------------------------

    def daily_key(self, day: str, candidate: bytes, *, expires_at: int) -> bytes:
        """The random key for ``day``: ``candidate`` if this call made it, else the one already made."""
        key = {PARTITION_KEY: LIMIT_KEY_PK, SORT_KEY: day}
        found = self._get(key)
        if found is None:
            if self._put_new({**key, "type": "limit-key", "secret": candidate, TTL_ATTRIBUTE: expires_at}):
                return candidate
            found = self._get(key) or {}
        secret = found.get("secret")
        if not isinstance(secret, (bytes, bytearray)) and hasattr(secret, "value"):
            secret = secret.value  # boto3's Binary
        if not secret:
            raise StoreError("the day's rate-limit key could not be read")
        return bytes(secret)

    def get_bucket(self, name: str) -> tuple[float | None, float | None]:
        """A token bucket's (tokens, at), or (None, None) when there is none yet."""
        data = self._get({PARTITION_KEY: f"{LIMIT_PREFIX}{name}", SORT_KEY: BUCKET_SK})
        if not data:
            return None, None
        return float(data["tokens_milli"]) / 1000, float(data["at_ms"]) / 1000

    def put_bucket(self, name: str, tokens: float, at: float, *, previous_at: float | None, expires_at: int) -> bool:
        """Save a bucket unless another request changed it since it was read (False then)."""
        item = to_item({
            PARTITION_KEY: f"{LIMIT_PREFIX}{name}", SORT_KEY: BUCKET_SK, "type": "limit-bucket",
            "tokens_milli": int(tokens * 1000), "at_ms": int(at * 1000), TTL_ATTRIBUTE: expires_at,
        })
        if previous_at is None:
            return self._conditional("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        return self._conditional(
            "put_item", Item=item, ConditionExpression="at_ms = :previous",
            ExpressionAttributeValues=to_item({":previous": int(previous_at * 1000)}),
        )

    def get_referral(self, reference: str) -> Referral | None:
        data = self._get({PARTITION_KEY: pk(reference), SORT_KEY: REFERRAL_SK})
        return _referral(data) if data else None

    def mark_routed(self, reference: str, now: datetime | None = None) -> bool:
        """Set status ``routed``. False if it already was (or the referral is gone)."""
        return self._conditional(
            "update_item",
            Key=to_item({PARTITION_KEY: pk(reference), SORT_KEY: REFERRAL_SK}),
            UpdateExpression="SET #s = :routed, routed_at = :at",
            ConditionExpression="attribute_exists(pk) AND #s <> :routed",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_item({":routed": STATUS_ROUTED, ":at": iso(now or utcnow())}),
        )

    def list_unrouted(self) -> list[str]:
        """References of referrals whose routing has not completed (for redrive), oldest first.

        A filtered scan: fine for the volumes this programme sees (hundreds a year); a
        sparse index would be the next step if that changed.
        """
        kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :ref AND #s <> :routed AND attribute_not_exists(erased)",
            "ExpressionAttributeNames": {"#s": "status", "#r": "reference", "#c": "created_at"},
            "ExpressionAttributeValues": to_item({":ref": REFERRAL_SK, ":routed": STATUS_ROUTED}),
            "ProjectionExpression": "#r, #c",
            "ConsistentRead": True,
        }
        found = sorted((data.get("created_at", ""), data["reference"]) for data in self._scan(**kwargs))
        return [reference for _, reference in found]

    # -- assignments ----------------------------------------------------------------------

    def put_assignment(self, referral: Referral, assignment: Assignment) -> bool:
        """Record an assignment once. False if it was already recorded (kept as it was).

        A ``notify`` assignment is asked from the referral's time and awaits its spoke.
        """
        index_pk, index_sk = INDEXES["gsi1"]
        awaiting_pk, awaiting_sk = INDEXES["gsi2"]
        item = {
            **_assignment_key(referral.reference, assignment.spoke),
            "type": "assignment",
            "reference": referral.reference,
            **assignment.model_dump(),
            "created_at": referral.received,
            index_pk: f"{SPOKE_PREFIX}{assignment.spoke}",
            index_sk: f"{referral.received}#{referral.reference}",
            TTL_ATTRIBUTE: referral.expires_at,
            **cohort_keys(referral.received, "ASSIGN", referral.reference, assignment.spoke),
        }
        if assignment.role == "notify":
            item |= {
                "assigned_at": referral.received,
                awaiting_pk: f"{AWAITING_PREFIX}{assignment.spoke}",
                awaiting_sk: _awaiting_sk(referral.received, referral.reference),
            }
        return self._put_new(item)

    def get_assignments(self, reference: str) -> list[AssignmentRecord]:
        """A referral's assignments, highest priority first."""
        records = [_assignment(data) for data in self._items(reference, ASSIGN_PREFIX)]
        return sorted(records, key=lambda a: (a.priority, a.spoke))

    def list_for_spoke(self, spoke: str) -> list[AssignmentRecord]:
        """A spoke's assignments, oldest first (the ``gsi1`` index)."""
        index_pk, _ = INDEXES["gsi1"]
        return [
            _assignment(data)
            for data in self._query(
                IndexName="gsi1",
                KeyConditionExpression="#pk = :spoke",
                ExpressionAttributeNames={"#pk": index_pk},
                ExpressionAttributeValues=to_item({":spoke": f"{SPOKE_PREFIX}{spoke}"}),
            )
        ]

    def assign_by_handover(self, referral: Referral, handover: Handover, *, priority: int, reason: str) -> bool:
        """Make ``handover.to_spoke`` a ``notify`` assignment asked at the handover's time, awaiting it.

        A new assignment gets rule ``referred-on``; an ``eligible`` one keeps its rule and
        reason. One conditional upsert: an older handover replayed after a newer one
        changes nothing (returns False).
        """
        index_pk, index_sk = INDEXES["gsi1"]
        awaiting_pk, awaiting_sk = INDEXES["gsi2"]
        spoke = handover.to_spoke
        names = {f"#{n}": n for n in (
            "type", "reference", "spoke", "role", "rule", "reason", "priority", "created_at", "assigned_at",
            "referred_by", "handover", "handover_reason", index_pk, index_sk, awaiting_pk, awaiting_sk,
            *INDEXES["gsi3"],
            *([TTL_ATTRIBUTE] if referral.expires_at is not None else []),
        )}
        values = {
            ":type": "assignment", ":reference": referral.reference, ":spoke": spoke, ":notify": "notify",
            ":rule": "referred-on", ":reason": reason, ":priority": priority, ":created": referral.received,
            ":at": handover.at, ":by": handover.from_spoke, ":handover": handover.id, ":why": reason,
            ":gsi1pk": f"{SPOKE_PREFIX}{spoke}", ":gsi1sk": f"{referral.received}#{referral.reference}",
            ":awaiting": f"{AWAITING_PREFIX}{spoke}", ":awaiting_sk": _awaiting_sk(handover.at, referral.reference),
            ":expires": referral.expires_at,
            **{f":{name}": value for name, value in
               cohort_keys(referral.received, "ASSIGN", referral.reference, spoke).items()},
        }
        keep = lambda name, value: f"#{name} = if_not_exists(#{name}, {value})"  # noqa: E731
        update = ", ".join([
            "#type = :type", "#reference = :reference", "#spoke = :spoke", "#role = :notify",
            keep("rule", ":rule"), keep("reason", ":reason"), keep("priority", ":priority"),
            keep("created_at", ":created"), keep(index_pk, ":gsi1pk"), keep(index_sk, ":gsi1sk"),
            *(keep(name, f":{name}") for name in INDEXES["gsi3"]),
            *([keep(TTL_ATTRIBUTE, ":expires")] if referral.expires_at is not None else []),
            "#assigned_at = :at", "#referred_by = :by", "#handover = :handover", "#handover_reason = :why",
            f"#{awaiting_pk} = :awaiting", f"#{awaiting_sk} = :awaiting_sk",
        ])
        return self._conditional(
            "update_item",
            Key=to_item(_assignment_key(referral.reference, spoke)),
            UpdateExpression=f"SET {update}",
            ConditionExpression="attribute_not_exists(#assigned_at) OR #assigned_at <= :at",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )

    def note_response(self, reference: str, spoke: str, at: str, status: str | None = None) -> bool:
        """The spoke did something at ``at`` (a status, or a handover): it no longer awaits.

        With a ``status``, it becomes ``last_status`` unless a later one is already there.
        Nothing changes for something older than the spoke's ``assigned_at`` (it was asked
        again since) or for a spoke with no assignment. False when nothing changed.
        """
        awaiting_pk, awaiting_sk = INDEXES["gsi2"]
        names = {"#assigned": "assigned_at", "#gpk": awaiting_pk, "#gsk": awaiting_sk}
        values: dict[str, Any] = {":at": at}
        condition = "attribute_exists(pk) AND (attribute_not_exists(#assigned) OR #assigned <= :at)"
        update = "REMOVE #gpk, #gsk"
        if status is not None:
            names |= {"#status": "last_status", "#status_at": "last_status_at"}
            values[":status"] = status
            condition += " AND (attribute_not_exists(#status_at) OR #status_at <= :at)"
            update += " SET #status = :status, #status_at = :at"
        return self._conditional(
            "update_item",
            Key=to_item(_assignment_key(reference, spoke)),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )

    def awaiting(self, spoke: str, asked_before: datetime | None = None) -> Iterator[Awaiting]:
        """A spoke's assignments awaiting it, oldest first; only those asked before ``asked_before``
        when given. Reads the sparse ``gsi2`` index only: one query per spoke, never the table."""
        from hub.models import Awaiting

        awaiting_pk, awaiting_sk = INDEXES["gsi2"]
        condition = "#pk = :spoke"
        values: dict[str, Any] = {":spoke": f"{AWAITING_PREFIX}{spoke}"}
        names = {"#pk": awaiting_pk}
        if asked_before is not None:
            condition += " AND #sk < :before"
            names["#sk"] = awaiting_sk
            values[":before"] = iso(asked_before)
        for data in self._query(
            IndexName="gsi2",
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        ):
            assigned_at, _, reference = data[awaiting_sk].rpartition("#")
            yield Awaiting(reference=reference, spoke=spoke, assigned_at=assigned_at)

    # -- sends (at most once per message) -------------------------------------------------

    def claim(self, send: Send, channel: str, *, now: datetime | None = None, lease_seconds: int = 300) -> Claim:
        """Take the right to send ``channel`` for ``send``, as a conditional state transition.

        Succeeds when the channel was never tried, last failed, or a previous attempt's
        lease has run out (that attempt crashed). Returns ``sent`` if it was already sent
        and ``busy`` while another attempt holds the lease.
        """
        now = now or utcnow()
        names = {"#state": f"{channel}{CHANNEL_STATE}", "#at": f"{channel}_claimed_at"}
        values: dict[str, Any] = {
            ":sending": "sending",
            ":failed": "failed",
            ":now": iso(now),
            ":stale": iso(now - timedelta(seconds=lease_seconds)),
        }
        update = "SET #state = :sending, #at = :now"
        for index, (name, value) in enumerate((send.fields or {}).items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
            update += f", #f{index} = :f{index}"
        condition = (
            "(attribute_not_exists(#state) OR #state = :failed OR (#state = :sending AND #at < :stale))"
        )
        if not send.create:
            condition = f"attribute_exists(pk) AND {condition}"
        claimed = self._conditional(
            "update_item",
            Key=to_item(send.key),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )
        if claimed:
            return Claim("claimed")
        state = (self._get(send.key) or {}).get(f"{channel}{CHANNEL_STATE}")
        return Claim(state if state in ("sent", "rejected") else "busy")

    def finish(
        self, send: Send, channel: str, *, ok: bool, rejected: bool = False, now: datetime | None = None
    ) -> None:
        """Record the outcome of a claimed send: ``sent``, ``failed`` (claimable again) or
        ``rejected`` (refused for good, e.g. an address SES will not send to: never tried again)."""
        state = "sent" if ok else "rejected" if rejected else "failed"
        names = {"#state": f"{channel}{CHANNEL_STATE}", "#at": f"{channel}_{state}_at"}
        self._call(
            "update_item",
            Key=to_item(send.key),
            UpdateExpression="SET #state = :state, #at = :now",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({":state": state, ":now": iso(now or utcnow())}),
        )

    def claim_notification(
        self, reference: str, spoke: str, channel: str, *, now: datetime | None = None, lease_seconds: int = 300
    ) -> Claim:
        """:meth:`claim` for a spoke's notification about a referral."""
        return self.claim(assignment_send(reference, spoke), channel, now=now, lease_seconds=lease_seconds)

    def finish_notification(
        self, reference: str, spoke: str, channel: str, *, ok: bool, now: datetime | None = None
    ) -> None:
        self.finish(assignment_send(reference, spoke), channel, ok=ok, now=now)

    def mark_assignment_notified(self, reference: str, spoke: str, now: datetime | None = None) -> None:
        self._call(
            "update_item",
            Key=to_item(_assignment_key(reference, spoke)),
            UpdateExpression="SET notified_at = if_not_exists(notified_at, :now)",
            ExpressionAttributeValues=to_item({":now": iso(now or utcnow())}),
        )

    # -- events ---------------------------------------------------------------------------

    def add_event(
        self,
        reference: str,
        event_type: str,
        *,
        at: datetime | str | None = None,
        detail: Mapping[str, Any] | None = None,
        expires_at: int | None = None,
        qualifier: str | None = None,
    ) -> bool:
        """Append an event. Writing the same (time, type, qualifier) twice is a no-op (returns False).

        ``qualifier`` (e.g. ``cchcc/email``) keeps same-millisecond events apart.
        """
        stamp = at if isinstance(at, str) else iso(at or utcnow())
        clash = _EVENT_KEYS & set(detail or {})
        if clash:
            raise ValueError(f"event detail may not use {', '.join(sorted(clash))}")
        item = {
            PARTITION_KEY: pk(reference),
            SORT_KEY: f"{EVENT_PREFIX}{stamp}#{event_type}" + (f"#{qualifier}" if qualifier else ""),
            "type": "event",
            "event": event_type,
            "reference": reference,
            "at": stamp,
            TTL_ATTRIBUTE: expires_at,
            **(detail or {}),
        }
        return self._put_new(item)

    def events(self, reference: str) -> list[Event]:
        """A referral's events, oldest first."""
        return [_event(data) for data in self._items(reference, EVENT_PREFIX)]

    # -- outcomes and handovers (append-only) ---------------------------------------------

    def add_outcome(self, outcome: Outcome, *, expires_at: int | None, received: str | None = None) -> bool:
        """Store an outcome once. False when this (spoke, id) is already stored (a double post).

        ``received``: the referral's ``created_at`` (its month index keys, :func:`cohort_keys`)."""
        item = {
            PARTITION_KEY: pk(outcome.reference),
            SORT_KEY: f"{OUTCOME_PREFIX}{outcome.spoke}#{outcome.id}",
            "type": "outcome",
            **outcome.model_dump(),
            TTL_ATTRIBUTE: expires_at,
            **(cohort_keys(received, "OUTCOME", outcome.reference, outcome.spoke, outcome.id) if received else {}),
        }
        return self._put_new(item)

    def add_handover(self, handover: Handover, *, expires_at: int | None, received: str | None = None) -> bool:
        """Store a handover once. False when this (from, id) is already stored (a double post).

        ``received``: the referral's ``created_at`` (its month index keys, :func:`cohort_keys`)."""
        item = {
            **_handover_key(handover.reference, handover.from_spoke, handover.id),
            "type": "handover",
            **handover.model_dump(exclude={"channels"}),
            TTL_ATTRIBUTE: expires_at,
            **(cohort_keys(received, "HANDOVER", handover.reference, handover.from_spoke, handover.id)
               if received else {}),
        }
        return self._put_new(item)

    def get_outcome(self, reference: str, spoke: str, outcome_id: str) -> Outcome | None:
        from hub.models import Outcome

        data = self._get({PARTITION_KEY: pk(reference), SORT_KEY: f"{OUTCOME_PREFIX}{spoke}#{outcome_id}"})
        return Outcome.model_validate(data) if data else None

    def get_handover(self, reference: str, from_spoke: str, handover_id: str) -> Handover | None:
        data = self._get(_handover_key(reference, from_spoke, handover_id))
        return _handover(data) if data else None

    def case(self, reference: str) -> Case | None:
        """The referral with its assignments, outcomes, handovers and events (one query); None if gone."""
        from hub.models import Case, Outcome

        referral: Referral | None = None
        assignments, outcomes, handovers, events = [], [], [], []
        for data in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": pk(reference)}),
            ConsistentRead=True,
        ):
            kind = data.get(SORT_KEY, "")
            if kind == REFERRAL_SK:
                referral = _referral(data)
            elif kind.startswith(ASSIGN_PREFIX):
                assignments.append(_assignment(data))
            elif kind.startswith(OUTCOME_PREFIX):
                outcomes.append(Outcome.model_validate(data))
            elif kind.startswith(HANDOVER_PREFIX):
                handovers.append(_handover(data))
            elif kind.startswith(EVENT_PREFIX):
                events.append(_event(data))
        if referral is None:
            return None
        return Case(
            referral=referral,
            assignments=sorted(assignments, key=lambda a: (a.priority, a.spoke)),
            outcomes=sorted(outcomes, key=lambda o: (o.at, o.id)),
            handovers=sorted(handovers, key=lambda h: (h.at, h.id)),
            events=events,
        )

    # -- digests --------------------------------------------------------------------------

    def digests(self, day: str) -> list[dict[str, Any]]:
        """The digests of one day (``YYYY-MM-DD``), as stored."""
        return list(self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"{DIGEST_PREFIX}{day}"}),
            ConsistentRead=True,
        ))

    # -- scans ----------------------------------------------------------------------------

    def count_scan(self, *, code: str, kind: str, campaign: str, day: date, expires_at: int) -> None:
        """Add one to the counter of ``code`` for ``day`` (one atomic ``UpdateItem ... ADD``; the
        item is made by the first scan of the day)."""
        iso = day.isoformat()
        self._call(
            "update_item",
            Key=to_item({PARTITION_KEY: f"{SCAN_PREFIX}{code}", SORT_KEY: f"{DAY_PREFIX}{iso}"}),
            UpdateExpression=(
                "ADD #count :one SET #type = :type, #kind = :kind, placement = :code, campaign = :campaign, "
                "#day = :day, expires_at = :expires, gsi3pk = :month, gsi3sk = :sk3"
            ),
            ExpressionAttributeNames={"#count": "count", "#type": "type", "#kind": "kind", "#day": "day"},
            ExpressionAttributeValues=to_item({
                ":one": 1, ":type": "scan", ":kind": kind, ":code": code, ":campaign": campaign, ":day": iso,
                ":expires": expires_at, ":month": f"{MONTH_PREFIX}{iso[:7]}", ":sk3": f"{iso}#{SCAN_PREFIX}{code}",
            }),
        )

    # -- a person's data (hub.person) -----------------------------------------------------

    def find_person(self, kind: str, hashes: list[str]) -> list[str]:
        """References whose ``kind`` (``email`` or ``phone``) has one of these keyed hashes:
        a query of the sparse person index, never a scan."""
        index = PERSON_INDEXES[kind]
        (index_pk,) = INDEXES[index]
        found: list[str] = []
        for value in hashes:
            for data in self._query(
                IndexName=index,
                KeyConditionExpression="#pk = :person",
                ExpressionAttributeNames={"#pk": index_pk},
                ExpressionAttributeValues=to_item({":person": f"{PERSON_PREFIX}{value}"}),
            ):
                reference = data[PARTITION_KEY].removeprefix(REFERRAL_PREFIX)
                if reference not in found:
                    found.append(reference)
        return found

    def referral_item(self, reference: str) -> dict[str, Any] | None:
        """The referral item as stored (for export and erasure)."""
        return self._get({PARTITION_KEY: pk(reference), SORT_KEY: REFERRAL_SK})

    def items(self, reference: str) -> list[dict[str, Any]]:
        """Every item under a referral, as stored (one query)."""
        return list(self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": pk(reference)}),
            ConsistentRead=True,
        ))

    def referrals_for_lookup(self) -> Iterator[dict[str, Any]]:
        """Every referral's reference, email, phone and lookup attributes: a scan, for
        ``cchcc person backfill`` only (a one-off, run by the data controller)."""
        index_names = [INDEXES[i][0] for i in PERSON_INDEXES.values()]
        names = {"#r": "reference", "#e": "email", "#p": "phone", "#x": "erased",
                 **{f"#i{n}": name for n, name in enumerate(index_names)}}
        kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :ref",
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item({":ref": REFERRAL_SK}),
            "ConsistentRead": True,
        }
        yield from self._scan(**kwargs)

    def set_lookup(self, reference: str, lookup: Mapping[str, str]) -> bool:
        """Put a referral's person lookup attributes (removing any it no longer has). False when
        the referral is gone or erased."""
        index_names = [INDEXES[i][0] for i in PERSON_INDEXES.values()]
        names = {f"#{name}": name for name in index_names} | {"#x": "erased"}
        sets = [f"#{name} = :{name}" for name in index_names if name in lookup]
        removes = [f"#{name}" for name in index_names if name not in lookup]
        update = (f"SET {', '.join(sets)} " if sets else "") + (f"REMOVE {', '.join(removes)}" if removes else "")
        values = {f":{name}": lookup[name] for name in index_names if name in lookup}
        return self._conditional(
            "update_item",
            Key=to_item({PARTITION_KEY: pk(reference), SORT_KEY: REFERRAL_SK}),
            UpdateExpression=update.strip(),
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#x)",
            ExpressionAttributeNames=names,
            **({"ExpressionAttributeValues": to_item(values)} if values else {}),
        )

    def corrections_of(self, reference: str) -> list[str]:
        """References of the referrals that correct this one (a filtered scan: erasure only)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :ref AND corrects = :corrects",
            "ProjectionExpression": "#r",
            "ExpressionAttributeNames": {"#r": "reference"},
            "ExpressionAttributeValues": to_item({":ref": REFERRAL_SK, ":corrects": reference}),
            "ConsistentRead": True,
        }
        return sorted(data["reference"] for data in self._scan(**kwargs))

    def digests_listing(self, reference: str) -> list[dict[str, Any]]:
        """The reminder and escalation digests that listed this referral (a filtered scan: export only)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :digest) AND contains(#refs, :ref)",
            "ExpressionAttributeNames": {"#refs": "references"},
            "ExpressionAttributeValues": to_item({":digest": DIGEST_PREFIX, ":ref": reference}),
            "ConsistentRead": True,
        }
        return sorted(self._scan(**kwargs), key=lambda d: (d.get("day", ""), d.get("spoke", "")))

    def idempotency_records(self, reference: str) -> list[dict[str, str]]:
        """Keys of the intake's idempotency records whose stored answer is this reference (one
        query of their partition). Their keys are hashes of what the person sent."""
        found = []
        for data in self._query(
            KeyConditionExpression="pk = :pk",
            FilterExpression="contains(#data, :ref)",
            ProjectionExpression="pk, sk",
            ExpressionAttributeNames={"#data": "data"},
            ExpressionAttributeValues=to_item({":pk": IDEMPOTENCY_PK, ":ref": f'"{reference}"'}),
            ConsistentRead=True,
        ):
            found.append({PARTITION_KEY: data[PARTITION_KEY], SORT_KEY: data[SORT_KEY]})
        return found

    def delete(self, key: Mapping[str, str], *, reference: str | None = None) -> bool:
        """Delete one item; with ``reference``, only while it still names that reference."""
        if reference is None:
            return self._conditional("delete_item", Key=to_item(key), ConditionExpression="attribute_exists(pk)")
        return self._conditional(
            "delete_item", Key=to_item(key), ConditionExpression="#r = :ref",
            ExpressionAttributeNames={"#r": "reference"}, ExpressionAttributeValues=to_item({":ref": reference}),
        )

    def scrub(self, key: Mapping[str, str], *, remove: list[str], put: Mapping[str, Any]) -> bool:
        """Remove attributes from one item and set others, in one conditional update (an item is
        never half-erased). False when the item is gone."""
        names = {f"#r{n}": name for n, name in enumerate(remove)} | {f"#s{n}": name for n, name in enumerate(put)}
        values = {f":s{n}": value for n, value in enumerate(put.values())}
        update = ""
        if put:
            update += "SET " + ", ".join(f"#s{n} = :s{n}" for n in range(len(put)))
        if remove:
            update += " REMOVE " + ", ".join(f"#r{n}" for n in range(len(remove)))
        return self._conditional(
            "update_item",
            Key=to_item(key),
            UpdateExpression=update.strip(),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            **({"ExpressionAttributeValues": to_item(values)} if values else {}),
        )

    def is_erased(self, reference: str) -> bool:
        data = self._call(
            "get_item", Key=to_item({PARTITION_KEY: pk(reference), SORT_KEY: REFERRAL_SK}),
            ProjectionExpression="erased", ConsistentRead=True,
        ).get("Item")
        return bool(data and from_item(data).get("erased"))

    def add_erasure_notice(self, reference: str, spoke: str, *, at: str, expires_at: int | None) -> bool:
        """The item whose INSERT makes the router send ``spoke`` its erasure notice; False if it exists."""
        return self._put_new({
            **erasure_send(reference, spoke).key, "type": "erasure", "reference": reference, "spoke": spoke,
            "at": at, TTL_ATTRIBUTE: expires_at,
        })

    def erasure_notice(self, reference: str, spoke: str) -> dict[str, Any] | None:
        return self._get(dict(erasure_send(reference, spoke).key))

    def erasure_notices(self) -> list[dict[str, Any]]:
        """Every erasure notice item (a filtered scan: ``cchcc redrive`` sends those not yet sent)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(sk, :erasure)",
            "ExpressionAttributeValues": to_item({":erasure": ERASURE_PREFIX}),
            "ConsistentRead": True,
        }
        return sorted(self._scan(**kwargs), key=lambda d: (d.get("at", ""), d.get("reference", ""), d.get("spoke", "")))

    def add_audit(
        self, reference: str | None, action: str, *, actor: str, at: str, detail: Mapping[str, Any] | None = None,
        expires_at: int | None = None,
    ) -> None:
        """Append an audit event (never personal data). Without a reference (a look-up that
        matched nobody) it is kept under the day."""
        key = (
            {PARTITION_KEY: pk(reference), SORT_KEY: f"{AUDIT_PREFIX}{at}#{action}"}
            if reference else {PARTITION_KEY: f"{AUDIT_PREFIX}{at[:10]}", SORT_KEY: f"{at}#{action}"}
        )
        item = {**key, "type": "audit", "action": action, "actor": actor, "at": at,
                **({"reference": reference} if reference else {}), **(detail or {}), TTL_ATTRIBUTE: expires_at}
        for attempt in range(5):  # two audits of the same action in the same millisecond: keep both
            if self._put_new(item):
                return
            item[SORT_KEY] = f"{key[SORT_KEY]}#{attempt + 2}"

    def audits(self, reference: str) -> list[dict[str, Any]]:
        """A referral's audit events, oldest first."""
        return list(self._items(reference, AUDIT_PREFIX))

    # -- the month index (the impact report) ----------------------------------------------

    def month_items(
        self, month: str, start: str | None = None, end: str | None = None, attributes: tuple[str, ...] = ()
    ) -> Iterator[dict[str, Any]]:
        """One month of the month index (``gsi3``; ``month`` is ``YYYY-MM``), in time order:
        its referrals with their assignments, outcomes and handovers, its digests and scan
        counters; only those whose time (the referral's, for a referral's items) falls between
        the days ``start`` and ``end`` (``YYYY-MM-DD``, inclusive) when given. One query
        (paginated). ``attributes``: only these (a projection; the read costs the same)."""
        month_pk, month_sk = INDEXES["gsi3"]
        projection = {f"#a{i}": name for i, name in enumerate(attributes)}
        return self._query(
            IndexName="gsi3",
            KeyConditionExpression="#pk = :month AND #sk BETWEEN :start AND :end",
            **({"ProjectionExpression": ", ".join(projection)} if projection else {}),
            ExpressionAttributeNames={"#pk": month_pk, "#sk": month_sk, **projection},
            ExpressionAttributeValues=to_item({
                ":month": f"{MONTH_PREFIX}{month}", ":start": start or "0", ":end": f"{end or '9999'}~",
            }),
        )

    def backfill_month_index(self) -> int:
        """Give the month index's keys to items written before it existed; returns how many
        were updated. A one-off: it scans the table (keys and times only) once."""
        month_pk, _ = INDEXES["gsi3"]
        kwargs: dict[str, Any] = {
            "ProjectionExpression": "pk, sk, #type, created_at, #day, #ref, #g",
            "ExpressionAttributeNames": {"#type": "type", "#day": "day", "#ref": "reference", "#g": month_pk},
        }
        found = list(self._scan(**kwargs))
        received = {d[PARTITION_KEY]: d["created_at"] for d in found
                    if d.get(SORT_KEY) == REFERRAL_SK and d.get("created_at")}
        kinds = {"REFERRAL": "REFERRAL", ASSIGN_PREFIX: "ASSIGN", OUTCOME_PREFIX: "OUTCOME", HANDOVER_PREFIX: "HANDOVER"}
        updated = 0
        for data in found:
            if month_pk in data:
                continue
            key, sort_key = data[PARTITION_KEY], data[SORT_KEY]
            keys: dict[str, str] | None = None
            if key.startswith(REFERRAL_PREFIX) and key in received:
                kind = next((name for prefix, name in kinds.items() if sort_key.startswith(prefix)), None)
                if kind is not None:
                    rest = sort_key.split("#")[1:] if kind != "REFERRAL" else []
                    keys = cohort_keys(received[key], kind, key.removeprefix(REFERRAL_PREFIX), *rest)
            elif key.startswith(DIGEST_PREFIX) and sort_key.startswith(DIGEST_TO):
                keys = cohort_keys(key.removeprefix(DIGEST_PREFIX), "DIGEST", sort_key.removeprefix(DIGEST_TO))
            if keys is None:
                continue
            names = {f"#k{i}": name for i, name in enumerate(keys)}
            values = {f":v{i}": value for i, value in enumerate(keys.values())}
            if self._conditional(
                "update_item",
                Key=to_item({PARTITION_KEY: key, SORT_KEY: sort_key}),
                UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(keys))),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            ):
                updated += 1
        return updated
