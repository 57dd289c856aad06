"""The referrals table: one DynamoDB table, single-table design. Only this module talks to it.

Items (``pk`` / ``sk``):

- referral: ``REF#<reference>`` / ``REFERRAL`` with every submitted field,
  ``created_at`` (ISO 8601 UTC), ``status`` (``received`` until routing and
  notification have completed, then ``routed``) and ``expires_at`` (epoch
  seconds, from the programme's ``retention_days``; the table's TTL deletes it).
- assignment: ``REF#<reference>`` / ``ASSIGN#<spoke>`` with ``role``
  (``notify`` or ``eligible``), ``rule``, ``reason``, per-channel notification
  state (``<channel>_state``) and ``notified_at``; ``gsi1pk = SPOKE#<spoke>``,
  ``gsi1sk = <created_at>#<reference>`` so a spoke can list its referrals by date.
- event (append-only): ``REF#<reference>`` / ``EVENT#<iso timestamp>#<type>``
  (``received``, ``routed``, ``notified``, ``notify-failed`` …).
- idempotency records written by Powertools under ``pk = IDEMPOTENCY#…``
  (:meth:`DynamoReferralStore.idempotency_layer`).
- rate limits (:mod:`hub.limits`): a day's random key ``LIMIT#KEY`` / ``<yyyy-mm-dd>``
  and token buckets ``LIMIT#<keyed hash of an address>`` / ``BUCKET`` (``tokens``, ``at``);
  both expire after two days. No address is ever stored.
- a submission id's latest referral: ``SUBMISSION#<submission_id>`` / ``LATEST`` with the
  ``reference`` it made last, so a later post with other answers is linked to it as a
  correction (expires with the idempotency records).

The key schema below is this module's; ``infra/template.yaml`` must define the same
(the infra tests compare the two). Methods take and return :mod:`hub.models` models.
Every AWS failure surfaces as a :class:`StoreError` subclass, chained to the botocore
exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.references import new_reference

if TYPE_CHECKING:
    from hub.models import Assignment, AssignmentRecord, Event, Referral, Submission

# -- the key schema (infra/template.yaml's ReferralsTable defines the same) ----------------------
PARTITION_KEY = "pk"
SORT_KEY = "sk"
INDEXES = {"gsi1": ("gsi1pk", "gsi1sk")}  # index name -> (partition key, sort key)
TTL_ATTRIBUTE = "expires_at"

REFERRAL_PREFIX = "REF#"
REFERRAL_SK = "REFERRAL"
ASSIGN_PREFIX = "ASSIGN#"
EVENT_PREFIX = "EVENT#"
SPOKE_PREFIX = "SPOKE#"
IDEMPOTENCY_PK = "IDEMPOTENCY#intake"
SUBMISSION_PREFIX = "SUBMISSION#"
LIMIT_PREFIX = "LIMIT#"
LIMIT_KEY_PK = "LIMIT#KEY"
BUCKET_SK = "BUCKET"
SUBMISSION_SK = "LATEST"
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


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming the right to send one notification."""

    state: str  # "claimed", "sent" (already done) or "busy" (another attempt holds the lease)


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

    return Referral.model_validate(data)


def _assignment(data: Mapping[str, Any]) -> AssignmentRecord:
    from hub.models import AssignmentRecord

    channels = {k.removesuffix(CHANNEL_STATE): v for k, v in data.items() if k.endswith(CHANNEL_STATE)}
    return AssignmentRecord.model_validate({**data, "channels": channels})


_EVENT_KEYS = {PARTITION_KEY, SORT_KEY, "type", "event", "reference", "at", TTL_ATTRIBUTE}


def _event(data: Mapping[str, Any]) -> Event:
    from hub.models import Event

    detail = {k: v for k, v in data.items() if k not in _EVENT_KEYS}
    return Event(reference=data["reference"], type=data["event"], at=data["at"], detail=detail)


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

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("query", **kwargs)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _items(self, reference: str, prefix: str) -> Iterator[dict[str, Any]]:
        return self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": pk(reference), ":prefix": prefix}),
            ConsistentRead=True,
        )

    def _assignment_key(self, reference: str, spoke: str) -> dict[str, str]:
        return {PARTITION_KEY: pk(reference), SORT_KEY: f"{ASSIGN_PREFIX}{spoke}"}

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
    ) -> Referral:
        """Store a new referral with ONE conditional write; returns it. ``corrects``: the
        reference of the referral it corrects (same submission id, other answers).

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
                **referral.model_dump(mode="json"),
                PARTITION_KEY: pk(referral.reference),
                SORT_KEY: REFERRAL_SK,
                "type": "referral",
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
            "FilterExpression": "sk = :ref AND #s <> :routed",
            "ExpressionAttributeNames": {"#s": "status", "#r": "reference", "#c": "created_at"},
            "ExpressionAttributeValues": to_item({":ref": REFERRAL_SK, ":routed": STATUS_ROUTED}),
            "ProjectionExpression": "#r, #c",
            "ConsistentRead": True,
        }
        found: list[tuple[str, str]] = []
        while True:
            response = self._call("scan", **kwargs)
            for item in response.get("Items", []):
                data = from_item(item)
                found.append((data.get("created_at", ""), data["reference"]))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [reference for _, reference in sorted(found)]

    # -- assignments ----------------------------------------------------------------------

    def put_assignment(self, referral: Referral, assignment: Assignment) -> bool:
        """Record an assignment once. False if it was already recorded (kept as it was)."""
        index_pk, index_sk = INDEXES["gsi1"]
        item = {
            **self._assignment_key(referral.reference, assignment.spoke),
            "type": "assignment",
            "reference": referral.reference,
            **assignment.model_dump(),
            "created_at": referral.received,
            index_pk: f"{SPOKE_PREFIX}{assignment.spoke}",
            index_sk: f"{referral.received}#{referral.reference}",
            TTL_ATTRIBUTE: referral.expires_at,
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

    def claim_notification(
        self, reference: str, spoke: str, channel: str, *, now: datetime | None = None, lease_seconds: int = 300
    ) -> Claim:
        """Take the right to send ``channel`` for (reference, spoke), as a conditional state transition.

        Succeeds when the channel was never tried, last failed, or a previous attempt's
        lease has run out (that attempt crashed). Returns ``sent`` if it was already sent
        and ``busy`` while another attempt holds the lease.
        """
        now = now or utcnow()
        claimed = self._conditional(
            "update_item",
            Key=to_item(self._assignment_key(reference, spoke)),
            UpdateExpression="SET #state = :sending, #at = :now",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :failed "
                "OR (#state = :sending AND #at < :stale))"
            ),
            ExpressionAttributeNames={"#state": f"{channel}{CHANNEL_STATE}", "#at": f"{channel}_claimed_at"},
            ExpressionAttributeValues=to_item(
                {
                    ":sending": "sending",
                    ":failed": "failed",
                    ":now": iso(now),
                    ":stale": iso(now - timedelta(seconds=lease_seconds)),
                }
            ),
        )
        if claimed:
            return Claim("claimed")
        current = self._get(self._assignment_key(reference, spoke)) or {}
        return Claim("sent" if current.get(f"{channel}{CHANNEL_STATE}") == "sent" else "busy")

    def finish_notification(
        self, reference: str, spoke: str, channel: str, *, ok: bool, now: datetime | None = None
    ) -> None:
        """Record the outcome of a claimed send (``sent`` or ``failed``)."""
        names = {"#state": f"{channel}{CHANNEL_STATE}", "#at": f"{channel}_{'sent' if ok else 'failed'}_at"}
        self._call(
            "update_item",
            Key=to_item(self._assignment_key(reference, spoke)),
            UpdateExpression="SET #state = :state, #at = :now",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({":state": "sent" if ok else "failed", ":now": iso(now or utcnow())}),
        )

    def mark_assignment_notified(self, reference: str, spoke: str, now: datetime | None = None) -> None:
        self._call(
            "update_item",
            Key=to_item(self._assignment_key(reference, spoke)),
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
