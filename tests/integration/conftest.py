"""Integration fixtures: the real handlers against moto's in-process AWS.

The table comes from ``cchcc.local.template.create_table`` (read from the SAM template),
environment variables are set per test, and the handler modules are imported
fresh after that, as a Lambda cold start would.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cchcc.local.template import Template, create_table
from tests.conftest import PROGRAMME, PROJECT, ROOT, TEMPLATE

EVENTS = ROOT / "tests" / "events"
TABLE = "cchcc-referrals-test"
REGION = "eu-west-2"
SENDER = "no-reply@example.org"  # programme.yml sender_email
LINK_KEY_PARAMETER = "/cchcc-test/outcome-link-key"
LINK_KEY = "test-outcome-link-key-" + "k" * 24  # the current key the functions read from SSM

# Obviously fake personal data; tests assert none of it ever reaches the logs.
PERSON = {
    "name": "Zqx Testperson",
    "email": "zqx.testperson@example.com",
    "phone": "07700 900982",
    "support_needs": "Qwv mornings only",
}


@dataclass
class FakeLambdaContext:
    function_name: str = "cchcc-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:cchcc-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def campaigns_file(tmp_path_factory) -> Path:
    """The campaign catalogue `cchcc build` would write, made from this repo's campaigns/."""
    from cchcc.site.campaigns import catalogue, load_all

    return catalogue(load_all(PROJECT)).write(tmp_path_factory.mktemp("catalogue") / "campaigns.json")


@pytest.fixture
def aws(monkeypatch, campaigns_file):
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "TABLE_NAME": TABLE,
        "SITE_ORIGIN": "http://127.0.0.1:8000",
        "CCHCC_PROGRAMME_FILE": str(PROGRAMME),
        "CCHCC_CAMPAIGNS_FILE": str(campaigns_file),
        "OUTCOME_LINK_KEY_PARAMETER": LINK_KEY_PARAMETER,
        "POWERTOOLS_METRICS_NAMESPACE": "CCHCC",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, Template.load(TEMPLATE), TABLE)
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=SENDER)
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=LINK_KEY_PARAMETER, Type="SecureString", Value=LINK_KEY
        )
        yield dynamodb


def fresh_import(name: str):
    """Import a handler module as a cold start would (after env and moto are set up)."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def intake_app(aws):
    return fresh_import("intake.app")


@pytest.fixture
def router_app(aws):
    return fresh_import("router.app")


@pytest.fixture
def stack(aws, lambda_context):
    """Both handlers cold-started against the same moto account, plus a stream reader."""
    intake = fresh_import("intake.app")
    reader = StreamReader(aws)
    router = fresh_import("router.app")
    return intake, reader, router


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def api_event(body: str | bytes, content_type: str | None, *, base64_encode: bool = False) -> dict[str, Any]:
    """An HTTP API v2 event like tests/events/intake_json.json with another body."""
    event = copy.deepcopy(load_event("intake_json.json"))
    data = body.encode("utf-8") if isinstance(body, str) else body
    if content_type is None:
        event["headers"].pop("content-type")
    else:
        event["headers"]["content-type"] = content_type
    event["headers"]["content-length"] = str(len(data))
    if base64_encode:
        event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode("ascii"), True
    else:
        event["body"], event["isBase64Encoded"] = data.decode("utf-8"), False
    return event


def valid_answers(**overrides: Any) -> dict[str, Any]:
    answers = {
        "name": PERSON["name"],
        "email": PERSON["email"],
        "phone": PERSON["phone"],
        "postcode": "LS9 7AB",
        "age": "30",
        "interests": ["caring"],
        "situation": "looking-for-work",
        "support_needs": PERSON["support_needs"],
        "language": "English",
        "consent": "yes",
        "campaign": "lincoln-green",
        "source": "lg-library",
        "website": "",
    }
    answers.update(overrides)
    return {k: v for k, v in answers.items() if v is not None}


def referral_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=TABLE)["Items"]
    return [i for i in items if i["sk"]["S"] == "REFERRAL"]


def all_items(client) -> list[dict[str, Any]]:
    return client.scan(TableName=TABLE)["Items"]


def sent_emails() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


class StreamReader:
    """Reads the table's stream with moto's dynamodbstreams API, as Lambda's event source mapping would."""

    def __init__(self, dynamodb):
        import boto3

        # botocore >= 1.40 sends stream calls to <account>.streams-ddb.<region>, which moto 5.2
        # does not recognise yet; the classic endpoint reaches the same moto backend.
        self.streams = boto3.client(
            "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )
        self.arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = [
            self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for s in shards
        ]

    def read(self) -> dict[str, Any]:
        """Every record since the last read, as a Lambda DynamoDB stream event."""
        records = []
        for index, iterator in enumerate(self.iterators):
            response = self.streams.get_records(ShardIterator=iterator)
            self.iterators[index] = response["NextShardIterator"]
            for record in response["Records"]:
                record = json.loads(json.dumps(record, default=_json_default))
                record.setdefault("eventSourceARN", self.arn)
                records.append(record)
        return {"Records": records}


def _json_default(value: Any) -> Any:
    import datetime

    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, bytes):  # binary attributes reach Lambda base64-encoded
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def programme_variant(tmp_path: Path, *, mode: str = "primary", webhook_url: str | None = None) -> Path:
    """A copy of the sample programme, optionally in mode ``all`` or with a webhook on ``cchcc``."""
    text = PROGRAMME.read_text(encoding="utf-8").replace("routing_mode: primary", f"routing_mode: {mode}")
    if webhook_url:
        text = text.replace(
            "    why: lives in the CCHCC target area\n",
            "    why: lives in the CCHCC target area\n"
            f"    webhook:\n      url: {webhook_url}\n      secret_env: CCHCC_WEBHOOK_SECRET\n",
        )
    path = tmp_path / "programme.yml"
    path.write_text(text, encoding="utf-8")
    return path
