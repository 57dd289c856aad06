"""The referrals table: one DynamoDB table, single-table design.

Items (``pk`` / ``sk``):

- referral: ``REF#<reference>`` / ``REFERRAL`` with every submitted field,
  ``created_at`` (ISO 8601 UTC), ``status`` (``received`` until routing and
  notification have completed, then ``routed``) and ``expires_at`` (epoch
  seconds, from the programme's ``retention_days``; the table's TTL deletes it).
- assignment: ``REF#<reference>`` / ``ASSIGN#<spoke>`` with ``role``
  (``notify`` or ``eligible``), ``rule``, ``reason``, per-channel notification
  state and ``notified_at``; ``gsi1pk = SPOKE#<spoke>``, ``gsi1sk =
  <created_at>#<reference>`` so a spoke can list its referrals by date.
- event (append-only): ``REF#<reference>`` / ``EVENT#<iso timestamp>#<type>``
  (``received``, ``routed``, ``notified``, ``notify-failed`` …).
- idempotency records written by Powertools under ``pk = IDEMPOTENCY#…``.

Only this module talks to DynamoDB. Every AWS failure surfaces as a
:class:`StoreError` subclass, chained to the botocore exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.models import Assignment, Submission
from hub.references import new_reference

REFERRAL_SK = "REFERRAL"
ASSIGN_PREFIX = "ASSIGN#"
EVENT_PREFIX = "EVENT#"
STATUS_RECEIVED = "received"
STATUS_ROUTED = "routed"

# Attributes that belong to the store, not to what the person submitted.
_BOOKKEEPING = {"pk", "sk", "gsi1pk", "gsi1sk", "type", "expires_at"}


class StoreError(Exception):
    """The referral store failed."""


class StoreUnavailableError(StoreError):
    """The store could not be reached or refused the request for now; try again later."""


class ReferenceCollisionError(StoreError):
    """Could not find an unused reference (should never happen: 23**8 references)."""


def pk(reference: str) -> str:
    return f"REF#{reference}"


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: sorts as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming the right to send one notification."""

    state: str  # "claimed", "sent" (already done) or "busy" (another attempt holds the lease)


_serializer = None
_deserializer = None


def _ser():
    global _serializer, _deserializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _serializer, _deserializer = TypeSerializer(), TypeDeserializer()
    return _serializer, _deserializer


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    serializer, _ = _ser()
    return {k: serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    _, deserializer = _ser()
    out = {k: deserializer.deserialize(v) for k, v in item.items()}
    # Numbers come back as Decimal; everything we store is a whole number.
    return {k: int(v) if type(v).__name__ == "Decimal" else v for k, v in out.items()}


def submitted_fields(referral: dict[str, Any]) -> dict[str, Any]:
    """A stored referral without the store's bookkeeping attributes."""
    return {k: v for k, v in referral.items() if k not in _BOOKKEEPING}


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

    def _put_new(self, item: dict[str, Any]) -> bool:
        """Write an item that must not exist yet; False if it already does."""
        try:
            self._call("put_item", Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if self._conditional_failed(exc):
                return False
            raise
        return True

    @staticmethod
    def _conditional_failed(exc: ClientError) -> bool:
        return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"

    # -- referrals ------------------------------------------------------------------------

    def create_referral(
        self,
        submission: Submission,
        *,
        retention_days: int,
        now: datetime | None = None,
        reference_factory: Callable[[], str] | None = None,
        attempts: int = 5,
    ) -> dict[str, Any]:
        """Store a new referral with ONE conditional write; returns the stored item.

        A reference that is already taken (astronomically rare) is replaced by
        a fresh one and the write retried; nothing else is written.
        """
        now = now or utcnow()
        reference_factory = reference_factory or new_reference
        fields = submission.model_dump()
        fields.pop("consent", None)
        for _ in range(attempts):
            reference = reference_factory()
            item = {
                **fields,
                "consent": True,
                "pk": pk(reference),
                "sk": REFERRAL_SK,
                "type": "referral",
                "reference": reference,
                "created_at": iso(now),
                "status": STATUS_RECEIVED,
                "expires_at": int((now + timedelta(days=retention_days)).timestamp()),
            }
            try:
                self._call(
                    "put_item",
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if self._conditional_failed(exc):
                    continue
                raise  # pragma: no cover (_call converts every other ClientError)
            return {k: v for k, v in item.items() if v is not None}
        raise ReferenceCollisionError(f"no free reference after {attempts} attempts")

    def get_referral(self, reference: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item", Key=to_item({"pk": pk(reference), "sk": REFERRAL_SK}), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def mark_routed(self, reference: str, now: datetime | None = None) -> bool:
        """Set status ``routed``. False if it already was (or the referral is gone)."""
        try:
            self._call(
                "update_item",
                Key=to_item({"pk": pk(reference), "sk": REFERRAL_SK}),
                UpdateExpression="SET #s = :routed, routed_at = :at",
                ConditionExpression="attribute_exists(pk) AND #s <> :routed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":routed": STATUS_ROUTED, ":at": iso(now or utcnow())}),
            )
        except ClientError as exc:
            if self._conditional_failed(exc):
                return False
            raise  # pragma: no cover
        return True

    def list_unrouted(self) -> list[str]:
        """References of referrals whose routing has not completed (for redrive).

        A filtered scan: fine for the volumes this programme sees (hundreds a
        year); a sparse GSI would be the next step if that changed.
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
        references = [ref for _, ref in sorted(found)]
        return references

    # -- assignments ----------------------------------------------------------------------

    def put_assignment(self, referral: dict[str, Any], assignment: Assignment) -> bool:
        """Record an assignment once. False if it was already recorded (kept as it was)."""
        reference = referral["reference"]
        item = {
            "pk": pk(reference),
            "sk": f"{ASSIGN_PREFIX}{assignment.spoke}",
            "type": "assignment",
            "reference": reference,
            "spoke": assignment.spoke,
            "role": assignment.role,
            "rule": assignment.rule,
            "reason": assignment.reason,
            "priority": assignment.priority,
            "created_at": referral["created_at"],
            "gsi1pk": f"SPOKE#{assignment.spoke}",
            "gsi1sk": f"{referral['created_at']}#{reference}",
            "expires_at": referral.get("expires_at"),
        }
        return self._put_new(item)

    def get_assignments(self, reference: str) -> list[dict[str, Any]]:
        return [
            from_item(item)
            for item in self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_item({":pk": pk(reference), ":prefix": ASSIGN_PREFIX}),
                ConsistentRead=True,
            )
        ]

    def list_for_spoke(self, spoke: str) -> list[dict[str, Any]]:
        """A spoke's assignments, oldest first (the ``gsi1`` index)."""
        return [
            from_item(item)
            for item in self._query(
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :spoke",
                ExpressionAttributeValues=to_item({":spoke": f"SPOKE#{spoke}"}),
            )
        ]

    def claim_notification(
        self, reference: str, spoke: str, channel: str, *, now: datetime | None = None, lease_seconds: int = 300
    ) -> Claim:
        """Take the right to send ``channel`` for (reference, spoke), as a conditional state transition.

        Succeeds when the channel was never tried, last failed, or a previous
        attempt's lease has run out (that attempt crashed). Returns ``sent`` if
        it was already sent and ``busy`` while another attempt holds the lease.
        """
        now = now or utcnow()
        state, at = f"{channel}_state", f"{channel}_claimed_at"
        try:
            self._call(
                "update_item",
                Key=to_item({"pk": pk(reference), "sk": f"{ASSIGN_PREFIX}{spoke}"}),
                UpdateExpression="SET #state = :sending, #at = :now",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :failed "
                    "OR (#state = :sending AND #at < :stale))"
                ),
                ExpressionAttributeNames={"#state": state, "#at": at},
                ExpressionAttributeValues=to_item(
                    {
                        ":sending": "sending",
                        ":failed": "failed",
                        ":now": iso(now),
                        ":stale": iso(now - timedelta(seconds=lease_seconds)),
                    }
                ),
            )
        except ClientError as exc:
            if not self._conditional_failed(exc):
                raise  # pragma: no cover
            current = self._get_assignment(reference, spoke) or {}
            return Claim("sent" if current.get(state) == "sent" else "busy")
        return Claim("claimed")

    def finish_notification(
        self, reference: str, spoke: str, channel: str, *, ok: bool, now: datetime | None = None
    ) -> None:
        """Record the outcome of a claimed send (``sent`` or ``failed``)."""
        now = now or utcnow()
        names = {"#state": f"{channel}_state", "#at": f"{channel}_{'sent' if ok else 'failed'}_at"}
        self._call(
            "update_item",
            Key=to_item({"pk": pk(reference), "sk": f"{ASSIGN_PREFIX}{spoke}"}),
            UpdateExpression="SET #state = :state, #at = :now",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({":state": "sent" if ok else "failed", ":now": iso(now)}),
        )

    def mark_assignment_notified(self, reference: str, spoke: str, now: datetime | None = None) -> None:
        self._call(
            "update_item",
            Key=to_item({"pk": pk(reference), "sk": f"{ASSIGN_PREFIX}{spoke}"}),
            UpdateExpression="SET notified_at = if_not_exists(notified_at, :now)",
            ExpressionAttributeValues=to_item({":now": iso(now or utcnow())}),
        )

    def _get_assignment(self, reference: str, spoke: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item",
            Key=to_item({"pk": pk(reference), "sk": f"{ASSIGN_PREFIX}{spoke}"}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    # -- events ---------------------------------------------------------------------------

    def add_event(
        self,
        reference: str,
        event_type: str,
        *,
        at: datetime | str | None = None,
        detail: dict[str, Any] | None = None,
        expires_at: int | None = None,
        qualifier: str | None = None,
    ) -> bool:
        """Append an event. Writing the same (time, type, qualifier) twice is a no-op (returns False).

        ``qualifier`` (e.g. ``cchcc/email``) keeps same-millisecond events apart.
        """
        stamp = at if isinstance(at, str) else iso(at or utcnow())
        item = {
            "pk": pk(reference),
            "sk": f"{EVENT_PREFIX}{stamp}#{event_type}" + (f"#{qualifier}" if qualifier else ""),
            "type": "event",
            "event": event_type,
            "reference": reference,
            "at": stamp,
            "expires_at": expires_at,
            **(detail or {}),
        }
        return self._put_new(item)

    def events(self, reference: str) -> list[dict[str, Any]]:
        return [
            from_item(item)
            for item in self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_item({":pk": pk(reference), ":prefix": EVENT_PREFIX}),
                ConsistentRead=True,
            )
        ]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("query", **kwargs)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
