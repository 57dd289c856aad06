"""The embedded AWS: moto in server mode on loopback, with the template's resources in it.

The functions reach it with ordinary boto3 calls over HTTP (``AWS_ENDPOINT_URL``), as they
reach AWS in production. The table and the queues are created from their definitions in
``infra/template.yaml``, and the SecureString parameters its metadata lists (which
CloudFormation cannot create) with fresh random values; the sender and the recipients' domains are verified in SES, as
the SES sandbox requires.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from cchcc.local.outbox import Outbox, install_ses_capture
from cchcc.local.state import CREDENTIALS, REGION
from cchcc.local.template import SecureParameter, Template, create_table

log = logging.getLogger("cchcc.local")

TABLE_NAME = "cchcc-local-referrals"


@dataclass
class EmbeddedAws:
    endpoint_url: str = ""
    table_name: str = TABLE_NAME
    stream_arn: str = ""
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> URL
    _server: Any = None
    _session: Any = None

    def start(self, outbox: Outbox) -> None:
        from moto.server import ThreadedMotoServer

        query_partitions_only()
        plain_query_answers()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        install_ses_capture(outbox)

    def client(self, service: str) -> Any:
        import boto3

        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=REGION,
            )
        return self._session.client(service, endpoint_url=self.endpoint_url)

    def create(self, template: Template, sender: str, recipients: list[str]) -> None:
        """The table, every queue and the SES identities, as the template and programme say."""
        dynamodb = self.client("dynamodb")
        create_table(dynamodb, template, self.table_name)
        self.stream_arn = dynamodb.describe_table(TableName=self.table_name)["Table"].get("LatestStreamArn", "")
        sqs = self.client("sqs")
        for logical_id in template.queues():
            name = f"cchcc-local-{logical_id}"
            self.queues[logical_id] = sqs.create_queue(
                QueueName=name, Attributes=template.queue_attributes(logical_id)
            )["QueueUrl"]
        sesv2 = self.client("sesv2")
        identities = {sender, sender.split("@", 1)[1], *(address.split("@", 1)[1] for address in recipients)}
        for identity in sorted(identities):
            sesv2.create_email_identity(EmailIdentity=identity)

    def create_secure_parameters(self, parameters: list[SecureParameter]) -> None:
        """Each SecureString the template lists, in the embedded SSM: a fresh random key for
        ``Generate: key`` (a stack's links last as long as the stack), a placeholder otherwise."""
        import secrets

        ssm = self.client("ssm")
        for parameter in parameters:
            value = secrets.token_urlsafe(32) if parameter.generate == "key" else f"local-{secrets.token_urlsafe(24)}"
            ssm.put_parameter(Name=parameter.name, Type="SecureString", Value=value,
                              Description=parameter.description[:1024], Overwrite=True)

    def queue_depth(self, logical_id: str) -> int | None:
        """Messages waiting (visible or in flight) in one queue; None if it cannot be read."""
        try:
            attrs = self.client("sqs").get_queue_attributes(
                QueueUrl=self.queues[logical_id],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except Exception:  # noqa: BLE001 (shown as "could not be read")
            return None
        return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))

    def stop(self) -> None:
        if self._server is not None:
            try:
                self._server.stop()
            except Exception as exc:  # noqa: BLE001
                log.warning("stopping the AWS emulation failed: %s", type(exc).__name__)


_partition = threading.local()


def query_partitions_only() -> None:
    """Make moto answer a table query from the one partition it asks for.

    moto 5 answers ``Query`` on a table by sorting *every item of the table* and then keeping
    the partition's (``Table.all_items``), so each query costs O(n log n) in the table's size:
    the router queries a referral's assignments once per referral, and the local stack routed
    slower the more it held (1.6 to 3 referrals a second after a few hundred). DynamoDB reads
    one partition. Here, while moto answers a table (not index) query, ``all_items`` gives
    the queried partition's items only, in the same order: the same answer, at a cost flat
    in the table's size. Thread-local, as moto's server answers on many threads.

    An index query (the impact report's month index) sorted the whole table too, on every
    page, and then sorted its matches with moto's typed comparisons: there ``all_items``
    gives only the items whose index partition key matches (moto sorts them by the index's
    keys itself), and that sort compares the plain string and number values (the same order
    for the S and N keys this table has). A month of 36,000 items among 700,000 took minutes.
    """
    import inspect

    from moto.dynamodb.models.table import Table

    if getattr(Table, "_cchcc_partition_queries", False):
        return
    original_query, original_all_items = Table.query, Table.all_items
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> list[Any]:
        scope = getattr(_partition, "scope", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        if scope[1] is None:  # an index query: the items in its partition, in any order
            wanted = scope[2]
            return [item for partition in self.items.values()
                    for item in (partition.values() if self.range_key_attr else [partition])
                    if all((found := item.attrs.get(name)) is not None and found.type == kind and found.value == value
                           for name, kind, value in wanted)]
        partition = self.items.get(scope[1])  # .get: items is a defaultdict
        if not partition:
            return []
        if not self.range_key_attr:
            return [partition]
        return sorted(partition.values(), key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        conditions = arguments.get("hash_key_conditions")
        if arguments.get("index_name") and conditions:
            _partition.scope = (self, None, [(name, value.type, value.value) for name, value in conditions])
        elif arguments.get("index_name") or arguments.get("hash_key") is None:
            return original_query(self, *args, **kwargs)
        else:
            _partition.scope = (self, arguments["hash_key"])
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _partition.scope = None

    original_sorted = Table.sorted_items

    def plain(value: Any) -> tuple[int, Any]:
        if value.type == "S":
            return (0, value.value)
        if value.type == "N":
            from decimal import Decimal

            return (1, Decimal(value.value))
        raise TypeError(value.type)

    def sorted_items(self: Any, hash_key_attrs: Any, range_key_attrs: Any, items: list[Any]) -> list[Any]:
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        try:
            items.sort(key=lambda x: tuple(plain(x.attrs[name]) for name in names))
        except (TypeError, KeyError):  # another kind of key: moto's own comparisons
            return original_sorted(self, hash_key_attrs, range_key_attrs, items)
        return items

    Table.all_items, Table.query, Table.sorted_items = all_items, query, sorted_items  # type: ignore[method-assign]
    Table._cchcc_partition_queries = True  # type: ignore[attr-defined]


def plain_query_answers() -> None:
    """Answer a ``Query`` with a plain JSON dump of its result, as moto 4 did.

    moto 5 turns every answer into JSON through a generic, model-driven serializer that costs
    about 4 ms per item returned: a query of a month of the impact report's index (2,400
    items after ``cchcc demo``) took 10 s, most of it there. The result is already DynamoDB
    JSON (``{"S": ...}``); binary values become base64 text, as the wire format has them.
    The same answer, in a hundredth of the time.
    """
    import base64
    import json

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_cchcc_plain_queries", False):
        return
    original = DynamoHandler.query

    def encode(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"cannot encode {type(value).__name__}")

    def query(self: Any) -> Any:
        answer = original(self)
        if isinstance(answer, ActionResult) and isinstance(answer.result, dict):
            return json.dumps(answer.result, default=encode)
        return answer

    DynamoHandler.query = query  # type: ignore[method-assign]
    DynamoHandler._cchcc_plain_queries = True  # type: ignore[attr-defined]


def forget_shard_iterators(in_use: set[str]) -> None:
    """Free the shard iterators moto keeps for ever (one per GetRecords call, about 2 KB each).

    Polling ten times a second, a stack left running for a day would otherwise hold well
    over a gigabyte of them. Only the iterators the pollers hold stay.
    """
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    for account in list(dynamodbstreams_backends.keys()):
        for region in list(dynamodbstreams_backends[account].keys()):
            iterators = dynamodbstreams_backends[account][region].shard_iterators
            for key in [k for k in list(iterators) if k not in in_use]:
                iterators.pop(key, None)
