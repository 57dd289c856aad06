"""The local stack's stream poller behaves like Lambda's event source mapping.

Against moto in server mode, as ``cchcc serve`` runs it (moto's in-process
decorator does not route DynamoDB Streams calls with current botocore): a real
table from ``infra/template.yaml``, its stream, and an SQS dead-letter queue.
The handler is a stand-in that fails on purpose; the real router is tested
elsewhere.
"""

from __future__ import annotations

import json

import itertools

import boto3
import pytest
from moto.server import ThreadedMotoServer

from cchcc.local.streams import StreamPoller, interpret_response
from cchcc.local.template import Template, create_table
from tests.conftest import TEMPLATE

REGION = "eu-west-2"
_names = itertools.count()


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    dynamodb = session.client("dynamodb", endpoint_url=moto_endpoint)
    table = f"poller-test-{next(_names)}"
    create_table(dynamodb, Template.load(TEMPLATE), table)
    stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    sqs = session.client("sqs", endpoint_url=moto_endpoint)
    queue_url = sqs.create_queue(QueueName=f"{table}-dlq")["QueueUrl"]
    return {
        "table": table,
        "dynamodb": dynamodb,
        "streams": session.client("dynamodbstreams", endpoint_url=moto_endpoint),
        "sqs": sqs,
        "queue_url": queue_url,
        "stream_arn": stream_arn,
    }


def put(aws, reference: str) -> None:
    aws["dynamodb"].put_item(TableName=aws["table"], Item={"pk": {"S": f"REF#{reference}"}, "sk": {"S": "REFERRAL"}})


def reference_of(record: dict) -> str:
    return record["dynamodb"]["NewImage"]["pk"]["S"].removeprefix("REF#")


class Recorder:
    """A handler that records each batch and fails the references it is told to."""

    def __init__(self, fail: set[str] = frozenset(), raise_times: int = 0, response=None):
        self.fail = set(fail)
        self.raise_times = raise_times
        self.response = response
        self.batches: list[list[str]] = []
        self.events: list[dict] = []

    def __call__(self, event):
        self.events.append(event)
        self.batches.append([reference_of(r) for r in event["Records"]])
        if self.raise_times:
            self.raise_times -= 1
            raise RuntimeError("boom")
        if self.response is not None:
            return self.response
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                for r in event["Records"]
                if reference_of(r) in self.fail
            ]
        }


def poller(aws, handler, **kw) -> StreamPoller:
    sent: list[dict] = []

    def dead_letter(message: dict) -> None:
        aws["sqs"].send_message(QueueUrl=aws["queue_url"], MessageBody=json.dumps(message))
        sent.append(message)

    p = StreamPoller(
        streams_client=aws["streams"],
        stream_arn=aws["stream_arn"],
        invoke=handler,
        function_name="router-test",
        dead_letter=dead_letter,
        region=REGION,
        backoff_base=0.0,
        **kw,
    )
    p.sent = sent  # type: ignore[attr-defined]
    return p


def drain(p: StreamPoller, rounds: int = 30) -> None:
    for _ in range(rounds):
        p.poll_once()


def dead_letters(aws) -> list[dict]:
    out = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in out]


def test_given_a_batch_when_all_succeed_then_each_record_is_delivered_once_in_order(aws):
    for ref in ("A", "B", "C"):
        put(aws, ref)
    handler = Recorder()
    p = poller(aws, handler, batch_size=2)
    drain(p)
    assert handler.batches == [["A", "B"], ["C"]]
    event = handler.events[0]
    record = event["Records"][0]
    # Shaped as Lambda delivers stream records.
    assert record["eventSourceARN"] == aws["stream_arn"]
    assert record["eventSource"] == "aws:dynamodb" and record["eventName"] == "INSERT"
    assert record["awsRegion"] == REGION
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "REF#A"}, "sk": {"S": "REFERRAL"}}
    assert dead_letters(aws) == []


def test_given_a_record_that_keeps_failing_then_retries_restart_at_it_and_the_batch_is_dead_lettered(aws):
    for ref in ("A", "B", "C"):
        put(aws, ref)
    handler = Recorder(fail={"B"})
    p = poller(aws, handler, batch_size=10, max_retry_attempts=2)
    drain(p, 10)

    # First delivery has all three; each retry restarts at the failed record B,
    # so C (after it) is delivered again too and A (before it) never is.
    assert handler.batches == [["A", "B", "C"], ["B", "C"], ["B", "C"]]
    [message] = dead_letters(aws)
    info = message["DDBStreamBatchInfo"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in handler.events[-1]["Records"]]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert info["startSequenceNumber"] == seqs[0] and info["endSequenceNumber"] == seqs[-1]
    assert info["batchSize"] == 2
    assert info["streamArn"] == aws["stream_arn"]
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")

    # And processing moves on past the dead-lettered batch.
    put(aws, "D")
    drain(p, 5)
    assert handler.batches[-1] == ["D"]
    assert dead_letters(aws) == []


def test_given_a_handler_that_raises_once_then_the_whole_batch_is_retried_and_nothing_dead_lettered(aws):
    put(aws, "A")
    put(aws, "B")
    handler = Recorder(raise_times=1)
    p = poller(aws, handler, max_retry_attempts=3)
    drain(p, 5)
    assert handler.batches == [["A", "B"], ["A", "B"]]
    assert dead_letters(aws) == []


def test_given_bisect_on_error_then_a_failing_batch_is_retried_in_halves(aws):
    for ref in ("A", "B", "C", "D"):
        put(aws, ref)
    handler = Recorder(raise_times=1)
    p = poller(aws, handler, bisect_on_error=True)
    drain(p, 6)
    assert handler.batches[:3] == [["A", "B", "C", "D"], ["A", "B"], ["C", "D"]]


def test_given_an_unknown_item_identifier_then_the_whole_batch_counts_as_failed(aws):
    put(aws, "A")
    handler = Recorder(response={"batchItemFailures": [{"itemIdentifier": "not-a-sequence-number"}]})
    p = poller(aws, handler, max_retry_attempts=1)
    drain(p, 5)
    assert handler.batches == [["A"], ["A"]]
    [message] = dead_letters(aws)
    assert message["responseContext"]["functionError"] == "InvalidResponse"


@pytest.mark.parametrize(
    ("response", "failed_index"),
    [
        (None, None),
        ({}, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": "3"}]}, 2),
        ({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, 0),
        ({"batchItemFailures": "oops"}, 0),
        ("a string", 0),
    ],
)
def test_interpret_response_follows_lambdas_rules(response, failed_index):
    records = [{"dynamodb": {"SequenceNumber": str(n)}} for n in (1, 2, 3)]
    assert interpret_response(response, records).failed_index == failed_index
