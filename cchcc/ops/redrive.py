"""``cchcc redrive``: route again the referrals whose routing did not complete, and send the
erasure notices that did not go (a spoke's webhook was down past the router's retries).

Uses the router's own code (:class:`hub.routing.Routing`), so a spoke already notified
about a referral is never notified again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cchcc.ops.target import Target


@dataclass
class Summary:
    messages_read: int = 0
    messages_deleted: int = 0
    routed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    notices_sent: list[str] = field(default_factory=list)  # "<reference> -> <spoke>" erasure notices
    notices_failed: dict[str, str] = field(default_factory=dict)


def references_in_batch(streams: Any, batch: dict[str, Any]) -> list[str] | None:
    """References of the referrals inserted in a dead-lettered stream batch; None if the stream no longer has it."""
    from botocore.exceptions import ClientError

    from hub.storage import from_item, new_referral_reference

    try:
        start, end = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
        iterator = streams.get_shard_iterator(
            StreamArn=batch["streamArn"],
            ShardId=batch["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(start),
        )["ShardIterator"]
    except (ClientError, KeyError, ValueError, TypeError):
        return None
    references: list[str] = []
    for _ in range(1000):  # a batch is at most a few thousand records
        try:
            page = streams.get_records(ShardIterator=iterator, Limit=100)
        except ClientError:
            return None
        records = page.get("Records", [])
        for record in records:
            data = record.get("dynamodb", {})
            if int(data.get("SequenceNumber", "0")) > end:
                return references
            reference = new_referral_reference(record.get("eventName", ""), from_item(data.get("Keys", {})))
            if reference is not None:
                references.append(reference)
        iterator = page.get("NextShardIterator")
        if not records or not iterator:
            return references
    return references


class Redriver:
    """Route referrals again with the router's own code; count what happened."""

    def __init__(self, target: Target, dry_run: bool = False):
        from hub.catalogue import load_catalogue
        from hub.config import load_programme
        from hub.notifications import build_notifiers
        from hub.routing import Routing
        from hub.settings import webhook_secrets
        from hub.storage import DynamoReferralStore

        self.target = target
        self.dry_run = dry_run
        programme = load_programme(target.programme_file)
        self.store = DynamoReferralStore(target.table_name)
        links = None
        if target.site_origin and target.link_key_parameter:  # the messages carry outcome links, as the router's do
            from hub.links import OutcomeLinks, ParameterKeys

            links = OutcomeLinks(ParameterKeys(target.link_key_parameter), target.site_origin, programme.outcome_link_days)
        self.routing = Routing(
            self.store, build_notifiers(programme, webhook_secrets(programme)), programme,
            load_catalogue(target.catalogue_file), links=links,
        )
        self.summary = Summary()
        self._done: set[str] = set()

    def route(self, reference: str) -> bool:
        """Route one referral (once per run). True when nothing is left to do for it."""
        from hub.routing import RoutingIncompleteError

        if reference in self._done:
            return True
        if reference in self.summary.failed:
            return False
        if self.dry_run:
            print(f"  would route {reference}")
            self._done.add(reference)
            return True
        try:
            result = self.routing.route(reference)
        except RoutingIncompleteError:
            self.summary.failed[reference] = "a notification could not be sent (or is being sent now)"
            return False
        except Exception as exc:  # one referral's problem does not stop the others
            self.summary.failed[reference] = type(exc).__name__
            return False
        self._done.add(reference)
        if result.status == "routed":
            self.summary.routed.append(reference)
            sent = ", ".join(result.sent) or "nothing new to send"
            print(f"  {reference}: routed ({sent})")
        elif result.status in ("already-routed", "erased"):
            self.summary.already.append(reference)
        else:
            self.summary.missing.append(reference)
            print(f"  {reference}: not in the table (deleted or expired)")
        return True

    def drain_queue(self) -> None:
        import boto3

        queue = self.target.dead_letter_queue
        if not queue:
            print("no dead-letter queue given (--queue-url / ROUTER_DLQ_URL): routing the table's unrouted referrals only")
            return
        sqs = boto3.client("sqs")
        streams = boto3.client("dynamodbstreams")
        seen: set[str] = set()
        kept: list[str] = []  # receipt handles to make visible again at the end
        try:
            while True:
                response = sqs.receive_message(
                    QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=0
                )
                messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
                if not messages:
                    return
                for message in messages:
                    seen.add(message["MessageId"])
                    self.summary.messages_read += 1
                    if self._handle_message(streams, message) and not self.dry_run:
                        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                        self.summary.messages_deleted += 1
                    else:
                        kept.append(message["ReceiptHandle"])
        finally:
            # Messages not deleted go back to the queue now, not in two minutes.
            for handle in kept:
                try:
                    sqs.change_message_visibility(
                        QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=0
                    )
                except Exception:  # it becomes visible again by itself after the timeout
                    pass

    def _handle_message(self, streams: Any, message: dict[str, Any]) -> bool:
        """Route the referrals of one dead-letter message. True when it can be deleted."""
        try:
            body = json.loads(message["Body"])
            batch = body["DDBStreamBatchInfo"]
        except (ValueError, KeyError, TypeError):
            print(f"  dead-letter message {message['MessageId']}: not a stream batch record; left in the queue")
            return False
        references = references_in_batch(streams, batch)
        span = f"{batch.get('startSequenceNumber')}..{batch.get('endSequenceNumber')}"
        if references is None:
            # Past the stream's retention: the unrouted sweep below covers its referrals.
            print(f"  batch {span}: no longer in the stream; covered by the unrouted sweep")
            return self.sweep_unrouted()
        print(f"  batch {span}: {len(references)} referral(s)")
        return all([self.route(reference) for reference in references])

    def sweep_erasures(self) -> bool:
        """Send every erasure notice not yet sent on all its channels (the router's own code: a
        channel already sent is never sent again). True when none is left."""
        from hub.routing import RoutingIncompleteError

        ok = True
        for item in self.store.erasure_notices():
            states = [v for k, v in item.items() if k.endswith("_state")]
            if states and all(state in ("sent", "rejected") for state in states):
                continue
            what = f"{item['reference']} -> {item['spoke']}"
            if self.dry_run:
                print(f"  would send erasure notice {what}")
                continue
            try:
                result = self.routing.erasure_notice(item["reference"], item["spoke"])
            except RoutingIncompleteError:
                self.summary.notices_failed[what] = "not sent (the spoke's email or webhook failed again)"
                ok = False
                continue
            if result.sent:
                self.summary.notices_sent.append(what)
                print(f"  erasure notice {what}: sent ({', '.join(result.sent)})")
        return ok

    def sweep_unrouted(self) -> bool:
        ok = True
        for reference in self.store.list_unrouted():
            ok = self.route(reference) and ok
        return ok
