"""infra/template.yaml: lint, translation, and what the design promises of it.

Each test reads the SAM template (``sam_template``) or its CloudFormation
translation by aws-sam-translator (``translated``); no AWS account is used.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys

import pytest

from cchcc.local import filters
from cchcc.local.template import Template
from hub import storage
from tests.conftest import TEMPLATE
from tests.infra.conftest import PARAMETERS, ROOT, resources_of_type

FUNCTIONS = ROOT / "functions"
CSP_DEFAULTS = {"CspScriptHashes": "", "CspInlineStyles": "no"}


# --- lint and translation -------------------------------------------------------------------


def test_cfn_lint_reports_nothing():
    """Given the template, when cfn-lint checks it (with the SAM transform), then no errors or warnings."""
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, ManualArgs(regions=["eu-west-2"]))
    problems = [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches if m.rule.severity != "informational"]
    assert problems == []


def test_translates_to_the_expected_cloudformation(translated):
    kinds = {v["Type"] for v in translated["Resources"].values()}
    assert {
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::CloudFront::Distribution",
        "AWS::CloudWatch::Alarm",
        "AWS::Budgets::Budget",
    } <= kinds
    assert not any(k.startswith("AWS::Serverless::") for k in kinds)


# --- the table is the local stack's table ----------------------------------------------------


def test_table_has_the_key_schema_storage_writes(translated):
    """The deployed table has the keys, index and TTL attribute hub.storage declares (its own constants,
    not a second reading of this template), so what the functions write is what the table indexes."""
    table = translated["Resources"]["ReferralsTable"]
    props = table["Properties"]
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    assert keys == {"HASH": storage.PARTITION_KEY, "RANGE": storage.SORT_KEY}
    indexes = {
        g["IndexName"]: tuple(k["AttributeName"] for k in g["KeySchema"]) for g in props["GlobalSecondaryIndexes"]
    }
    assert indexes == storage.INDEXES
    declared = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    keys = (storage.PARTITION_KEY, storage.SORT_KEY, *(k for pair in storage.INDEXES.values() for k in pair))
    assert declared == {name: "S" for name in keys}
    projections = {g["IndexName"]: g["Projection"]["ProjectionType"] for g in props["GlobalSecondaryIndexes"]}
    # the reminders need only the keys (the report's month index, gsi3, all); so does finding a person (gsi4: email, gsi5: phone hashes)
    assert projections == {"gsi1": "ALL", "gsi2": "KEYS_ONLY", "gsi3": "ALL", "gsi4": "KEYS_ONLY", "gsi5": "KEYS_ONLY"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": storage.TTL_ATTRIBUTE, "Enabled": True}
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"  # the filter reads NewImage
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


# --- functions ---------------------------------------------------------------------------------


def _functions(translated):
    return resources_of_type(translated, "AWS::Lambda::Function")


FUNCTION_IDS = [
    "IntakeFunction", "RouterFunction", "OutcomesFunction", "RemindersFunction", "CmsAuthFunction", "ScansFunction",
]


def test_every_function_exists_on_python_312_arm64(translated):
    functions = _functions(translated)
    assert set(functions) == set(FUNCTION_IDS)
    for props in (f["Properties"] for f in functions.values()):
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert 128 <= props["MemorySize"] <= 512  # cost: small is enough for this work
        assert props["Timeout"] <= 60


def test_every_required_setting_is_set_for_each_function(translated):
    """Every variable the settings model requires is in each function's environment."""
    from hub.settings import Settings

    required = [name for name, needed in Settings.variables().items() if needed]
    assert required
    for name, function in _functions(translated).items():
        variables = function["Properties"]["Environment"]["Variables"]
        missing = [v for v in required if v not in variables]
        assert missing == [], f"{name} lacks {missing}"
        assert variables["TABLE_NAME"] == {"Ref": "ReferralsTable"}
        assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"  # events carry personal data
        for key in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"):
            assert key in variables, f"{name} lacks {key}"


def test_env_vars_the_template_sets_are_ones_the_code_reads(translated):
    """No stale variable: each non-Powertools variable is one the settings model reads."""
    from hub.settings import Settings

    known = set(Settings.variables())
    for function in _functions(translated).values():
        for key in function["Properties"]["Environment"]["Variables"]:
            assert key.startswith("POWERTOOLS_") or key in known, key


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_handler_path_exists(sam_template, logical_id):
    """Handler `intake.app.lambda_handler` -> functions/intake/app.py defines lambda_handler."""
    handler = sam_template["Resources"][logical_id]["Properties"]["Handler"]
    module, function = handler.rsplit(".", 1)
    path = FUNCTIONS / (module.replace(".", "/") + ".py")
    if not path.exists():
        pytest.fail(f"{handler}: {path.relative_to(ROOT)} does not exist (yet)")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert function in names, f"{path.relative_to(ROOT)} defines no {function}()"


def test_functions_are_built_by_the_makefile_from_functions_folder(sam_template):
    for logical_id in FUNCTION_IDS:
        resource = sam_template["Resources"][logical_id]
        assert resource["Properties"]["CodeUri"] == "../functions"
        assert resource["Metadata"]["BuildMethod"] == "makefile"
        makefile = (FUNCTIONS / "Makefile").read_text(encoding="utf-8")
        assert re.search(rf"^build-{logical_id}:", makefile, re.M), f"functions/Makefile lacks build-{logical_id}"


# --- IAM ---------------------------------------------------------------------------------------


def _policy_documents(translated):
    """(where, document) for every inline policy, bucket/queue/topic policy in the stack."""
    for logical_id, resource in translated["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical_id, props["PolicyDocument"]
        elif resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield logical_id, props["PolicyDocument"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_no_wildcard_actions_are_allowed(translated):
    """Allow statements name their actions. (A Deny may use s3:* — it only takes away.)"""
    documents = list(_policy_documents(translated))
    assert len(documents) >= 3
    for where, document in documents:
        for statement in _as_list(document["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement, where
            for action in _as_list(statement["Action"]):
                assert "*" not in action, f"{where}: wildcard action {action}"
            for resource in _as_list(statement.get("Resource", [])):
                assert resource != "*", f"{where}: Allow on every resource"


def test_only_the_aws_execution_role_policies_are_attached(translated):
    allowed = {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",  # stream read for the ESM
    }
    for name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        arns = {json.dumps(a) if not isinstance(a, str) else a for a in role["Properties"].get("ManagedPolicyArns", [])}
        assert arns <= allowed, f"{name}: {arns - allowed}"


def _role_actions(translated, function):
    role = translated["Resources"][f"{function}Role"]["Properties"]
    return {
        action
        for policy in role.get("Policies", [])
        for statement in _as_list(policy["PolicyDocument"]["Statement"])
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }


def test_intake_may_only_read_and_write_items(translated):
    assert _role_actions(translated, "IntakeFunction") == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "ssm:GetParameter",
    }


def test_router_may_send_only_from_the_sender_identity(translated):
    actions = _role_actions(translated, "RouterFunction")
    assert "ses:SendEmail" in actions and "sqs:SendMessage" in actions
    assert not {"dynamodb:Scan", "dynamodb:DeleteItem", "ses:SendRawEmail"} & actions
    statements = [
        s
        for p in translated["Resources"]["RouterFunctionRole"]["Properties"]["Policies"]
        for s in _as_list(p["PolicyDocument"]["Statement"])
        if "ses:SendEmail" in _as_list(s["Action"])
    ]
    resources = json.dumps([s["Resource"] for s in statements])
    assert "identity/${SenderEmail}" in resources and "identity/${SenderDomain}" in resources


# --- HTTP API ----------------------------------------------------------------------------------


def test_post_referrals_route_goes_to_the_intake_function(translated):
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    integration = body["paths"]["/api/referrals"]["post"]["x-amazon-apigateway-integration"]
    assert "${IntakeFunction.Arn}" in integration["uri"]["Fn::Sub"]
    assert integration["payloadFormatVersion"] == "2.0"
    assert set(body["paths"]) == {"/api/referrals", "/thanks/", "/api/outcomes/{token}", "/api/cms-auth/auth",
                                  "/api/cms-auth/callback", "/q/{proxy+}"}


def test_get_thanks_route_goes_to_the_intake_function(translated):
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    assert set(body["paths"]["/thanks/"]) == {"get"}
    integration = body["paths"]["/thanks/"]["get"]["x-amazon-apigateway-integration"]
    assert "${IntakeFunction.Arn}" in integration["uri"]["Fn::Sub"]
    assert integration["payloadFormatVersion"] == "2.0"


def test_outcome_links_go_to_the_outcomes_function(translated):
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    assert set(body["paths"]["/api/outcomes/{token}"]) == {"get", "post"}
    for method in ("get", "post"):
        integration = body["paths"]["/api/outcomes/{token}"][method]["x-amazon-apigateway-integration"]
        assert "${OutcomesFunction.Arn}" in integration["uri"]["Fn::Sub"]
        assert integration["payloadFormatVersion"] == "2.0"


def _statements(translated, function):
    role = translated["Resources"][f"{function}Role"]["Properties"]
    return [s for p in role.get("Policies", []) for s in _as_list(p["PolicyDocument"]["Statement"]) if s["Effect"] == "Allow"]


KEY_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${OutcomeLinkKeyName}"


@pytest.mark.parametrize("function", ["RouterFunction", "OutcomesFunction", "RemindersFunction"])
def test_functions_that_make_or_check_links_read_only_the_link_key(translated, sam_template, function):
    reading = [s for s in _statements(translated, function) if "ssm:GetParameter" in _as_list(s["Action"])]
    assert [(_as_list(s["Action"]), s["Resource"]) for s in reading] == [(["ssm:GetParameter"], {"Fn::Sub": KEY_ARN})]
    variables = translated["Resources"][function]["Properties"]["Environment"]["Variables"]
    assert variables["OUTCOME_LINK_KEY_PARAMETER"] == {"Ref": "OutcomeLinkKeyName"}
    # The key is a SecureString CloudFormation cannot create: the template lists it for `cchcc keys`.
    [listed] = [p for p in Template.load(TEMPLATE).secure_parameters() if p.template_parameter == "OutcomeLinkKeyName"]
    assert listed.generate == "key"
    assert listed.name == sam_template["Parameters"]["OutcomeLinkKeyName"]["Default"]


def test_intake_never_reads_the_link_key(translated):
    """The intake reads one parameter: the person hash key (hub.lookup), never the link key."""
    reading = [s for s in _statements(translated, "IntakeFunction") if "ssm:" in json.dumps(s)]
    person_arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${PersonHashKeyName}"
    assert [(_as_list(s["Action"]), s["Resource"]) for s in reading] == [(["ssm:GetParameter"], {"Fn::Sub": person_arn})]
    variables = translated["Resources"]["IntakeFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PERSON_HASH_KEY_PARAMETER"] == {"Ref": "PersonHashKeyName"}
    assert "OUTCOME_LINK_KEY_PARAMETER" not in variables


def test_outcomes_may_only_read_a_referral_and_append_items(translated):
    assert _role_actions(translated, "OutcomesFunction") == {"dynamodb:Query", "dynamodb:PutItem", "ssm:GetParameter"}
    [table] = [s for s in _statements(translated, "OutcomesFunction") if "dynamodb:PutItem" in _as_list(s["Action"])]
    assert table["Resource"] == {"Fn::GetAtt": ["ReferralsTable", "Arn"]}  # no index, no scan


def test_reminders_query_only_the_awaiting_index_and_send_only_as_the_sender(translated):
    statements = _statements(translated, "RemindersFunction")
    [query] = [s for s in statements if "dynamodb:Query" in _as_list(s["Action"])]
    assert _as_list(query["Action"]) == ["dynamodb:Query"]
    assert query["Resource"] == {"Fn::Sub": "${ReferralsTable.Arn}/index/gsi2"}  # never the table itself
    actions = _role_actions(translated, "RemindersFunction")
    assert not {"dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem", "ses:SendRawEmail"} & actions
    [ses] = [s for s in statements if "ses:SendEmail" in _as_list(s["Action"])]
    assert "identity/${SenderEmail}" in json.dumps(ses["Resource"])


def test_reminders_run_on_weekdays_at_nine_london_time_with_the_scheduled_time(translated):
    schedules = resources_of_type(translated, "AWS::Scheduler::Schedule")
    [schedule] = schedules.values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    assert props["ScheduleExpressionTimezone"] == "Europe/London"
    assert props["Target"]["Arn"] == {"Fn::GetAtt": ["RemindersFunction", "Arn"]}
    assert json.loads(props["Target"]["Input"]) == {"at": "<aws.scheduler.scheduled-time>"}
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    [invoke] = resources_of_type(translated, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["MaximumRetryAttempts"] == 2  # a failed digest is retried (never doubled)
    # The local stack reads the same schedule.
    [trigger] = Template.load(TEMPLATE).functions()["RemindersFunction"].schedules
    assert (trigger.expression, trigger.timezone, trigger.retry_attempts) == (
        "cron(0 9 ? * MON-FRI *)", "Europe/London", 2)


def test_cors_allows_the_site_origin_only(translated):
    cors = translated["Resources"]["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]
    assert json.dumps(cors["allowOrigins"]) == json.dumps([{"Fn::Sub": f"https://{PARAMETERS['DomainName']}"}])
    assert "*" not in json.dumps(cors)


def test_stage_is_throttled(translated):
    (stage,) = resources_of_type(translated, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert 0 < settings["ThrottlingRateLimit"] <= 50
    assert 0 < settings["ThrottlingBurstLimit"] <= 100


# --- router stream trigger ---------------------------------------------------------------------


def test_stream_mapping_reports_partial_failures_bisects_and_dead_letters(translated):
    mapping = translated["Resources"]["RouterFunctionNewReferral"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["ReferralsTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 86400
    assert mapping["StartingPosition"] in ("TRIM_HORIZON", "LATEST")
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["RouterDeadLetterQueue", "Arn"]}
    assert translated["Resources"]["RouterDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


def _records(name):
    return json.loads((ROOT / "tests" / "events" / name).read_text(encoding="utf-8"))["Records"]


PREDICATES = (storage.new_referral_reference, storage.new_outcome, storage.new_handover, storage.new_erasure)


def test_stream_filter_passes_exactly_what_the_predicates_name():
    """Given the sample stream events, the template's filter (run by the one matcher, as the local
    stack runs it) lets through exactly the records one of hub.storage's predicates names: a new
    referral, a new outcome, a new handover or a new erasure notice; and each pattern lets through one kind."""
    [router] = [f for f in Template.load(TEMPLATE).functions().values() if f.streams]
    patterns = router.streams[0].filters
    assert len(patterns) == len(PREDICATES), "one pattern per kind of stream item"
    records = (_records("stream_insert_referral.json") + _records("stream_insert_outcome_and_handover.json")
               + _records("stream_insert_erasure.json") + _records("stream_ignored_records.json"))
    for record in records:
        keys = storage.from_item(record["dynamodb"]["Keys"])
        named = [p.__name__ for p in PREDICATES if p(record["eventName"], keys) is not None]
        matched = [i for i, pattern in enumerate(patterns) if filters.matches(pattern, record)]
        assert len(named) == len(matched) <= 1, (record["dynamodb"]["Keys"], named, matched)
        assert filters.passes(patterns, record) == bool(named), record["dynamodb"]["Keys"]
    for predicate in PREDICATES:  # every kind has a sample record that passes
        assert any(predicate(r["eventName"], storage.from_item(r["dynamodb"]["Keys"])) for r in records), predicate
    assert not all(filters.passes(patterns, r) for r in records)


# --- site --------------------------------------------------------------------------------------


def test_site_bucket_is_private_encrypted_and_kept(translated):
    bucket = translated["Resources"]["SiteBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"][k] is True for k in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    policy = translated["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
            assert "${Distribution}" in json.dumps(statement["Condition"])  # this distribution only


def _distribution(translated):
    return translated["Resources"]["Distribution"]["Properties"]["DistributionConfig"]


def test_distribution_is_https_only_with_modern_tls(translated):
    config = _distribution(translated)
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert all(b["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only") for b in behaviours)
    site = next(o for o in config["Origins"] if o["Id"] == "site")
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    # Every public path has the strict headers; only the editor and its sign-in have their own.
    own = {"/admin/*": "AdminHeadersPolicy", "/api/cms-auth/*": "EditorAuthHeadersPolicy"}
    for b in behaviours:
        assert b["ResponseHeadersPolicyId"] == {"Ref": own.get(b.get("PathPattern"), "SecurityHeadersPolicy")}, b.get("PathPattern")


def test_api_path_goes_uncached_to_the_http_api(translated):
    config = _distribution(translated)
    api = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*")
    origin = next(o for o in config["Origins"] if o["Id"] == api["TargetOriginId"])
    assert "${HttpApi}.execute-api" in origin["DomainName"]["Fn::Sub"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    forwarded = translated["Resources"]["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    headers = {h.lower() for h in forwarded["HeadersConfig"]["Headers"]}
    assert {"content-type", "origin"} <= headers and "host" not in headers
    assert forwarded["CookiesConfig"]["CookieBehavior"] == "none"


def test_outcome_pages_go_uncached_to_the_api_and_keep_their_no_referrer(translated, sam_template):
    """/api/outcomes/<token> is served by the first behaviour that matches (as CloudFront and the
    local stack pick): the API, uncached, with Accept forwarded (a GET may ask for JSON). The
    response headers policy must not replace the function's Referrer-Policy: no-referrer."""
    config = _distribution(translated)
    behaviours = Template.load(TEMPLATE).behaviours()
    first = next(b for b in behaviours if b.matches("/api/outcomes/HX4K-9TMR.cchcc.1767225600.sig"))
    assert (first.pattern, first.origins) == ("/api/*", ("api",))
    api = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*")
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    forwarded = translated["Resources"]["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert "accept" in {h.lower() for h in forwarded["HeadersConfig"]["Headers"]}
    policy = sam_template["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    assert policy["SecurityHeadersConfig"]["ReferrerPolicy"]["Override"] is False


def test_thanks_page_goes_uncached_with_its_query_string_to_the_http_api(translated):
    """/thanks/?ref=... reaches the intake function (which fills in the reference); nothing else under /thanks/ does."""
    config = _distribution(translated)
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    thanks = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/thanks/")
    assert not any(p.startswith("/thanks") and p != "/thanks/" for p in patterns)
    assert thanks["TargetOriginId"] == "api"
    assert thanks["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert thanks["OriginRequestPolicyId"] == {"Ref": "ApiOriginRequestPolicy"}
    forwarded = translated["Resources"]["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert forwarded["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    assert set(thanks["AllowedMethods"]) == {"GET", "HEAD"}
    assert "FunctionAssociations" not in thanks  # no rewrite to /thanks/index.html


def test_placement_redirects_and_pages_come_from_the_bucket(translated):
    config = _distribution(translated)
    q = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/q/*")
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    (group,) = config["OriginGroups"]["Items"]
    assert q["TargetOriginId"] == group["Id"]  # the scans function, then the bucket (test_scans_* below)
    for behaviour in (q, config["DefaultCacheBehavior"]):
        (association,) = behaviour["FunctionAssociations"]
        assert association["EventType"] == "viewer-request"
        assert association["FunctionARN"]["Fn::GetAtt"][0] == "DirectoryIndexFunction"
    assert config["CustomErrorResponses"] == [
        {"ErrorCode": 404, "ResponseCode": 404, "ResponsePagePath": "/404.html", "ErrorCachingMinTTL": 60}
    ]


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("/", "/index.html"),
        ("/campaigns/harehills-spring/", "/campaigns/harehills-spring/index.html"),
        ("/q/harehills-library", "/q/harehills-library/index.html"),  # what the QR codes encode
        ("/q/harehills-library/", "/q/harehills-library/index.html"),
        ("/assets/stylesheets/main.css", "/assets/stylesheets/main.css"),
        ("/print/harehills-library/poster.pdf", "/print/harehills-library/poster.pdf"),
        ("/404.html", "/404.html"),
    ],
)
def test_directory_index_function(sam_template, uri, expected):
    """Run the CloudFront Function's JavaScript with Node on a viewer request."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed; the CloudFront Function's JavaScript cannot be run here")
    code = sam_template["Resources"]["DirectoryIndexFunction"]["Properties"]["FunctionCode"]
    script = code + f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);"
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout == expected


# --- security headers ----------------------------------------------------------------------


def evaluate(node, parameters, conditions):
    """Resolve the intrinsics a header value uses (Join, If, Sub, Ref) for given parameters."""
    if isinstance(node, dict):
        (key, value), = node.items()
        if key == "Fn::Join":
            return value[0].join(evaluate(v, parameters, conditions) for v in value[1])
        if key == "Fn::If":
            name, yes, no = value
            return evaluate(yes if conditions[name] else no, parameters, conditions)
        if key == "Fn::Sub":
            return re.sub(r"\$\{(\w+)\}", lambda m: parameters[m.group(1)], value)
        if key == "Ref":
            return parameters[value]
        raise AssertionError(f"unexpected intrinsic {key}")
    return node


def _csp(sam_template, **parameters):
    params = {**CSP_DEFAULTS, **parameters}
    conditions = {
        "HasScriptHashes": params["CspScriptHashes"] != "",
        "AllowInlineStyles": params["CspInlineStyles"] == "yes",
    }
    config = sam_template["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    value = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    text = evaluate(value, params, conditions)
    directives = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, *sources = part.split()
        directives[name] = sources
    return text, directives


FIRST_PARTY = re.compile(r"^('self'|'none'|'unsafe-inline'|data:|'sha256-[A-Za-z0-9+/]{43}=')$")


@pytest.mark.parametrize(
    "parameters",
    [{}, {"CspScriptHashes": "'sha256-" + "A" * 43 + "=' 'sha256-" + "B" * 43 + "='", "CspInlineStyles": "yes"}],
)
def test_csp_allows_no_third_party_source(sam_template, parameters):
    text, directives = _csp(sam_template, **parameters)
    assert len(text) < 1783  # CloudFront's limit for this header
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    for name in ("script-src", "connect-src", "form-action", "img-src", "style-src", "base-uri"):
        assert name in directives
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in text
    for name, sources in directives.items():
        for source in sources:
            assert FIRST_PARTY.match(source), f"{name} allows {source}"


def test_csp_parameters_accept_only_hashes(sam_template):
    parameter = sam_template["Parameters"]["CspScriptHashes"]
    pattern = parameter["AllowedPattern"]
    good = "'sha256-" + "x" * 43 + "='"
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, good) and re.fullmatch(pattern, f"{good} {good}")
    for bad in ("https://cdn.example.com", "*", "'unsafe-inline'", f"{good} https:", "data:"):
        assert not re.fullmatch(pattern, bad), bad
    assert sam_template["Parameters"]["CspInlineStyles"]["AllowedValues"] == ["no", "yes"]


def test_security_headers(sam_template):
    config = sam_template["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ReferrerPolicy"]["ReferrerPolicy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    custom = {h["Header"]: h["Value"] for h in config["CustomHeadersConfig"]["Items"]}
    assert "camera=()" in custom["Permissions-Policy"] and "geolocation=()" in custom["Permissions-Policy"]


# --- alarms, budget, outputs ---------------------------------------------------------------


def test_alarms_watch_the_dead_letter_queue_errors_throttles_5xx_and_floods(translated):
    alarms = resources_of_type(translated, "AWS::CloudWatch::Alarm").values()
    watched = set()
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlertTopic"}]
        assert props["TreatMissingData"] == "notBreaching" and props["ComparisonOperator"] == "GreaterThanThreshold"
        (dimension,) = props["Dimensions"]
        value = dimension["Value"]
        target = value if isinstance(value, str) else value.get("Ref") or value["Fn::GetAtt"][0]
        watched.add((props["Namespace"], props["MetricName"], target, props["Threshold"]))
    assert watched == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "RouterDeadLetterQueue", 0),
        ("AWS/Lambda", "Errors", "IntakeFunction", 0),
        ("AWS/Lambda", "Errors", "RouterFunction", 0),
        ("AWS/Lambda", "Errors", "OutcomesFunction", 0),
        ("AWS/Lambda", "Errors", "RemindersFunction", 0),
        ("AWS/Lambda", "Throttles", "IntakeFunction", 0),
        ("AWS/Lambda", "Throttles", "RouterFunction", 0),
        # Answers the function gives rather than raises (store outage, bug): its own metric.
        ("CCHCC", "ServerErrors", "intake", 0),
        # The HTTP API's own 5xx (timeouts, crashes, throttling), keyed by the API's id.
        ("AWS/ApiGateway", "5xx", "HttpApi", 0),
        ("CCHCC", "Submission_limited", "intake", 20),
    }


def test_custom_metric_alarms_use_the_namespace_the_functions_publish_to(translated, sam_template):
    namespace = sam_template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    custom = [a["Properties"] for a in resources_of_type(translated, "AWS::CloudWatch::Alarm").values()
              if not a["Properties"]["Namespace"].startswith("AWS/")]
    assert custom and {p["Namespace"] for p in custom} == {namespace}
    # Powertools' service dimension only: nothing about a person can be a dimension.
    assert {d["Name"] for p in custom for d in p["Dimensions"]} == {"service"}
    topic = translated["Resources"]["AlertTopic"]["Properties"]
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlertEmail"}}]


def test_monthly_budget_warns_at_80_percent_actual_and_100_forecast(translated):
    budget = translated["Resources"]["MonthlyBudget"]
    assert budget["Condition"] == "CreateBudget"
    props = budget["Properties"]
    assert props["Budget"]["TimeUnit"] == "MONTHLY" and props["Budget"]["BudgetType"] == "COST"
    notes = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"]): n["Subscribers"]
        for n in props["NotificationsWithSubscribers"]
    }
    assert set(notes) == {("ACTUAL", 80), ("FORECASTED", 100)}
    for subscribers in notes.values():
        assert subscribers == [{"SubscriptionType": "EMAIL", "Address": {"Ref": "AlertEmail"}}]


def test_parameters_and_outputs(sam_template):
    assert {"DomainName", "CertificateArn", "SenderEmail", "AlertEmail", "MonthlyBudgetUSD"} <= set(sam_template["Parameters"])
    assert re.fullmatch(sam_template["Parameters"]["CertificateArn"]["AllowedPattern"], PARAMETERS["CertificateArn"])
    assert not re.fullmatch(
        sam_template["Parameters"]["CertificateArn"]["AllowedPattern"],
        PARAMETERS["CertificateArn"].replace("us-east-1", "eu-west-2"),
    ), "CloudFront needs a us-east-1 certificate"
    assert {"SiteUrl", "ApiUrl", "SiteBucketName", "DistributionId", "DistributionDomainName",
            "RouterDeadLetterQueueUrl"} <= set(sam_template["Outputs"])


# --- Lambda dependencies -------------------------------------------------------------------

# import name -> distribution name in functions/requirements.txt
DISTRIBUTIONS = {
    "aws_lambda_powertools": "aws-lambda-powertools",
    "pydantic": "pydantic",
    "pydantic_settings": "pydantic-settings",
    "jinja2": "jinja2",
    "yaml": "pyyaml",
    "babel": "babel",
    "email_validator": "email-validator",
    "markupsafe": "jinja2",  # comes with Jinja2
    "pydantic_core": "pydantic",  # comes with pydantic
    "holidays": "holidays",
}
IN_LAMBDA_RUNTIME = {"boto3", "botocore"}  # the python3.12 runtime ships them (pinning is optional)
LOCAL = {"hub", "edge", "intake", "router", "outcomes", "reminders"}


def _imported_top_level_modules() -> set[str]:
    names = set()
    for path in FUNCTIONS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _requirements() -> set[str]:
    path = FUNCTIONS / "requirements.txt"
    if not path.exists():
        pytest.fail("functions/requirements.txt does not exist (yet)")
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name = re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower().replace("_", "-")
            names.add(name)
            if "[email]" in line:
                names.add("email-validator")
    return names


def test_requirements_cover_what_the_functions_import():
    third_party = _imported_top_level_modules() - set(sys.stdlib_module_names) - LOCAL - IN_LAMBDA_RUNTIME - {"__future__"}
    unknown = third_party - set(DISTRIBUTIONS)
    assert unknown == set(), f"imports with no known distribution: {unknown} (add them to DISTRIBUTIONS and requirements)"
    requirements = _requirements()
    needed = {DISTRIBUTIONS[m] for m in third_party}
    uses_email_str = any("EmailStr" in p.read_text(encoding="utf-8") for p in FUNCTIONS.rglob("*.py"))
    if uses_email_str:
        needed.add("email-validator")
    assert needed - requirements == set()
    assert {"aws-lambda-powertools", "pydantic", "jinja2", "pyyaml"} <= requirements


def test_deploy_budgets_enough_room_for_the_fixed_policy(sam_template):
    """`cchcc deploy` refuses hashes that would push the CSP past CloudFront's limit; its
    estimate of the policy without hashes must not be an underestimate."""
    from cchcc.ops import deploy

    text, _ = _csp(sam_template, CspInlineStyles="yes", CspScriptHashes=GOOD_HASH)
    assert len(text) - len(GOOD_HASH) + 1 <= deploy.CSP_FIXED_LENGTH
    assert deploy.CSP_MAX_LENGTH == 1783


GOOD_HASH = "'sha256-" + "A" * 43 + "='"


# --- the browser editor's sign-in (functions/cms_auth) ---------------------------------------------


def test_editor_sign_in_routes_go_to_the_cms_auth_function(translated):
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    for path in ("/api/cms-auth/auth", "/api/cms-auth/callback"):
        assert set(body["paths"][path]) == {"get"}
        integration = body["paths"][path]["get"]["x-amazon-apigateway-integration"]
        assert "${CmsAuthFunction.Arn}" in integration["uri"]["Fn::Sub"]


def test_editor_sign_in_may_only_read_its_one_secret(translated):
    assert _role_actions(translated, "CmsAuthFunction") == {"ssm:GetParameter"}
    statements = [
        s for p in translated["Resources"]["CmsAuthFunctionRole"]["Properties"]["Policies"]
        for s in _as_list(p["PolicyDocument"]["Statement"])
    ]
    assert [s["Resource"] for s in statements] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${EditorSecretParameterName}"}
    ]
    variables = translated["Resources"]["CmsAuthFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["CMS_AUTH_CLIENT_ID"] == {"Ref": "GitHubOAuthClientId"}
    assert variables["CMS_AUTH_SECRET_PARAMETER"] == {"Ref": "EditorSecretParameterName"}


def test_editor_sign_in_reaches_the_api_before_api_star_with_only_its_cookie_and_query(translated):
    config = _distribution(translated)
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    assert patterns.index("/api/cms-auth/*") < patterns.index("/api/*")  # CloudFront takes the first match
    auth = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/cms-auth/*")
    assert auth["TargetOriginId"] == "api" and auth["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    forwarded = translated["Resources"]["EditorAuthOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert forwarded["CookiesConfig"] == {"CookieBehavior": "whitelist", "Cookies": ["cchcc_cms_state"]}
    assert set(forwarded["QueryStringsConfig"]["QueryStrings"]) == {"provider", "code", "state", "error"}
    headers = translated["Resources"]["EditorAuthHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    # The function sets the page's CSP (a nonce for its one script); no COOP, so the window reaches its opener.
    assert "ContentSecurityPolicy" not in headers["SecurityHeadersConfig"] and "CustomHeadersConfig" not in headers


def test_the_editor_has_its_own_headers_and_public_pages_keep_theirs(translated):
    config = _distribution(translated)
    admin = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/admin/*")
    assert admin["TargetOriginId"] == "site"
    policy = translated["Resources"]["AdminHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    sources = re.findall(r"https://[^\s;]+", csp)
    assert sorted(sources) == ["https://api.github.com", "https://avatars.githubusercontent.com"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    coop = {h["Header"]: h["Value"] for h in policy["CustomHeadersConfig"]["Items"]}["Cross-Origin-Opener-Policy"]
    assert coop == "same-origin-allow-popups"
    public = json.dumps(translated["Resources"]["SecurityHeadersPolicy"])
    assert "github" not in public and "unsafe-eval" not in public


def test_the_local_stack_routes_the_editor_as_cloudfront_does():
    template = Template.load(TEMPLATE)
    behaviours = template.behaviours()
    first = lambda path: next(b for b in behaviours if b.matches(path)).origins  # noqa: E731
    assert first("/api/cms-auth/callback") == ("api",)
    assert first("/admin/") == ("site",) and first("/admin/cms.js") == ("site",)
    assert {r.key: r.function for r in template.routes()}["GET /api/cms-auth/auth"] == "CmsAuthFunction"


# --- QR code scans: the function first, the static redirect as failover ------------------------------


def test_scans_go_to_the_function_first_and_fail_over_to_the_static_redirect(translated):
    """/q/* targets an origin group: the scans function, then the bucket when the function errs,
    times out or does not know the id (404). Quick to give up, uncached, GET and HEAD only."""
    config = _distribution(translated)
    q = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/q/*")
    (group,) = config["OriginGroups"]["Items"]
    assert config["OriginGroups"]["Quantity"] == 1 and q["TargetOriginId"] == group["Id"]
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["scans", "site"]
    assert group["Members"]["Quantity"] == 2
    criteria = group["FailoverCriteria"]["StatusCodes"]
    assert set(criteria["Items"]) == {404, 500, 502, 503, 504} and criteria["Quantity"] == len(criteria["Items"])
    scans = next(o for o in config["Origins"] if o["Id"] == "scans")
    assert "${HttpApi}.execute-api" in scans["DomainName"]["Fn::Sub"]
    assert scans["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert scans["CustomOriginConfig"]["OriginReadTimeout"] <= 5  # a poster never hangs on the API
    assert scans["ConnectionAttempts"] == 1 and scans["ConnectionTimeout"] <= 3
    api = next(o for o in config["Origins"] if o["Id"] == "api")
    assert "OriginReadTimeout" not in api["CustomOriginConfig"]  # the form keeps CloudFront's default
    # Origin groups allow only GET, HEAD (and OPTIONS); every scan must reach the function.
    assert set(q["AllowedMethods"]) == {"GET", "HEAD"}
    assert q["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    forwarded = translated["Resources"][q["OriginRequestPolicyId"]["Ref"]]["Properties"]["OriginRequestPolicyConfig"]
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["User-Agent"]}
    assert forwarded["CookiesConfig"]["CookieBehavior"] == "none"
    assert forwarded["QueryStringsConfig"]["QueryStringBehavior"] == "none"
    (association,) = q["FunctionAssociations"]  # both origins get /q/<id>/index.html
    assert association["FunctionARN"]["Fn::GetAtt"][0] == "DirectoryIndexFunction"


def test_scan_routes_go_to_the_scans_function_for_get_and_head(translated):
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    assert set(body["paths"]["/q/{proxy+}"]) == {"get", "head"}
    for method in ("get", "head"):
        integration = body["paths"]["/q/{proxy+}"][method]["x-amazon-apigateway-integration"]
        assert "${ScansFunction.Arn}" in integration["uri"]["Fn::Sub"]
        assert integration["payloadFormatVersion"] == "2.0"


def test_the_scan_routes_have_room_for_a_crowd(translated, sam_template):
    """A 429 cannot fail over, so the scan routes are throttled less than the form."""
    settings = sam_template["Resources"]["HttpApi"]["Properties"]["RouteSettings"]
    default = sam_template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    for key in ("GET /q/{proxy+}", "HEAD /q/{proxy+}"):
        assert settings[key]["ThrottlingRateLimit"] > default["ThrottlingRateLimit"]
        assert settings[key]["ThrottlingBurstLimit"] > default["ThrottlingBurstLimit"]


def test_scans_may_only_add_to_items(translated):
    assert _role_actions(translated, "ScansFunction") == {"dynamodb:UpdateItem"}
    (statement,) = _statements(translated, "ScansFunction")
    assert statement["Resource"] == {"Fn::GetAtt": ["ReferralsTable", "Arn"]}


def test_the_scans_function_gives_up_before_cloudfront_does(translated):
    config = _distribution(translated)
    scans = next(o for o in config["Origins"] if o["Id"] == "scans")
    function = _functions(translated)["ScansFunction"]["Properties"]
    assert function["Timeout"] <= scans["CustomOriginConfig"]["OriginReadTimeout"]


def test_the_local_stack_tries_the_scans_function_first_as_cloudfront_does():
    template = Template.load(TEMPLATE)
    q = next(b for b in template.behaviours() if b.matches("/q/lg-library"))
    assert q.origins == ("api", "site")
    assert q.fails_over(404) and q.fails_over(503) and not q.fails_over(302) and not q.fails_over(429)
    routes = {r.key: r.function for r in template.routes()}
    assert routes["GET /q/{proxy+}"] == routes["HEAD /q/{proxy+}"] == "ScansFunction"
