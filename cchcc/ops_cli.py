"""Operations commands: ``cchcc redrive``.

Registered by ``cchcc.cli`` through :func:`register`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

REDRIVE_HELP = "route again the referrals whose routing failed (router dead-letter queue)"
REDRIVE_DESCRIPTION = """\
Route again the referrals whose routing or notification did not complete.

When the router fails on a stream batch more times than its retry limit, the
batch's position (not the referral) goes to the router's dead-letter queue.
This command reads those messages, finds the referrals in each batch from the
table's stream, and routes each one again with the same code the router uses;
then it routes any other referral the table still marks as not routed (which
also covers batches older than the stream's 24-hour retention). A dead-letter
message is deleted once every referral it covers is routed.

Safe to repeat and safe to run while the router is running: a spoke already
notified about a referral is never notified again.

Target: the local stack started by `cchcc serve` on --port (default $PORT or
8000), found through build/local/serve-<port>.json. When no local stack is
running, or with --aws, it works against AWS with the usual credentials, the
table in --table ($TABLE_NAME) and the queue in --queue-url ($ROUTER_DLQ_URL).

Prints references and counts only, never personal data. Exits 1 if any
referral could not be routed (run it again later), 2 if it cannot start.
"""


class RedriveError(Exception):
    """Redrive cannot start: the message says what to do."""


@dataclass
class Target:
    table_name: str
    queue_url: str | None
    programme_path: Path | None
    local: bool
    endpoint_url: str | None = None
    campaigns_path: Path | None = None  # None: hub.catalogue.default_path()


@dataclass
class Summary:
    messages_read: int = 0
    messages_deleted: int = 0
    routed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def local_state(port: int) -> dict[str, Any] | None:
    """What a running ``cchcc serve`` on ``port`` wrote about itself, if it is still running."""
    path = ROOT / "build" / "local" / f"serve-{port}.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError, TypeError):
        return None  # left behind by a stack that did not stop cleanly
    return state


def resolve_target(args: argparse.Namespace) -> Target:
    if not args.aws and not os.environ.get("AWS_ENDPOINT_URL"):
        state = local_state(args.port)
        if state is not None:
            from cchcc.localstack import LOCAL_WEBHOOK_SECRET

            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": state["endpoint_url"],
                    "AWS_DEFAULT_REGION": state["region"],
                    "AWS_REGION": state["region"],
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                }
            )
            os.environ.pop("AWS_PROFILE", None)
            os.environ.pop("AWS_SESSION_TOKEN", None)
            programme = args.programme or Path(state["programme_file"])
            _local_webhook_secrets(programme, LOCAL_WEBHOOK_SECRET)
            return Target(
                table_name=state["table_name"],
                queue_url=state["dead_letter_queue_url"],
                programme_path=programme,
                local=True,
                endpoint_url=state["endpoint_url"],
                campaigns_path=Path(state["campaigns_file"]) if state.get("campaigns_file") else None,
            )
    table = args.table or os.environ.get("TABLE_NAME")
    queue = args.queue_url or os.environ.get("ROUTER_DLQ_URL")
    if not table:
        raise RedriveError(
            f"no local stack is running on port {args.port} (start it with `make serve`), "
            "and no table was given for AWS: pass --table (or set TABLE_NAME) and --queue-url (or ROUTER_DLQ_URL)"
        )
    return Target(
        table_name=table,
        queue_url=queue,
        programme_path=args.programme,
        local=False,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
    )


def _local_webhook_secrets(programme_path: Path, value: str) -> None:
    from hub.config import load_programme

    for spoke in load_programme(programme_path).spokes:
        if spoke.webhook is not None:
            os.environ.setdefault(spoke.webhook.secret_env, value)


def references_in_batch(streams: Any, batch: dict[str, Any]) -> list[str] | None:
    """References of the referrals inserted in a dead-lettered stream batch; None if the stream no longer has it."""
    from botocore.exceptions import ClientError

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
            keys = data.get("Keys", {})
            pk = keys.get("pk", {}).get("S", "")
            sk = keys.get("sk", {}).get("S", "")
            if record.get("eventName") == "INSERT" and sk == "REFERRAL" and pk.startswith("REF#"):
                references.append(pk.removeprefix("REF#"))
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
        from hub.settings import webhook_secrets
        from hub.storage import DynamoReferralStore

        self.target = target
        self.dry_run = dry_run
        self.programme = load_programme(target.programme_path)
        self.catalogue = load_catalogue(target.campaigns_path)
        self.store = DynamoReferralStore(target.table_name)
        self.notifiers = build_notifiers(self.programme, webhook_secrets(self.programme))
        self.summary = Summary()
        self._done: set[str] = set()

    def route(self, reference: str) -> bool:
        """Route one referral (once per run). True when nothing is left to do for it."""
        from hub.routing_service import RoutingIncompleteError, route_referral

        if reference in self._done:
            return True
        if reference in self.summary.failed:
            return False
        if self.dry_run:
            print(f"  would route {reference}")
            self._done.add(reference)
            return True
        try:
            result = route_referral(self.store, self.notifiers, self.programme, reference, self.catalogue)
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
        elif result.status == "already-routed":
            self.summary.already.append(reference)
        else:
            self.summary.missing.append(reference)
            print(f"  {reference}: not in the table (deleted or expired)")
        return True

    def drain_queue(self) -> None:
        import boto3

        if not self.target.queue_url:
            print("no dead-letter queue given (--queue-url / ROUTER_DLQ_URL): routing the table's unrouted referrals only")
            return
        sqs = boto3.client("sqs")
        streams = boto3.client("dynamodbstreams")
        seen: set[str] = set()
        kept: list[str] = []  # receipt handles to make visible again at the end
        try:
            while True:
                response = sqs.receive_message(
                    QueueUrl=self.target.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=0
                )
                messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
                if not messages:
                    return
                for message in messages:
                    seen.add(message["MessageId"])
                    self.summary.messages_read += 1
                    if self._handle_message(streams, message) and not self.dry_run:
                        sqs.delete_message(QueueUrl=self.target.queue_url, ReceiptHandle=message["ReceiptHandle"])
                        self.summary.messages_deleted += 1
                    else:
                        kept.append(message["ReceiptHandle"])
        finally:
            # Messages not deleted go back to the queue now, not in two minutes.
            for handle in kept:
                try:
                    sqs.change_message_visibility(
                        QueueUrl=self.target.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
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

    def sweep_unrouted(self) -> bool:
        ok = True
        for reference in self.store.list_unrouted():
            ok = self.route(reference) and ok
        return ok


def cmd_redrive(args: argparse.Namespace) -> int:
    from hub.config import ConfigError
    from hub.settings import SettingsError

    try:
        target = resolve_target(args)
        redriver = Redriver(target, dry_run=args.dry_run)
    except (RedriveError, ConfigError, SettingsError) as exc:
        print(f"cchcc redrive: {exc}", file=sys.stderr)
        return 2
    where = f"local stack on port {args.port}" if target.local else f"table {target.table_name}"
    print(f"cchcc redrive: {where}{' (dry run: nothing is sent or deleted)' if args.dry_run else ''}")
    redriver.drain_queue()
    redriver.sweep_unrouted()
    s = redriver.summary
    print(
        f"cchcc redrive: {s.messages_read} dead-letter message(s) read, {s.messages_deleted} deleted; "
        f"{len(s.routed)} referral(s) routed, {len(s.already)} already routed, "
        f"{len(s.missing)} missing, {len(s.failed)} failed"
    )
    for reference, reason in s.failed.items():
        print(f"  {reference}: not routed: {reason}; run `cchcc redrive` again later", file=sys.stderr)
    return 1 if s.failed else 0


def register(sub: Any, add_programme_option: Any) -> None:
    redrive = sub.add_parser(
        "redrive",
        help=REDRIVE_HELP,
        description=REDRIVE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    redrive.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8000")),
        help="port of the local stack to redrive (default: $PORT or 8000)",
    )
    redrive.add_argument("--aws", action="store_true", help="work against AWS even if a local stack is running")
    redrive.add_argument("--table", help="referrals table name on AWS (default: $TABLE_NAME)")
    redrive.add_argument("--queue-url", help="router dead-letter queue URL on AWS (default: $ROUTER_DLQ_URL)")
    redrive.add_argument("--dry-run", action="store_true", help="list what would be routed; send and delete nothing")
    add_programme_option(redrive)
    redrive.set_defaults(func=cmd_redrive)
