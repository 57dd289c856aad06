"""The translated template as a stack in moto's CloudFormation, and the real
handlers running against what that stack created.

moto cannot create every resource type the template uses; those are dropped
(``EXPECTED_DROPPED``) with references to them replaced by placeholders, and
are checked statically in test_template.py instead.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from cchcc.local import filters
from cchcc.local.streams import lambda_json
from cchcc.local.template import Template
from hub import storage
from tests.conftest import PROGRAMME, TEMPLATE
from tests.infra.conftest import PARAMETERS, REGION, ROOT

ROUTER_FILTERS = Template.load(TEMPLATE).functions()["RouterFunction"].streams[0].filters

# Resource types moto 5's CloudFormation does not implement (checked in test_template.py).
EXPECTED_DROPPED = {
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Budgets::Budget",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::Function",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::S3::BucketPolicy",
    "AWS::Scheduler::Schedule",
}


def test_stack_is_created(stack):
    assert stack.status == "CREATE_COMPLETE"
    assert set(stack.dropped.values()) == EXPECTED_DROPPED, "moto's support changed: update EXPECTED_DROPPED"
    created = {r["LogicalResourceId"] for r in stack.cfn.list_stack_resources(StackName=stack.name)["StackResourceSummaries"]}
    assert {
        "ReferralsTable", "RouterDeadLetterQueue", "IntakeFunction", "IntakeFunctionRole", "RouterFunction",
        "RouterFunctionRole", "RouterFunctionNewReferral", "SiteBucket", "AlertTopic",
        "OutcomesFunction", "OutcomesFunctionRole", "RemindersFunction", "RemindersFunctionRole",
        "RemindersFunctionWeekdaysRole",  # the role EventBridge Scheduler invokes the function with
    } <= created
    outputs = stack.outputs()
    assert outputs["SiteUrl"] == f"https://{PARAMETERS['DomainName']}/"
    assert outputs["TableName"] == stack.physical_id("ReferralsTable")


def test_stack_table_has_the_keys_storage_writes(stack):
    """The table CloudFormation created has hub.storage's key schema and index (not the template read twice)."""
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=stack.physical_id("ReferralsTable"))["Table"]
    assert {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]} == {
        "HASH": storage.PARTITION_KEY, "RANGE": storage.SORT_KEY,
    }
    assert {g["IndexName"]: tuple(k["AttributeName"] for k in g["KeySchema"]) for g in table["GlobalSecondaryIndexes"]} == storage.INDEXES
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_stack_maps_the_stream_to_the_router_with_a_dead_letter_queue(stack):
    lam = boto3.client("lambda", region_name=REGION)
    (mapping,) = lam.list_event_source_mappings(FunctionName=stack.physical_id("RouterFunction"))["EventSourceMappings"]
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=stack.physical_id("ReferralsTable"))["Table"]
    assert mapping["EventSourceArn"] == table["LatestStreamArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    queue_arn = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.physical_id("RouterDeadLetterQueue"), AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    assert tuple(json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]) == ROUTER_FILTERS


FUNCTIONS = {
    "IntakeFunction": "intake.app.lambda_handler",
    "RouterFunction": "router.app.lambda_handler",
    "OutcomesFunction": "outcomes.app.lambda_handler",
    "RemindersFunction": "reminders.app.lambda_handler",
}


@pytest.mark.parametrize("logical_id, handler", FUNCTIONS.items())
def test_stack_functions_are_configured(stack, logical_id, handler):
    from hub.settings import Settings, load_settings

    config = boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName=stack.physical_id(logical_id))
    assert config["Handler"] == handler
    assert config["Runtime"] == "python3.12"  # (moto's CloudFormation drops Architectures; see test_template)
    variables = config["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == stack.physical_id("ReferralsTable")
    assert {name for name, needed in Settings.variables().items() if needed} <= set(variables)
    load_settings(variables)  # the handlers' own validation accepts what the stack sets


# --- the real handlers against the stack's table ------------------------------------------------


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class ApiCalls:
    """Records the IAM action of every AWS call made inside ``recording()``."""

    def __init__(self, monkeypatch):
        from botocore.client import BaseClient

        self.actions: set[str] = set()
        self._on = False
        original = BaseClient._make_api_call
        calls = self

        def recording_call(client, operation_name, api_params):
            if calls._on:
                calls.actions.add(f"{client.meta.service_model.signing_name}:{operation_name}")
            return original(client, operation_name, api_params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording_call)

    @contextlib.contextmanager
    def recording(self):
        self.actions.clear()
        self._on = True
        try:
            yield self.actions
        finally:
            self._on = False


def role_actions(stack, logical_id: str) -> set[str]:
    """Allowed actions in the inline policies of the role the stack created for a function."""
    iam = boto3.client("iam", region_name=REGION)
    role = stack.physical_id(f"{logical_id}Role")
    actions = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            # moto's CloudFormation stores an inline policy as the Python repr of the dict
            document = json.loads(document) if document.startswith('{"') else ast.literal_eval(document)
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                action = statement["Action"]
                actions.update(action if isinstance(action, list) else [action])
    return actions


def fresh_import(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def handlers_env(stack, monkeypatch, tmp_path):
    """The environment the stack gave the functions, as a cold start would see it."""
    lam = boto3.client("lambda", region_name=REGION)
    for logical_id in FUNCTIONS:
        variables = lam.get_function_configuration(FunctionName=stack.physical_id(logical_id))["Environment"]["Variables"]
        for key, value in variables.items():
            monkeypatch.setenv(key, value)
    # The outcome link key: a SecureString CloudFormation cannot create (`cchcc keys ensure` does).
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=PARAMETERS.get("OutcomeLinkKeyName", "/cchcc-hub/outcome-link-key"), Type="SecureString", Value="k" * 43
    )
    # Deployed: programme.yml in the task root, where functions/Makefile puts it.
    for name in ("CCHCC_PROGRAMME_FILE", "CCHCC_CAMPAIGNS_FILE", "CCHCC_THANKS_PAGE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "programme.yml").write_bytes(PROGRAMME.read_bytes())
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    # Lambda's mapping would run the function; moto would run its code in Docker. The test
    # plays the mapping instead (below), so detach moto's own delivery from the table.
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"][REGION].get_table(stack.physical_id("ReferralsTable"))
    table.lambda_event_source_mappings.clear()
    from hub.config import load_programme

    sender = str(load_programme(PROGRAMME).programme.sender_email)
    assert sender == PARAMETERS["SenderEmail"]
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=sender.split("@", 1)[1])
    yield
    for name in ("intake.app", "router.app", "outcomes.app", "reminders.app"):  # later tests import their own
        sys.modules.pop(name, None)


def read_stream(stack, after: str | None = None) -> list[dict[str, Any]]:
    """Every record on the table's stream (after a sequence number), shaped as Lambda delivers them."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    # botocore >= 1.40 sends stream calls to <account>.streams-ddb.<region>, which moto 5.2
    # does not route yet; the classic endpoint reaches the same moto backend.
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
    arn = ddb.describe_table(TableName=stack.physical_id("ReferralsTable"))["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        kwargs = {"StreamArn": arn, "ShardId": shard["ShardId"]}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = streams.get_shard_iterator(**kwargs)["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=100)
            for record in page["Records"]:
                records.append({**lambda_json(record), "awsRegion": REGION, "eventSourceARN": arn})
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def test_real_handlers_store_route_and_notify_through_the_stack(stack, handlers_env, monkeypatch):
    """Given the stack moto created, when a referral is posted to the real intake handler and
    the stream is delivered (through the template's filter) to the real router handler, then
    the referral is in the stack's table, routed, a spoke is emailed, and every AWS call each
    handler made is allowed by the role the stack gave it."""
    calls = ApiCalls(monkeypatch)
    ddb = boto3.client("dynamodb", region_name=REGION)
    table_name = stack.physical_id("ReferralsTable")
    event = json.loads((ROOT / "tests" / "events" / "intake_json.json").read_text(encoding="utf-8"))

    intake = fresh_import("intake.app")
    context = LambdaContext(stack.physical_id("IntakeFunction"))
    with calls.recording() as intake_actions:
        response = intake.lambda_handler(event, context)
    assert response["statusCode"] == 201, response.get("body")
    reference = json.loads(response["body"])["reference"]
    item = ddb.get_item(TableName=table_name, Key={"pk": {"S": f"REF#{reference}"}, "sk": {"S": "REFERRAL"}})["Item"]
    assert item["reference"]["S"] == reference and "expires_at" in item
    assert intake_actions and intake_actions <= role_actions(stack, "IntakeFunction"), intake_actions

    records = read_stream(stack)
    delivered = [r for r in records if filters.passes(ROUTER_FILTERS, r)]
    assert len(records) > len(delivered) == 1  # idempotency records are written but never delivered
    assert delivered[0]["dynamodb"]["Keys"]["pk"]["S"] == f"REF#{reference}"

    router = fresh_import("router.app")
    context = LambdaContext(stack.physical_id("RouterFunction"))
    with calls.recording() as router_actions:
        result = router.lambda_handler({"Records": delivered}, context)
    assert result == {"batchItemFailures": []}
    assert "ses:SendEmail" in router_actions
    assert router_actions <= role_actions(stack, "RouterFunction"), router_actions - role_actions(stack, "RouterFunction")

    assignments = ddb.query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
        ExpressionAttributeValues={":pk": {"S": f"REF#{reference}"}, ":a": {"S": "ASSIGN#"}},
    )["Items"]
    assert assignments, "the router wrote no assignment"
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"][REGION].sent_messages
    assert len(sent) >= 1

    # What the router wrote itself never comes back to it.
    later = read_stream(stack, after=records[-1]["dynamodb"]["SequenceNumber"])
    assert later and not any(filters.passes(ROUTER_FILTERS, r) for r in later)

    # The spoke opens its link and refers the person on; the router hands the referral over;
    # the reminders run. Each within the role the stack gave it.
    [notification] = [m for m in sent if "New referral" in m.subject]
    token = re.search(r"/api/outcomes/([A-Za-z0-9._-]+)", notification.body).group(1)
    outcomes = fresh_import("outcomes.app")
    outcome_event = {**event, "routeKey": "POST /api/outcomes/{token}", "rawPath": f"/api/outcomes/{token}",
                     "pathParameters": {"token": token}, "body": json.dumps({"refer_to": "lcc-employment-skills"})}
    outcome_event["requestContext"] = {**event["requestContext"], "routeKey": "POST /api/outcomes/{token}",
                                       "http": {**event["requestContext"]["http"], "path": f"/api/outcomes/{token}"}}
    outcome_context = LambdaContext(stack.physical_id("OutcomesFunction"))
    with calls.recording() as outcome_actions:
        answer = outcomes.lambda_handler(outcome_event, outcome_context)
    assert answer["statusCode"] == 200, answer.get("body")
    assert outcome_actions <= role_actions(stack, "OutcomesFunction"), outcome_actions

    handover = [r for r in read_stream(stack, after=later[-1]["dynamodb"]["SequenceNumber"]) if filters.passes(ROUTER_FILTERS, r)]
    assert len(handover) == 1
    with calls.recording() as handover_actions:
        assert router.lambda_handler({"Records": handover}, context) == {"batchItemFailures": []}
    assert handover_actions <= role_actions(stack, "RouterFunction"), handover_actions
    assert any("referred to you" in m.subject for m in sent)

    reminders = fresh_import("reminders.app")
    with calls.recording() as reminder_actions:
        due = datetime.now(UTC) + timedelta(days=30)
        counts = reminders.lambda_handler({"at": due.strftime("%Y-%m-%dT09:00:00Z")}, LambdaContext("reminders"))
    assert counts["day"] and reminder_actions <= role_actions(stack, "RemindersFunction"), reminder_actions
    if counts["working_day"]:
        assert counts["reminders_sent"] == 1 and "ses:SendEmail" in reminder_actions


def test_real_intake_handler_serves_the_thanks_page_without_any_aws_call(stack, handlers_env, monkeypatch, tmp_path):
    """GET /thanks/ (the template's second intake route) needs no permission: it only reads the
    thanks page shipped in the artifact and fills in the reference."""
    from hub.thanks import reference_box

    page = tmp_path / "thanks.html"
    page.write_text(f"<!doctype html><title>Thank you</title>{reference_box()}", encoding="utf-8")
    monkeypatch.setenv("CCHCC_THANKS_PAGE", str(page))
    calls = ApiCalls(monkeypatch)
    event = json.loads((ROOT / "tests" / "events" / "intake_json.json").read_text(encoding="utf-8"))
    event.update(routeKey="GET /thanks/", rawPath="/thanks/", rawQueryString="ref=ACDE-3467",
                 queryStringParameters={"ref": "ACDE-3467"}, body=None, isBase64Encoded=False)
    event["requestContext"]["http"].update(method="GET", path="/thanks/")
    event["requestContext"]["routeKey"] = "GET /thanks/"

    intake = fresh_import("intake.app")
    context = LambdaContext(stack.physical_id("IntakeFunction"))
    with calls.recording() as actions:
        response = intake.lambda_handler(event, context)
    assert response["statusCode"] == 200
    assert "data-cc-reference-value>ACDE-3467</p>" in response["body"]
    assert actions == set()
