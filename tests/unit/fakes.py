"""Fakes for the unit tier: no AWS, but the real storage code on top.

:class:`FakeDynamoDB` keeps items in DynamoDB's own JSON, as a boto3 client would send
and receive them, and understands the few expressions :mod:`hub.storage` writes. Tests
build stored referrals and assignments with :func:`stored`, through
``DynamoReferralStore``, so a stored key renamed in storage breaks them too.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from hub.models import AssignmentRecord, Referral
from hub.rules import RoutingFacts, assignments_for
from hub.storage import DynamoReferralStore
from hub.validation import parse_submission

ANSWERS = {
    "name": "Zqx <b>Testperson</b>",
    "email": "zqx@example.com",
    "phone": "07700900982",
    "postcode": "LS12 3AB",
    "age": "47",
    "interests": ["caring", "organising"],
    "situation": "looking-for-work",
    "support_needs": "Qwv mornings",
    "language": "Polish",
    "consent": "yes",
    "campaign": "harehills-spring",
    "source": "harehills-library",
}


class FakeDynamoDB:
    """put_item / get_item / update_item / query over one table, conditions included."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []

    @staticmethod
    def _key(item: dict[str, Any]) -> tuple[str, str]:
        return item["pk"]["S"], item["sk"]["S"]

    @staticmethod
    def _failed() -> ClientError:
        return ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}}, "Op")

    def put_item(self, *, TableName: str, Item: dict[str, Any], ConditionExpression: str | None = None, **_: Any):
        self.calls.append("put_item")
        key = self._key(Item)
        if ConditionExpression == "attribute_not_exists(pk)" and key in self.items:
            raise self._failed()
        self.items[key] = copy.deepcopy(Item)
        return {}

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any):
        self.calls.append("get_item")
        item = self.items.get(self._key(Key))
        return {"Item": copy.deepcopy(item)} if item else {}

    def update_item(self, *, TableName: str, Key: dict[str, Any], UpdateExpression: str,
                    ExpressionAttributeValues: dict[str, Any], ExpressionAttributeNames: dict[str, str] | None = None,
                    ConditionExpression: str | None = None, **_: Any):
        self.calls.append("update_item")
        names = ExpressionAttributeNames or {}
        key = self._key(Key)
        item = self.items.get(key)
        if ConditionExpression and "attribute_exists(pk)" in ConditionExpression and item is None:
            raise self._failed()
        item = item if item is not None else copy.deepcopy(Key)
        if ConditionExpression and "#s <> :routed" in ConditionExpression:
            if item.get(names.get("#s", "status"), {}).get("S") == ExpressionAttributeValues[":routed"]["S"]:
                raise self._failed()
        for assignment in UpdateExpression.removeprefix("SET ").split(", "):
            name, value = (part.strip() for part in assignment.split("=", 1))
            name = names.get(name, name)
            found = re.fullmatch(r"if_not_exists\((\S+), (:\w+)\)", value)
            if found:
                if name not in item:
                    item[name] = ExpressionAttributeValues[found.group(2)]
            else:
                item[name] = ExpressionAttributeValues[value]
        self.items[key] = item
        return {}

    def query(self, *, TableName: str, KeyConditionExpression: str, ExpressionAttributeValues: dict[str, Any], **_: Any):
        self.calls.append("query")
        pk = ExpressionAttributeValues[":pk"]["S"]
        prefix = ExpressionAttributeValues.get(":prefix", {}).get("S", "")
        items = [copy.deepcopy(i) for (p, s), i in sorted(self.items.items()) if p == pk and s.startswith(prefix)]
        return {"Items": items}


def stored(store: DynamoReferralStore | None = None, *, programme, created: datetime | None = None,
           **answers: Any) -> tuple[Referral, list[AssignmentRecord]]:
    """A referral as storage returns it, with the assignments the sample rules give it."""
    store = store or DynamoReferralStore("test", client=FakeDynamoDB())
    submission = parse_submission({**ANSWERS, **answers})
    referral = store.create_referral(
        submission, retention_days=programme.retention_days,
        now=created or datetime(2025, 3, 12, 10, 15, tzinfo=UTC), reference_factory=lambda: "HX4K-9TMR",
    )
    for assignment in assignments_for(RoutingFacts.of(referral), programme):
        store.put_assignment(referral, assignment)
    return store.get_referral(referral.reference), store.get_assignments(referral.reference)
