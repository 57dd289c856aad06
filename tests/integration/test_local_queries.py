"""The local stack's moto answers a table query from one partition (cchcc.local.aws.query_partitions_only).

The same answers as DynamoDB gives (checked against a plain model of the items, not moto
against itself), whatever the table holds: that is what keeps the local router's cost per
referral flat as the table grows (``python -m bench load`` measures it).
"""

from __future__ import annotations

import random

import boto3

from cchcc.local.aws import _partition, query_partitions_only
from tests.integration.conftest import REGION, TABLE


def test_table_queries_answer_from_their_partition_with_the_same_results(aws):
    query_partitions_only()
    rng = random.Random(13)
    model: dict[str, list[str]] = {}
    client = boto3.client("dynamodb", region_name=REGION)
    for p in range(12):
        pk = f"REF#{p:04d}"
        sks = sorted({rng.choice(["REFERRAL", f"ASSIGN#{rng.choice('abc')}", f"EVENT#2026-0{rng.randint(1, 9)}#x"])
                      for _ in range(8)})
        model[pk] = sks
        for sk in sks:
            client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(rng.randint(0, 9))}})

    for pk, sks in model.items():
        got = client.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}})
        assert [i["sk"]["S"] for i in got["Items"]] == sks
        events = client.query(
            TableName=TABLE, KeyConditionExpression="pk = :p AND begins_with(sk, :e)", ScanIndexForward=False,
            ExpressionAttributeValues={":p": {"S": pk}, ":e": {"S": "EVENT#"}},
        )
        assert [i["sk"]["S"] for i in events["Items"]] == sorted((s for s in sks if s.startswith("EVENT#")), reverse=True)
        pages, kwargs = [], {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "Limit": 2,
                             "ExpressionAttributeValues": {":p": {"S": pk}}}
        while True:  # paging works across the narrowed partition too
            page = client.query(**kwargs)
            pages += [i["sk"]["S"] for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert pages == sks
    missing = client.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "REF#none"}})
    assert missing["Items"] == []
    assert getattr(_partition, "scope", None) is None  # nothing left behind on this thread


def test_while_a_table_query_is_answered_moto_sees_only_that_partition(aws):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    query_partitions_only()
    client = boto3.client("dynamodb", region_name=REGION)
    for p in range(30):
        client.put_item(TableName=TABLE, Item={"pk": {"S": f"REF#{p}"}, "sk": {"S": "REFERRAL"}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE)
    key = next(iter(table.items))
    _partition.scope = (table, key)
    try:
        assert len(table.all_items()) == 1  # one partition, not thirty
    finally:
        _partition.scope = None
    assert len(table.all_items()) == 30  # scans (and index queries) still see everything
