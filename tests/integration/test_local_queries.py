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


def test_index_queries_and_plain_answers_give_the_same_results_as_a_model(aws):
    """The month index (gsi3) queried with paging, a range condition and binary values in
    other items: the answers are a plain model's, through the narrowed partition, the plain
    sort and the plain JSON answer (cchcc.local.aws.plain_query_answers)."""
    from cchcc.local.aws import plain_query_answers

    query_partitions_only()
    plain_query_answers()
    rng = random.Random(29)
    client = boto3.client("dynamodb", region_name=REGION)
    model: dict[str, list[tuple[str, str, str]]] = {}
    for n in range(60):
        month = f"2026-0{rng.randint(1, 3)}"
        sk = f"{month}-{rng.randint(10, 28)}T10:00:00.000Z#{rng.choice(['REFERRAL', 'OUTCOME', 'ASSIGN'])}#{n:03d}"
        item = {"pk": {"S": f"REF#{n:03d}"}, "sk": {"S": "X"}, "gsi3pk": {"S": f"MONTH#{month}"}, "gsi3sk": {"S": sk},
                "blob": {"B": bytes([n, 255])}, "count": {"N": str(n)}}
        client.put_item(TableName=TABLE, Item=item)
        model.setdefault(month, []).append((sk, f"REF#{n:03d}", "X"))
    client.put_item(TableName=TABLE, Item={"pk": {"S": "OTHER"}, "sk": {"S": "Y"}})  # not in the index
    for month, rows in model.items():
        expected = [sk for sk, _, _ in sorted(rows) if sk[:10] <= f"{month}-20"]
        got, kwargs = [], {"TableName": TABLE, "IndexName": "gsi3", "Limit": 7,
                           "KeyConditionExpression": "gsi3pk = :m AND gsi3sk BETWEEN :a AND :b",
                           "ExpressionAttributeValues": {":m": {"S": f"MONTH#{month}"}, ":a": {"S": "0"},
                                                         ":b": {"S": f"{month}-20~"}}}
        while True:
            page = client.query(**kwargs)
            got += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert [i["gsi3sk"]["S"] for i in got] == expected
        assert all(i["blob"]["B"] == bytes([int(i["count"]["N"]), 255]) for i in got)  # binary survives the plain answer
    assert getattr(_partition, "scope", None) is None
