"""A DynamoDB stream poller that behaves like Lambda's event source mapping.

The local stack runs one of these per stream-triggered function. It reads the
stream through the real DynamoDB Streams API (moto, over HTTP), invokes the
handler with Lambda-shaped batches (``{"Records": [...]}`` with
``eventSourceARN``), and follows the rules the ESM follows with
``FunctionResponseTypes: [ReportBatchItemFailures]``:

* records of a shard are delivered in order, ``batch_size`` at a time;
* when the handler reports ``batchItemFailures``, the checkpoint moves to the
  *first* failed sequence number and the batch is read again from there (so
  records after a failure are retried too, and order is kept); an exception
  or a malformed response fails the whole batch;
* a batch is retried at most ``max_retry_attempts`` times with a short
  backoff; then a Lambda-style on-failure record (``DDBStreamBatchInfo``,
  condition ``RetryAttemptsExhausted``) goes to the dead-letter queue and the
  poller moves on past the batch.

Logs carry sequence numbers and counts only: stream records hold personal data.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger("cchcc.local.stream")
ACCOUNT_ID = "123456789012"

Invoke = Callable[[dict[str, Any]], Any]  # the function's answer, or an exception for a function error
DeadLetterSender = Callable[[dict[str, Any]], None]


def lambda_json(value: Any) -> Any:
    """Streams API values -> the JSON a Lambda event carries (bytes as base64, datetimes as epoch)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {k: lambda_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [lambda_json(v) for v in value]
    return value


def stream_event(records: list[dict[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    """Wrap Streams API records as Lambda's event source mapping delivers them."""
    out = []
    for record in records:
        item = lambda_json(record)
        item["eventVersion"] = "1.1"
        item["awsRegion"] = region
        item["eventSourceARN"] = stream_arn
        out.append(item)
    return {"Records": out}


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        stamp = datetime.fromtimestamp(float(value or time.time()), tz=timezone.utc)
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def failure_record(
    *,
    records: list[dict[str, Any]],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    invoke_count: int,
    function_error: str | None,
) -> dict[str, Any]:
    """The on-failure destination record Lambda sends for a stream batch that exhausted its retries."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            **({"functionError": function_error} if function_error else {}),
        },
        "version": "1.0",
        "timestamp": _iso(datetime.now(timezone.utc)),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": str(first["SequenceNumber"]),
            "endSequenceNumber": str(last["SequenceNumber"]),
            "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None = None
    # The sequence number of the first record that failed, and how often it has.
    failing_sequence: int | None = None
    attempts: int = 0
    retry_at: float = 0.0
    limit: int | None = None  # a smaller batch after bisecting on a function error


class InvocationResult:
    """What one invocation of the handler said about a batch."""

    def __init__(self, failed_index: int | None, function_error: str | None = None):
        self.failed_index = failed_index  # index of the first failed record, None if all succeeded
        self.function_error = function_error  # "Unhandled" when the handler raised


def interpret_response(response: Any, records: list[dict[str, Any]]) -> InvocationResult:
    """Apply Lambda's rules for a ``ReportBatchItemFailures`` response.

    ``None``, ``{}`` or an empty ``batchItemFailures`` list means success. Any
    failure identifier moves the checkpoint to the lowest failed sequence
    number. A response that cannot be understood (an identifier that is
    missing, empty or not in the batch) fails the whole batch.
    """
    if response is None:
        return InvocationResult(None)
    if not isinstance(response, dict):
        return InvocationResult(0, "InvalidResponse")
    failures = response.get("batchItemFailures")
    if not failures:
        return InvocationResult(None)
    if not isinstance(failures, list):
        return InvocationResult(0, "InvalidResponse")
    positions = {str(r["dynamodb"]["SequenceNumber"]): i for i, r in enumerate(records)}
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or str(identifier) not in positions:
            return InvocationResult(0, "InvalidResponse")
        indexes.append(positions[str(identifier)])
    return InvocationResult(min(indexes))


class StreamPoller:
    """Poll one DynamoDB stream and ``invoke`` a function as an event source mapping would."""

    def __init__(
        self,
        *,
        streams_client: Any,
        stream_arn: str,
        invoke: Invoke,
        function_name: str,
        dead_letter: DeadLetterSender,
        region: str = "eu-west-2",
        batch_size: int = 10,
        max_retry_attempts: int = 3,
        poll_interval: float = 0.1,
        backoff_base: float = 0.1,
        starting_position: str = "TRIM_HORIZON",
        bisect_on_error: bool = False,
        housekeeping: Callable[[set[str]], None] | None = None,
    ):
        self.streams = streams_client
        self.stream_arn = stream_arn
        self.invoke = invoke
        self.function_name = function_name
        self.dead_letter = dead_letter
        self.region = region
        self.batch_size = batch_size
        self.max_retry_attempts = max_retry_attempts
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.starting_position = starting_position
        self.bisect_on_error = bisect_on_error
        # Called now and then with the shard iterators in use (the local stack frees moto's others).
        self.housekeeping = housekeeping
        self._polls = 0
        self.shards: dict[str, _Shard] = {}
        self.invocations = 0
        self.dead_lettered_batches = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"esm-{self.function_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception as exc:  # keep polling; the error names a type, never data
                log.warning("stream poll failed: %s", type(exc).__name__)
                busy = False
                self._stop.wait(1.0)
            self._polls += 1
            if self.housekeeping is not None and self._polls % 200 == 0:
                try:
                    self.housekeeping({s.iterator for s in self.shards.values() if s.iterator})
                except Exception as exc:
                    log.warning("stream housekeeping failed: %s", type(exc).__name__)
            if not busy:
                self._stop.wait(self.poll_interval)

    # -- one step ----------------------------------------------------------------
    def _refresh_shards(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            self.shards.setdefault(shard["ShardId"], _Shard(shard["ShardId"]))

    def _iterator(self, shard: _Shard, kind: str, sequence: int | None = None) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id, "ShardIteratorType": kind}
        if sequence is not None:
            kwargs["SequenceNumber"] = str(sequence)
        return self.streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def poll_once(self) -> bool:
        """Read and deliver at most one batch per shard. True if anything was delivered."""
        if not self.shards:
            self._refresh_shards()
        busy = False
        for shard in list(self.shards.values()):
            if self._stop.is_set():
                break
            busy = self._poll_shard(shard) or busy
        return busy

    def _poll_shard(self, shard: _Shard) -> bool:
        if shard.retry_at and time.monotonic() < shard.retry_at:
            return False
        if shard.iterator is None:
            shard.iterator = self._iterator(shard, self.starting_position)
        page = self.streams.get_records(ShardIterator=shard.iterator, Limit=shard.limit or self.batch_size)
        records = page.get("Records", [])
        if not records:
            shard.iterator = page.get("NextShardIterator") or shard.iterator
            return False

        result = self._invoke(records)
        if result.failed_index is None:
            shard.iterator = page.get("NextShardIterator")
            shard.failing_sequence, shard.attempts, shard.retry_at, shard.limit = None, 0, 0.0, None
            return True

        if result.function_error == "Unhandled" and self.bisect_on_error and len(records) > 1:
            # BisectBatchOnFunctionError: retry each half; splitting is not a retry attempt.
            shard.limit = (len(records) + 1) // 2
            first = int(records[0]["dynamodb"]["SequenceNumber"])
            log.info("stream batch of %d failed; retrying it in halves of %d", len(records), shard.limit)
            shard.iterator = self._iterator(shard, "AT_SEQUENCE_NUMBER", first)
            return True

        # Records before the first failure are done: the checkpoint moves to it.
        failed = records[result.failed_index:]
        first_failed = int(failed[0]["dynamodb"]["SequenceNumber"])
        if shard.failing_sequence == first_failed:
            shard.attempts += 1
        else:
            shard.failing_sequence, shard.attempts = first_failed, 1
        retries_done = shard.attempts - 1
        if retries_done >= self.max_retry_attempts:
            self._send_to_dead_letter(shard, failed, shard.attempts, result.function_error)
            last = int(failed[-1]["dynamodb"]["SequenceNumber"])
            shard.iterator = self._iterator(shard, "AFTER_SEQUENCE_NUMBER", last)
            shard.failing_sequence, shard.attempts, shard.retry_at, shard.limit = None, 0, 0.0, None
            return True
        delay = self.backoff_base * (2 ** retries_done)
        log.info(
            "stream batch failed from sequence %s (%d of %d records); retry %d of %d in %.1f s",
            first_failed, len(failed), len(records), shard.attempts, self.max_retry_attempts, delay,
        )
        shard.iterator = self._iterator(shard, "AT_SEQUENCE_NUMBER", first_failed)
        shard.retry_at = time.monotonic() + delay
        return True

    def _invoke(self, records: list[dict[str, Any]]) -> InvocationResult:
        event = stream_event(records, self.stream_arn, self.region)
        self.invocations += 1
        try:
            response = self.invoke(event)
        except Exception as exc:
            log.warning("%s raised %s; the whole batch of %d will be retried", self.function_name, type(exc).__name__, len(records))
            return InvocationResult(0, "Unhandled")
        # Lambda serialises the response; do the same so oddities show up here too.
        try:
            response = json.loads(json.dumps(response))
        except (TypeError, ValueError):
            return InvocationResult(0, "InvalidResponse")
        return interpret_response(response, records)

    def _send_to_dead_letter(self, shard: _Shard, records: list[dict[str, Any]], invokes: int, error: str | None) -> None:
        message = failure_record(
            records=records,
            shard_id=shard.shard_id,
            stream_arn=self.stream_arn,
            function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}",
            invoke_count=invokes,
            function_error=error,
        )
        self.dead_letter(message)
        self.dead_lettered_batches += 1
        info = message["DDBStreamBatchInfo"]
        log.warning(
            "dead-lettered stream batch %s..%s (%d records) after %d attempts",
            info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"], invokes,
        )
